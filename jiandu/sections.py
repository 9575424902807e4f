"""Where a story goes among the publication's sections (pure)."""

from __future__ import annotations


def placed_section(section: str | None, sections: list[str]) -> str:
    """The section itself when the publication configures it; otherwise the last configured
    section (usually 其他), so no story is ever left without a place."""
    return section if section in sections else sections[-1]
