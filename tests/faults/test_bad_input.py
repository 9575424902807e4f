"""Bad input from the user, through the real command (`python -m jiandu ...`): one clear line
naming the file or setting and what is wrong, a non-zero exit, and no traceback unless --debug.
The commands run side by side, so the whole table costs about one interpreter start."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GBK_NOTES = (
    "# 读书笔记\n\n今天读到两篇好文章：\n\n"
    "- [大模型的新进展](https://example.com/llm-news)\n"
    "- 另一篇在这里 https://example.org/articles/42 值得一读\n"
)


@dataclass
class Case:
    name: str
    args: list[str]
    names: list[str]  # what stderr must name (file, setting, value)
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    ok: bool = False  # the input is fine: exit 0 and this text on stdout
    stdout: str = ""


CASES = [
    Case("malformed OPML", ["source", "import-opml", "feeds.opml"], ["feeds.opml", "not well-formed"],
         files={"feeds.opml": b'<?xml version="1.0"?><opml version="2.0"><body><outline text="a" '}),
    Case("OPML that is something else", ["source", "import-opml", "feeds.opml"], ["feeds.opml", "<rss>"],
         files={"feeds.opml": b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>'}),
    Case("OPML with an entity bomb", ["source", "import-opml", "feeds.opml"], ["feeds.opml", "unsafe XML"],
         files={"feeds.opml": b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
                              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><opml><body>'
                              b'<outline text="&b;" xmlUrl="https://example.com/f"/></body></opml>'}),
    Case("bookmarks file that is a web page", ["links", "import", "bookmarks.html"],
         ["bookmarks.html", "not a Netscape bookmarks export"],
         files={"bookmarks.html": b"<!doctype html><html><head><title>Shop</title></head>"
                                  b"<body><p>Buy now</p></body></html>"}),
    Case("bookmarks file that is binary", ["links", "import", "bookmarks.html"], ["bookmarks.html"],
         files={"bookmarks.html": bytes(range(256)) * 4}),
    Case("notes file in GBK", ["links", "import", "notes.md"], [], ok=True, stdout="notes.md\t2\t2",
         files={"notes.md": GBK_NOTES.encode("gbk")}),
    Case("URL with spaces", ["links", "add", "https://example.com/a b"], ["https://example.com/a b", "spaces"]),
    Case("feed URL with spaces", ["source", "add", "http://exa mple.com/feed"], ["exa mple.com", "spaces"]),
    Case("URL without a scheme", ["source", "add", "example.com/feed.xml"], [], ok=True,
         stdout="https://example.com/feed.xml"),
    Case("not a URL at all", ["source", "add", "just some words"], ["just some words"]),
    Case("not an http URL", ["links", "add", "ftp://example.com/file"], ["ftp://example.com/file", "http"]),
    Case("unknown section", ["links", "add", "https://example.com/a", "--section", "体育"],
         ["--section", "体育", "产业资讯"]),
    Case("broken jiandu.toml", ["config"], ["jiandu.toml", "TOML"],
         files={"jiandu.toml": b"llm_model = \n"}),
    Case("jiandu.toml with a wrong value", ["config"], ["JIANDU_LLM_MAX_CONCURRENCY"],
         files={"jiandu.toml": b'llm_max_concurrency = "lots"\n'}),
    Case("JIANDU_CONFIG pointing nowhere", ["config"], ["JIANDU_CONFIG", "missing.toml"],
         env={"JIANDU_CONFIG": "missing.toml"}),
    Case("unreachable database", ["source", "list"], ["JIANDU_DATABASE_URL", "127.0.0.1:1"],
         env={"JIANDU_DATABASE_URL": "postgresql://127.0.0.1:1/x"}),
    Case("unreachable database, a command that runs a flow", ["run"],
         ["JIANDU_DATABASE_URL", "127.0.0.1:1"], env={"JIANDU_DATABASE_URL": "postgresql://127.0.0.1:1/x"}),
    Case("database URL that is not one", ["source", "list"], ["JIANDU_DATABASE_URL", "not-a-url"],
         env={"JIANDU_DATABASE_URL": "not-a-url"}),
    Case("bad setting in the environment", ["config"], ["JIANDU_TIMEZONE", "Mars/Olympus"],
         env={"JIANDU_TIMEZONE": "Mars/Olympus"}),
    Case("missing links file", ["links", "import", "nowhere.md"], ["nowhere.md"]),
]


def clean_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    env.update({"JIANDU_HOME": str(home), "COLUMNS": "200", **extra})
    return env


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case run at once, each in its own folder; name -> CompletedProcess-like tuple."""
    running = {}
    for number, case in enumerate(CASES):
        folder = tmp_path_factory.mktemp(f"case{number}")
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        running[case.name] = subprocess.Popen(
            [sys.executable, "-m", "jiandu", *case.args], cwd=folder, env=clean_env(folder / "home", case.env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=60)
        results[name] = (proc.returncode, out, err)
    return results


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_gets_one_clear_line(case, outcomes):
    code, out, err = outcomes[case.name]
    if case.ok:
        assert code == 0, err
        assert case.stdout in out
        return
    assert code != 0
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for named in case.names:
        assert named in lines[0], (named, lines[0])


def test_debug_shows_the_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jiandu", "--debug", "source", "add", "just some words"],
                          cwd=tmp_path, env=clean_env(tmp_path / "home", {}), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "just some words" in proc.stderr
