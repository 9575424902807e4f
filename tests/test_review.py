"""Review (JIANDU_REVIEW): drafts, the editor's actions, approval and discard, on a real SQLite
file, with mail to a loopback aiosmtpd server; and the same through the `jiandu` commands."""

from __future__ import annotations

import json
import re
import socket
import stat
import sys
from email import message_from_bytes, policy

import pytest
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.models import drafts, store
from jiandu.models.schema import Item, ItemEdit
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages import review
from jiandu.stages.publish import publish
from jiandu.zi import count_zi
from tests.support.drafts import NOW, summarised_stories
from tests.support.postgres import postgres_url  # noqa: F401  (fixture)

GOOD_BULLETS = [
    "OpenAI于周一发布了新的安全框架，涉及12个风险类别，框架将由独立委员会审查并公开结果。",
    "新框架要求在模型发布前完成红队测试，并公开评估结果，分析人士认为这将影响整个行业。",
    "该公司表示独立委员会将审查框架执行情况，红队测试成为发布前的必经步骤。",
]


@pytest.fixture
def review_on(monkeypatch):
    monkeypatch.setenv("JIANDU_REVIEW", "true")
    get_settings.cache_clear()


@pytest.fixture
def rt(review_on):
    runtime = open_runtime()
    yield runtime
    runtime.close()


@pytest.fixture
def smtp(monkeypatch):
    """A loopback SMTP server that keeps what it receives; mail settings point at it."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    handler = Keep()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("JIANDU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JIANDU_SMTP_PORT", str(port))
    monkeypatch.setenv("JIANDU_SMTP_SECURITY", "none")
    monkeypatch.setenv("JIANDU_MAIL_TO", "a@example.com,b@example.com")
    get_settings.cache_clear()
    yield handler
    controller.stop()


def mail_text(content: bytes) -> str:
    message = message_from_bytes(content, policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def issue(rt, number=1):
    with rt.sessions() as session:
        found = store.issue_by_number(session, number)
        session.expunge_all()
        return found


def test_with_review_publish_makes_a_draft_and_sends_nothing(smtp, rt):
    summarised_stories(rt, 4)
    report = publish(rt, now=NOW)
    assert report.issue_number == 1 and report.draft
    with rt.sessions() as session:
        draft = store.issue_by_number(session, 1)
        assert draft.status == "draft"
        assert store.deliveries_of(session, draft) == []
        assert {i.status for i in session.query(Item)} == {"drafted"}
    assert "OpenAI发布新的安全框架" in issue(rt).markdown  # rendered and stored
    # A second publish makes no second draft while the first waits.
    summarised_stories(rt, 1)
    again = publish(rt, now=NOW)
    assert again.issue_number is None and again.waiting_draft == 1
    assert smtp.messages == []


def test_review_off_by_default_sends_at_once(monkeypatch, smtp):
    monkeypatch.delenv("JIANDU_REVIEW", raising=False)
    get_settings.cache_clear()
    runtime = open_runtime()
    try:
        summarised_stories(runtime, 2)
        report = publish(runtime, now=NOW)
        assert not report.draft
        assert issue(runtime).status == "published"
    finally:
        runtime.close()


def test_drop_restore_and_stats_follow(rt):
    ids = summarised_stories(rt, 4)
    publish(rt, now=NOW)
    before = issue(rt).stats
    assert review.drop(rt, 1, [ids[1]], "tester") == [ids[1]]
    assert review.drop(rt, 1, [ids[1]], "tester") == []  # already dropped
    after = issue(rt)
    assert after.stats["digest_chars"] < before["digest_chars"]
    assert "Midjourney推出视频模型" not in after.markdown
    assert review.restore(rt, 1, [ids[1]], "tester") == [ids[1]]
    assert issue(rt).stats == before
    with pytest.raises(review.ReviewError, match="no item 9999"):
        review.drop(rt, 1, [9999], "tester")
    with pytest.raises(review.ReviewError):
        review.drop(rt, 1, [ids[0], 9999], "tester")  # all checked before any is dropped
    with rt.sessions() as session:
        assert session.get(Item, ids[0]).status == "drafted"


def test_an_edit_keeps_the_models_summary_logs_who_and_flags_unsupported_claims(rt):
    ids = summarised_stories(rt, 2)
    publish(rt, now=NOW)
    false = ["Midjourney由Anthropic开发，融资987亿美元，OpenAI于周一发布了新的安全框架。", *GOOD_BULLETS[1:]]
    result = review.edit(rt, ids[0], {"bullets": false, "title": "安全框架发布"}, "desk:127.0.0.1",
                         number=1)
    assert set(result.changed) == {"bullets", "title"}
    assert "Anthropic" in result.flags and "987亿" in result.flags  # flagged, not refused
    with rt.sessions() as session:
        item = session.get(Item, ids[0])
        assert item.summary.title == "OpenAI发布新的安全框架"  # the model's own, untouched
        assert item.edited["bullets"] == false and item.edited["title"] == "安全框架发布"
        edit = session.query(ItemEdit).one()
        assert edit.editor == "desk:127.0.0.1" and edit.action == "edit"
        assert edit.before["title"] == "OpenAI发布新的安全框架" and edit.after["title"] == "安全框架发布"
    stored = issue(rt)
    assert "安全框架发布" in stored.markdown and "Anthropic" in stored.markdown
    assert stored.stats["digest_chars"] == sum(
        count_zi(b) for b in stored_bullets(rt, 1))


def printed_digest_chars(body: str) -> int:
    import re

    return int(re.search(r"简读后为\s*\**(\d+)\**\s*字", body).group(1))


def stored_bullets(rt, number):
    with rt.sessions() as session:
        view = review.draft_view(session, rt.settings, store.issue_by_number(session, number))
        return [b for section in view["sections"] for story in section["stories"] for b in story["bullets"]]


def test_invalid_edits_are_refused_with_every_problem(rt):
    ids = summarised_stories(rt, 1)
    publish(rt, now=NOW)
    with pytest.raises(review.ReviewError) as caught:
        review.edit(rt, ids[0], {"bullets": ["太短"], "emoji": ":rocket:", "section": "体育"},
                    "tester", number=1)
    message = str(caught.value)
    assert "exactly 3 bullets" in message and ":shortcode:" in message and "体育" in message
    with pytest.raises(review.ReviewError, match="one paragraph"):
        review.edit(rt, ids[0], {"bullets": [GOOD_BULLETS[0] + "\n\n" + GOOD_BULLETS[1], *GOOD_BULLETS[1:]]},
                    "tester", number=1)
    with rt.sessions() as session:
        assert session.get(Item, ids[0]).edited is None


def test_putting_a_field_back_to_the_models_value_is_no_longer_an_edit(rt):
    ids = summarised_stories(rt, 1)
    publish(rt, now=NOW)
    review.move_section(rt, 1, ids[0], "其他", "tester")
    assert issue(rt).markdown.count("## 其他") == 1
    review.move_section(rt, 1, ids[0], "产业资讯", "tester")
    with rt.sessions() as session:
        assert session.get(Item, ids[0]).edited is None
        assert [e.action for e in drafts.edits_of(session, ids[0])] == ["edit", "edit"]


def test_highlights_follow_the_editor(rt, monkeypatch):
    monkeypatch.setenv("JIANDU_HIGHLIGHTS", "1")
    get_settings.cache_clear()
    rt.settings = get_settings()
    ids = summarised_stories(rt, 3)
    publish(rt, now=NOW)

    def highlights():
        with rt.sessions() as session:
            return review.draft_view(session, rt.settings, store.issue_by_number(session, 1))["highlights"]

    assert highlights() == ["OpenAI发布新的安全框架 🛡️"]  # the most important
    review.set_highlight(rt, 1, ids[2], True, "tester")
    review.set_highlight(rt, 1, ids[0], False, "tester")
    assert highlights() == ["谷歌开源Gemma新版本 🤖"]
    review.set_highlight(rt, 1, ids[2], None, "tester")
    review.set_highlight(rt, 1, ids[0], None, "tester")
    assert highlights() == ["OpenAI发布新的安全框架 🛡️"]  # importance decides again


def test_resummarise_asks_again_and_clears_edits(rt):
    from jiandu.records import Summary

    ids = summarised_stories(rt, 1)
    publish(rt, now=NOW)
    review.edit(rt, ids[0], {"title": "编辑过的标题"}, "tester", number=1)

    class Again:
        model, prompt_version = "test-model", "v1"

        def summarise(self, article, sections):
            assert "安全框架" in article.text
            return Summary(title="重新生成的标题", emoji="🔁", section="产业资讯", importance=4,
                           bullets=GOOD_BULLETS, model=self.model, prompt_version=self.prompt_version,
                           prompt_tokens=7, completion_tokens=3)

    review.resummarise(rt, 1, ids[0], "tester", summariser=Again())
    with rt.sessions() as session:
        item = session.get(Item, ids[0])
        assert item.edited is None and item.summary.title == "重新生成的标题"
        assert item.summary.prompt_tokens == 107  # what both answers cost
        actions = [e.action for e in drafts.edits_of(session, ids[0])]
        assert actions == ["edit", "resummarise"]
        assert drafts.edits_of(session, ids[0])[1].before["title"] == "编辑过的标题"
    assert "重新生成的标题" in issue(rt).markdown


def test_approve_sends_each_recipient_once_without_dropped_stories(smtp, rt):
    ids = summarised_stories(rt, 3)
    publish(rt, now=NOW)
    review.drop(rt, 1, [ids[1]], "tester")
    review.edit(rt, ids[0], {"bullets": GOOD_BULLETS}, "tester", number=1)
    report = review.approve(rt, 1, "cli:editor", now=NOW)
    assert report.sent == 2 and report.stories == 2
    assert sorted(r for rcpts, _ in smtp.messages for r in rcpts) == ["a@example.com", "b@example.com"]
    body = mail_text(smtp.messages[0][1])
    assert GOOD_BULLETS[1] in body and "Midjourney推出视频模型" not in body
    assert printed_digest_chars(body) == sum(count_zi(b) for b in stored_bullets(rt, 1))
    again = review.approve(rt, 1, "cli:editor")  # approving twice sends nothing more
    assert again.already_approved and again.sent == 0 and len(smtp.messages) == 2
    with rt.sessions() as session:
        assert session.get(Item, ids[1]).status == "dropped"
        assert session.get(Item, ids[0]).status == "published"
        published = store.issue_by_number(session, 1)
        assert published.status == "published" and published.approved_by == "cli:editor"
    # The site and `issue send` know it now; the dropped story is not back in the pool.
    summarised_stories(rt, 1)
    assert publish(rt, now=NOW).items == 1


def test_a_draft_is_never_mailed_nor_archived(smtp, rt, tmp_path):
    from jiandu.site_export import export_site
    from jiandu.stages.deliver import deliver_pending, queue_issue

    summarised_stories(rt, 2)
    publish(rt, now=NOW)
    with pytest.raises(Exception, match="is a draft"):
        queue_issue(rt, 1)
    assert deliver_pending(rt).sent == 0 and smtp.messages == []
    export_site(rt, tmp_path / "site", "https://example.org/jiandu/")
    assert not (tmp_path / "site" / "issues" / "1.html").exists()
    assert "<entry>" not in (tmp_path / "site" / "feed.xml").read_text()


def test_discard_returns_the_stories_to_the_pool_with_their_edits(rt):
    ids = summarised_stories(rt, 2)
    publish(rt, now=NOW)
    review.edit(rt, ids[0], {"title": "改过的标题"}, "tester", number=1)
    review.drop(rt, 1, [ids[1]], "tester")
    assert review.discard(rt, 1, "tester") == 2
    with rt.sessions() as session:
        assert store.issue_by_number(session, 1) is None
        assert {session.get(Item, i).status for i in ids} == {"summarised"}
    assert not (rt.settings.out_dir / "issue-0001.md").exists()
    again = publish(rt, now=NOW)
    assert again.issue_number == 1 and again.items == 2  # the number is reused, nothing skipped
    assert "改过的标题" in issue(rt).markdown


def test_add_a_story_by_url_fetches_extracts_and_summarises_it(rt, monkeypatch):
    from tests.support.http_server import LocalHTTPServer

    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    get_settings.cache_clear()
    rt.settings = get_settings()
    summarised_stories(rt, 1)
    publish(rt, now=NOW)
    page = ("<html><head><title>Anthropic发布Claude新模型</title></head><body><article><h1>Anthropic发布Claude新模型</h1>"
            + "".join(f"<p>Anthropic周二发布了新一代Claude模型，第{n}段介绍了它在编程测试中的表现，得分提高了百分之二十。</p>"
                      for n in range(12)) + "</article></body></html>").encode()
    with LocalHTTPServer() as server:
        server.route("/claude", body=page, headers={"Content-Type": "text/html; charset=utf-8"})
        added = review.add_story(rt, 1, server.url("/claude"), "tester")
    assert not added.already
    with rt.sessions() as session:
        item = session.get(Item, added.item_id)
        assert item.status == "drafted" and item.issue.number == 1 and item.summary is not None
        assert "Claude" in item.text.content
    assert "Claude" in issue(rt).markdown


# The commands ------------------------------------------------------------------------------------


def run(*args, input=None):
    result = CliRunner().invoke(app, list(args), input=input)
    return result


def test_cli_review_drop_restore_approve(smtp, rt):
    ids = summarised_stories(rt, 3)
    publish(rt, now=NOW)
    listed = run("issue", "list")
    assert listed.exit_code == 0 and "draft" in listed.output
    shown = run("issue", "review", "1")
    assert shown.exit_code == 0, shown.output
    assert f"[{ids[0]}]" in shown.output and "draft, not sent" in shown.output
    dropped = run("issue", "drop", "1", str(ids[1]))
    assert dropped.exit_code == 0 and f"{ids[1]}" in dropped.output
    assert "Dropped (not sent)" in run("issue", "review", "1").output
    refused = run("issue", "send", "1")
    assert refused.exit_code != 0 and smtp.messages == []
    approved = run("issue", "approve", "1")
    assert approved.exit_code == 0, approved.output
    assert len(smtp.messages) == 2
    assert all("Midjourney推出视频模型" not in mail_text(content) for _, content in smtp.messages)
    with rt.sessions() as session:
        assert store.issue_by_number(session, 1).approved_by.startswith("cli")


def test_cli_discard_and_unknown_draft(rt):
    summarised_stories(rt, 1)
    publish(rt, now=NOW)
    missing = run("issue", "drop", "7", "1")
    assert missing.exit_code != 0
    assert run("issue", "discard", "1").exit_code == 0
    assert run("issue", "list").output.count("draft") == 0


def editor_script(tmp_path, body: str):
    """An $EDITOR that rewrites the file it is given with a Python snippet."""
    script = tmp_path / "fake-editor.py"
    script.write_text(f"#!{sys.executable}\nimport sys, pathlib\npath = pathlib.Path(sys.argv[1])\n"
                      f"text = path.read_text(encoding='utf-8')\n{body}\n"
                      "path.write_text(text, encoding='utf-8')\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_items_edit_opens_the_editor_validates_and_saves(rt, tmp_path, monkeypatch):
    ids = summarised_stories(rt, 1)
    publish(rt, now=NOW)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, (
        "import re\n"
        "text = re.sub(r'^title = .*$', 'title = \"编辑台改过的标题\"', text, flags=re.M)\n"
        "text = re.sub(r'^emoji = .*$', 'emoji = \"🧪\"', text, flags=re.M)")))
    result = run("items", "edit", str(ids[0]))
    assert result.exit_code == 0, result.output
    assert "saved" in result.output and "title" in result.output
    assert "编辑台改过的标题 🧪" in issue(rt).markdown
    exported = [json.loads(line) for line in run("items", "export").output.splitlines()]
    record = next(r for r in exported if r["id"] == ids[0])
    assert record["summary"]["title"] == "OpenAI发布新的安全框架"  # the model's, beside the edit
    assert record["edited"]["title"] == "编辑台改过的标题"
    assert record["edits"][0]["before"]["title"] == "OpenAI发布新的安全框架"
    assert record["edits"][0]["editor"].startswith("cli")


def test_items_edit_refuses_an_invalid_answer_and_saves_nothing(rt, tmp_path, monkeypatch):
    ids = summarised_stories(rt, 1)
    publish(rt, now=NOW)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, (
        "import re\n"
        "text = re.sub(r'^section = .*$', 'section = \"体育\"', text, flags=re.M)\n"
        "text = re.sub(r'^emoji = .*$', 'emoji = \":rocket:\"', text, flags=re.M)")))
    result = run("items", "edit", str(ids[0]))
    assert result.exit_code == 1
    assert "体育" in result.output and "shortcode" in result.output
    with rt.sessions() as session:
        assert session.get(Item, ids[0]).edited is None


def test_items_edit_flags_an_unsupported_number_but_saves(rt, tmp_path, monkeypatch):
    ids = summarised_stories(rt, 1)
    publish(rt, now=NOW)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, (
        "text = text.replace('涉及12个风险类别', '涉及987亿个风险类别', 1)")))
    result = run("items", "edit", str(ids[0]))
    assert result.exit_code == 0, result.output
    assert "「987亿」 is not in the article" in result.output
    with rt.sessions() as session:
        assert session.get(Item, ids[0]).edited["unsupported"] == ["987亿"]


def test_edit_document_round_trips_quotes_and_newlines():
    from types import SimpleNamespace

    from jiandu import editorial

    shown = editorial.effective_summary(SimpleNamespace(
        title='他说"你好"\\路径', emoji="🤖", section="其他", importance=3,
        bullets=['带"引号"的要点', "第二条", "第三条"], unsupported=[], prompt_tokens=0,
        completion_tokens=0), None)
    parsed = editorial.parse_edit_document(editorial.edit_document(1, shown, ["其他"], "t"))
    assert parsed == {"title": shown.title, "emoji": "🤖", "section": "其他", "bullets": shown.bullets}


@pytest.mark.parametrize("value, ok", [("🤖", True), ("🇨🇳", True), ("👨‍👩‍👧🚀", True), ("🛡️", True),
                                       (":robot:", False), ("AI", False), ("🤖🚀📈🎬", False), ("", False)])
def test_emoji_validation(value, ok):
    from jiandu.editorial import emoji_problem

    assert (emoji_problem(value) is None) is ok




def test_status_counts_the_draft(rt):
    ids = summarised_stories(rt, 3)
    publish(rt, now=NOW)
    review.drop(rt, 1, [ids[0]], "tester")
    out = run("status").output
    assert "a draft waiting for review" in out
    from jiandu.status import collect_status

    counts = collect_status(rt)
    assert counts["stories in a draft (JIANDU_REVIEW)"] == 2
    assert counts["stories dropped by an editor"] == 1


@pytest.mark.postgres
def test_a_draft_on_postgresql(postgres_url, monkeypatch):
    """The same draft life on PostgreSQL: drop, edit, approve; discard of a second draft."""
    monkeypatch.setenv("JIANDU_REVIEW", "true")
    monkeypatch.setenv("JIANDU_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    runtime = open_runtime()
    try:
        ids = summarised_stories(runtime, 3)
        assert publish(runtime, now=NOW).draft
        review.drop(runtime, 1, [ids[1]], "tester")
        result = review.edit(runtime, ids[0], {"bullets": GOOD_BULLETS, "emoji": "🧪"}, "tester", number=1)
        assert set(result.changed) == {"emoji", "bullets"}
        review.set_highlight(runtime, 1, ids[2], True, "tester")
        report = review.approve(runtime, 1, "tester")
        assert report.stories == 2
        with runtime.sessions() as session:
            assert store.issue_by_number(session, 1).status == "published"
            assert session.get(Item, ids[0]).edited["emoji"] == "🧪"
            assert len(drafts.edits_of(session, ids[0])) == 1
        summarised_stories(runtime, 1)
        assert publish(runtime, now=NOW).issue_number == 2
        assert review.discard(runtime, 2, "tester") == 1
    finally:
        runtime.close()
