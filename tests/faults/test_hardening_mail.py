"""Issue 12, holes 10 and 11: hand-sent mail.

10. A CR or LF in a recipient (header injection) or in the subject fails that one delivery with
    a reason; the row is not left `sending`, and the other recipients still get the issue.
11. `jiandu issue send N --to x` with JIANDU_MAIL_TO unset sends to x.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from jiandu.models.schema import Delivery, Issue
from jiandu.stages.deliver import deliver_pending, queue_issue
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from tests.faults.support import article, closed_port, fault_runtime, load_articles


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def published(monkeypatch, tmp_path, port: int):
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0", JIANDU_SMTP_HOST="127.0.0.1",
                       JIANDU_SMTP_PORT=str(port), JIANDU_SMTP_SECURITY="none")
    load_articles(rt, tmp_path, {"gmw": article("gmw")})
    summarise(rt)
    assert publish(rt).issue_number == 1
    return rt


def run_cli(args: list[str], cwd: Path, port: int) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    env = {**clean, "COLUMNS": "200", "JIANDU_HOME": os.environ["JIANDU_HOME"],
           "JIANDU_SMTP_HOST": "127.0.0.1", "JIANDU_SMTP_PORT": str(port),
           "JIANDU_SMTP_SECURITY": "none"}  # JIANDU_MAIL_TO unset
    return subprocess.run([sys.executable, "-m", "jiandu", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_send_to_with_no_mail_to_setting_sends(monkeypatch, tmp_path, smtp):
    port, inbox = smtp
    published(monkeypatch, tmp_path, port).close()
    sent = run_cli(["issue", "send", "1", "--to", "ada@example.org"], tmp_path, port)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert [rcpts for rcpts, _ in inbox.envelopes] == [["ada@example.org"]]


def test_a_line_break_in_a_recipient_fails_that_delivery_and_the_rest_go_out(monkeypatch, tmp_path, smtp):
    port, inbox = smtp
    published(monkeypatch, tmp_path, port).close()
    sent = run_cli(["issue", "send", "1", "--to", "a@example.org\r\nBcc: eve@example.org",
                    "--to", "bob@example.org"], tmp_path, port)
    assert sent.returncode == 1 and "Traceback" not in sent.stderr, sent.stderr
    assert [rcpts for rcpts, _ in inbox.envelopes] == [["bob@example.org"]]
    assert b"eve@example.org" not in inbox.envelopes[0][1]
    rt = fault_runtime(monkeypatch, JIANDU_SMTP_HOST="127.0.0.1", JIANDU_SMTP_PORT=str(port),
                       JIANDU_SMTP_SECURITY="none")
    with rt.sessions() as session:
        rows = {d.recipient: (d.status, d.error) for d in session.query(Delivery)}
    rt.close()
    bad = rows["a@example.org\r\nBcc: eve@example.org"]
    assert bad[0] == "failed" and "line break" in bad[1], bad
    assert rows["bob@example.org"] == ("sent", None)


def test_a_line_break_in_the_subject_fails_each_delivery_with_a_reason(monkeypatch, tmp_path, smtp):
    port, inbox = smtp
    rt = published(monkeypatch, tmp_path, port)
    with rt.sessions.begin() as session:  # an issue stored before names were checked
        session.query(Issue).one().subject = "简读AI\r\nBcc: eve@example.org 第1期"
    queue_issue(rt, 1, ["ada@example.org", "bob@example.org"])
    report = deliver_pending(rt)
    with rt.sessions() as session:
        rows = [(d.status, d.error) for d in session.query(Delivery)]
    rt.close()
    assert report.failed == 2 and inbox.envelopes == []
    assert all(status == "failed" and "Subject" in error for status, error in rows), rows


def test_a_line_break_in_the_publication_name_is_refused_when_read(tmp_path, smtp):
    port, _ = smtp
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    shown = subprocess.run([sys.executable, "-m", "jiandu", "config"], cwd=tmp_path, timeout=60,
                           env={**clean, "JIANDU_HOME": str(tmp_path / "home"),
                                "JIANDU_PUBLICATION_NAME": "简读\r\nBcc: eve@example.org"},
                           capture_output=True, text=True)
    assert shown.returncode == 1 and "JIANDU_PUBLICATION_NAME" in shown.stderr, shown.stderr
    assert "Traceback" not in shown.stderr
