"""Queries for pushes: one row per (issue, push target), keyed by the target URL's hash."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiandu.models.schema import DeliveryStatus, Issue, Push
from jiandu.models.transitions import SENDING


def push_for(session: Session, issue: Issue, key: str, masked: str) -> Push:
    row = session.scalar(select(Push).where(Push.issue_id == issue.id, Push.target_key == key))
    if row is None:
        row = Push(issue_id=issue.id, target_key=key, target=masked,
                   status=DeliveryStatus.PENDING.value, attempts=0)
        session.add(row)
        session.flush()
    return row


def pushes_to_send(session: Session, keys: list[str], *, max_attempts: int) -> list[Push]:
    """Pending, failed or interrupted pushes to targets still configured, oldest first."""
    if not keys:
        return []
    return list(session.scalars(
        select(Push).where(Push.status.in_(SENDING.starts),
                           Push.attempts < max_attempts, Push.target_key.in_(keys))
        .order_by(Push.issue_id, Push.id)))


def pushes_of(session: Session, issue: Issue) -> list[Push]:
    return list(session.scalars(select(Push).where(Push.issue_id == issue.id).order_by(Push.id)))


def failed_pushes(session: Session) -> int:
    return len(session.scalars(select(Push.id).where(Push.status == DeliveryStatus.FAILED)).all())


def quiet_sources(session: Session):
    """Sources marked quiet, for the editor's view (never the reader's edition)."""
    from jiandu.models.schema import Source

    return list(session.scalars(select(Source).where(Source.quiet_since.is_not(None))
                                .order_by(Source.quiet_since)))
