"""The CLI runs the stages as Prefect flows (under a temporary Prefect server) and the
commands that run no flow answer from the database. Real HTTP, real SQLite."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.settings import get_settings
from tests.support.http_server import LocalHTTPServer
from jiandu.testing.llm_server import LLMServer
from tests.support.world import serve_world

runner = CliRunner()


def prefect_artifacts() -> dict[str, object]:
    """key -> data of the latest artifact with that key, read back from the Prefect server."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {a.key: a.data for a in client.read_artifacts() if a.key}


def jiandu(*args: str):
    get_settings.cache_clear()
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow
def test_source_add_then_run_publishes_and_second_run_sends_nothing(prefect_harness, monkeypatch):
    with LocalHTTPServer() as server, LLMServer() as llm:
        urls = serve_world(server)
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        jiandu("source", "add", server.url("/feed.xml"))
        out = jiandu("run", "--via-prefect").output
        assert "Issue 1:" in out
        exported = [json.loads(line) for line in jiandu("items", "export").output.splitlines()]
        assert len(exported) == len(urls)
        for record in exported:
            assert record["status"] == "published", record
            assert len(record["summary"]["bullets"]) == 3
            assert record["source_chars"] > 0 and record["text"]
        sent = len(llm.requests)
        assert "Nothing new to publish." in jiandu("run", "--via-prefect").output
        assert len(llm.requests) == sent
        artifacts = prefect_artifacts()
        assert {"pipeline-report", "issue-1"} <= set(artifacts)
        assert "## 看点" in artifacts["issue-1"]
        # One table per flow run (either run's), a row per figure of each stage.
        rows = artifacts["pipeline-report"]
        rows = json.loads(rows) if isinstance(rows, str) else rows
        assert {row["stage"] for row in rows} >= {"ingest", "summarise", "publish", "delivery"}
        numbers = [row["value"] for row in rows if (row["stage"], row["what"]) == ("publish", "issue number")]
        assert numbers in ([1], [None])
        md = jiandu("issue", "show", "1").output
        assert "## 看点" in md
        assert "<html" in jiandu("issue", "show", "1", "--format", "html").output.lower()


def test_run_without_a_prefect_server_runs_in_process_and_records_its_runs(tmp_path):
    """No PREFECT_API_URL and no `jiandu serve`: the jobs run here, Prefect is never imported,
    and each stage is recorded in jiandu's own runs table."""
    with LocalHTTPServer() as server:
        serve_world(server)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env.update(JIANDU_HOME=str(tmp_path / "home"), JIANDU_ALLOW_PRIVATE_HOSTS="true")
        add = subprocess.run([sys.executable, "-m", "jiandu", "source", "add", server.url("/feed.xml")],
                             env=env, capture_output=True, text=True, timeout=120)
        assert add.returncode == 0, add.stderr
        probe = ("import sys, runpy; sys.argv = ['jiandu', 'run']\n"
                 "try:\n    runpy.run_module('jiandu', run_name='__main__')\n"
                 "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
                 "print('PREFECT-IMPORTED' if 'prefect' in sys.modules else 'NO-PREFECT')")
        run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "NO-PREFECT" in run.stdout and "Issue 1:" in run.stdout
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'jiandu.db'}")
    with engine.connect() as connection:
        stages = {row[0] for row in connection.execute(text("SELECT stage FROM runs"))}
    engine.dispose()
    assert {"ingest", "summarise", "publish"} <= stages


def test_bad_input_gets_one_clear_line_and_nonzero_exit(tmp_path):
    """Run as a real process: one line naming the input, no traceback."""
    not_bookmarks = tmp_path / "bookmarks.html"
    not_bookmarks.write_bytes(b"\x00\x01\x02 binary")
    cases = [
        (["source", "add", "not a url"], "not a url"),
        (["source", "add", "https://example.com/feed", "--section", "不存在"], "--section"),
        (["links", "import", str(tmp_path / "missing.md")], "missing.md"),
        (["links", "import", str(not_bookmarks)], "bookmarks.html"),
        (["publish", "--since", "yesterday"], "--since"),
    ]
    for args, named in cases:
        proc = subprocess.run([sys.executable, "-m", "jiandu", *args], capture_output=True, text=True)
        assert proc.returncode != 0, args
        assert named in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr


def test_broken_config_file_is_named(tmp_path):
    (tmp_path / "jiandu.toml").write_text("llm_model = \n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "jiandu", "config"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 1
    assert "jiandu.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_config_masks_secrets(monkeypatch):
    monkeypatch.setenv("JIANDU_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("JIANDU_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("JIANDU_DATABASE_URL", "postgresql://u:pw123@127.0.0.1/x")
    out = jiandu("config").output
    assert "JIANDU_LLM_API_KEY" in out
    for secret in ("sk-very-secret", "hunter2", "pw123"):
        assert secret not in out


def test_every_command_has_help():
    import typer.main

    command = typer.main.get_command(app)

    def walk(group, prefix=()):
        for name, sub in group.commands.items():
            yield prefix + (name,), sub
            if hasattr(sub, "commands"):
                yield from walk(sub, prefix + (name,))

    for path, sub in walk(command):
        assert (sub.help or "").strip(), f"jiandu {' '.join(path)} has no help text"


def test_opml_import_skips_what_is_there_and_exports_back(tmp_path):
    from jiandu.connectors.opml import read_opml
    from tests.support.world import FIXTURES

    opml = next((FIXTURES / "opml").glob("*.opml"))
    feeds = read_opml(opml)
    def counts(output: str) -> dict[str, int]:
        return {name: int(n) for name, n in re.findall(r"(added|already there)\W+(\d+)", output)}

    assert counts(jiandu("source", "import-opml", str(opml)).output) == {
        "added": len(feeds), "already there": 0}
    assert counts(jiandu("source", "import-opml", str(opml)).output) == {
        "added": 0, "already there": len(feeds)}
    out = tmp_path / "back.opml"
    jiandu("source", "export-opml", str(out))
    assert {f.url for f in read_opml(out)} == {f.url for f in feeds}


def test_importing_saved_links_twice_adds_nothing():
    from tests.support.world import FIXTURES

    notes = FIXTURES / "saved" / "seed000_markdown_note.md"
    first = jiandu("links", "import", str(notes)).output
    assert "seed000_markdown_note.md\t12\t12\t\n" in first  # file, new, found, note
    assert "seed000_markdown_note.md\t0\t12\talready imported" in jiandu("links", "import", str(notes)).output
