"""Review end to end, through the installed `jiandu` command: with JIANDU_REVIEW=true a run
sends nothing and leaves a draft; drop then approve sends each recipient one message without
the dropped story; `jiandu desk` answers on / and lists the draft. And the Prefect publish flow
ends in a Completed state named AwaitingReview, so Prefect's UI says what waits."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy

import httpx
import pytest

from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def jiandu(env, *args, timeout=300):
    result = subprocess.run([sys.executable, "-m", "jiandu", *args], env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"jiandu {' '.join(args)}:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def test_run_leaves_a_draft_drop_and_approve_send_it_once(tmp_path, inbox):
    smtp_port, received = inbox
    with LocalHTTPServer() as server:
        serve_world(server)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "JIANDU_"))}
        env.update(JIANDU_HOME=str(tmp_path / "home"), JIANDU_ALLOW_PRIVATE_HOSTS="true",
                   JIANDU_REVIEW="true", JIANDU_SMTP_HOST="127.0.0.1", JIANDU_SMTP_PORT=str(smtp_port),
                   JIANDU_SMTP_SECURITY="none", JIANDU_MAIL_TO="one@example.com,two@example.com",
                   JIANDU_FIRST_POLL_MAX_AGE_DAYS="100000", COLUMNS="200")
        jiandu(env, "source", "add", server.url("/feed.xml"))
        out = jiandu(env, "run")
    assert "is a draft: nothing was sent" in out
    assert received == []
    assert "draft" in jiandu(env, "issue", "list")

    items = [json.loads(line) for line in jiandu(env, "items", "export").splitlines()]
    leaders = [item for item in items if item["status"] == "drafted"]
    assert len(leaders) >= 2
    dropped = leaders[0]
    review = jiandu(env, "issue", "review", "1")
    assert f"[{dropped['id']}]" in review

    jiandu(env, "issue", "drop", "1", str(dropped["id"]))

    # The desk, as a user starts it, answers on / and lists the draft.
    port = free_port()
    desk = subprocess.Popen([sys.executable, "-m", "jiandu", "desk", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                assert desk.poll() is None, desk.stderr.read()
                assert time.monotonic() < deadline, "the desk did not answer in 60 s"
                time.sleep(0.2)
        assert page.status_code == 200
        assert 'href="/issues/1"' in page.text and "draft · not sent" in page.text
    finally:
        desk.terminate()
        desk.wait(15)

    approved = jiandu(env, "issue", "approve", "1")
    assert "approved" in approved
    assert sorted(r for rcpts, _ in received for r in rcpts) == ["one@example.com", "two@example.com"]
    for _, content in received:
        message = message_from_bytes(content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert dropped["summary"]["title"] not in text
        assert leaders[1]["summary"]["title"] in text
    jiandu(env, "issue", "approve", "1")  # again: nobody gets it twice
    assert len(received) == 2



def test_publish_flow_ends_awaiting_review(prefect_harness, monkeypatch):
    from jiandu.flows.pipeline import publish_flow
    from jiandu.runtime import open_runtime
    from jiandu.settings import get_settings
    from tests.support.drafts import summarised_stories

    monkeypatch.setenv("JIANDU_REVIEW", "true")
    get_settings.cache_clear()
    rt = open_runtime()
    summarised_stories(rt, 2)
    rt.close()
    state = publish_flow(return_state=True)
    assert state.is_completed() and state.name == "AwaitingReview"
    assert "Issue 1 is a draft waiting for its editor: nothing was sent" in state.message
    assert state.result()["draft"] is True
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_artifacts() if a.key}
    assert "draft-1" in artifacts
    assert "nothing was sent" in artifacts["draft-1"].data and "## 看点" in artifacts["draft-1"].data
    again = publish_flow(return_state=True)  # the draft still waits: said so, nothing new made
    assert again.name == "AwaitingReview" and again.result()["waiting_draft"] == 1
