"""The item and delivery state machine (models.transitions), on objects without a session:
no database, no server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jiandu.models import transitions as t
from jiandu.models.schema import Delivery, DeliveryStatus, Item, ItemStatus, Push

NOW = datetime(2024, 1, 22, 8, 0, tzinfo=timezone.utc)
# drafted and dropped belong to review's moves (models.drafts), built on the same Transition.
ITEM_STATES = ["new", "extracted", "merged", "skipped", "failed:fetch", "failed:summarise",
               "held:summarise", "summarised", "published", "drafted", "dropped"]


def item_in(state: str, item_id: int = 7) -> Item:
    status, _, stage = state.partition(":")
    item = Item(id=item_id, status=status, failed_stage=stage or None, attempts=0,
                claimed_by="host:1:abc", claimed_until=NOW)
    if stage:
        item.error, item.attempts, item.next_attempt_at = "before", 1, NOW
    return item


def fetched(item: Item) -> None:
    t.text_stored(item, text_id=3, origin="page", reason="main text extracted from the page")


def test_a_new_item_gets_its_text_leads_its_story_and_is_summarised_then_published():
    item = item_in("new")
    fetched(item)
    assert (item.status, item.text_id, item.text_origin, item.story_id) == ("extracted", 3, "page", 7)
    t.summary_attached(item, 11)
    assert (item.status, item.summary_id) == (ItemStatus.SUMMARISED, 11)
    t.published(item, 2)
    assert (item.status, item.issue_id) == ("published", 2)


def test_a_failed_fetch_waits_its_backoff_and_is_then_fetched_like_a_new_item():
    item = item_in("new")
    t.failed(item, t.FETCH, "x" * 3000, NOW)
    assert (item.status, item.failed_stage, item.attempts) == ("failed", "fetch", 1)
    assert item.error == "x" * t.MAX_ERROR_CHARS
    assert item.next_attempt_at == NOW + t.BACKOFF_BASE
    t.failed(item, t.FETCH, "again", NOW)
    assert item.next_attempt_at == NOW + 2 * t.BACKOFF_BASE  # the wait doubles
    fetched(item)
    assert (item.status, item.failed_stage, item.error, item.next_attempt_at) == (
        "extracted", None, None, None)
    assert item.attempts == 2  # the record of what it took stays


def test_a_failure_that_waiting_cannot_mend_is_retried_after_a_day():
    item = item_in("extracted")
    t.failed(item, t.SUMMARISE, "the model refused", NOW, retry=False)
    assert item.next_attempt_at == NOW + t.BACKOFF_CAP


def test_backoff_doubles_up_to_a_day():
    assert [t.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=15), timedelta(minutes=30),
                                                timedelta(hours=1)]
    assert t.backoff(40) == t.BACKOFF_CAP


def test_a_duplicate_joins_the_earlier_story():
    item = item_in("new")
    fetched(item)
    t.merged(item, 2)
    assert (item.status, item.story_id) == (ItemStatus.MERGED, 2)
    with pytest.raises(t.IllegalTransition):
        t.summary_attached(item, 11)  # merged items are summarised through their leader


def test_an_item_cannot_merge_into_its_own_story():
    item = item_in("new")
    fetched(item)
    with pytest.raises(t.IllegalTransition, match="its own story"):
        t.merged(item, item.id)


def test_skipped_keeps_the_content_type_and_the_reason():
    item = item_in("failed:fetch")
    t.skipped(item, reason="unsupported content type application/pdf", content_type="application/pdf")
    assert (item.status, item.content_type, item.error) == (
        "skipped", "application/pdf", "unsupported content type application/pdf")


def test_held_keeps_the_summary_out_of_issues_and_asks_again_later():
    item = item_in("extracted")
    t.held(item, 11, "unsupported claims: 42%", NOW)
    assert (item.status, item.failed_stage, item.summary_id) == ("held", "summarise", 11)
    assert item.next_attempt_at == NOW + t.BACKOFF_BASE
    t.summary_attached(item, 12)  # a later, faithful summary
    assert (item.status, item.summary_id, item.error) == ("summarised", 12, None)


def test_an_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="unknown stage 'publish'"):
        t.failed(item_in("new"), "publish", "x", NOW)


# Every item transition, from every state: allowed exactly from where it starts, and an
# illegal one changes nothing.
CALLS = {
    "text stored": lambda item: fetched(item),
    "merged": lambda item: t.merged(item, 2),
    "skipped": lambda item: t.skipped(item, reason="pdf", content_type="application/pdf"),
    "fetch failed": lambda item: t.failed(item, t.FETCH, "down", NOW),
    "summary attached": lambda item: t.summary_attached(item, 11),
    "held": lambda item: t.held(item, 11, "unsupported", NOW),
    "summary failed": lambda item: t.failed(item, t.SUMMARISE, "bad JSON", NOW),
    "published": lambda item: t.published(item, 2),
    "filtered": lambda item: t.filtered(item, reason="rule: source 1 excludes '促销' (matched the title)"),
    "backfilled": lambda item: t.backfilled(item),
    "unmerged": lambda item: t.unmerged(item),
}
EXPECTED_STARTS = {
    "text stored": {"new", "failed:fetch"},
    "merged": {"extracted"},
    "skipped": {"new", "failed:fetch"},
    "fetch failed": {"new", "failed:fetch"},
    "summary attached": {"extracted", "failed:summarise", "held:summarise"},
    "held": {"extracted", "failed:summarise", "held:summarise"},
    "summary failed": {"extracted", "failed:summarise", "held:summarise"},
    "published": {"summarised"},
    "filtered": {"extracted", "failed:summarise"},
    "backfilled": {"skipped"},
    "unmerged": {"merged"},
}


def columns(item: Item) -> dict:
    return {c: getattr(item, c) for c in ("status", "failed_stage", "error", "attempts",
                                          "next_attempt_at", "text_id", "story_id", "summary_id",
                                          "issue_id", "content_type")}


@pytest.mark.parametrize("transition", t.ITEM_TRANSITIONS, ids=lambda tr: tr.name)
@pytest.mark.parametrize("state", ITEM_STATES)
def test_each_transition_runs_only_from_its_states(transition, state):
    assert transition.starts == EXPECTED_STARTS[transition.name]
    item = item_in(state)
    before = columns(item)
    if state in transition.starts:
        CALLS[transition.name](item)
        assert item.status == transition.target
        assert t.item_state(item) != state or state.startswith(("failed", "held"))
    else:
        with pytest.raises(t.IllegalTransition, match=transition.name):
            CALLS[transition.name](item)
        assert columns(item) == before
    assert t.may(item_in(state), transition) == (state in transition.starts)


def test_terminal_states_have_no_way_out():
    assert not any(tr.allowed("published") for tr in t.ITEM_TRANSITIONS)
    # A merged item leaves only when its story's leader is removed with its source.
    assert [tr.name for tr in t.ITEM_TRANSITIONS if tr.allowed("merged")] == ["unmerged"]
    # A skipped item leaves only when asked to (`jiandu source backfill`), back to the start.
    assert [tr.name for tr in t.ITEM_TRANSITIONS if tr.allowed("skipped")] == ["backfilled"]


def test_a_rule_skips_before_any_summary_and_a_backfill_starts_over():
    item = item_in("extracted")
    t.filtered(item, reason="rule: the publication includes only 'AI' (no match)")
    assert (item.status, item.error, item.summary_id) == ("skipped", "rule: the publication includes only 'AI' (no match)", None)
    old = item_in("new")
    old.status, old.error = "skipped", "first poll: older than 3 days"
    t.backfilled(old)
    assert (old.status, old.error, old.attempts) == ("new", None, 0)


def test_an_item_whose_story_lost_its_leader_leads_its_own():
    item = item_in("new")
    fetched(item)
    t.merged(item, 2)
    t.unmerged(item)
    assert (item.status, item.story_id) == ("extracted", item.id)
    t.summary_attached(item, 11)  # summarised on its own now


def test_a_claim_ends_whatever_the_status():
    for state in ITEM_STATES:
        item = item_in(state)
        t.claim_finished(item)
        assert (item.claimed_by, item.claimed_until) == (None, None)
        assert t.item_state(item) == state


def test_the_claimable_states_are_the_ones_claims_selects():
    # models.claims.wanted writes these sets in SQL; the two must not drift apart.
    assert t.FETCHABLE == {"new", "failed:fetch"}
    assert t.SUMMARISABLE == {"extracted", "failed:summarise", "held:summarise"}
    assert {s.value for s in ItemStatus} == {state.partition(":")[0] for state in ITEM_STATES}


# Deliveries ---------------------------------------------------------------------------------------


def test_a_delivery_is_recorded_sending_before_it_is_sent():
    delivery = Delivery(status=DeliveryStatus.PENDING, attempts=0)
    t.sending(delivery, "<1@x>")
    assert (delivery.status, delivery.attempts, delivery.message_id) == ("sending", 1, "<1@x>")
    t.sent(delivery, NOW)
    assert (delivery.status, delivery.sent_at, delivery.error) == ("sent", NOW, None)
    with pytest.raises(t.IllegalTransition):
        t.sending(delivery, "<2@x>")  # sent once is sent


def test_a_refused_delivery_is_tried_again_with_the_same_message_id():
    delivery = Delivery(status="pending", attempts=0)
    t.sending(delivery, "<1@x>")
    t.refused(delivery, "451 try later")
    assert (delivery.status, delivery.error) == ("failed", "451 try later")
    t.sending(delivery, delivery.message_id)
    assert (delivery.attempts, delivery.message_id) == (2, "<1@x>")
    with pytest.raises(t.IllegalTransition):
        t.refused(Delivery(status="sent"), "x")
    with pytest.raises(t.IllegalTransition):
        t.sent(Delivery(status="pending"), NOW)  # never sent without "sending" recorded first


def test_a_push_lives_the_life_of_an_email():
    row = Push(status=DeliveryStatus.PENDING, attempts=0)
    t.sending(row)
    t.refused(row, "HTTP 502")
    t.sending(row)
    t.sent(row, NOW)
    assert (row.status, row.attempts, row.error, row.sent_at) == ("sent", 2, None, NOW)
    t.push_requeued(row)
    assert (row.status, row.attempts) == ("pending", 0)


def test_requeued_sends_again_from_any_state():
    for status in DeliveryStatus:
        delivery = Delivery(status=status, attempts=3, message_id="<1@x>")
        t.requeued(delivery)
        assert (delivery.status, delivery.attempts, delivery.message_id) == ("pending", 0, None)
