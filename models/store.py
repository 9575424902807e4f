"""Every query jiandu makes. Functions take a Session and never make or commit one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiandu.rules import FIRST_POLL, FirstPollLimit, skip_kind
from jiandu.records import FeedEntry, SavedRecord, Summary
from jiandu.urls import canonicalize
from jiandu.models.schema import (
    Delivery,
    DeliveryStatus,
    Issue,
    Item,
    ItemStatus,
    Run,
    Source,
    SummaryRow,
    TextBlob,
    utcnow,
)
from jiandu.models.transitions import (  # noqa: F401 (BACKOFF_*, backoff: the stages' waits)
    BACKOFF_BASE,
    BACKOFF_CAP,
    PUBLISHED,
    SENDING,
    backoff,
)

INSERT_BATCH = 500


# Sources ---------------------------------------------------------------------------------------


def add_source(session: Session, *, kind: str, url: str, name: str | None = None,
               section: str | None = None) -> tuple[Source, bool]:
    """The source at url, created if new; the bool says whether it was created."""
    existing = session.scalar(select(Source).where(Source.url == url))
    if existing is not None:
        return existing, False
    source = Source(kind=kind, url=url, name=name, section=section, enabled=True, error_count=0)
    session.add(source)
    session.flush()
    return source, True


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


def sources_by_ids(session: Session, source_ids: list[int]) -> list[Source]:
    return list(session.scalars(select(Source).where(Source.id.in_(source_ids)).order_by(Source.id)))


def source_by_id(session: Session, source_id: int) -> Source | None:
    return session.get(Source, source_id)


def source_by_url(session: Session, url: str) -> Source | None:
    return session.scalar(select(Source).where(Source.url == url))


def item_by_id(session: Session, item_id: int) -> Item | None:
    return session.get(Item, item_id)


def source_url_taken(session: Session, url: str) -> bool:
    """Whether a source already follows `url` (a feed that moved there cannot take it)."""
    return session.scalar(select(Source.id).where(Source.url == url).limit(1)) is not None


def links_source(session: Session, url: str, name: str) -> Source:
    source, _ = add_source(session, kind="links", url=url, name=name)
    return source


# Items -----------------------------------------------------------------------------------------


def _insert_items(session: Session, source: Source, rows: list[dict]) -> int:
    """Insert the rows whose (source, key) is new, in one statement; how many were new.
    ON CONFLICT DO NOTHING makes it safe when two runs poll the same source at once."""
    if not rows:
        return 0
    # Each dialect's insert is imported when used: PostgreSQL's costs read commands 0.05-0.1 s.
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    statement = (
        insert(Item).on_conflict_do_nothing(index_elements=["source_id", "key"]).returning(Item.id)
    )
    new = 0
    for start in range(0, len(rows), INSERT_BATCH):
        batch = [{"source_id": source.id, **row} for row in rows[start:start + INSERT_BATCH]]
        new += len(session.execute(statement, batch).all())
    return new


def add_feed_entries(session: Session, source: Source, entries: Iterable[FeedEntry],
                     now: datetime, first_poll: FirstPollLimit | None = None) -> int:
    """Store entries not seen before; returns how many were new. With `first_poll`, entries
    past its limits are stored as skipped (seen, not read) with the reason."""
    rows: list[dict] = []
    seen: set[str] = set()
    if first_poll is not None:  # the newest first, whatever order the feed lists them in
        entries = sorted(entries, key=lambda e: e.published or now, reverse=True)
    for entry in entries:
        if entry.key in seen:  # a feed that lists one entry twice
            continue
        seen.add(entry.key)
        published = entry.published if entry.published and entry.published <= now else None
        old = first_poll.reason_to_skip(published, now) if first_poll is not None else None
        rows.append(dict(
            key=entry.key[:2000],
            url=entry.url,
            canonical_url=canonicalize(entry.url) if entry.url else None,
            guid=entry.guid,
            title=entry.title or "",
            author=entry.author,
            published_at=published or now,
            first_seen_at=now,
            feed_content=entry.content or "",
            links=[entry.url] if entry.url else [],
            is_clipping=False,
            status=(ItemStatus.SKIPPED if old else ItemStatus.NEW).value,
            error=old,
            attempts=0,
        ))
    return _insert_items(session, source, rows)


def source_has_items(session: Session, source_id: int) -> bool:
    """Whether anything of the source was ever stored (else its next poll is its first)."""
    return session.scalar(select(Item.id).where(Item.source_id == source_id).limit(1)) is not None


def first_poll_skipped(session: Session, source_id: int) -> list[Item]:
    """Entries a first poll only recorded as seen, for `jiandu source backfill`."""
    return list(session.scalars(select(Item).where(
        Item.source_id == source_id, Item.status == ItemStatus.SKIPPED.value,
        Item.error.like(f"{FIRST_POLL}:%"))))


def skipped_by_kind(session: Session, since: datetime | None = None) -> dict[str, int]:
    """How many items each filter skipped: rule, first poll, triage (by their stored reason)."""
    query = select(Item.error).where(Item.status == ItemStatus.SKIPPED.value)
    if since is not None:
        query = query.where(Item.first_seen_at >= since)
    counts: dict[str, int] = {}
    for (reason,) in session.execute(query):
        kind = skip_kind(reason)
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def add_saved_records(session: Session, source: Source, records: Iterable[SavedRecord],
                      now: datetime) -> int:
    rows: list[dict] = []
    seen: set[str] = set()
    for record in records:
        if record.key in seen:
            continue
        seen.add(record.key)
        clipping = bool(record.text)
        links = list(record.links) if clipping else ([record.url] if record.url else [])
        rows.append(dict(
            key=record.key[:2000],
            url=record.url,
            canonical_url=canonicalize(record.url) if record.url else None,
            guid=None,
            title=record.title or "",
            author=record.author,
            published_at=min(record.published, now) if record.published else now,
            first_seen_at=now,
            feed_content=record.text or "",
            links=[link for link in links if link],
            is_clipping=clipping,
            status=ItemStatus.NEW.value,
            attempts=0,
        ))
    return _insert_items(session, source, rows)


def items_by_ids(session: Session, item_ids: list[int]) -> list[Item]:
    """The items, in id order (the ids of one claimed batch: a few hundred at most)."""
    return list(session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id)))


def text_for(session: Session, content: str, zi: int, signature: bytes | None) -> TextBlob:
    sha = hashlib.sha256(content.encode("utf-8")).hexdigest()
    blob = session.scalar(select(TextBlob).where(TextBlob.sha256 == sha))
    if blob is None:
        blob = TextBlob(sha256=sha, content=content, zi=zi, signature=signature)
        session.add(blob)
        session.flush()
    return blob


def story_by_url(session: Session, canonical_url: str, exclude_id: int) -> int | None:
    return session.scalar(
        select(Item.story_id)
        .where(Item.canonical_url == canonical_url, Item.id != exclude_id,
               Item.story_id.is_not(None))
        .order_by(Item.id)
        .limit(1)
    )


def recent_story_signatures(session: Session, since: datetime) -> Iterator[tuple[int, bytes]]:
    """(story id, signature) of story leaders seen since `since`, streamed."""
    rows = session.execute(
        select(Item.story_id, TextBlob.signature)
        .join(TextBlob, Item.text_id == TextBlob.id)
        .where(Item.story_id == Item.id, Item.first_seen_at >= since,
               TextBlob.signature.is_not(None))
        .execution_options(yield_per=500)
    )
    for story_id, signature in rows:
        yield story_id, signature


# Summaries -------------------------------------------------------------------------------------


def cached_summary(session: Session, sha: str, model: str, prompt_version: str) -> SummaryRow | None:
    return session.scalar(
        select(SummaryRow).where(SummaryRow.text_sha256 == sha, SummaryRow.model == model,
                                 SummaryRow.prompt_version == prompt_version)
    )


def store_summary(session: Session, sha: str, summary: Summary) -> SummaryRow:
    """Store a summary once per (text, model, prompt version). A summary that failed the
    faithfulness check is replaced by a later attempt; its tokens stay counted."""
    row = cached_summary(session, sha, summary.model, summary.prompt_version)
    if row is not None and row.faithful is not False:
        return row
    spent_before = (row.prompt_tokens, row.completion_tokens, row.requests) if row else (0, 0, 0)
    if row is None:
        row = SummaryRow(text_sha256=sha, model=summary.model, prompt_version=summary.prompt_version)
        try:
            with session.begin_nested():  # another worker may store the same text first
                session.add(row)
                _fill_summary(row, summary, (0, 0, 0))
        except IntegrityError:
            return cached_summary(session, sha, summary.model, summary.prompt_version)
        return row
    _fill_summary(row, summary, spent_before)
    session.flush()
    return row


def _fill_summary(row: SummaryRow, summary: Summary, spent_before: tuple[int, int, int]) -> None:
    row.title, row.emoji, row.section = summary.title, summary.emoji, summary.section
    row.importance, row.bullets = summary.importance, list(summary.bullets)
    row.prompt_tokens = spent_before[0] + summary.prompt_tokens
    row.completion_tokens = spent_before[1] + summary.completion_tokens
    row.requests = spent_before[2] + summary.requests
    row.repairs, row.faithful = summary.repairs, summary.faithful
    # Flags for the editor ("title: not in Chinese") ride with the claims; faithful stays as checked.
    row.unsupported = list(summary.unsupported) + list(getattr(summary, "flags", []))


# Issues ----------------------------------------------------------------------------------------


def publishable_items(session: Session, *, since: datetime | None, until: datetime | None,
                      include_unfaithful: bool, limit: int | None = None) -> list[Item]:
    """Summarised story leaders in no issue yet, dated within [since, until): with a limit,
    the most important first (then the oldest), the rest left for the next issue."""
    query = (
        select(Item)
        .join(SummaryRow, Item.summary_id == SummaryRow.id)
        .where(Item.status == ItemStatus.SUMMARISED, Item.issue_id.is_(None),
               Item.story_id == Item.id)
    )
    if since is not None:
        query = query.where(Item.published_at >= since)
    if until is not None:
        query = query.where(Item.published_at < until)
    if not include_unfaithful:
        query = query.where(or_(SummaryRow.faithful.is_(None), SummaryRow.faithful.is_(True)))
    query = query.order_by(SummaryRow.importance.desc(), Item.published_at, Item.id).limit(limit)
    return sorted(session.scalars(query), key=lambda item: item.id)


def story_members(session: Session, story_ids: list[int]) -> dict[int, list[Item]]:
    members: dict[int, list[Item]] = {sid: [] for sid in story_ids}
    for start in range(0, len(story_ids), 500):
        chunk = story_ids[start:start + 500]
        for item in session.scalars(select(Item).where(Item.story_id.in_(chunk)).order_by(Item.id)):
            members[item.story_id].append(item)
    return members


def next_issue_number(session: Session) -> int:
    return (session.scalar(select(func.max(Issue.number))) or 0) + 1


def issue_by_number(session: Session, number: int) -> Issue | None:
    return session.scalar(select(Issue).where(Issue.number == number))


def list_issues(session: Session) -> list[Issue]:
    return list(session.scalars(select(Issue).order_by(Issue.number)))


def latest_issue(session: Session) -> Issue | None:
    return session.scalar(select(Issue).order_by(Issue.number.desc()).limit(1))


def assign_to_issue(session: Session, story_ids: list[int], issue: Issue) -> None:
    """Every member of these stories goes into the issue; the leaders take the `published`
    transition (models.transitions), as one statement per chunk."""
    for start in range(0, len(story_ids), 500):
        chunk = story_ids[start:start + 500]
        session.execute(
            update(Item).where(Item.story_id.in_(chunk), Item.issue_id.is_(None))
            .values(issue_id=issue.id)
        )
        session.execute(
            update(Item).where(Item.id.in_(chunk), Item.status.in_(PUBLISHED.starts))
            .values(status=PUBLISHED.target)
        )


# Deliveries ------------------------------------------------------------------------------------


def delivery_for(session: Session, issue: Issue, recipient: str) -> Delivery:
    delivery = session.scalar(
        select(Delivery).where(Delivery.issue_id == issue.id, Delivery.recipient == recipient)
    )
    if delivery is None:
        delivery = Delivery(issue_id=issue.id, recipient=recipient,
                            status=DeliveryStatus.PENDING.value, attempts=0)
        session.add(delivery)
        session.flush()
    return delivery


def failed_deliveries(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.FAILED)
    ) or 0


def deliveries_to_send(session: Session, *, max_attempts: int) -> list[Delivery]:
    """Deliveries not sent yet (a "sending" one was cut short) with attempts left, oldest first."""
    return list(session.scalars(
        select(Delivery)
        .where(Delivery.status.in_(SENDING.starts), Delivery.attempts < max_attempts)
        .order_by(Delivery.id)
    ))


def issue_of(session: Session, delivery: Delivery) -> Issue:
    return session.get(Issue, delivery.issue_id)


def deliveries_of(session: Session, issue: Issue) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.issue_id == issue.id)))


# Runs and export -------------------------------------------------------------------------------


def record_run(session: Session, stage: str, started: datetime, stats: dict) -> Run:
    run = Run(stage=stage, started_at=started, finished_at=utcnow(), stats=stats)
    session.add(run)
    session.flush()
    return run


def runs_since(session: Session, since: datetime) -> list[Run]:
    return list(session.scalars(select(Run).where(Run.started_at >= since).order_by(Run.id)))


def iter_items(session: Session, *, batch: int = 500) -> Iterator[Item]:
    """Every item, in id order, a batch at a time (the table can be large)."""
    last = 0
    while True:
        chunk = list(session.scalars(select(Item).where(Item.id > last).order_by(Item.id).limit(batch)))
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id
        session.expunge_all()


def count_items_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Item.status, func.count()).group_by(Item.status)).all())


def issue_counts(session: Session, issue_ids: list[int]) -> dict[int, tuple[int, int]]:
    """issue id -> (stories shown, items in them): a story is one entry of the issue, with the
    items (the same story from several sources) merged into it; stories an editor dropped and
    their items are not counted."""
    counts = {issue_id: (0, 0) for issue_id in issue_ids}
    for start in range(0, len(issue_ids), 500):
        rows = session.execute(
            select(Item.issue_id, Item.id, Item.story_id, Item.status)
            .where(Item.issue_id.in_(issue_ids[start:start + 500]))).all()
        shown = {item_id for _, item_id, story_id, status in rows
                 if story_id == item_id and status != "dropped"}
        for issue_id, _, story_id, _ in rows:
            if story_id in shown:
                stories, items = counts[issue_id]
                counts[issue_id] = (stories, items + 1)
        for issue_id, item_id, _, _ in rows:
            if item_id in shown:
                stories, items = counts[issue_id]
                counts[issue_id] = (stories + 1, items)
    return counts
