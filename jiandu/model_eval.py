"""`jiandu eval`: how well a model summarises real articles, as a report card.

A bundled sample of real articles (jiandu/data/eval_sample.json, Chinese and English) goes
through the real LLM summariser, one article at a time so latency is the model's own, and each
outcome is scored:
- valid first time (one request, no repair), valid after a repair, held (claims the article does
  not make), failed (no valid answer);
- Chinese titles (not flagged "title: not in Chinese");
- bullet length spread in 字 (min, median, max; the target is 60-150);
- latency, prompt and completion tokens per item, completion tokens per second, and cost when
  the model's price is known (JIANDU_LLM_PRICES).
Several models give one column each, side by side.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from importlib import resources

from jiandu.errors import SummariseError
from jiandu.records import ArticleInput, Summary
from jiandu.summarising.answer import TITLE_FLAG, is_chinese
from jiandu.zi import count_zi


def sample_articles(limit: int | None = None) -> list[tuple[str, ArticleInput]]:
    """(language, article) for the bundled sample, Chinese and English alternating."""
    data = json.loads(resources.files("jiandu").joinpath("data/eval_sample.json").read_text(encoding="utf-8"))
    by_language: dict[str, list] = {}
    for entry in data["articles"]:
        by_language.setdefault(entry["language"], []).append(entry)
    mixed = [entry for group in zip(*by_language.values()) for entry in group]
    mixed += [e for group in by_language.values() for e in group if e not in mixed]
    chosen = mixed[:limit] if limit else mixed
    return [(e["language"], ArticleInput(title=e["title"], text=e["text"], url=f"sample:{e['name']}"))
            for e in chosen]


@dataclass
class Outcome:
    article: str
    kind: str  # "first time", "after repair", "held", "failed"
    seconds: float
    summary: Summary | None = None
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0


def judge(article: str, result: Summary | SummariseError, seconds: float) -> Outcome:
    if isinstance(result, SummariseError):
        return Outcome(article, "failed", seconds, None, str(result), result.prompt_tokens,
                       result.completion_tokens, result.requests)
    if result.faithful is False:
        kind = "held"
    else:
        kind = "after repair" if result.repairs or result.flags else "first time"
    return Outcome(article, kind, seconds, result, "; ".join(result.unsupported), result.prompt_tokens,
                   result.completion_tokens, result.requests)


@dataclass
class Card:
    model: str
    outcomes: list[Outcome] = field(default_factory=list)
    price: tuple[float, float] | None = None  # USD per million prompt, completion tokens

    def count(self, kind: str) -> int:
        return sum(outcome.kind == kind for outcome in self.outcomes)

    def rows(self) -> dict[str, str]:
        n = len(self.outcomes)
        summaries = [o.summary for o in self.outcomes if o.summary is not None]
        chinese = sum(is_chinese(s.title) and TITLE_FLAG not in s.flags for s in summaries)
        lengths = [count_zi(bullet) for s in summaries for bullet in s.bullets]
        in_range = sum(60 <= zi <= 150 for zi in lengths)
        seconds = [o.seconds for o in self.outcomes]
        prompt = sum(o.prompt_tokens for o in self.outcomes)
        completion = sum(o.completion_tokens for o in self.outcomes)
        generating = sum(o.seconds for o in self.outcomes if o.completion_tokens)
        rows = {
            "articles": str(n),
            "valid first time": f"{self.count('first time')}/{n}",
            "valid after a repair": f"{self.count('after repair')}/{n}",
            "held (unsupported claims)": f"{self.count('held')}/{n}",
            "failed": f"{self.count('failed')}/{n}",
            "Chinese titles": f"{chinese}/{len(summaries)}",
            "bullet 字 min/median/max": (f"{min(lengths)}/{statistics.median(lengths):.0f}/{max(lengths)}"
                                         if lengths else "-"),
            "bullets within 60-150 字": f"{in_range}/{len(lengths)}",
            "requests per item": f"{sum(o.requests for o in self.outcomes) / max(n, 1):.1f}",
            "latency per item (s)": (f"{statistics.median(seconds):.1f} median, {max(seconds):.1f} max"
                                     if seconds else "-"),
            "tokens per item (prompt + completion)": f"{prompt // max(n, 1)} + {completion // max(n, 1)}",
            "completion tokens per second": f"{completion / generating:.1f}" if generating else "-",
        }
        if self.price:
            cost = (prompt * self.price[0] + completion * self.price[1]) / 1_000_000
            rows["cost per item (USD)"] = f"{cost / max(n, 1):.5f}"
        else:
            rows["cost per item (USD)"] = "price unknown (JIANDU_LLM_PRICES)"
        return rows


def run_card(summariser, sections: list[str], articles: list[tuple[str, ArticleInput]],
             price: tuple[float, float] | None = None, on_done=None) -> Card:
    card = Card(model=summariser.model, price=price)
    for _, article in articles:
        started = time.monotonic()
        try:
            result: Summary | SummariseError = summariser.summarise(article, sections)
        except SummariseError as error:
            result = error
        outcome = judge(article.url or article.title, result, time.monotonic() - started)
        card.outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return card
