"""字 counting and rounding as FORMAT.md defines them (pure).

A 字 is what Chinese word processors count: each CJK ideograph is one, each run of
Latin letters or digits (a word, a number) is one, punctuation and whitespace are zero.
The ideographs are jiandu.cjk.HAN, the ranges the external checker (check_issue.py)
uses: matching it exactly matters more than the rare supplementary-plane ideograph,
because the stats line an issue prints is checked against the checker's count.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from jiandu.cjk import HAN as _CJK
# ASCII only, as the checker counts: "GPT-4" is two 字, "café" is one.
_LATIN_OR_DIGITS = re.compile(r"[A-Za-z0-9]+")
# One match per 字, for code that needs where each 字 is (cutting text at N 字).
ZI = re.compile(f"{_CJK.pattern}|{_LATIN_OR_DIGITS.pattern}")


def count_zi(text: str) -> int:
    """Number of 字 in text."""
    return len(_CJK.findall(text)) + len(_LATIN_OR_DIGITS.findall(text))


def half_up(x: int | float | Fraction) -> int:
    """Nearest whole number with halves rounded up (19.5 -> 20, 20.5 -> 21).

    Python's round() rounds halves to even, which FORMAT.md does not. Fractions are
    exact, so pass Fraction(a, b) rather than a / b when a ratio sits on a half.
    """
    return math.floor(Fraction(x) + Fraction(1, 2))
