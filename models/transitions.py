"""Every change of an item's or a delivery's state, by name: the one owner of their lives.

An item (the status column, with failed_stage for failures and holds):

    new ─┬─ text_stored ──> extracted ─┬─ summary_attached ──> summarised ── published ──> published
         │     └─ merged ──> merged     ├─ held ──> held ─────┐
         ├─ skipped ──> skipped         └─ failed ──> failed ─┴─ (after the backoff, summarised again)
         └─ failed ──> failed (fetch) ── (after the backoff, fetched again, as if new)

A delivery: pending ─ sending ─> sending ─┬─ sent ──> sent
                                          └─ refused ──> failed ─ sending ─> ...
            any ─ requeued ─> pending   (`jiandu issue send --force`)

Transitions take plain values (ids, reasons, moments), never a connector's exception, so this
module is the whole state machine and is tested without a database or a server (the objects
need no session). A transition from a state it does not start from raises IllegalTransition
before it changes anything: a worker whose lease ran out finds the item moved on by another.
A claim (claimed_by, claimed_until) is apart from the status: claim_finished ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jiandu.models.schema import Delivery, DeliveryStatus, Item, ItemStatus, Push

# Failing work waits 15 min, 30 min, 1 h ... capped at a day, before it is tried again.
BACKOFF_BASE = timedelta(minutes=15)
BACKOFF_CAP = timedelta(hours=24)
MAX_ERROR_CHARS = 2000

FETCH, SUMMARISE = "fetch", "summarise"  # the stages a failure belongs to (failed_stage)


def backoff(attempts: int) -> timedelta:
    # The exponent stops growing well past the cap: a source failing for weeks must not
    # overflow timedelta.
    return min(BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 16)), BACKOFF_CAP)


class IllegalTransition(ValueError):
    """A transition asked of an item or a delivery in a state it does not start from."""


def state_of(status: str, failed_stage: str | None = None) -> str:
    """The state a transition starts from: the status, and for a failure its stage."""
    if status in (ItemStatus.FAILED, ItemStatus.HELD) and failed_stage:
        return f"{status}:{failed_stage}"
    return str(status)


# States an item is in when a stage may work on it (what models.claims.wanted selects).
FETCHABLE = frozenset({ItemStatus.NEW.value, f"{ItemStatus.FAILED}:{FETCH}"})
SUMMARISABLE = frozenset({ItemStatus.EXTRACTED.value, f"{ItemStatus.FAILED}:{SUMMARISE}",
                          f"{ItemStatus.HELD}:{SUMMARISE}"})


@dataclass(frozen=True)
class Transition:
    name: str
    starts: frozenset[str]  # states (see state_of) it may start from
    target: str

    def allowed(self, state: str) -> bool:
        return state in self.starts

    def check(self, state: str) -> None:
        if not self.allowed(state):
            raise IllegalTransition(
                f"{self.name}: not from {state!r} (only from {', '.join(sorted(self.starts))})"
            )


TEXT_STORED = Transition("text stored", FETCHABLE, ItemStatus.EXTRACTED)
MERGED = Transition("merged", frozenset({ItemStatus.EXTRACTED.value}), ItemStatus.MERGED)
SKIPPED = Transition("skipped", FETCHABLE, ItemStatus.SKIPPED)
FETCH_FAILED = Transition("fetch failed", FETCHABLE, ItemStatus.FAILED)
SUMMARY_ATTACHED = Transition("summary attached", SUMMARISABLE, ItemStatus.SUMMARISED)
HELD = Transition("held", SUMMARISABLE, ItemStatus.HELD)
SUMMARY_FAILED = Transition("summary failed", SUMMARISABLE, ItemStatus.FAILED)
# A rule or the topic triage says the text is not for this publication: no summary is asked.
FILTERED = Transition("filtered", frozenset({ItemStatus.EXTRACTED.value, f"{ItemStatus.FAILED}:{SUMMARISE}"}),
                      ItemStatus.SKIPPED)
# `jiandu source backfill`: an entry a first poll only recorded as seen is read after all.
BACKFILLED = Transition("backfilled", frozenset({ItemStatus.SKIPPED.value}), ItemStatus.NEW)
# The item its story merged into is gone (`jiandu source remove`): it leads its own story again.
UNMERGED = Transition("unmerged", frozenset({ItemStatus.MERGED.value}), ItemStatus.EXTRACTED)
# Publishing is one UPDATE over many items (models.store.assign_to_issue) built from this.
PUBLISHED = Transition("published", frozenset({ItemStatus.SUMMARISED.value}), ItemStatus.PUBLISHED)

ITEM_TRANSITIONS = (TEXT_STORED, MERGED, SKIPPED, FETCH_FAILED, SUMMARY_ATTACHED, HELD,
                    SUMMARY_FAILED, FILTERED, BACKFILLED, UNMERGED, PUBLISHED)
FAILED_IN = {FETCH: FETCH_FAILED, SUMMARISE: SUMMARY_FAILED}


def item_state(item: Item) -> str:
    return state_of(item.status, item.failed_stage)


def may(item: Item, transition: Transition) -> bool:
    """Whether the item is where `transition` starts (another worker may have moved it on)."""
    return transition.allowed(item_state(item))


# Items ------------------------------------------------------------------------------------------


def text_stored(item: Item, *, text_id: int, origin: str, reason: str) -> None:
    """The item has its text (origin "page", "feed" or "clipping", and why that one); it leads
    its own story until merged() says otherwise."""
    TEXT_STORED.check(item_state(item))
    item.text_id, item.text_origin, item.text_reason = text_id, origin, reason
    item.story_id = item.id
    _settled(item, TEXT_STORED.target)


def merged(item: Item, story_id: int) -> None:
    """The item tells a story an earlier item already tells: it joins that one."""
    MERGED.check(item_state(item))
    if story_id == item.id:
        raise IllegalTransition(f"merged: item {item.id} cannot join its own story")
    item.story_id = story_id
    item.status = MERGED.target


def skipped(item: Item, *, reason: str, content_type: str | None) -> None:
    """The page is not something jiandu reads, and the feed has no text: nothing to do."""
    SKIPPED.check(item_state(item))
    item.status = SKIPPED.target
    item.content_type = content_type
    item.error = reason


def filtered(item: Item, *, reason: str) -> None:
    """A rule or the triage skipped the item before any summary was asked; `reason` names it."""
    FILTERED.check(item_state(item))
    item.status = FILTERED.target
    item.failed_stage = None
    item.next_attempt_at = None
    item.error = reason[:MAX_ERROR_CHARS]


def unmerged(item: Item) -> None:
    """The story this item had joined lost its leader: the item leads its own story and waits
    for a summary of its own."""
    UNMERGED.check(item_state(item))
    item.story_id = item.id
    item.status = UNMERGED.target


def backfilled(item: Item) -> None:
    """Fetch and summarise after all an entry that was only recorded as seen."""
    BACKFILLED.check(item_state(item))
    item.status = BACKFILLED.target
    item.error = None
    item.attempts = 0
    item.next_attempt_at = None


def failed(item: Item, stage: str, reason: str, now: datetime, *, retry: bool = True) -> None:
    """The stage failed for `reason`; the item is tried again after a backoff (a failure that
    cannot get better by waiting, retry=False, is still retried, but only after a day)."""
    transition = FAILED_IN.get(stage)
    if transition is None:
        raise ValueError(f"unknown stage {stage!r}; items fail in {', '.join(FAILED_IN)}")
    transition.check(item_state(item))
    _wait(item, transition.target, stage, reason, now, retry=retry)


def summary_attached(item: Item, summary_id: int) -> None:
    SUMMARY_ATTACHED.check(item_state(item))
    item.summary_id = summary_id
    _settled(item, SUMMARY_ATTACHED.target)


def held(item: Item, summary_id: int, reason: str, now: datetime) -> None:
    """Summarised with claims the article does not support: the summary is kept and shown,
    the item stays out of issues and is summarised again after a backoff."""
    HELD.check(item_state(item))
    item.summary_id = summary_id
    _wait(item, HELD.target, SUMMARISE, reason, now, retry=True)


def published(item: Item, issue_id: int) -> None:
    """One item into an issue; models.store.assign_to_issue does the same for many at once."""
    PUBLISHED.check(item_state(item))
    item.issue_id = issue_id
    item.status = PUBLISHED.target


def claim_finished(item: Item) -> None:
    """The claimed work on this item is settled: another stage may claim it at once."""
    item.claimed_by = item.claimed_until = None


def _settled(item: Item, status: str) -> None:
    item.status = status
    item.failed_stage = None
    item.error = None
    item.next_attempt_at = None


def _wait(item: Item, status: str, stage: str, reason: str, now: datetime, *, retry: bool) -> None:
    item.status = status
    item.failed_stage = stage
    item.error = reason[:MAX_ERROR_CHARS]
    item.attempts = (item.attempts or 0) + 1
    item.next_attempt_at = now + (backoff(item.attempts) if retry else BACKOFF_CAP)


# Deliveries -------------------------------------------------------------------------------------

SENDABLE = frozenset({DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value,
                      DeliveryStatus.FAILED.value})
SENDING = Transition("sending", SENDABLE, DeliveryStatus.SENDING)
SENT = Transition("sent", frozenset({DeliveryStatus.SENDING.value}), DeliveryStatus.SENT)
REFUSED = Transition("refused", frozenset({DeliveryStatus.SENDING.value}), DeliveryStatus.FAILED)
REQUEUED = Transition("requeued", frozenset(s.value for s in DeliveryStatus), DeliveryStatus.PENDING)
DELIVERY_TRANSITIONS = (SENDING, SENT, REFUSED, REQUEUED)
# A push (jiandu.stages.push) lives the same life as an email: pending, sending, sent or failed.


def sending(row: Delivery | Push, message_id: str | None = None) -> None:
    """Recorded (and committed) before the message goes; an email keeps the Message-ID a
    resend reuses."""
    SENDING.check(row.status)
    if message_id is not None:
        row.message_id = message_id
    row.status = SENDING.target
    row.attempts = (row.attempts or 0) + 1


def sent(row: Delivery | Push, now: datetime) -> None:
    SENT.check(row.status)
    row.status = SENT.target
    row.error = None
    row.sent_at = now


def refused(row: Delivery | Push, reason: str) -> None:
    REFUSED.check(row.status)
    row.status = REFUSED.target
    row.error = reason


def push_requeued(row: Push) -> None:
    """Push again, as if never pushed."""
    REQUEUED.check(row.status)
    row.status = REQUEUED.target
    row.attempts = 0
    row.error = None


def requeued(delivery: Delivery) -> None:
    """Send again, as if never sent (a new Message-ID, attempts from zero)."""
    REQUEUED.check(delivery.status)
    delivery.status = REQUEUED.target
    delivery.message_id = None
    delivery.attempts = 0
