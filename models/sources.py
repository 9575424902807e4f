"""Managing sources by hand: find by id or URL, disable, enable, remove.

Removing a source removes the items it brought that no issue has shown; an issue is a record
of what was sent, so a source with items in an issue is not removed (disable it instead).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from jiandu.models import transitions
from jiandu.models.schema import Item, ItemEdit, Source


class SourceNotFound(LookupError):
    pass


def find_source(session: Session, reference: str) -> Source:
    """A source by its id, or by its URL (or file path) exactly as `source list` shows it."""
    reference = reference.strip()
    source = session.get(Source, int(reference)) if reference.isdigit() else None
    if source is None:
        source = session.scalar(select(Source).where(Source.url == reference))
    if source is None:
        raise SourceNotFound(f"no source {reference!r} (see `jiandu source list`)")
    return source


def set_enabled(source: Source, enabled: bool) -> bool:
    """True when this changed the source; enabling also clears its backoff, to poll it next run."""
    changed = source.enabled != enabled
    source.enabled = enabled
    if enabled:
        source.next_check_at = None
    return changed


def items_in_issues(session: Session, source: Source) -> int:
    return session.scalar(select(func.count()).select_from(Item).where(
        Item.source_id == source.id, Item.issue_id.is_not(None))) or 0


def remove_source(session: Session, source: Source) -> int:
    """Delete the source and its items; returns how many items went. The caller has checked
    items_in_issues() is 0. Items of other sources merged into one of its stories lead their
    own story again, and are summarised by the next run."""
    ids = list(session.scalars(select(Item.id).where(Item.source_id == source.id)))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        orphans = session.scalars(select(Item).where(Item.story_id.in_(chunk),
                                                     Item.source_id != source.id)).all()
        for item in orphans:
            if transitions.may(item, transitions.UNMERGED):
                transitions.unmerged(item)
            else:
                item.story_id = item.id
        session.execute(delete(ItemEdit).where(ItemEdit.item_id.in_(chunk)))
        session.execute(update(Item).where(Item.id.in_(chunk)).values(story_id=None))
        session.execute(delete(Item).where(Item.id.in_(chunk)))
    session.delete(source)
    session.flush()
    return len(ids)
