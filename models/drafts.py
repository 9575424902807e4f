"""Drafts (JIANDU_REVIEW): the queries and the moves of an issue and its stories under review.

An issue under review and its story leaders:

    publish (review on) ──> issue "draft", leaders summarised ── drafted ──> drafted
    drop:     drafted ──> dropped        restore: dropped ──> drafted
    approve:  issue "published"; drafted ──> published; dropped stays dropped (never sent)
    discard:  the draft is deleted; drafted, dropped ──> summarised (back to the pool)

Every editor's change is logged in item_edits (who, when, before, after). Functions take a
Session and never commit; the callers (jiandu.stages.review) own the transactions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jiandu.models.schema import Issue, Item, ItemEdit, ItemStatus, SummaryRow
from jiandu.models.transitions import Transition, item_state

DRAFT, PUBLISHED = "draft", "published"  # issues.status

DRAFTED = Transition("drafted", frozenset({ItemStatus.SUMMARISED.value}), ItemStatus.DRAFTED)
DROPPED = Transition("dropped", frozenset({ItemStatus.DRAFTED.value}), ItemStatus.DROPPED)
RESTORED = Transition("restored", frozenset({ItemStatus.DROPPED.value}), ItemStatus.DRAFTED)
APPROVED = Transition("approved", frozenset({ItemStatus.DRAFTED.value}), ItemStatus.PUBLISHED)
RETURNED = Transition("returned to the pool",
                      frozenset({ItemStatus.DRAFTED.value, ItemStatus.DROPPED.value}),
                      ItemStatus.SUMMARISED)
IN_DRAFT = (ItemStatus.DRAFTED.value, ItemStatus.DROPPED.value)


class DraftError(ValueError):
    """An action a draft cannot take (not a draft, a story not in it...), said in plain words."""


def open_draft(session: Session) -> Issue | None:
    """The draft waiting for its editor, if any (publish makes no second one meanwhile)."""
    return session.scalar(select(Issue).where(Issue.status == DRAFT).order_by(Issue.number).limit(1))


def draft(session: Session, number: int) -> Issue:
    issue = session.scalar(select(Issue).where(Issue.number == number))
    if issue is None:
        raise DraftError(f"no issue number {number}")
    if issue.status != DRAFT:
        raise DraftError(f"issue {number} is {issue.status}, not a draft")
    return issue


def stories(session: Session, issue: Issue, *, dropped: bool = True) -> list[Item]:
    """The issue's story leaders (with the dropped ones, unless dropped=False), by id."""
    statuses = [ItemStatus.DRAFTED.value, ItemStatus.PUBLISHED.value]
    if dropped:
        statuses.append(ItemStatus.DROPPED.value)
    return list(session.scalars(
        select(Item).where(Item.issue_id == issue.id, Item.story_id == Item.id,
                           Item.status.in_(statuses)).order_by(Item.id)))


def story_in(session: Session, issue: Issue, item_id: int) -> Item:
    """A story of the draft by the id of any of its items (the leader is what the issue shows)."""
    item = session.get(Item, item_id)
    if item is None:
        raise DraftError(f"no item {item_id}")
    leader = session.get(Item, item.story_id) if item.story_id and item.story_id != item.id else item
    if leader is None or leader.issue_id != issue.id or leader.status not in IN_DRAFT:
        raise DraftError(f"item {item_id} is not a story of draft {issue.number}")
    return leader


def mark_drafted(session: Session, story_ids: list[int], issue: Issue) -> None:
    """Leaders (and their stories' other items) into the draft, as assign_to_issue does for an
    issue sent at once; one UPDATE per 500 stories."""
    for start in range(0, len(story_ids), 500):
        chunk = story_ids[start:start + 500]
        session.execute(update(Item).where(Item.story_id.in_(chunk), Item.issue_id.is_(None))
                        .values(issue_id=issue.id))
        session.execute(update(Item).where(Item.id.in_(chunk),
                                           Item.status.in_(DRAFTED.starts))
                        .values(status=DRAFTED.target))


def move(item: Item, transition: Transition) -> None:
    transition.check(item_state(item))
    item.status = transition.target


def approve(session: Session, issue: Issue, editor: str, now: datetime) -> None:
    for item in stories(session, issue):
        if item.status == ItemStatus.DRAFTED:
            move(item, APPROVED)
    issue.status = PUBLISHED
    issue.approved_at = now
    issue.approved_by = editor[:128]


def discard(session: Session, issue: Issue) -> int:
    """Delete the draft; its stories go back to the pool (keeping their edits). How many."""
    returned = 0
    for item in stories(session, issue):
        move(item, RETURNED)
        returned += 1
    session.execute(update(Item).where(Item.issue_id == issue.id).values(issue_id=None))
    session.delete(issue)
    session.flush()
    return returned


def log_edit(session: Session, item: Item, *, editor: str, action: str,
             before: dict[str, Any] | None, after: dict[str, Any] | None,
             issue_number: int | None, now: datetime) -> ItemEdit:
    edit = ItemEdit(item_id=item.id, issue_number=issue_number, editor=editor[:128],
                    action=action, before=before, after=after, created_at=now)
    session.add(edit)
    session.flush()
    return edit


def edits_of(session: Session, item_id: int) -> list[ItemEdit]:
    return list(session.scalars(select(ItemEdit).where(ItemEdit.item_id == item_id)
                                .order_by(ItemEdit.id)))


def replace_summary(session: Session, row: SummaryRow, fresh) -> None:
    """A re-run's answer over the stored one (same text, model and prompt): tokens add up."""
    row.title, row.emoji, row.section = fresh.title, fresh.emoji, fresh.section
    row.importance, row.bullets = fresh.importance, list(fresh.bullets)
    row.prompt_tokens += fresh.prompt_tokens
    row.completion_tokens += fresh.completion_tokens
    row.requests += fresh.requests
    row.repairs += fresh.repairs
    row.faithful, row.unsupported = fresh.faithful, list(fresh.unsupported)
    session.flush()
