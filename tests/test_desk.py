"""The desk over HTTP (Starlette's test client on the real app, a real SQLite file): every page
and action, CSRF, the token, the loopback Host check and escaping."""

from __future__ import annotations

import re
import socket

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from jiandu.cli import app as cli_app
from jiandu.desk.app import create_app
from jiandu.desk.security import DeskRefused, DeskSecurity
from jiandu.models import drafts, store
from jiandu.models.schema import Item
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.publish import publish
from tests.support.drafts import NOW, summarised_stories

BASE = "http://127.0.0.1:8765"
GOOD = [
    "OpenAI于周一发布了新的安全框架，涉及12个风险类别，框架将由独立委员会审查并公开结果。",
    "新框架要求在模型发布前完成红队测试，并公开评估结果，分析人士认为这将影响整个行业。",
    "该公司表示独立委员会将审查框架执行情况，红队测试成为发布前的必经步骤。",
]


@pytest.fixture
def rt(monkeypatch):
    monkeypatch.setenv("JIANDU_REVIEW", "true")
    get_settings.cache_clear()
    runtime = open_runtime()
    yield runtime
    runtime.close()


@pytest.fixture
def draft(rt):
    ids = summarised_stories(rt, 4)
    publish(rt, now=NOW)
    return ids


@pytest.fixture
def client(rt):
    with TestClient(create_app(rt, DeskSecurity("127.0.0.1")), base_url=BASE) as test_client:
        yield test_client


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def post(client, path, data=None, page="/issues/1"):
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf": token, **(data or {})}, follow_redirects=False)


def status_of(rt, item_id):
    with rt.sessions() as session:
        return session.get(Item, item_id).status


def test_index_lists_the_draft_and_the_issue_page_shows_every_story(client, draft):
    index = client.get("/")
    assert index.status_code == 200
    assert 'href="/issues/1"' in index.text and "draft · not sent" in index.text
    page = client.get("/issues/1")
    assert page.status_code == 200
    for title in ("OpenAI发布新的安全框架", "Midjourney推出视频模型", "谷歌开源Gemma新版本", "英伟达财报超预期"):
        assert title in page.text
    assert "Draft: nothing has been sent." in page.text
    assert 'href="http://example.com/news/1"' in page.text
    assert "原文共计<strong>" in page.text
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert header in page.headers
    assert client.get("/issues/9").status_code == 404


def test_the_story_page_puts_the_article_beside_the_bullets(client, draft):
    page = client.get(f"/issues/1/stories/{draft[1]}")
    assert page.status_code == 200
    assert "订阅价格为每月10美元起" in page.text  # the extracted article
    assert page.text.count('name="bullet"') == 3
    assert client.get("/issues/1/stories/999").status_code == 404


def test_drop_and_restore(client, rt, draft):
    response = post(client, f"/issues/1/stories/{draft[1]}/drop")
    assert response.status_code == 303 and response.headers["location"].startswith("/issues/1?done=dropped")
    assert status_of(rt, draft[1]) == "dropped"
    page = client.get(response.headers["location"])
    assert "Story dropped" in page.text and "Dropped" in page.text
    response = post(client, f"/issues/1/stories/{draft[1]}/restore")
    assert response.status_code == 303 and status_of(rt, draft[1]) == "drafted"


def test_every_change_needs_the_csrf_token(client, rt, draft):
    client.get("/issues/1")  # the cookie
    missing = client.post(f"/issues/1/stories/{draft[0]}/drop", data={}, follow_redirects=False)
    wrong = client.post(f"/issues/1/stories/{draft[0]}/drop", data={"csrf": "abc.def"},
                        follow_redirects=False)
    assert missing.status_code == wrong.status_code == 403
    # A token that is valid but not this browser's cookie is refused too.
    other = DeskSecurity("127.0.0.1").new_csrf()
    assert client.post(f"/issues/1/stories/{draft[0]}/drop", data={"csrf": other},
                       follow_redirects=False).status_code == 403
    # The right token from another site.
    token = csrf_of(client.get("/issues/1").text)
    cross = client.post(f"/issues/1/stories/{draft[0]}/drop", data={"csrf": token},
                        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
                        follow_redirects=False)
    assert cross.status_code == 403
    assert status_of(rt, draft[0]) == "drafted"
    assert client.get(f"/issues/1/stories/{draft[0]}/drop").status_code in (404, 405)


def test_loopback_desk_answers_only_to_loopback_names(rt, draft):
    with TestClient(create_app(rt, DeskSecurity("127.0.0.1")), base_url="http://attacker.example") as c:
        assert c.get("/").status_code == 421
    with TestClient(create_app(rt, DeskSecurity("127.0.0.1")), base_url="http://localhost:8765") as c:
        assert c.get("/").status_code == 200


def test_other_addresses_need_the_token_and_ask_for_it(rt, draft):
    with pytest.raises(DeskRefused, match="JIANDU_DESK_TOKEN"):
        DeskSecurity("0.0.0.0")
    security = DeskSecurity("0.0.0.0", token="s3cret-token")
    with TestClient(create_app(rt, security), base_url="http://192.0.2.10:8765") as c:
        first = c.get("/issues/1", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/issues/1"
        login = c.get("/login?next=/issues/1")
        assert login.status_code == 200 and 'type="password"' in login.text
        token = csrf_of(login.text)
        bad = c.post("/login", data={"csrf": token, "token": "guess", "next": "/issues/1"},
                     follow_redirects=False)
        assert bad.status_code == 403
        assert c.post(f"/issues/1/stories/{draft[0]}/drop", data={"csrf": token},
                      follow_redirects=False).status_code == 401
        good = c.post("/login", data={"csrf": token, "token": "s3cret-token", "next": "//evil.example/"},
                      follow_redirects=False)
        assert good.status_code == 303 and good.headers["location"] == "/"  # no open redirect
        assert c.get("/issues/1").status_code == 200
    with TestClient(create_app(rt, security), base_url="http://192.0.2.10:8765") as c:
        assert c.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert c.get("/", headers={"Authorization": "Bearer nope"},
                     follow_redirects=False).status_code == 303


def test_jiandu_desk_refuses_a_public_address_without_a_token(rt):
    result = CliRunner().invoke(cli_app, ["desk", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code != 0
    assert "JIANDU_DESK_TOKEN" in str(result.exception) + result.output


def test_edit_saves_flags_and_keeps_the_models_summary(client, rt, draft):
    false = ["Midjourney由Anthropic开发，OpenAI于周一发布了新的安全框架，涉及987亿个风险类别。", *GOOD[1:]]
    response = post(client, f"/issues/1/stories/{draft[0]}/edit",
                    {"title": "安全框架发布", "emoji": "🛡️", "section": "产业资讯", "bullet": false},
                    page=f"/issues/1/stories/{draft[0]}")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "「Anthropic」 is not in the article" in page.text
    assert "「987亿」 is not in the article" in page.text
    assert "The model&#39;s own summary" in page.text and "OpenAI发布新的安全框架" in page.text
    assert "desk:" in page.text  # who, in the change history
    issue_page = client.get("/issues/1").text
    assert "安全框架发布" in issue_page and "edited: title, bullets" in issue_page


def test_an_invalid_edit_comes_back_with_the_problems_and_the_text_typed(client, rt, draft):
    response = post(client, f"/issues/1/stories/{draft[0]}/edit",
                    {"title": "新标题", "emoji": ":rocket:", "section": "产业资讯",
                     "bullet": ["我输入的第一条很长的要点内容还没有写完但已经超过十五个字了", "第二条"]},
                    page=f"/issues/1/stories/{draft[0]}")
    assert response.status_code == 400
    assert "Not saved" in response.text and "shortcode" in response.text
    assert "我输入的第一条很长的要点内容" in response.text  # nothing typed is lost
    with rt.sessions() as session:
        assert session.get(Item, draft[0]).edited is None


def test_move_section_and_highlight(client, rt, draft):
    assert post(client, f"/issues/1/stories/{draft[2]}/section", {"section": "其他"}).status_code == 303
    page = client.get("/issues/1").text
    assert page.index("其他</h2>") < page.index(f'id="story-{draft[2]}"')
    assert post(client, f"/issues/1/stories/{draft[2]}/section", {"section": "体育"}).status_code == 400
    assert post(client, f"/issues/1/stories/{draft[3]}/highlight", {"highlight": "off"}).status_code == 303
    highlights = re.search(r'<ul class="highlights" id="highlights">(.*?)</ul>', client.get("/issues/1").text, re.S)
    assert "英伟达财报超预期" not in highlights.group(1)
    assert post(client, f"/issues/1/stories/{draft[3]}/highlight", {"highlight": "auto"}).status_code == 303
    assert post(client, f"/issues/1/stories/{draft[3]}/highlight", {"highlight": "maybe"}).status_code == 400


def test_resummarise_with_the_offline_summariser(client, rt, draft):
    response = post(client, f"/issues/1/stories/{draft[1]}/resummarise")
    assert response.status_code == 303
    with rt.sessions() as session:
        item = session.get(Item, draft[1])
        assert item.summary.model == "offline-textrank"
        assert [e.action for e in drafts.edits_of(session, draft[1])] == ["resummarise"]


def test_add_a_story_by_url(client, rt, draft, monkeypatch):
    from tests.support.http_server import LocalHTTPServer

    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    get_settings.cache_clear()
    rt.settings = get_settings()
    page = ("<html><head><title>Anthropic发布Claude新模型</title></head><body><article>"
            + "".join(f"<p>Anthropic周二发布了新一代Claude模型，第{n}段介绍它在编程测试中的表现。</p>"
                      for n in range(12)) + "</article></body></html>").encode()
    with LocalHTTPServer() as server:
        server.route("/claude", body=page, headers={"Content-Type": "text/html; charset=utf-8"})
        response = post(client, "/issues/1/add", {"url": server.url("/claude")})
        assert response.status_code == 303
        missing = post(client, "/issues/1/add", {"url": server.url("/nothing-here")})
    assert missing.status_code == 400 and "could not read" in missing.text
    assert "Claude" in client.get("/issues/1").text


def test_approve_and_send_then_the_page_says_published(client, rt, draft, monkeypatch):
    from aiosmtpd.controller import Controller

    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(envelope.rcpt_tos)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for name, value in {"JIANDU_SMTP_HOST": "127.0.0.1", "JIANDU_SMTP_PORT": str(port),
                            "JIANDU_SMTP_SECURITY": "none", "JIANDU_MAIL_TO": "ed@example.com"}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        rt.settings = get_settings()
        confirm = client.get("/issues/1/approve")
        assert confirm.status_code == 200 and "ed@example.com" in confirm.text
        response = post(client, "/issues/1/approve", page="/issues/1/approve")
        assert response.status_code == 303
        again = post(client, "/issues/1/approve", page="/issues/1/approve")
        assert again.status_code == 303  # twice: still one message
    finally:
        controller.stop()
    assert received == [["ed@example.com"]]
    page = client.get("/issues/1").text
    assert "Published" in page and "ed@example.com: sent" in page
    assert 'action="/issues/1/stories' not in page  # no more actions on a sent issue


def test_discard(client, rt, draft):
    assert client.get("/issues/1/discard").status_code == 200
    response = post(client, "/issues/1/discard", page="/issues/1/discard")
    assert response.status_code == 303 and response.headers["location"].startswith("/")
    with rt.sessions() as session:
        assert store.issue_by_number(session, 1) is None
    assert "No draft is waiting" in client.get("/").text


def test_everything_shown_is_escaped(client, rt):
    ids = summarised_stories(rt, 1)
    with rt.sessions.begin() as session:
        item = session.get(Item, ids[0])
        item.summary.title = '<script>alert("t")</script>标题'
        item.summary.bullets = ['<img src=x onerror=alert(1)>要点一二三四五六七八九十', "二", "三"]
        item.links = ["javascript:alert(1)", "http://example.com/ok?a=1&b=<2>"]
    publish(rt, now=NOW)
    for path in ("/issues/1", f"/issues/1/stories/{ids[0]}", "/"):
        text = client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text
        assert 'href="javascript:' not in text
    text = client.get("/issues/1").text
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;标题" in text
    assert 'href="http://example.com/ok?a=1&amp;b=&lt;2&gt;"' in text


def test_an_oversized_form_is_refused_before_it_is_read(client, rt, draft):
    token = csrf_of(client.get("/issues/1").text)
    response = client.post(f"/issues/1/stories/{draft[0]}/drop",
                           data={"csrf": token, "pad": "x" * 1_100_000}, follow_redirects=False)
    assert response.status_code == 413
    assert status_of(rt, draft[0]) == "drafted"


def test_a_story_from_several_sources_shows_every_link(client, rt, draft):
    from jiandu.records import FeedEntry

    with rt.sessions.begin() as session:
        source, _ = store.add_source(session, kind="feed", url="http://other.example/feed.xml")
        store.add_feed_entries(session, source, [FeedEntry(
            key="guid:copy", url="http://other.example/same-story", guid="copy", title="同一新闻")], NOW)
        copy = session.query(Item).filter(Item.key == "guid:copy").one()
        copy.story_id, copy.status = draft[0], "merged"
        copy.issue_id = store.issue_by_number(session, 1).id
    story_page = client.get(f"/issues/1/stories/{draft[0]}").text
    assert 'href="http://example.com/news/0"' in story_page
    assert 'href="http://other.example/same-story"' in story_page


def test_unknown_or_misplaced_actions_are_404(client, rt, draft):
    assert post(client, "/issues/1/drop").status_code == 404  # a story action without a story
    assert post(client, f"/issues/1/stories/{draft[0]}/approve").status_code == 404
    assert post(client, "/issues/1/explode").status_code == 404
    assert status_of(rt, draft[0]) == "drafted"
