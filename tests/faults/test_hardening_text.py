"""Issue 12, holes 5 and 6: text from outside is data, never terminal markup or control codes.

5. A feed titled `[/] x`, an OPML outline titled `[/oops]`, a notes file called `[/x].md`: the
   commands that print them show them as they are, with no traceback.
6. Control characters (`\\u0001`, an ESC sequence, C1) in a feed item or an LLM answer are gone
   from every edition, the email and the terminal; the site's Atom feed stays well-formed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from jiandu.models import store
from jiandu.models.schema import Item
from jiandu.site_export import export_site
from jiandu.stages.deliver import deliver_pending
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.testing.llm_server import LLMServer, Reply, default_answer
from tests.faults.support import article, closed_port, fault_runtime, rss

CONTROLS = "\u0001\u001b[31m\u009b"
BAD = ("\u0001", "\u001b", "\u009b")


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    return subprocess.run([sys.executable, "-m", "jiandu", *args], cwd=cwd,
                          env={**clean, "COLUMNS": "250", "JIANDU_HOME": os.environ["JIANDU_HOME"], **env},
                          capture_output=True, text=True, timeout=120)


def json_feed(path: Path, title: str, items: list[dict]) -> Path:
    path.write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title,
                                "items": items}, ensure_ascii=False), encoding="utf-8")
    return path


# --- 5: markup ------------------------------------------------------------------------------

def test_a_feed_titled_like_markup_is_listed_as_text(monkeypatch, tmp_path):
    title, text = article("gmw")
    feed = json_feed(tmp_path / "feed.json", "[/] x [bold]not bold[/bold]",
                     [{"id": "1", "title": title, "content_text": text}])
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0")
    with rt.sessions.begin() as session:
        store.add_source(session, kind="feed", url=str(feed))
    ingest(rt)
    rt.close()
    listed = run_cli(["source", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "[/] x [bold]not bold[/bold]" in listed.stdout


def test_an_opml_outline_titled_like_markup_imports_and_lists(tmp_path):
    opml = tmp_path / "subs.opml"
    opml.write_text('<?xml version="1.0"?><opml version="2.0"><head/><body>'
                    '<outline text="[/oops]" title="[/oops]" type="rss" '
                    'xmlUrl="https://example.com/feed.xml"/></body></opml>', encoding="utf-8")
    imported = run_cli(["source", "import-opml", str(opml)], tmp_path)
    assert imported.returncode == 0, imported.stderr
    listed = run_cli(["source", "list"], tmp_path)
    assert listed.returncode == 0 and "[/oops]" in listed.stdout, listed.stderr


def test_a_notes_file_named_like_markup_imports(tmp_path):
    (tmp_path / "[").mkdir()
    notes = tmp_path / "[/x].md"
    notes.write_text("- https://example.com/a\n", encoding="utf-8")
    imported = run_cli(["links", "import", str(notes)], tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "[/x].md" in imported.stdout
    missing = run_cli(["links", "import", str(tmp_path / "[/gone].md")], tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "[/gone].md" in missing.stderr


# --- 6: control characters -----------------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


def test_control_characters_reach_no_edition_email_terminal_or_atom_feed(monkeypatch, tmp_path):
    (title_a, text_a), (title_b, text_b) = article("gmw"), article("bbc-1")
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss([
        {"guid": "a", "title": f"{title_a}{CONTROLS}", "link": "http://example.invalid/a",
         "description": text_a},
        {"guid": "b", "title": title_b, "link": "http://example.invalid/b",
         "description": text_b},
    ]).replace(b"\x1b", b"&#x1b;").replace(b"\x01", b"&#x01;"))  # XML 1.0 refuses them raw
    feed.write_bytes(feed.read_bytes())

    def control_title(request, number):  # an LLM title with controls in it
        if not request.get("response_format"):
            return Reply()  # notes of a part of a long article: as usual
        answer = json.loads(default_answer(request))
        answer["title"] = f"简读{CONTROLS}控制"
        answer["bullets"][0] = answer["bullets"][0] + "\u0007"
        return Reply(content=json.dumps(answer, ensure_ascii=False))

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    try:
        with LLMServer() as llm:
            llm.behaviour = control_title
            rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0", JIANDU_LLM_BASE_URL=llm.base_url,
                               JIANDU_LLM_API_KEY="k", JIANDU_LLM_MAX_ATTEMPTS="1",
                               JIANDU_SMTP_HOST="127.0.0.1", JIANDU_SMTP_PORT=str(controller.port),
                               JIANDU_SMTP_SECURITY="none", JIANDU_MAIL_TO="ada@example.org")
            with rt.sessions.begin() as session:
                store.add_source(session, kind="feed", url=str(feed))
            ingest(rt)
            with rt.sessions() as session:
                titles = [item.title for item in session.query(Item)]
            summarise(rt)
            with rt.sessions() as session:
                states = [(item.status, item.error) for item in session.query(Item)]
            assert publish(rt).items == 2, states
            deliver_pending(rt)
            with rt.sessions() as session:
                issue = store.issue_by_number(session, 1)
                editions = [issue.markdown, issue.text, issue.html, issue.subject]
            site = export_site(rt, tmp_path / "site", base_url="https://digest.example.org/")
            rt.close()
    finally:
        controller.stop()
    assert any(title.startswith(title_a[:10]) for title in titles)
    assert "控制" in editions[0]  # the text around the controls is kept
    shown = run_cli(["issue", "show", "1", "--format", "txt"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    [mail] = inbox.messages
    body = message_from_bytes(mail, policy=policy.default)
    parts = [part.get_content() for part in body.walk() if part.get_content_maintype() == "text"]
    for text in [*titles, *editions, shown.stdout, *parts]:
        assert not any(bad in text for bad in BAD + ("\u0007",)), repr(text[:300])
    ET.parse(next(path for path in site if path.name == "feed.xml"))  # well-formed
