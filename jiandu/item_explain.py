"""`jiandu items why ID`: an item's story told in plain lines: where it stands and why."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiandu.models import store
from jiandu.models.schema import ItemStatus
from jiandu.rules import skip_kind

_WHY = {
    ItemStatus.NEW: "waiting for its text (the next ingest fetches it)",
    ItemStatus.EXTRACTED: "has its text and waits for a summary",
    ItemStatus.SUMMARISED: "summarised, waiting for the next issue",
    ItemStatus.DRAFTED: "in a draft waiting for its editor",
    ItemStatus.DROPPED: "dropped from a draft by its editor",
}


def explain(session: Session, item_id: int) -> list[str] | None:
    item = store.item_by_id(session, item_id)
    if item is None:
        return None
    lines = [f"item {item.id}: {item.title or item.url or item.key}",
             f"  source {item.source_id}: {item.source.url}"]
    status = ItemStatus(item.status)
    if status is ItemStatus.SKIPPED:
        kind = skip_kind(item.error)
        what = {"rule": "skipped by a rule", "first poll": "recorded as seen by its feed's first poll",
                "triage": "skipped as off-topic"}.get(kind, "skipped")
        lines.append(f"  {what}: {item.error or item.content_type or 'no reason stored'}")
    elif status is ItemStatus.MERGED:
        lines.append(f"  merged: it tells the same story as item {item.story_id}, which is shown instead "
                     "(its link is listed there too)")
    elif status is ItemStatus.HELD:
        lines.append(f"  held: {item.error}; asked again after {item.next_attempt_at:%Y-%m-%d %H:%M} UTC")
    elif status is ItemStatus.FAILED:
        lines.append(f"  failed at {item.failed_stage} ({item.attempts} attempts): {item.error}")
        if item.next_attempt_at:
            lines.append(f"  tried again after {item.next_attempt_at:%Y-%m-%d %H:%M} UTC "
                         "(or now: jiandu items retry " f"{item.id})")
    elif status is ItemStatus.PUBLISHED:
        lines.append(f"  published in issue {item.issue.number if item.issue else item.issue_id}")
    else:
        lines.append(f"  {_WHY.get(status, status.value)}")
    if item.summary_id and status in (ItemStatus.SUMMARISED, ItemStatus.PUBLISHED, ItemStatus.HELD,
                                      ItemStatus.DRAFTED):
        if item.summary is not None:
            lines.append(f"  importance {item.summary.importance} of 5, section {item.summary.section}")
    if item.text_origin:
        lines.append(f"  text from the {item.text_origin}" + (f" ({item.text_reason})" if item.text_reason else ""))
    return lines
