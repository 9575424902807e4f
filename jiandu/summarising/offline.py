"""Extractive summariser for running without an API key: TextRank over the text's own sentences.

Sentences come from pysbd (zh or en rules), Chinese words from jieba, ranking from sumy's
TextRank. Each bullet is a run of neighbouring sentences from the text, about 60-150 字,
so it cannot state anything the article does not.

Importance is the article's length, an honest if crude signal of how much it has to say:
under 400 字 -> 2, under 1500 -> 3, under 4000 -> 4, else 5 (1 is left to a human or an LLM).

A short text (a paragraph, one long sentence) gets shorter bullets: its sentences are cut at
their clauses to make three. A text too short even for that is not a failure to retry: it
raises TooShortToSummarise, and the item is skipped once with that reason.

Bullets are the text's own words without what only a page needs: the headline the text repeats
(and which no bullet is glued to), short heading lines, list markers, bare URLs, Markdown bold.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings


from jiandu.cjk import has_han, mostly_chinese
from jiandu.sections import placed_section
from jiandu.errors import SummariseError, TooShortToSummarise
from jiandu.records import ArticleInput, Summary
# A passage's length: each CJK ideograph, and each word in any other script (Latin, Cyrillic,
# Greek...), counts one. FORMAT.md's 字 count only ASCII words, which would make a Russian
# paragraph zero long and every such item "too short".
ZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def count_zi(text: str) -> int:
    return len(ZI.findall(text))

BULLETS = 3
MIN_ZI, TARGET_ZI, MAX_ZI = 10, 60, 150
_IMPORTANCE_STEPS = ((400, 2), (1500, 3), (4000, 4))

# Emoji and the words that call for them; the two with most hits in the title and text win.
EMOJI_KEYWORDS: dict[str, tuple[str, ...]] = {
    "🤖": ("人工智能", "AI", "模型", "机器人", "算法", "neural", "robot", "machine learning"),
    "💰": ("融资", "收购", "估值", "美元", "投资", "营收", "billion", "funding", "acquisition", "investor"),
    "🚀": ("发布", "推出", "上线", "火箭", "launch", "release", "rocket"),
    "🔒": ("安全", "漏洞", "攻击", "隐私", "security", "vulnerability", "attack", "privacy", "exploit"),
    "🎮": ("游戏", "玩家", "game", "gaming", "player"),
    "🔬": ("研究", "科学", "实验", "论文", "research", "scientist", "study"),
    "🏛️": ("政府", "政策", "监管", "法律", "两会", "government", "president", "law", "regulator"),
    "💻": ("芯片", "处理器", "计算机", "服务器", "软件", "chip", "processor", "computer", "server", "software"),
    "📱": ("手机", "应用", "iPhone", "Android", "phone", "app"),
    "🌍": ("太空", "火星", "地球", "宇航员", "space", "mars", "astronaut"),
    "🎓": ("学生", "留学", "教育", "大学", "student", "education", "university"),
    "🏥": ("医疗", "健康", "医院", "疾病", "health", "medical", "disease", "hospital"),
}
FALLBACK_EMOJI = "📰"

_jieba = None
_jieba_lock = threading.Lock()


def _load_jieba():
    """Import jieba and build its dictionary once, quietly."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
                import jieba
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


_WORD = re.compile(r"\w+")


def is_chinese(text: str) -> bool:
    return mostly_chinese(text)


class SentenceTokenizer:
    """The tokenizer interface sumy expects, built on pysbd and jieba (no NLTK data)."""

    def __init__(self, language: str):
        self.language = language
        import pysbd

        self._segmenter = pysbd.Segmenter(language=language, clean=False)

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.strip() for s in self._segmenter.segment(paragraph) if s.strip())

    def to_words(self, sentence: str) -> tuple[str, ...]:
        if self.language == "zh":
            words = _load_jieba().lcut(sentence)
        else:
            words = _WORD.findall(sentence)
        return tuple(w.lower() for w in words if _WORD.fullmatch(w))


def _attach_strays(sentences: tuple[str, ...]) -> list[str]:
    """Join pieces without 字 (a closing quote pysbd split off) to the sentence before them."""
    joined: list[str] = []
    for sentence in sentences:
        if joined and count_zi(sentence) == 0:
            joined[-1] += sentence
        elif count_zi(sentence):
            joined.append(sentence)
    return joined


def _cut_long(sentence: str) -> str:
    """A sentence over MAX_ZI, cut at the last clause boundary that fits."""
    best = ""
    for match in re.finditer(r"[，,；;：:、]", sentence):
        head = sentence[: match.start()]
        if count_zi(head) > MAX_ZI:
            break
        best = head
    if count_zi(best) < TARGET_ZI:  # no usable boundary: cut at MAX_ZI 字
        spans = [m.end() for m in ZI.finditer(sentence)]
        best = sentence[: spans[MAX_ZI - 1]]
    return best.rstrip() + "…"


_LIST_MARKER = re.compile(r"^\s*(?:[-*+•·▪►]|\\-)\s+")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'，。！？、；：（）【】《》]+", re.IGNORECASE)
_SENTENCE_FINAL = re.compile(r"[。！？!?.…；;:：”」』\"')）]\s*$")
HEADING_MAX_ZI = 12  # "规格方面": a heading; a longer line without a final mark is a sentence


def clean_line(line: str) -> str:
    """A line of text as a bullet may quote it: no list marker, URL or **bold** markers."""
    line = _LIST_MARKER.sub("", line)
    line = _URL.sub("", _BOLD.sub(r"\1", line))
    line = re.sub(r"[（(]\s*[)）]", "", line)  # "(链接)" left empty by a removed URL
    return " ".join(line.split())


def _same_words(a: str, b: str) -> bool:
    def words(text: str) -> str:
        return "".join(match.group(0).lower() for match in ZI.finditer(text))

    return bool(words(a)) and words(a) == words(b)


def _clauses(sentence: str) -> list[str]:
    """A sentence cut after each of its clause marks."""
    return [part.strip() for part in re.split(r"(?<=[，,；;：:、])", sentence) if part.strip()]


SHORT_MIN_ZI = MIN_ZI  # FORMAT.md's checker calls a bullet under 10 字 near-empty


def _is_heading(line: str) -> bool:
    """A short line of words with no punctuation at its end: "规格方面", "Background". A line
    of a hard-wrapped text (an RFC) ends without a mark too, but is longer."""
    if re.search(r"[\W_]\s*$", line) and not re.search(r"\w\s*$", line):
        return False
    limit = HEADING_MAX_ZI if has_han(line) else 4
    return count_zi(line) <= limit


def join_sentences(sentences: list[str], chinese: bool) -> str:
    """Sentences as one paragraph: Chinese ones run on, but a sentence without a final mark (a
    line break in the text) keeps a space after it, so no headline runs into a dateline."""
    joined = ""
    for sentence in sentences:
        if joined and (not chinese or not _SENTENCE_FINAL.search(joined)):
            joined += " "
        joined += sentence
    return joined


def _in_three(pieces: list[str], joiner: str) -> list[str] | None:
    """The whole of a short text in three runs of neighbouring pieces, as even as they can be
    (the smallest as large as possible); None when a run would have under SHORT_MIN_ZI 字."""
    sizes = [count_zi(piece) for piece in pieces]
    best, best_low = None, 0
    for i in range(1, len(pieces) - 1):
        for j in range(i + 1, len(pieces)):
            low = min(sum(sizes[:i]), sum(sizes[i:j]), sum(sizes[j:]))
            if low > best_low:
                best, best_low = (i, j), low
    if best is None or best_low < SHORT_MIN_ZI:
        return None
    i, j = best
    return [joiner.join(run) for run in (pieces[:i], pieces[i:j], pieces[j:])]


class OfflineSummariser:
    model = "offline-textrank"
    prompt_version = "offline-2"

    def summarise(self, article: ArticleInput, sections: list[str]) -> Summary:
        if not sections:
            raise SummariseError("no sections configured", retryable=False)
        text = article.text or ""
        chinese = (article.language or "").lower().startswith("zh") or is_chinese(text)
        tokenizer = SentenceTokenizer("zh" if chinese else "en")
        sentences = self._sentences(text, article.title, tokenizer)
        bullets = self._bullets(sentences, tokenizer, chinese)
        # A short text: three shorter bullets from its clauses; a very short one may need the
        # sentence its title repeats (a post's title is its first sentence).
        for candidates in (sentences, self._sentences(text, "", tokenizer)):
            if len(bullets) >= BULLETS:
                break
            pieces = [piece for sentence in candidates for piece in _clauses(sentence)]
            bullets = _in_three(pieces, "" if chinese else " ") or bullets
        if len(bullets) < BULLETS:
            raise TooShortToSummarise(
                f"too short to summarise offline: {count_zi(text)} 字 give fewer than {BULLETS} "
                f"passages of at least {MIN_ZI} 字")
        section = placed_section(article.section_hint, sections)
        return Summary(
            title=article.title.strip() or bullets[0][:30],
            emoji=pick_emoji(f"{article.title}\n{article.title}\n{text}"),
            section=section,
            importance=importance_of(text),
            bullets=bullets,
            model=self.model,
            prompt_version=self.prompt_version,
        )

    @staticmethod
    def _sentences(text: str, title: str, tokenizer: SentenceTokenizer) -> list[str]:
        """The text's sentences, a paragraph at a time, without the headline it repeats or
        short heading lines (a line of words with no sentence-final mark)."""
        sentences: list[str] = []
        for line in text.splitlines():
            line = clean_line(line)
            if not line or _same_words(line, title):
                continue
            if _is_heading(line):
                continue  # "规格方面": it would be glued to the next sentence
            sentences.extend(s for s in _attach_strays(tokenizer.to_sentences(line))
                             if not _same_words(s, title))
        return sentences

    def _bullets(self, sentences: list[str], tokenizer: SentenceTokenizer, chinese: bool,
                 target: int = TARGET_ZI) -> list[str]:
        if not sentences:
            return []
        # Imported here: sumy pulls in NLTK and scipy (1.5 s), which a run with nothing to
        # summarise should not pay.
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
        from sumy.summarizers.text_rank import TextRankSummarizer

        document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in sentences])])
        ratings = TextRankSummarizer().rate_sentences(document)
        rating = [ratings[sentence] for sentence in document.sentences]
        windows = []  # (score, start, end): sentences[start:end] joined make one bullet
        for start in range(len(sentences)):
            end, zi = start, 0
            while end < len(sentences) and zi < target:
                if zi and zi + count_zi(sentences[end]) > MAX_ZI:
                    break
                zi += count_zi(sentences[end])
                end += 1
            if zi >= MIN_ZI:
                windows.append((zi >= target, sum(rating[start:end]) / (end - start), start, end))
        chosen: list[tuple[int, int]] = []
        # Full-length windows first, then by mean TextRank score, ties to the earlier one.
        for _, _, start, end in sorted(windows, key=lambda w: (not w[0], -w[1], w[2])):
            if all(end <= s or start >= e for s, e in chosen):
                chosen.append((start, end))
            if len(chosen) == BULLETS:
                break
        if len(chosen) < BULLETS:
            # Too few sentences to fill three full-length windows: the three best single
            # sentences long enough to stand alone.
            singles = [i for i in range(len(sentences)) if count_zi(sentences[i]) >= MIN_ZI]
            best = sorted(singles, key=lambda i: (-rating[i], i))[:BULLETS]
            chosen = [(i, i + 1) for i in best]
        bullets = []
        for start, end in sorted(chosen):
            bullet = join_sentences(sentences[start:end], chinese)
            bullets.append(_cut_long(bullet) if count_zi(bullet) > MAX_ZI else bullet)
        return bullets


def importance_of(text: str) -> int:
    zi = count_zi(text)
    return next((level for limit, level in _IMPORTANCE_STEPS if zi < limit), 5)


def pick_emoji(text: str, most: int = 2) -> str:
    lowered = text.lower()
    hits = []
    for emoji, words in EMOJI_KEYWORDS.items():
        count = sum(lowered.count(word.lower()) for word in words if word.isascii() is False) + sum(
            len(re.findall(rf"\b{re.escape(word.lower())}\b", lowered)) for word in words if word.isascii()
        )
        if count:
            hits.append((count, emoji))
    hits.sort(key=lambda hit: -hit[0])  # stable: ties keep the table's order
    return "".join(emoji for _, emoji in hits[:most]) or FALLBACK_EMOJI
