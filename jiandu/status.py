"""What `jiandu status` shows: the state of sources, items, spending and issues."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from jiandu.runtime import Runtime
from jiandu.costs import cost_of
from jiandu.models import pushes, store
from jiandu.models.schema import ItemStatus, utcnow


def run_cost(settings, stats: dict) -> float:
    """A summarise run's cost: per model when a fallback chain recorded several, each at its
    own price; else all its tokens at the price of its one model."""
    if stats.get("models"):
        return sum(cost_of(settings, model, usage.get("prompt_tokens", 0),
                           usage.get("completion_tokens", 0))
                   for model, usage in stats["models"].items())
    return cost_of(settings, stats.get("model", ""), stats.get("prompt_tokens", 0),
                   stats.get("completion_tokens", 0))


def collect_status(rt: Runtime) -> dict[str, Any]:
    now = utcnow()
    with rt.sessions() as session:
        sources = store.list_sources(session)
        counts = store.count_items_by_status(session)
        week = store.runs_since(session, now - timedelta(days=7))
        latest = store.latest_issue(session)
        failed_mail = store.failed_deliveries(session)
        polled = [s.last_polled_at for s in sources if s.last_polled_at]
        prompt = sum(r.stats.get("prompt_tokens", 0) for r in week if r.stage == "summarise")
        completion = sum(r.stats.get("completion_tokens", 0) for r in week if r.stage == "summarise")
        cost = sum(run_cost(rt.settings, r.stats) for r in week if r.stage == "summarise")
        skipped = store.skipped_by_kind(session)  # jiandu.rules.skip_kind: rule, first poll, triage
        triage_saved = sum(r.stats.get("triage_tokens_saved", 0) for r in week if r.stage == "summarise")
        rules_saved = sum(r.stats.get("tokens_not_spent", 0) for r in week if r.stage == "summarise")
        return {
            "sources": len(sources),
            "sources failing": sum(1 for s in sources if s.error_count),
            "sources disabled": sum(1 for s in sources if not s.enabled),
            "sources quiet (no new entry for longer than their rhythm)": sum(
                1 for s in sources if s.quiet_since is not None),
            "last poll": max(polled).strftime("%Y-%m-%d %H:%M UTC") if polled else "never",
            "items waiting for text": counts.get(ItemStatus.NEW, 0),
            "items waiting for a summary": counts.get(ItemStatus.EXTRACTED, 0),
            "items failed": counts.get(ItemStatus.FAILED, 0),
            "items summarised, not yet published": counts.get(ItemStatus.SUMMARISED, 0),
            "items published": counts.get(ItemStatus.PUBLISHED, 0),
            "items merged into a story": counts.get(ItemStatus.MERGED, 0),
            "items held (unsupported claims)": counts.get(ItemStatus.HELD, 0),
            "items skipped by a rule": skipped.get("rule", 0),
            "items skipped as off-topic (triage)": skipped.get("triage", 0),
            "items seen at a first poll, not read (source backfill)": skipped.get("first poll", 0),
            "stories in a draft (JIANDU_REVIEW)": counts.get(ItemStatus.DRAFTED, 0),
            "stories dropped by an editor": counts.get(ItemStatus.DROPPED, 0),
            "tokens this week": prompt + completion,
            "cost this week (USD)": round(cost, 4),
            "tokens triage saved this week (estimated)": triage_saved,
            "tokens rules saved this week (estimated)": rules_saved,
            "emails not delivered (failed)": failed_mail,
            "pushes not delivered (failed)": pushes.failed_pushes(session),
            "last issue": _issue_line(session, latest) if latest else "none",
        }


def _issue_line(session, issue) -> str:
    stories, items = store.issue_counts(session, [issue.id])[issue.id]
    waiting = ", a draft waiting for review" if issue.status != "published" else ""
    return f"{issue.number} ({issue.issue_date}, {stories} stories from {items} items{waiting})"
