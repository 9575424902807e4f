"""Check that bullets state nothing the article does not: numbers, Latin names, quoted terms.

Names are Latin-script words with a capital or a digit, except a capitalised word opening a sentence.
A claim is supported when it occurs in the article after normalisation: full/half width
(NFKC), case, thousands separators, and magnitudes written either way (200亿, 200 亿,
20,000,000,000 and "20 billion" are one number; 15%, 15 percent and 百分之15 are one percentage).
Counts from 0 to 10 are not checked: articles and summaries spell small numbers as words in one
language and digits in the other, and checking them raises false alarms.
A quoted term in Chinese from an article that is not Chinese is a translation and is not checked.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_UNITS = {
    "万": Decimal(10) ** 4,
    "亿": Decimal(10) ** 8,
    "thousand": Decimal(10) ** 3,
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12,
}
_NUMBER = re.compile(
    r"(?<![0-9.,])(?P<pct_zh>百分之\s*)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<units>(?:\s*(?:万|亿))+|\s+(?:thousand|million|billion|trillion)\b)?"
    r"(?P<pct>\s*(?:%|percent\b|per cent\b))?",
)
# Leading digits belong to the name: "1Password" is one name, not "1" and "Password".
_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9])[0-9]*[A-Za-z][A-Za-z0-9]*(?:[-.'&+][A-Za-z0-9]+)*")
_QUOTED = re.compile(r"「([^」]{1,60})」|『([^』]{1,60})』|“([^”]{1,60})”|\"([^\"]{1,60})\"|《([^》]{1,60})》")
_CJK = re.compile(r"[\u3400-\u9fff]")
_SMALL_COUNT = Decimal(10)


def normalise(text: str) -> str:
    # NFKC would turn the Chinese comma "，" into ",", which then reads as a thousands separator.
    text = text.replace("，", "、")
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text)


def _numbers(text: str) -> list[tuple[str, Decimal, bool]]:
    """(as written, value, is a percentage) for every number in normalised text."""
    found = []
    for match in _NUMBER.finditer(text):
        try:
            value = Decimal(match["num"].replace(",", ""))
        except InvalidOperation:
            continue
        for unit in re.findall(r"万|亿|thousand|million|billion|trillion", match["units"] or ""):
            value *= _UNITS[unit]
        is_percent = bool(match["pct"] or match["pct_zh"])
        found.append((match.group(0).strip(), value.normalize(), is_percent))
    return found


def _has_word(word: str, text: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None


def _mostly_cjk(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and len(_CJK.findall(text)) * 2 >= len(letters)


def check_bullets(bullets: list[str], article_text: str) -> list[str]:
    """The claims in bullets that the article does not support, each once, in order."""
    article = normalise(article_text)
    article_numbers = {(value, pct) for _, value, pct in _numbers(article)}
    article_is_chinese = _mostly_cjk(article)
    article_unspaced = re.sub(r"\s+", "", article)
    unsupported: list[str] = []

    def flag(claim: str) -> None:
        if claim not in unsupported:
            unsupported.append(claim)

    for bullet in bullets:
        text = normalise(bullet)
        for written, value, pct in _numbers(text):
            if not pct and value <= _SMALL_COUNT:
                continue
            if (value, pct) not in article_numbers:
                flag(written)
        for match in _QUOTED.finditer(text):
            term = next(group for group in match.groups() if group is not None).strip()
            if not term or (_mostly_cjk(term) and not article_is_chinese):
                continue
            # Line breaks and spacing are layout, not wording: compare without them.
            if re.sub(r"\s+", "", term) not in article_unspaced:
                flag(match.group(0))
        plain = unicodedata.normalize("NFKC", bullet)
        for match in _LATIN_NAME.finditer(plain):
            name = match.group(0)
            if not any(ch.isupper() or ch.isdigit() for ch in name):
                continue  # an ordinary word, not a name
            if name.istitle() and name.isalpha() and re.search(r"(?:^|[.!?]\s+)$", plain[: match.start()]):
                continue  # a capital because it starts a sentence ("The")
            if not _has_word(normalise(name), article):
                flag(name)
    return unsupported
