"""The publication's topic, and the offline judgement of whether a text is about it.

The topic is JIANDU_PUBLICATION_TOPIC, else the publication's purpose line. With an LLM, the
topic itself goes into the triage prompt (jiandu.summarising.triage). Without one, a text is on
topic when it contains one of the topic's keywords: JIANDU_TOPIC_KEYWORDS, else keywords taken
from the topic (short pieces as written, jieba's keywords of longer sentences).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from dataclasses import dataclass
from functools import cached_property

# Pieces of a topic: split at punctuation and spaces ("人工智能、大模型、AI").
_SEPARATORS = re.compile(r"[\s,，、;；|/。.!！?？:：()（）「」“”\"']+")
SHORT_PIECE = 6  # a piece this short is a keyword as written; a longer one is a sentence
# Words a purpose line is full of that say nothing about its subject.
GENERIC = frozenset("""
文章 系列 情况 最新 跟踪 持续 焦虑 减少 知识 主要 用于 本系列 你们 我们 读者 内容 信息 行业 相关 每天 每周
今日 本周 新闻 资讯 动态 阅读 效率 提高
""".split())
_POS = ("n", "nz", "nt", "nr", "ns", "vn", "eng")  # nouns and English words

_jieba_lock = threading.Lock()


def topic_of(publication_topic: str, purpose: str) -> str:
    """The topic a triage asks about: the stated one, else the purpose line."""
    return " ".join((publication_topic or purpose or "").split())


def _jieba_keywords(sentence: str, limit: int = 8) -> list[str]:
    with _jieba_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)
        tags = jieba.analyse.extract_tags(sentence, topK=limit * 2, allowPOS=_POS)
    return [tag for tag in tags if tag not in GENERIC and len(tag.strip()) > 1][:limit]


def topic_keywords(topic: str, explicit: list[str] | None = None) -> list[str]:
    """The words an on-topic text contains at least one of (in the order found, once each)."""
    if explicit:
        pieces = [word.strip() for word in explicit if word.strip()]
    else:
        pieces = []
        for piece in _SEPARATORS.split(topic):
            if not piece:
                continue
            if len(piece) <= SHORT_PIECE:
                if piece not in GENERIC:
                    pieces.append(piece)
            else:
                pieces.extend(_jieba_keywords(piece))
    seen: list[str] = []
    for word in pieces:
        if word.lower() not in (s.lower() for s in seen):
            seen.append(word)
    return seen


@dataclass(frozen=True)
class KeywordTriage:
    """Offline triage: on topic when the title or text contains a keyword (ASCII keywords as
    whole words, so "AI" is not found in "MAIL")."""

    keywords: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.keywords:
            raise ValueError("the topic gives no keywords; set JIANDU_TOPIC_KEYWORDS")

    @cached_property
    def pattern(self) -> re.Pattern:
        parts = []
        for word in sorted(self.keywords, key=len, reverse=True):
            escaped = re.escape(word)
            parts.append(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])" if word.isascii() else escaped)
        return re.compile("|".join(parts), re.IGNORECASE)

    def reason_to_skip(self, title: str, text: str) -> str | None:
        """None when a keyword is there; else why the item is off topic ("triage: ...")."""
        if self.pattern.search(title or "") or self.pattern.search(text or ""):
            return None
        shown = "、".join(self.keywords[:8]) + ("…" if len(self.keywords) > 8 else "")
        return f"triage: off-topic: none of the topic's keywords ({shown}) is in the title or text"


@dataclass
class Verdict:
    """What the triage said of one text. `invalid` names why an answer could not be read (the
    text is then taken as relevant); the tokens are what this verdict's request cost (zero for
    one remembered)."""

    relevant: bool
    score: float | None
    reason: str
    invalid: str | None = None
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    remembered: bool = False

    def skip_reason(self) -> str:
        score = f" (score {self.score:.2f})" if self.score is not None else ""
        return f"triage: off-topic{score}: {self.reason}"
