"""Secrets stay secret (logs, stage reports that become Prefect artifacts, stored errors,
`jiandu config`, error lines) and what came from outside is escaped and never linked unless
it is http(s)."""

from __future__ import annotations

import logging
from datetime import timedelta
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from jiandu.site_export import export_site
from jiandu.stages.deliver import deliver_pending
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.models import store
from jiandu.models.schema import Delivery, Item, Run
from tests.faults.support import article, closed_port, fault_runtime, load_articles, now_utc, rss
from jiandu.testing.llm_server import LLMServer, Reply

API_KEY = "sk-SECRET-llm-4f9a7c"
SMTP_PASSWORD = "pw-SECRET-smtp-8e2d"
DB_PASSWORD = "db-SECRET-5c1b"
SECRETS = (API_KEY, SMTP_PASSWORD, DB_PASSWORD)
ROOT = Path(__file__).resolve().parents[2]


class PasswordInbox:
    """SMTP AUTH that accepts only `password` (anything else: 535)."""

    def __init__(self, password: str):
        self.password = password
        self.received = 0

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def secret_world(monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # everything any library logs, down to debug
    inbox = PasswordInbox("the-right-one")
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port(), authenticator=inbox.authenticate,
                            auth_require_tls=False)
    controller.start()
    with LLMServer() as llm:
        rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0", JIANDU_LLM_BASE_URL=llm.base_url,
                           JIANDU_LLM_API_KEY=API_KEY, JIANDU_LLM_MAX_ATTEMPTS="1",
                           JIANDU_SMTP_HOST="127.0.0.1", JIANDU_SMTP_PORT=str(controller.port),
                           JIANDU_SMTP_SECURITY="none", JIANDU_SMTP_USERNAME="digest",
                           JIANDU_SMTP_PASSWORD=SMTP_PASSWORD, JIANDU_MAIL_TO="ada@example.org")
        yield rt, llm, inbox
        rt.close()
    controller.stop()


def test_secrets_never_reach_logs_reports_or_stored_errors(secret_world, tmp_path, caplog):
    rt, llm, inbox = secret_world
    source_id = load_articles(rt, tmp_path, {name: article(name) for name in ("gmw", "bbc-1")})
    reports = []
    # The endpoint refuses the key first (errors are where keys like to leak), then works.
    llm.behaviour = lambda request, number: Reply(status=401) if number <= 2 else Reply()
    reports.append(summarise(rt).as_dict())
    with rt.sessions() as session:
        errors = [item.error for item in session.query(Item).filter(Item.source_id == source_id)]
    assert all(error and "401" in error for error in errors)
    # A refused key is retried after a day: run as if that day had passed.
    reports.append(summarise(rt, now=now_utc() + store.BACKOFF_CAP + timedelta(minutes=1)).as_dict())
    reports.append(publish(rt).as_dict())
    # SMTP refuses the password (535), which must not be echoed in the stored error.
    reports.append(deliver_pending(rt).as_dict())
    with rt.sessions() as session:
        [delivery] = session.query(Delivery).all()
        assert delivery.status == "failed" and "535" in delivery.error
        stored = [delivery.error, *errors, *(str(run.stats) for run in session.query(Run))]
    assert len(llm.requests) >= 3 and inbox.received == 0
    for text in [caplog.text, *map(str, reports), *stored]:
        assert leaks(text) == [], text[:500]
    assert "Authorization" not in caplog.text or "Bearer sk-" not in caplog.text


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    return subprocess.run([sys.executable, "-m", "jiandu", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_config_and_error_lines_mask_every_secret(tmp_path):
    env = {"JIANDU_HOME": str(tmp_path / "home"), "JIANDU_LLM_API_KEY": API_KEY,
           "JIANDU_SMTP_PASSWORD": SMTP_PASSWORD,
           "JIANDU_DATABASE_URL": f"postgresql://jiandu:{DB_PASSWORD}@127.0.0.1:1/jiandu"}
    shown = run_cli(["config"], env, tmp_path)
    assert shown.returncode == 0
    assert "JIANDU_LLM_API_KEY" in shown.stdout and "JIANDU_SMTP_PASSWORD" in shown.stdout
    assert leaks(shown.stdout + shown.stderr) == []
    failed = run_cli(["source", "list"], env, tmp_path)  # the database cannot be reached
    assert failed.returncode == 1 and "JIANDU_DATABASE_URL" in failed.stderr
    assert leaks(failed.stdout + failed.stderr) == []
    debug = run_cli(["--debug", "source", "list"], env, tmp_path)
    assert "Traceback" in debug.stderr and leaks(debug.stderr) == []


def test_config_file_secrets_are_masked_too(tmp_path):
    (tmp_path / "jiandu.toml").write_text(f'llm_api_key = "{API_KEY}"\nsmtp_password = "{SMTP_PASSWORD}"\n')
    shown = run_cli(["config"], {"JIANDU_HOME": str(tmp_path / "home")}, tmp_path)
    assert shown.returncode == 0 and "jiandu.toml" in shown.stdout
    assert leaks(shown.stdout + shown.stderr) == []


# --- what came from outside, in the HTML edition ------------------------------------------

def test_markup_and_script_links_from_a_feed_are_escaped_and_not_linked(monkeypatch, tmp_path):
    title, text = article("gmw")
    # Feed titles are HTML: the escaped tags arrive in the item's title as literal text.
    entries = [
        {"guid": "a", "title": "&lt;script&gt;alert('t')&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;月球上喝酒",
         "link": "https://example.com/moon?a=1&b=<2>", "description": text},
        {"guid": "b", "title": "第二条：javascript 链接", "link": "javascript:alert(document.cookie)",
         "description": article("youth")[1]},
        {"guid": "c", "title": "第三条：data 链接", "link": "data:text/html,<script>alert(1)</script>",
         "description": article("bbc-1")[1]},
    ]
    feed = tmp_path / "evil.xml"
    feed.write_bytes(rss(entries, title="<b>Evil</b> feed"))
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0")
    with rt.sessions.begin() as session:
        store.add_source(session, kind="feed", url=str(feed))
    ingest(rt)
    with rt.sessions() as session:
        titles = [item.title for item in session.query(Item).order_by(Item.id)]
        links = [item.links for item in session.query(Item).order_by(Item.id)]
    assert titles[0].startswith("<script>alert('t')</script>")  # stored as it came, as text
    assert links[1] == [] and links[2] == []  # javascript: and data: links are not kept
    summarise(rt)  # offline: the summary title is the item's title
    assert publish(rt).items == 3
    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        html, md = issue.html, issue.markdown
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("http://", "https://", "#")) for h in hrefs), hrefs
    assert "javascript:" not in html and "data:text" not in html
    assert "javascript:" not in md and "data:text" not in md
    # The Markdown edition escapes markup too: rendered by a CommonMark renderer that passes
    # raw HTML through, it still shows the tags as text.
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark", {"html": True}).render(md)
    assert "<script" not in rendered and "<img" not in rendered and "&lt;script&gt;" in rendered
    site = export_site(rt, tmp_path / "site", base_url="https://digest.example.org/")
    for page in site:
        if page.suffix == ".html":
            body = page.read_text(encoding="utf-8").lower()
            assert "<script" not in body and "javascript:" not in body, page
    rt.close()
