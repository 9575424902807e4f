"""One score orders the stories within a section and picks the 看点 highlights (pure).

    score = (importance + outlets bonus + freshness bonus) x source weight

- importance: the model's 1-5 (or the editor's, once edited);
- outlets: a story that several outlets carried (the near-duplicate merge knows: the items of
  one story) gains OUTLET_BONUS for each outlet past the first, at most MAX_OUTLET_BONUS;
- freshness: FRESH_BONUS for the issue's newest story, halving every HALF_LIFE_HOURS before it
  (measured from the newest story, not the clock, so an issue rendered again keeps its order);
- source weight: JIANDU_SOURCE_WEIGHTS by source id or URL (default 1); a story from several
  sources takes the highest of their weights.

The bonuses stay below one step of importance unless several outlets carried the story: a
story three outlets carried ranks with one a step more important. Scores are kept to two
decimals; equal scores fall back to the newest first, then the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

OUTLET_BONUS = 0.5
MAX_OUTLET_BONUS = 1.5
FRESH_BONUS = 0.5
HALF_LIFE_HOURS = 24.0


@dataclass(frozen=True)
class Rank:
    score: float
    importance: int
    outlets: int
    outlet_bonus: float
    hours_before_newest: float
    fresh_bonus: float
    weight: float

    def explain(self) -> str:
        parts = [f"importance {self.importance}"]
        if self.outlets > 1:
            parts.append(f"{self.outlets} outlets carried it (+{self.outlet_bonus:.2f})")
        else:
            parts.append("1 outlet (+0)")
        hours = self.hours_before_newest
        when = "the issue's newest story" if hours < 0.5 else f"{_hours(hours)} before the issue's newest"
        parts.append(f"freshness +{self.fresh_bonus:.2f} ({when})")
        text = f"score {self.score:.2f} = " + " + ".join(parts)
        if self.weight != 1:
            text = f"score {self.score:.2f} = ({' + '.join(parts)}) x source weight {self.weight:g}"
        return text


def _hours(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def rank(importance: int, outlets: int, weight: float, published: datetime, newest: datetime) -> Rank:
    outlet_bonus = min(MAX_OUTLET_BONUS, OUTLET_BONUS * max(outlets - 1, 0))
    hours = max((newest - published).total_seconds() / 3600, 0.0)
    fresh_bonus = round(FRESH_BONUS * 0.5 ** (hours / HALF_LIFE_HOURS), 2)
    score = round((importance + outlet_bonus + fresh_bonus) * weight, 2)
    return Rank(score, importance, outlets, outlet_bonus, hours, fresh_bonus, weight)


def outlets_of(urls: list[str | None], fallback_keys: list[str]) -> int:
    """How many outlets carried a story: the distinct sites of its items' URLs (an item without
    a URL counts by its fallback key, its source)."""
    seen = set()
    for url, fallback in zip(urls, fallback_keys):
        host = ""
        if url:
            try:
                host = (urlsplit(url).hostname or "").lower()
            except ValueError:
                host = ""
        seen.add(host.removeprefix("www.") or fallback)
    return max(len(seen), 1)


def source_weight(weights: dict[str, float], sources: list[tuple[int, str]]) -> float:
    """The highest weight among a story's sources (id or URL as the setting names them); 1
    when the setting names none of them."""
    found = [weights[key] for source_id, url in sources for key in (str(source_id), url) if key in weights]
    return max(found) if found else 1.0
