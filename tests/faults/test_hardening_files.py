"""Issue 12, holes 7 and 8: what jiandu reads from and writes to the disk stays where it should.

7. A feed file on disk may only lead jiandu to pages inside its own folder (as a notes file
   already may): `../private/bank.html`, an absolute path or a file: URL elsewhere is refused.
   A file:/// link keeps its whole path.
8. `jiandu site build DIR` never follows a link planted in DIR: it writes a new file beside it
   and renames it into place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jiandu.models import store
from jiandu.models.schema import Item
from jiandu.stages.ingest import ingest
from tests.faults.support import article, article_html, fault_runtime, rss

SECRET = "账户余额 Account balance 987,654.32 — private statement"


def test_a_local_feed_reads_pages_only_inside_its_own_folder(monkeypatch, tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    bank = private / "bank.html"
    bank.write_text(article_html("Bank statement", (SECRET + "。") * 40), encoding="utf-8")
    feeds = tmp_path / "d"
    (feeds / "pages").mkdir(parents=True)
    title, text = article("gmw")
    (feeds / "pages" / "ok.html").write_text(article_html(title, text), encoding="utf-8")
    inside_uri = (feeds / "pages" / "ok.html").resolve().as_uri()
    entries = [
        {"guid": "up", "title": "up and out", "link": "../private/bank.html"},
        {"guid": "abs", "title": "absolute", "link": str(bank)},
        {"guid": "uri", "title": "file URL", "link": bank.resolve().as_uri()},
        {"guid": "ok", "title": "inside", "link": "pages/ok.html"},
        {"guid": "ok-uri", "title": "inside, as a file URL", "link": inside_uri},
    ]
    (feeds / "feed.xml").write_bytes(rss(entries))
    rt = fault_runtime(monkeypatch)
    with rt.sessions.begin() as session:
        store.add_source(session, kind="feed", url=str(feeds / "feed.xml"))
    ingest(rt)
    with rt.sessions() as session:
        items = {item.guid: (item.status, item.url, item.error, item.text.content if item.text else "")
                 for item in session.query(Item)}
    rt.close()
    for guid in ("up", "abs", "uri"):
        status, url, error, content = items[guid]
        assert SECRET not in content and status == "failed", items[guid]
        assert "outside" in error, error
    assert items["ok"][0] in ("extracted", "merged") and title[:8] in items["ok"][3]
    # A file:/// URL keeps its first path segment (it was read as a host name and dropped).
    assert items["ok-uri"][1] == str((feeds / "pages" / "ok.html").resolve())


def publish_one_issue(monkeypatch, tmp_path):
    from jiandu.stages.publish import publish
    from jiandu.stages.summarise import summarise
    from tests.faults.support import load_articles

    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0", JIANDU_SITE_URL="https://digest.example.com/")
    load_articles(rt, tmp_path, {"gmw": article("gmw")})
    summarise(rt)
    assert publish(rt).items == 1
    return rt


def test_site_build_replaces_planted_links_and_never_writes_through_them(monkeypatch, tmp_path):
    from jiandu.site_export import export_site

    rt = publish_one_issue(monkeypatch, tmp_path)
    victims = tmp_path / "victims"
    (victims / "folder").mkdir(parents=True)
    victim = victims / "victim"
    victim.write_text("do not touch", encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    (site / "feed.xml").symlink_to(victim)
    (site / "index.html").symlink_to(victim)
    (site / "issues").symlink_to(victims / "folder", target_is_directory=True)
    written = export_site(rt, site, base_url="https://digest.example.org/")
    rt.close()
    assert victim.read_text(encoding="utf-8") == "do not touch"
    assert list((victims / "folder").iterdir()) == []
    for path in written:
        assert not path.is_symlink() and path.is_file(), path
        assert not path.parent.is_symlink(), path
    assert "<feed" in (site / "feed.xml").read_text(encoding="utf-8")


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    return subprocess.run([sys.executable, "-m", "jiandu", *args], cwd=cwd,
                          env={**clean, "JIANDU_HOME": os.environ["JIANDU_HOME"], **env},
                          capture_output=True, text=True, timeout=120)


def test_site_build_into_a_file_or_with_a_bad_site_url_is_one_line(monkeypatch, tmp_path):
    publish_one_issue(monkeypatch, tmp_path).close()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    into_file = run_cli(["site", "build", str(tmp_path / "a-file")], tmp_path,
                        JIANDU_SITE_URL="https://digest.example.com/")
    bad_url = run_cli(["site", "build", str(tmp_path / "site")], tmp_path,
                      JIANDU_SITE_URL="digest example")
    for result, named in ((into_file, "a-file"), (bad_url, "JIANDU_SITE_URL")):
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and named in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
