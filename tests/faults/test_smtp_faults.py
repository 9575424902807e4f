"""Faults of the SMTP server (aiosmtpd on 127.0.0.1), met by the deliver stage: a refusal or a
dropped connection leaves the delivery failed with the server's answer and an attempt count,
the issue unsent to that recipient, and the next run sends it; nobody gets the issue twice."""

from __future__ import annotations

import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from jiandu.stages.deliver import deliver_pending
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.models import store
from tests.faults.support import article, closed_port, fault_runtime, load_articles

RECIPIENTS = ["ada@example.org", "bo@example.org"]


class ScriptedInbox:
    """Keeps what it accepts; `script` is a list of what to do with the next DATA commands:
    "accept", "451", "554" or "drop" (close the connection before answering)."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.script: list[str] = []
        self.refuse_recipients = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        action = self.script.pop(0) if self.script else "accept"
        if action == "drop":
            server.transport.close()
            return "421 closing"  # never reaches the client: the transport is gone
        if action in ("451", "554"):
            return f"{action} scripted refusal"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def received_by(self) -> list[str]:
        return sorted(to for tos, _ in self.messages for to in tos)


@pytest.fixture
def mail(monkeypatch, tmp_path):
    inbox = ScriptedInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0", JIANDU_SMTP_HOST="127.0.0.1",
                       JIANDU_SMTP_PORT=str(controller.port), JIANDU_SMTP_SECURITY="none",
                       JIANDU_MAIL_FROM="digest@example.com", JIANDU_MAIL_TO=",".join(RECIPIENTS))
    load_articles(rt, tmp_path, {name: article(name) for name in ("gmw", "bbc-1")})
    summarise(rt)  # offline summariser
    assert publish(rt).issue_number == 1
    yield rt, inbox, controller
    controller.stop()
    rt.close()


def deliveries(rt) -> dict[str, tuple[str, int, str | None]]:
    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        return {d.recipient: (d.status, d.attempts, d.error) for d in store.deliveries_of(session, issue)}


@pytest.mark.parametrize("first", ["451", "drop"], ids=["4xx", "drops mid-message"])
def test_a_transient_failure_is_recorded_and_the_next_run_sends_once(first, mail):
    rt, inbox, _ = mail
    inbox.script = [first]  # the first recipient's message fails, the second goes through
    report = deliver_pending(rt)
    assert (report.sent, report.failed) == (1, 1)
    state = deliveries(rt)
    failed = [r for r, (status, *_ ) in state.items() if status == "failed"]
    assert len(failed) == 1
    status, attempts, error = state[failed[0]]
    assert attempts == 1
    assert ("451 scripted refusal" in error) if first == "451" else ("closed the connection" in error)
    assert "127.0.0.1:" in error  # names the server
    assert inbox.received_by() == sorted(set(RECIPIENTS) - set(failed))

    again = deliver_pending(rt)
    assert (again.sent, again.failed) == (1, 0)
    assert {r: s for r, (s, _, _) in deliveries(rt).items()} == dict.fromkeys(RECIPIENTS, "sent")
    assert deliveries(rt)[failed[0]][1] == 2
    assert inbox.received_by() == RECIPIENTS  # each exactly once
    assert deliver_pending(rt).sent == 0


def test_a_permanent_refusal_leaves_the_issue_unsent_and_reported(mail):
    rt, inbox, _ = mail
    inbox.refuse_recipients = True
    report = deliver_pending(rt)
    assert (report.sent, report.failed) == (0, 2)
    assert all("550" in line for line in report.errors)
    for status, attempts, error in deliveries(rt).values():
        assert (status, attempts) == ("failed", 1) and "recipients refused" in error
    inbox.refuse_recipients = False
    assert deliver_pending(rt).sent == 2
    assert inbox.received_by() == RECIPIENTS


def test_a_server_that_is_down_fails_every_delivery_and_the_next_run_sends(mail, monkeypatch):
    from jiandu.settings import get_settings

    rt, inbox, controller = mail
    monkeypatch.setenv("JIANDU_SMTP_PORT", str(closed_port()))
    get_settings.cache_clear()
    rt.settings = get_settings()
    report = deliver_pending(rt)
    assert (report.sent, report.failed) == (0, 2)
    for status, attempts, error in deliveries(rt).values():
        assert (status, attempts) == ("failed", 1) and "cannot connect" in error
    monkeypatch.setenv("JIANDU_SMTP_PORT", str(controller.port))
    get_settings.cache_clear()
    rt.settings = get_settings()
    assert deliver_pending(rt).sent == 2
    assert inbox.received_by() == RECIPIENTS


def test_a_retry_keeps_the_message_id(mail):
    rt, inbox, _ = mail
    inbox.script = ["drop"]
    deliver_pending(rt)
    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        ids = {d.recipient: d.message_id for d in store.deliveries_of(session, issue)}
    deliver_pending(rt)
    received = {tos[0]: message["Message-ID"] for tos, message in inbox.messages}
    assert received == ids
