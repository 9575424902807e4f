"""Claimed work: a worker takes a batch of items for a stage, so no two workers do one item.

A claim is two columns on the item: who holds it (`claimed_by`, "host:pid:uuid") and until when
(`claimed_until`, now + the lease). An item is free when it has no claim or its lease has passed,
so a worker that dies gives its items back once the lease runs out; a worker that lives
releases them when it is done, and renews the lease while it works.

One statement does the claiming on both databases:
    UPDATE items SET claimed_by = :me, claimed_until = :until
    WHERE id IN (SELECT id FROM items WHERE <stage wants it> AND <lease free>
                 ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING id
On PostgreSQL, SKIP LOCKED lets concurrent claimers pass over rows another is claiming instead of
queueing behind it. SQLite has no row locks (SQLAlchemy leaves FOR UPDATE out) but runs one
writing statement at a time, so the UPDATE's own lease check is the lease.

The lease is measured with this machine's clock: machines sharing a database need NTP.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from jiandu.models.schema import Item, ItemStatus, Source, utcnow
from jiandu.models.transitions import FETCH, SUMMARISE

STAGES = (FETCH, SUMMARISE)


def worker_id() -> str:
    """Who is claiming: host and process for people reading the table, a uuid to be unique."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def wanted(stage: str, now: datetime) -> ColumnElement[bool]:
    """Items the stage has work for, failures and holds after their backoff: the states
    models.transitions.FETCHABLE and SUMMARISABLE, in SQL."""
    if stage == FETCH:
        return or_(
            Item.status == ItemStatus.NEW,
            and_(Item.status == ItemStatus.FAILED, Item.failed_stage == FETCH,
                 Item.next_attempt_at <= now),
        )
    if stage == SUMMARISE:
        return and_(
            Item.story_id == Item.id,
            or_(
                Item.status == ItemStatus.EXTRACTED,
                and_(Item.status.in_((ItemStatus.FAILED, ItemStatus.HELD)),
                     Item.failed_stage == SUMMARISE, Item.next_attempt_at <= now),
            ),
        )
    raise ValueError(f"unknown stage {stage!r}; claimable stages are {', '.join(STAGES)}")


def lease_free(moment: datetime) -> ColumnElement[bool]:
    return or_(Item.claimed_until.is_(None), Item.claimed_until < moment)


def count_claimable(session: Session, stage: str, now: datetime,
                    clock: Callable[[], datetime] = utcnow) -> int:
    return session.scalar(
        select(func.count()).select_from(Item).where(wanted(stage, now), lease_free(clock()))
    ) or 0


def claim(sessions: sessionmaker[Session], stage: str, worker: str, *, limit: int,
          lease: timedelta, now: datetime,
          clock: Callable[[], datetime] = utcnow) -> list[int]:
    """Claim up to `limit` items for `stage` and commit the claim; their ids, ascending.

    `now` is the stage run's moment (which failures have waited out their backoff); leases are
    measured with `clock`, since a run can outlast a lease.
    """
    moment = clock()
    return _claim_rows(sessions, Item, [wanted(stage, now), lease_free(moment)], worker,
                       limit=limit, until=moment + lease)


def _claim_rows(sessions: sessionmaker[Session], model: type[Item] | type[Source],
                conditions: list[ColumnElement[bool]], worker: str, *, limit: int,
                until: datetime) -> list[int]:
    """The one claiming statement (see the module docstring), for items or sources."""
    candidates = (
        select(model.id)
        .where(*conditions)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(model)
        .where(model.id.in_(candidates))
        .values(claimed_by=worker, claimed_until=until)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    with sessions.begin() as session:
        return sorted(session.scalars(statement))


def renew(session: Session, item_ids: Sequence[int], worker: str, lease: timedelta,
          clock: Callable[[], datetime] = utcnow) -> int:
    """Push the lease of this worker's claims on `item_ids` forward; how many it still held."""
    return _set_claims(session, item_ids, worker, clock() + lease)


def release(sessions: sessionmaker[Session], item_ids: Sequence[int], worker: str) -> int:
    """Give back this worker's claims on `item_ids` (committed); how many it still held."""
    with sessions.begin() as session:
        return _set_claims(session, item_ids, worker, None)


def _set_claims(session: Session, item_ids: Sequence[int], worker: str,
                until: datetime | None) -> int:
    changed = 0
    ids = list(item_ids)
    for start in range(0, len(ids), 500):
        result = session.execute(
            update(Item)
            .where(Item.id.in_(ids[start:start + 500]), Item.claimed_by == worker)
            .values(claimed_by=worker if until else None, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    return changed


# Sources ---------------------------------------------------------------------------------------


def claim_due_feeds(sessions: sessionmaker[Session], worker: str, *, limit: int,
                    lease: timedelta, now: datetime,
                    clock: Callable[[], datetime] = utcnow) -> list[int]:
    """Claim up to `limit` feeds that are due for a poll, as items are claimed: one statement,
    SKIP LOCKED on PostgreSQL, the lease itself on SQLite. Their ids, ascending."""
    moment = clock()
    due = [Source.kind == "feed", Source.enabled.is_(True),
           or_(Source.next_check_at.is_(None), Source.next_check_at <= now),
           or_(Source.claimed_until.is_(None), Source.claimed_until < moment)]
    return _claim_rows(sessions, Source, due, worker, limit=limit, until=moment + lease)


def release_feed(source: Source) -> None:
    """The poll of this feed is recorded: its claim ends with the same commit."""
    source.claimed_by = source.claimed_until = None


def release_feeds(sessions: sessionmaker[Session], source_ids: Sequence[int], worker: str) -> None:
    """Give back this worker's claims on feeds it did not get to record (a run cut short)."""
    with sessions.begin() as session:
        session.execute(
            update(Source)
            .where(Source.id.in_(list(source_ids)), Source.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
