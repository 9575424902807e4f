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


def explain(session: Session, item_id: int, settings=None) -> list[str] | None:
    """The item's lines; with `settings`, also where it ranks in its issue (or the next one)."""
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
    if settings is not None and status in (ItemStatus.SUMMARISED, ItemStatus.PUBLISHED, ItemStatus.DRAFTED) \
            and item.story_id in (None, item.id):
        lines.extend(ranking_lines(session, settings, item))
    return lines


def ranking_lines(session: Session, settings, item) -> list[str]:
    """Where the story stands in its issue (or in the next one, while it waits) and why: the
    score of jiandu.ranking, as the issue's own context computed it."""
    from jiandu.models.schema import utcnow
    from jiandu.stages.publish import issue_context, stored_issue_context

    if item.issue is not None:  # as published (its own weights), or the draft as it stands
        where = f"issue {item.issue.number}"
        context = stored_issue_context(session, settings, item.issue)
    else:
        leaders = store.publishable_items(session, since=None, until=None,
                                          include_unfaithful=not settings.hold_unfaithful,
                                          limit=settings.issue_max_stories)
        if item.id not in {leader.id for leader in leaders}:
            return [f"  waits: {len(leaders)} stories rank before it for the next issue "
                    f"(JIANDU_ISSUE_MAX_STORIES {settings.issue_max_stories})"]
        where = "the next issue, as it stands"
        context = issue_context(session, settings, leaders, 0, utcnow().date())
    for section in context["sections"]:
        for place, view in enumerate(section["items"], start=1):
            if view["ref"] != item.id:
                continue
            in_section = f" in {section['name']}" if section["name"] else ""
            highlighted = any(h["anchor"] == view["anchor"] for h in context["highlights"])
            chosen = {True: "chosen by the editor", False: "taken out by the editor"}.get(
                view["highlight"], "by score")
            return [f"  ranked {place} of {len(section['items'])}{in_section} "
                    f"(story {view['position']} of {context['item_count']} in {where})",
                    f"  {view['ranking']}",
                    f"  看点: {'yes' if highlighted else 'no'} ({chosen})"]
    return []
