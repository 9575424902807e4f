"""Check that bullets state nothing the article does not: numbers, names, quoted terms.

A claim is supported when the article states it, however a model restates it:
- numbers: full/half width (NFKC), thousands separators (20,000 and the French 20 000),
  magnitudes written any way (200亿, 200 亿, 20,000,000,000, "20 billion", 20B, $20bn, 两百亿
  are one number; 5.6M is 560万; "28 millions" is 2800万), Chinese numerals (三千, 一千五百万,
  百分之十五, 两名), English number words ("two million"), month names (December is 12),
  decades (the 1990s are 90年代), and rounding to the precision the bullet writes (5.6M for
  5,612,000; 30% for 29.6%). A percentage must be a percentage in the article (50-60% counts).
  Bare counts from 0 to 10 are checked only when article and bullet are both Chinese: across
  languages small numbers are spelled as words in one and digits in the other. A number with
  a decimal point or a unit (1.2GHz, 6PB) is never a bare count.
- Latin-script names: words with a capital or a digit, except a capitalised word opening an
  English sentence; matched as whole words in any case.
- Chinese proper nouns, for Chinese articles: jieba's person, place and organisation tags (nr,
  ns, nt; not nz, which it gives to ordinary words), with a small dictionary of names jieba
  lacks (jiandu/data/names_zh.txt); a name in a bullet must occur in the article.
- Quoted terms. A quoted term with Chinese in it, from an article that is not Chinese, is a
  translation and is not checked.

Measured on a labelled set by `make eval` (jiandu.faithfulness_eval; docs/faithfulness.md).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from jiandu.cjk import HAN, HAN_CLASS, mostly_chinese

_TEN = Decimal(10)
_UNITS = {
    "十": _TEN, "百": _TEN ** 2, "千": _TEN ** 3, "万": _TEN ** 4, "亿": _TEN ** 8,
    "thousand": _TEN ** 3, "million": _TEN ** 6, "billion": _TEN ** 9, "trillion": _TEN ** 12,
    "k": _TEN ** 3, "m": _TEN ** 6, "mn": _TEN ** 6, "b": _TEN ** 9, "bn": _TEN ** 9,
    "t": _TEN ** 12, "tn": _TEN ** 12,
    "millions": _TEN ** 6, "milliards": _TEN ** 9, "milliard": _TEN ** 9,
    "millionen": _TEN ** 6, "milliarden": _TEN ** 9, "mega": _TEN ** 6, "giga": _TEN ** 9,
}
_NUMBER = re.compile(
    r"(?<![0-9.,])(?P<pct_zh>百分之\s*)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<units>(?:\s*[十百千万亿])+"
    r"|\s+(?:thousand|million|billion|trillion|millions|milliards?|millionen|milliarden)\b"
    r"|\s?(?:mega|giga)(?=[a-z])"
    r"|\s?(?:bn|mn|tn)(?![a-z])|[kmbt](?![a-z0-9]))?"
    r"(?P<pct>\s*(?:%|percent\b|per cent\b|个?百分点|percentage points?\b))?",
)
_UNIT_WORD = re.compile(r"[十百千万亿]|thousand|milliards?|milliarden|millionen|millions|million|billion|"
                        r"trillion|mega|giga|bn|mn|tn|[kmbt]")
# A letter after a number may be a unit of measure (100m, 3t, 23 megapixels): read it both ways.
_AMBIGUOUS_UNITS = {"k", "m", "b", "t", "十", "百", "千", "mega", "giga"}
# French and others group thousands with spaces ("2 209"); read on the article's side only.
_SPACED_THOUSANDS = re.compile(r"(?<![0-9.,])\d{1,3}(?: \d{3})+(?![0-9])")
# Dotted chains (08.04.2015, versions 1.8.3): a bullet may quote any part of one ("04.2015").
_DOTTED = re.compile(r"\d+(?:\.\d+){2,}")
# "50-60%": the first number of a range is a percentage too.
_PERCENT_RANGE = re.compile(r"(?<![0-9.,])(\d+(?:\.\d+)?)\s*(?:-|–|~|to|至|到)\s*\d+(?:\.\d+)?\s*%")
# The '90s and 1990s are 90年代 in Chinese, and the other way round.
_DECADE = re.compile(r"(?<![0-9])(?:1[89]|20)?'?(\d0)s\b|(?<![0-9])(\d0)年代")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")], start=1)
    for name in names
}
_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?")
_WORD_VALUES = {
    word: value for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split())
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
     "ninety": 90, "a": 1, "an": 1, "a few": 3, "dozen": 12, "dozens": 12}
_WORD_NUMBER = re.compile(
    r"\b(?P<word>(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|"
    r"four|five|six|seven|eight|nine))?|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|one|two|three|four|five|six|seven|eight|nine|ten|a|an|dozens?)"
    r"(?:\s+(?P<scale>hundred|thousand|million|billion|trillion)(?:\s+(?P<scale2>thousand|million|billion))?)?\b"
)
# Chinese numerals that read as a number: at least two characters, with a digit character or a
# magnitude (三千, 两百亿, 十亿, 百分之十五); single characters (三星, 百度) are words.
_CN_NUMERAL = re.compile(r"(?:百分之)?[零〇一二两三四五六七八九十百千万亿点]{2,}")
_CN_DIGIT = re.compile(r"[一二两三四五六七八九〇零]")
_CN_RANGE = re.compile(r"([一二两三四五六七八九])([二三四五六七八九])(?=[个家名位天年次种款项倍成])")
# A single numeral before a measure word is a count (两名, 三年); elsewhere it is part of a word.
_CN_COUNT = re.compile(r"(?<![一二两三四五六七八九十百千万亿零〇点第])([一二两三四五六七八九十])(?=[个名位年天次家款项种条台人岁倍周批架])")
_CN_COUNT_VALUES = {ch: str(n) for n, ch in enumerate("零一二三四五六七八九十")} | {"两": "2"}
# Leading digits belong to the name: "1Password" is one name, not "1" and "Password".
_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9])[0-9]*[A-Za-z][A-Za-z0-9]*(?:[-.'&+][A-Za-z0-9]+)*")
_QUOTED = re.compile(r"「([^」]{1,60})」|『([^』]{1,60})』|“([^”]{1,60})”|\"([^\"]{1,60})\"|《([^》]{1,60})》")
_CJK_WORD = re.compile(f"{HAN_CLASS}{{2,}}")
# nz (other proper nouns) is left out: jieba gives it to ordinary words (换乘, 中文) too often.
_NAME_TAGS = {"nr", "nrt", "nrfg", "ns", "nt"}
_NAME_SEPARATORS = re.compile(r"[·•・‧\s]")
# 671B, 5.6M, 30th, 39KB: numbers with a magnitude, an ordinal or a unit: numbers, not names.
_NUMBER_WORD = re.compile(r"\d+[a-z]{1,3}", re.I)
_SMALL_COUNT = Decimal(10)


@dataclass(frozen=True)
class _Number:
    written: str
    values: tuple[Decimal, ...]  # every reading, most likely first
    quantum: Decimal  # the value of one unit in the last digit written: 5.6M -> 100,000
    percent: bool
    measured: bool  # has a magnitude, a decimal point or a Latin unit (6PB, 1.2GHz): not a bare count


def normalise(text: str) -> str:
    # NFKC would turn the Chinese comma "，" into ",", which then reads as a thousands separator.
    text = text.replace("，", "、")
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text)


def _cn2an_transform(text: str) -> str:
    import cn2an  # imported on first use: it loads a few tables

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about every run it leaves alone
        try:
            return cn2an.transform(text, "cn2an")
        except Exception:  # a library quirk must never fail a summary; keep the words
            return text


def _chinese_numerals_as_digits(text: str) -> str:
    """三千 -> 3000, 两百亿 -> 20000000000, 百分之十五 -> 15%; words such as 三星 stay."""
    if not _CN_NUMERAL.search(text) and not _CN_COUNT.search(text):
        return text
    text = _CN_RANGE.sub(r"几", text)  # 两三个 is "two or three", not 23
    text = _CN_COUNT.sub(lambda m: _CN_COUNT_VALUES[m.group(1)], text)

    def convert(match: re.Match) -> str:
        run = match.group(0)
        if not _CN_DIGIT.search(run) and not re.fullmatch(r"(?:百分之)?[十百千][万亿]+", run):
            return run  # 千万 (by all means), 百 alone: not a number
        return _cn2an_transform(run)

    return _CN_NUMERAL.sub(convert, text)


def _quantum(number: str, unit: Decimal) -> Decimal:
    decimals = len(number.split(".")[1]) if "." in number else 0
    return unit * _TEN ** -decimals


def _numbers(text: str, *, both_readings: bool) -> list[_Number]:
    """Every number in normalised text. both_readings: a unit that may be a measure (100m)
    also gives the bare number, however small (for the article's side)."""
    found = []
    for match in _NUMBER.finditer(text):
        try:
            bare = Decimal(match["num"].replace(",", ""))
        except InvalidOperation:
            continue
        unit = Decimal(1)
        units = _UNIT_WORD.findall(match["units"] or "")
        if not units and re.match(r"[a-z]{4}", text[match.end():]):
            continue  # the digits of a name (1Password), checked as a name
        for word in units:
            unit *= _UNITS[word]
        value = bare * unit
        readings = [value.normalize()]
        if units and units[0] in _AMBIGUOUS_UNITS and (both_readings or bare > _SMALL_COUNT):
            readings.append(bare.normalize())
        percent = bool(match["pct"] or match["pct_zh"])
        measured = bool(units) or "." in match["num"] or bool(re.match(r"[a-z]", text[match.end():match.end() + 1]))
        found.append(_Number(match.group(0).strip(), tuple(readings), _quantum(match["num"], unit), percent, measured))
    return found


def _word_numbers(text: str) -> list[Decimal]:
    """Values of English number words in normalised text: "two million", "forty-two", "a dozen"."""
    values = []
    for match in _WORD_NUMBER.finditer(text):
        word = match["word"].replace("-", " ")
        parts = word.split()
        value = Decimal(_WORD_VALUES[parts[0]] + (_WORD_VALUES[parts[1]] if len(parts) > 1 else 0))
        for scale in (match["scale"], match["scale2"]):
            if scale:
                value *= {"hundred": _TEN ** 2, **{k: v for k, v in _UNITS.items() if len(k) > 2}}[scale]
        values.append(value.normalize())
    return values


@dataclass
class _ArticleFacts:
    text: str  # normalised
    unspaced: str
    numbers: set[Decimal]
    percents: set[Decimal]
    is_chinese: bool


def _article_facts(article_text: str) -> _ArticleFacts:
    text = normalise(_chinese_numerals_as_digits(article_text))
    numbers: set[Decimal] = set()
    percents: set[Decimal] = set()
    for number in _numbers(text, both_readings=True):
        (percents if number.percent else numbers).update(number.values)
    numbers.update(_word_numbers(text))
    numbers.update(Decimal(m.group(0).replace(" ", "")) for m in _SPACED_THOUSANDS.finditer(text))
    percents.update(Decimal(m.group(1)).normalize() for m in _PERCENT_RANGE.finditer(text))
    for match in _DOTTED.finditer(text):
        parts = match.group(0).split(".")
        numbers.update(Decimal(f"{a}.{b}").normalize() for a, b in zip(parts, parts[1:]))
        numbers.update(Decimal(part) for part in parts)
    for match in _DECADE.finditer(text):
        decade = int(match.group(1) or match.group(2))
        numbers.update({Decimal(decade), Decimal(1900 + decade), Decimal(2000 + decade)})
    numbers.update(Decimal(_MONTHS[m.group(1)]) for m in _MONTH_WORD.finditer(text))
    return _ArticleFacts(text, re.sub(r"\s+", "", text), numbers, percents, mostly_chinese(text))


def _supported(number: _Number, facts: _ArticleFacts) -> bool:
    pool = facts.percents if number.percent else facts.numbers | facts.percents
    for value in number.values:
        if value in pool:
            return True
    # A bullet may round what the article says to the precision it writes (5.6M for 5,612,000).
    value, quantum = number.values[0], number.quantum
    for stated in pool:
        if stated % quantum == 0:
            continue  # as precise as the bullet or less: only an exact match would do
        for rounding in (ROUND_HALF_UP, ROUND_DOWN):
            if (stated / quantum).quantize(Decimal(1), rounding=rounding) * quantum == value:
                return True
    return False


def _has_name(name: str, text: str) -> bool:
    """The name occurs as a whole word, in any case: articles write "java objects" where a
    summary writes Java (so "will target" also supports Target: a known blind spot)."""
    return re.search(rf"(?<![a-z0-9]){re.escape(normalise(name))}(?![a-z0-9])", text) is not None


_NAMES_FILE = Path(__file__).parent / "data" / "names_zh.txt"  # names jieba's dictionary lacks
_jieba_lock = threading.Lock()
_jieba_ready = False


def chinese_names(text: str) -> list[str]:
    """Chinese proper nouns in text (persons, places, organisations, other names), by jieba."""
    global _jieba_ready
    if not _CJK_WORD.search(text):
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba
        import jieba.posseg

    with _jieba_lock:  # the first use loads the dictionary; one thread does it
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.posseg.dt.initialize()
            for line in _NAMES_FILE.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    word, tag = line.split()
                    jieba.add_word(word, freq=None, tag=tag)
            _jieba_ready = True
    return [pair.word for pair in jieba.posseg.cut(text)
            if pair.flag in _NAME_TAGS and _CJK_WORD.fullmatch(pair.word)
            and not (len(pair.word) == 2 and pair.word[0] == "中" and pair.flag == "ns")]  # 中美, 中约: not names


def check_bullets(bullets: list[str], article_text: str) -> list[str]:
    """The claims in bullets that the article does not support, each once, in order."""
    facts = _article_facts(article_text)
    article_names_text = _NAME_SEPARATORS.sub("", facts.text)
    unsupported: list[str] = []

    def flag(claim: str) -> None:
        if claim not in unsupported:
            unsupported.append(claim)

    for bullet in bullets:
        text = normalise(_chinese_numerals_as_digits(bullet))
        for number in _numbers(text, both_readings=False):
            # Small bare counts are checked only where article and bullet share a language.
            small = not number.percent and not number.measured and number.values[0] <= _SMALL_COUNT
            if small and not facts.is_chinese:
                continue
            if not _supported(number, facts):
                flag(number.written)
        for match in _QUOTED.finditer(normalise(bullet)):
            term = next(group for group in match.groups() if group is not None).strip()
            if not term or (HAN.search(term) and not facts.is_chinese):
                continue
            # Line breaks and spacing are layout, not wording: compare without them.
            if re.sub(r"\s+", "", term) not in facts.unspaced:
                flag(match.group(0))
        plain = unicodedata.normalize("NFKC", bullet)
        for match in _LATIN_NAME.finditer(plain):
            name = match.group(0)
            if not any(ch.isupper() or ch.isdigit() for ch in name):
                continue  # an ordinary word, not a name
            if _NUMBER_WORD.fullmatch(name) or re.search(r"\d[.,]$", plain[: match.start()]):
                continue
            if (name.istitle() and name.isalpha() and re.search(r"(?:^|[.!?]\s+)$", plain[: match.start()])
                    and re.match(r"\s+[a-z]", plain[match.end():])):
                continue  # a capital because it starts an English sentence ("The stock")
            if not _has_name(name, facts.text):
                flag(name)
        if facts.is_chinese:
            for name in chinese_names(plain):
                if _NAME_SEPARATORS.sub("", normalise(name)) not in article_names_text:
                    flag(name)
    return unsupported
