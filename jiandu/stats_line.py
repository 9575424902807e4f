"""The figures of the stats line (看点), exactly as FORMAT.md defines them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from jiandu.zi import count_zi, half_up

READING_SPEED_ZI_PER_MINUTE = 400


@dataclass(frozen=True)
class Stats:
    source_chars: int  # 字 of the full text of every article in the issue
    digest_chars: int  # 字 of every bullet of the issue
    minutes: int  # reading time of the digest
    efficiency: int  # percent, a multiple of 100


def digest_stats(source_chars: int, bullets: list[str]) -> Stats:
    """Stats for an issue whose articles hold source_chars 字 and whose summaries are bullets.

    An issue without any bullet text reads in 0 minutes and saves nothing: efficiency 0,
    rather than a division by zero.
    """
    if source_chars < 0:
        raise ValueError(f"source_chars must not be negative, got {source_chars}")
    digest_chars = sum(count_zi(bullet) for bullet in bullets)
    minutes = half_up(Fraction(digest_chars, READING_SPEED_ZI_PER_MINUTE))
    efficiency = half_up(Fraction(source_chars, digest_chars)) * 100 if digest_chars else 0
    return Stats(source_chars, digest_chars, minutes, efficiency)
