"""Commands that only read (or add a row to) the database import nothing they do not use.

Each command runs as `python -X importtime -m jiandu ...` in a fresh process against a real
SQLite home with one published issue; the modules Python reports loading are checked against
the heavy libraries the stages need (the LLM client, HTTP, extraction, segmentation, Prefect,
push). How long the commands take is the benchmark's business (`python -m bench --scenario
read-commands`); this is the behaviour that keeps them quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

# Loaded by the stages, by `jiandu run`, or by a server; never by a command that reads.
HEAVY = ("openai", "httpx", "httpcore", "trafilatura", "jieba", "numpy", "tiktoken", "prefect",
         "apprise", "starlette", "fastapi", "feedparser", "lxml", "jinja2", "alembic",
         "datasketch", "sumy")
# Reading a feed before following it is the point of `source add` without --no-check; a feed
# file is read without the HTTP client.
FEED_CHECK = ("feedparser", "lxml")


def command_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JIANDU_", "OPENAI_", "PREFECT_API"))}
    # The world's entries are dated 2026-11: a first poll takes them all; no triage request.
    env.update(JIANDU_HOME=str(home), JIANDU_ALLOW_PRIVATE_HOSTS="true",
               JIANDU_FIRST_POLL_MAX_AGE_DAYS="36500", JIANDU_TRIAGE="off")
    return env


def jiandu(home: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess:
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run([sys.executable, *flags, "-m", "jiandu", *args], cwd=home,
                          env=command_env(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (args, done.stderr[-3000:])
    return done


def imported_modules(stderr: str) -> set[str]:
    """The module names of `-X importtime`'s report ("import time: self | cumulative | name")."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def heavy_in(modules: set[str], allowed: tuple[str, ...] = ()) -> set[str]:
    return {name for name in modules if name.split(".")[0] in HEAVY
            and name.split(".")[0] not in allowed}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One feed of real pages, run once in-process with the offline summariser: issue 1."""
    home = tmp_path_factory.mktemp("imports") / "home"
    home.mkdir()
    with LocalHTTPServer() as server:
        serve_world(server)
        jiandu(home, "source", "add", server.url("/feed.xml"))
        assert "Issue 1:" in jiandu(home, "run").stdout
    return home


READ_COMMANDS = [
    ("issue", "show", "1"),
    ("issue", "list"),
    ("source", "list"),
    ("status",),
    ("items", "export"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_commands_import_no_heavy_library(home, command):
    done = jiandu(home, *command, importtime=True)
    assert done.stdout.strip(), command  # it did answer
    modules = imported_modules(done.stderr)
    assert "jiandu.cli" in modules and "sqlalchemy" in modules  # the report is the real one
    assert heavy_in(modules) == set(), command


def test_source_add_without_a_check_imports_no_heavy_library(home):
    done = jiandu(home, "source", "add", "--no-check", "http://127.0.0.1:9/later.xml", importtime=True)
    assert "Added source" in done.stdout
    assert heavy_in(imported_modules(done.stderr)) == set()


def test_source_add_reads_a_feed_file_with_only_the_parser(home):
    feed = Path(__file__).parent / "fixtures" / "feeds" / "intertwingly.atom"
    done = jiandu(home, "source", "add", str(feed), importtime=True)
    assert "Added source" in done.stdout
    modules = imported_modules(done.stderr)
    assert "feedparser" in modules  # the check did read it
    assert heavy_in(modules, allowed=FEED_CHECK) == set()
