"""Pushing issues through real Apprise to loopback json:// and form:// webhooks: one receiving,
one answering 500, one refusing connections. Exactly one message per target, a retry reaches
the failed target only, split parts arrive in order, and no secret reaches a log."""

from __future__ import annotations

import json
import logging
import socket
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.connectors import push as pusher
from jiandu.push_message import push_message
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages import jobs
from jiandu.stages.push import push_pending
from jiandu.status import collect_status
from jiandu.models import pushes, store
from tests.support.http_server import LocalHTTPServer
from tests.support.push_server import WebhookServer
from tests.support.world import serve_world

SECRETS = ("hook-pass-5150", "form-pass-2112", "gone-pass-1984")


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: connections are refused


@pytest.fixture
def targets(monkeypatch):
    with WebhookServer() as good, WebhookServer(status=500) as bad, LocalHTTPServer() as world:
        serve_world(world)
        urls = [f"json://jiandu:{SECRETS[0]}@127.0.0.1:{good.port}/hook",
                f"form://jiandu:{SECRETS[1]}@127.0.0.1:{bad.port}/hook",
                f"json://jiandu:{SECRETS[2]}@127.0.0.1:{refused_port()}/hook"]
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        monkeypatch.setenv("JIANDU_PUSH_URLS", json.dumps(urls))
        monkeypatch.setenv("JIANDU_SITE_URL", "https://digest.example.org/archive/")
        rt = open_runtime()
        with rt.sessions.begin() as session:
            store.add_source(session, kind="feed", url=world.url("/feed.xml"))
        rt.close()
        yield good, bad, urls


def json_messages(server: WebhookServer) -> list[dict]:
    return [json.loads(body) for _, _, body in server.received]


def rows():
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            issue = store.issue_by_number(session, 1)
            return [(p.target, p.status, p.attempts, p.error) for p in pushes.pushes_of(session, issue)]
    finally:
        rt.close()


def test_a_run_pushes_once_per_target_and_the_next_run_retries_only_the_failed(targets, caplog,
                                                                                 jiandu_env):
    good, bad, urls = targets
    caplog.set_level(logging.DEBUG)

    first = jobs.pipeline()  # no mail settings: the push goes all the same

    assert first["publish"]["issue_number"] == 1
    assert first["publish"]["push"]["pushed"] == 1 and first["publish"]["push"]["failed"] == 2
    (message,) = json_messages(good)
    assert message["title"].startswith("简读AI 第1期 · ")
    lines = message["message"].splitlines()
    assert lines[0].startswith("原文共计") and "阅读效率" in lines[0]
    assert lines[-1] == "全文：https://digest.example.org/archive/issues/1.html"
    stories = [line for line in lines[2:-2]]
    assert stories and all(line.split(" ", 1)[0] and not line[0].isascii() for line in stories)
    assert len(bad.received) == 1  # it was tried, and answered 500
    by_target = {target: (status, attempts, error) for target, status, attempts, error in rows()}
    assert [status for status, _, _ in by_target.values()] == ["sent", "failed", "failed"]
    assert all(error for status, _, error in by_target.values() if status == "failed")

    bad.answer(200)
    second = jobs.pipeline()

    assert second["publish"]["issue_number"] is None
    assert second["publish"]["push"] == {"pushed": 1, "failed": 1, "errors": second["publish"]["push"]["errors"]}
    assert len(json_messages(good)) == 1  # the target that had it is not sent it again
    assert len(bad.received) == 2
    form = parse_qs(bad.received[-1][2].decode())
    assert form["title"][0].startswith("简读AI 第1期") and form["message"][0].startswith("原文共计")
    assert [status for _, status, _, _ in rows()] == ["sent", "sent", "failed"]

    third = jobs.pipeline()
    assert third["publish"]["push"]["pushed"] == 0 and len(bad.received) == 2

    # No secret anywhere: logs, stored rows, reports, status, the database file.
    stored = repr(rows()) + json.dumps([first, second, third], ensure_ascii=False, default=str)
    rt = open_runtime()
    status = repr(collect_status(rt))
    rt.close()
    database = (jiandu_env / "jiandu.db").read_bytes()
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in stored and secret not in status
        assert secret.encode() not in database
    assert "****" in repr(rows())


def test_split_parts_arrive_in_order(targets):
    good, _, urls = targets
    body = "\n".join(f"{n:05d} " + "要点内容" * 10 for n in range(2000))  # ~90,000 characters
    outcome = pusher.send(urls[0], "简读AI 第9期", body)
    assert outcome.ok
    parts = [message["message"] for message in json_messages(good)]
    assert len(parts) >= 3  # json:// takes 32,768 characters a message
    numbers = [int(line[:5]) for part in parts for line in part.splitlines() if line[:5].isdigit()]
    assert numbers == sorted(numbers) and numbers[0] == 0 and numbers[-1] == 1999


def test_overflow_split_is_set_on_every_url():
    assert pusher.with_split("tgram://123:abc/456") == "tgram://123:abc/456?overflow=split"
    assert pusher.with_split("json://h/x?overflow=truncate&a=1") == "json://h/x?a=1&overflow=split"


def test_issue_push_by_hand_sends_to_one_target_and_prints_only_masked_urls(targets, monkeypatch):
    good, _, urls = targets
    monkeypatch.setenv("JIANDU_PUSH_URLS", "")
    get_settings.cache_clear()
    rt = open_runtime()
    from jiandu.stages.ingest import ingest
    from jiandu.stages.publish import publish
    from jiandu.stages.summarise import summarise

    ingest(rt), summarise(rt), publish(rt)
    rt.close()
    runner = CliRunner()
    result = runner.invoke(app, ["issue", "push", "1", "--to", urls[0]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(good.received) == 1
    again = runner.invoke(app, ["issue", "push", "1", "--to", urls[0]], catch_exceptions=False)
    assert again.exit_code == 0 and len(good.received) == 1  # already has it
    forced = runner.invoke(app, ["issue", "push", "1", "--to", urls[0], "--force"])
    assert forced.exit_code == 0 and len(good.received) == 2
    failed = runner.invoke(app, ["issue", "push", "1", "--to", urls[2]])
    assert failed.exit_code == 1
    for output in (result.output, again.output, forced.output, failed.output):
        assert all(secret not in output for secret in SECRETS)


def test_no_targets_is_one_clear_line():
    result = CliRunner().invoke(app, ["issue", "push", "1"])
    assert result.exit_code != 0 and "JIANDU_PUSH_URLS" in str(result.exception)


def test_the_message_is_short_and_links_the_archive():
    title, body = push_message(publication="简读AI", number=3, date="2026-12-01",
                               stats={"source_chars": 1000, "digest_chars": 100, "minutes": 0,
                                      "efficiency": 1000},
                               stories=[("🚀", "新模型发布"), ("📊", "融资消息")],
                               site_url="https://example.org/jiandu")
    assert title == "简读AI 第3期 · 2026-12-01"
    assert body.splitlines() == [
        "原文共计1000字，简读后为100字，阅读时间为0分钟，为您提高阅读效率为1000%", "",
        "🚀 新模型发布", "📊 融资消息", "", "全文：https://example.org/jiandu/issues/3.html"]


def test_push_pending_without_targets_does_nothing():
    rt = open_runtime()
    try:
        assert push_pending(rt).as_dict() == {"pushed": 0, "failed": 0, "errors": []}
    finally:
        rt.close()


def test_with_review_a_draft_is_pushed_only_once_approved(targets, monkeypatch):
    from jiandu.stages.review import approve

    good, _, urls = targets
    monkeypatch.setenv("JIANDU_PUSH_URLS", urls[0])
    monkeypatch.setenv("JIANDU_REVIEW", "true")
    get_settings.cache_clear()

    run = jobs.pipeline()

    assert run["publish"]["issue_number"] == 1 and good.received == []  # a draft: nothing sent
    rt = open_runtime()
    try:
        report = approve(rt, 1, "editor")
        assert (report.pushed, report.push_failed) == (1, 0)
        assert len(good.received) == 1
        assert approve(rt, 1, "editor").pushed == 0  # approving again sends nothing twice
    finally:
        rt.close()
    assert len(good.received) == 1


def test_commands_that_send_nothing_never_import_apprise(tmp_path):
    import subprocess
    import sys

    for command in (["status"], ["issue", "list"], ["publish"]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "jiandu", *command],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
        assert not any(name.split(".")[0] == "apprise" for name in imported), command


def test_what_apprise_masks_is_hidden_from_its_own_logs(caplog):
    import apprise

    url = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12315544/"
    shown = apprise.Apprise.instantiate(url).url(privacy=True)
    secrets = pusher.secrets_of(url, shown)
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in secrets and "123456789" in secrets
    assert "12315544" not in secrets and "tgram" not in secrets  # shown by Apprise itself
    assert pusher.secrets_of("json://u:pw123456@127.0.0.1:9/hook",
                             "json://u:****@127.0.0.1:9/hook?method=POST") == ["pw123456"]


def test_a_token_in_the_path_never_reaches_a_debug_log(caplog):
    # A Mattermost webhook's token sits in the URL path, and Apprise logs the URL it posts to at
    # DEBUG (and the failed request's URL when it fails): both go to loopback servers here.
    caplog.set_level(logging.DEBUG)
    token = "SECRETTOKEN5150abcdef"
    with WebhookServer() as hook:
        delivered = pusher.send(f"mmost://127.0.0.1:{hook.port}/{token}", "t", "body")
        assert delivered.ok and hook.received[0][0] == f"/hooks/{token}"
    refused = pusher.send(f"mmost://127.0.0.1:{refused_port()}/{token}", "t", "body")
    assert not refused.ok and refused.reason
    for outcome in (delivered, refused):
        assert token not in outcome.masked and token not in (outcome.reason or "")
    assert "POST URL" in caplog.text  # Apprise did log the URL, with the token hidden
    assert token not in caplog.text
