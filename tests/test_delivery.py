"""Publishing emails the issue to every recipient exactly once, through a real SMTP server
on 127.0.0.1; a refusal is recorded and retried by the next run."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.deliver import deliver_pending, queue_issue
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish, stored_issue_context
from jiandu.stages.summarise import summarise
from jiandu.render import render
from jiandu.site_export import export_site
from jiandu.models import store
from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

RECIPIENTS = ["ada@example.org", "bo@example.org"]


class Inbox:
    """aiosmtpd handler that keeps messages and can refuse the next N recipients with 451."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse_next = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def published(monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    with LocalHTTPServer() as server:
        serve_world(server)
        for name, value in {
            "JIANDU_ALLOW_PRIVATE_HOSTS": "1", "JIANDU_SMTP_HOST": "127.0.0.1",
            "JIANDU_SMTP_PORT": str(controller.port), "JIANDU_SMTP_SECURITY": "none",
            "JIANDU_MAIL_FROM": "digest@example.com", "JIANDU_MAIL_TO": ",".join(RECIPIENTS),
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        rt = open_runtime()
        with rt.sessions.begin() as session:
            store.add_source(session, kind="feed", url=server.url("/feed.xml"))
        ingest(rt)
        summarise(rt)  # offline summariser: no LLM configured
        report = publish(rt)
        assert report.issue_number == 1
        yield rt, inbox
        rt.close()
    controller.stop()


def test_each_recipient_gets_the_issue_once(published):
    rt, inbox = published
    first = deliver_pending(rt)
    assert first.sent == 2 and first.failed == 0
    assert sorted(to for tos, _ in inbox.messages for to in tos) == RECIPIENTS
    again = deliver_pending(rt)
    assert again.sent == 0
    assert len(inbox.messages) == 2
    _, message = inbox.messages[0]
    assert message["Subject"].startswith("简读AI 第1期 · ")
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert message["Message-ID"] and message["Date"] and message["From"] == "digest@example.com"


def test_a_refused_recipient_is_recorded_and_retried_next_run(published):
    rt, inbox = published
    inbox.refuse_next = 1
    first = deliver_pending(rt)
    assert first.sent == 1 and first.failed == 1
    assert "451" in first.errors[0]
    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        statuses = sorted(d.status for d in store.deliveries_of(session, issue))
    assert statuses == ["failed", "sent"]
    second = deliver_pending(rt)
    assert second.sent == 1 and second.failed == 0
    delivered = sorted(to for tos, _ in inbox.messages for to in tos)
    assert delivered == RECIPIENTS  # each exactly once


def test_force_resends_and_same_message_id_is_kept_for_a_retry(published):
    rt, inbox = published
    deliver_pending(rt)
    queue_issue(rt, 1, ["ada@example.org"], force=True)
    assert deliver_pending(rt).sent == 1
    assert len(inbox.messages) == 3


def test_rerendering_a_stored_issue_reproduces_it_byte_for_byte(published):
    rt, _ = published
    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        context = stored_issue_context(session, rt.settings, issue)
        assert render(context, "md") == issue.markdown
        assert render(context, "html") == issue.html
        assert render(context, "txt") == issue.text


def test_site_build_writes_an_archive_feedparser_reads(published, tmp_path):
    import feedparser

    rt, _ = published
    paths = export_site(rt, tmp_path / "site", base_url="https://digest.example.org/jiandu/")
    names = {p.name for p in paths}
    assert {"index.html", "feed.xml"} <= names
    feed = feedparser.parse((tmp_path / "site" / "feed.xml").read_bytes())
    assert feed.bozo == 0
    assert len(feed.entries) == 1 and "第1期" in feed.entries[0].title


def test_status_counts_what_was_published_and_what_failed_to_send(published):
    from jiandu.status import collect_status

    rt, inbox = published
    inbox.refuse_next = 1
    deliver_pending(rt)
    status = collect_status(rt)
    assert status["sources"] == 1 and status["sources failing"] == 0
    assert status["items published"] == 8
    assert status["emails not delivered (failed)"] == 1
    assert status["last issue"].startswith("1 (")
