"""jiandu's schema: sources -> items -> texts -> summaries -> issues (SQLAlchemy 2.0, typed).

Unique keys make every step idempotent: an item is unique per (source, key), a text per hash,
a summary per (text hash, model, prompt version), an issue per number, a delivery per
(issue, recipient). Every datetime is stored timezone-aware in UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Index,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """DateTime that always comes back aware in UTC (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Source(Base):
    """A feed (URL or file) or a saved-links file; each keeps its own polling state."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "feed" | "links"
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(512))
    section: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # the worker polling it now
    claimed_until: Mapped[datetime | None]
    # The quiet-source alarm (jiandu.quiet): the median gap between entries, the newest entry's
    # date, and since when the source has said nothing (the newest entry's date), if quiet.
    rhythm_seconds: Mapped[float | None] = mapped_column(Float)
    newest_entry_at: Mapped[datetime | None]
    quiet_since: Mapped[datetime | None]
    # What of this source gets summarised (jiandu.rules): regular expressions, and a minimum 字.
    include: Mapped[list[str] | None] = mapped_column(JSON)
    exclude: Mapped[list[str] | None] = mapped_column(JSON)
    min_zi: Mapped[int | None] = mapped_column(Integer)

    items: Mapped[list[Item]] = relationship(back_populates="source")


class TextBlob(Base):
    """An extracted text, stored once however many items carry it."""

    __tablename__ = "texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Loaded only when read: an issue of thousands of stories needs their counts, not texts.
    content: Mapped[str] = mapped_column(Text, deferred=True)
    zi: Mapped[int] = mapped_column(Integer)  # 字 as FORMAT.md counts them
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash, for story merging
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SummaryRow(Base):
    """A summary of one text by one model and prompt version: the cache that saves money."""

    __tablename__ = "summaries"
    __table_args__ = (UniqueConstraint("text_sha256", "model", "prompt_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    prompt_version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    emoji: Mapped[str] = mapped_column(String(64))
    section: Mapped[str] = mapped_column(String(64))
    importance: Mapped[int] = mapped_column(Integer)
    bullets: Mapped[list[str]]
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    repairs: Mapped[int] = mapped_column(Integer, default=0)
    faithful: Mapped[bool | None] = mapped_column(Boolean)
    unsupported: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Issue(Base):
    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    issue_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the publication's zone
    subject: Mapped[str] = mapped_column(Text)
    markdown: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    stats: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "draft" (JIANDU_REVIEW: waits for an editor, never mailed or archived) or "published".
    status: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(128))

    items: Mapped[list[Item]] = relationship(back_populates="issue")


class ItemStatus(StrEnum):
    """Where an item is in its life; models.transitions holds every move between them."""

    NEW = "new"  # stored from a feed or a links file, no text yet
    EXTRACTED = "extracted"  # has its text; leads its story, waiting for a summary
    MERGED = "merged"  # has its text, and joined an earlier item's story
    SKIPPED = "skipped"  # the page is not something jiandu reads (PDF, image...)
    FAILED = "failed"  # failed_stage says which stage; retried after next_attempt_at
    HELD = "held"  # summarised with unsupported claims: kept out of issues, asked again
    SUMMARISED = "summarised"  # waiting for an issue
    PUBLISHED = "published"  # shown in an issue (its story's leader)
    # With JIANDU_REVIEW (models.drafts holds these moves): in a draft waiting for its editor,
    # or dropped from it by the editor (never sent; back to the pool if the draft is discarded).
    DRAFTED = "drafted"
    DROPPED = "dropped"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # recorded before the SMTP conversation
    SENT = "sent"
    FAILED = "failed"


class Item(Base):
    """One entry of a source. Its status moves new -> extracted -> summarised -> published;
    failures keep their stage, reason and attempt count and are retried after next_attempt_at."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source_id", "key"),
        Index("ix_items_status_next", "status", "next_attempt_at"),
        Index("ix_items_canonical_url", "canonical_url"),
        # Workers claiming a batch look for items in a status whose lease is free or expired.
        Index("ix_items_status_claimed_until", "status", "claimed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    key: Mapped[str] = mapped_column(String(2100))
    url: Mapped[str | None] = mapped_column(String(2048))
    canonical_url: Mapped[str | None] = mapped_column(String(2048))
    guid: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(512))
    published_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    feed_content: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_clipping: Mapped[bool] = mapped_column(Boolean, default=False)

    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.NEW.value)
    failed_stage: Mapped[str | None] = mapped_column(String(16))  # "fetch" | "summarise"
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]

    text_id: Mapped[int | None] = mapped_column(ForeignKey("texts.id"))
    text_origin: Mapped[str | None] = mapped_column(String(16))  # "page" | "feed" | "clipping"
    text_reason: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128))
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)  # id of the story's first item
    summary_id: Mapped[int | None] = mapped_column(ForeignKey("summaries.id"))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"), index=True)

    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]

    # The editor's version of the summary: only the fields changed (title, emoji, section,
    # bullets) and the faithfulness flags of edited bullets. The model's own stays in summary.
    edited: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    highlight: Mapped[bool | None] = mapped_column(Boolean)  # 看点: None lets importance decide
    edits: Mapped[list[ItemEdit]] = relationship(order_by="ItemEdit.id", viewonly=True)

    source: Mapped[Source] = relationship(back_populates="items")
    text: Mapped[TextBlob | None] = relationship()
    summary: Mapped[SummaryRow | None] = relationship()
    issue: Mapped[Issue | None] = relationship(back_populates="items")


class ItemEdit(Base):
    """One editor's change to a story (who, when, before, after): nothing an editor does is lost."""

    __tablename__ = "item_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    issue_number: Mapped[int | None] = mapped_column(Integer)
    editor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # edit|drop|restore|section|highlight|resummarise|add
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One (issue, recipient) email: recorded before and after sending, so it goes once."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("issue_id", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    message_id: Mapped[str | None] = mapped_column(String(256))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]


class Push(Base):
    """One (issue, push target) message: recorded before and after sending, so it goes once.
    The target's URL holds secrets, so only its SHA-256 (the key) and Apprise's masked form
    are stored; the URL itself is read from JIANDU_PUSH_URLS when sending."""

    __tablename__ = "pushes"
    __table_args__ = (UniqueConstraint("issue_id", "target_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    target_key: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(2048))  # masked
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]


class Run(Base):
    """What one stage run did, for `jiandu status` and the flows' artifacts."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
