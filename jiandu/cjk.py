"""What counts as a Chinese character, defined once (pure).

HAN is the class every module uses for "a Chinese character": CJK Unified Ideographs,
Extension A and the Compatibility Ideographs. They are the ranges the external checker of
issues (check_issue.py) counts as 字, so 字 counts, the "is this Chinese?" tests and the
answer checks agree with it. Supplementary-plane ideographs are rare in news and left out,
as the checker leaves them out.

ONE_TOKEN_EACH is a different question with its own, wider answer: which characters a
tokenizer spends about one token on each (Han in every plane, kana, Hangul, CJK punctuation
and full-width forms), for the token estimate used when no tokenizer is available.
"""

from __future__ import annotations

import re

HAN_CLASS = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
HAN = re.compile(HAN_CLASS)
ONE_TOKEN_EACH = re.compile(
    r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]"
)


def count_han(text: str) -> int:
    return len(HAN.findall(text))


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


def mostly_chinese(text: str) -> bool:
    """At least half of the letters are Chinese characters (punctuation and digits aside)."""
    letters = sum(1 for ch in text if ch.isalpha())
    return bool(letters) and count_han(text) * 2 >= letters
