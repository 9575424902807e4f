"""The process killed with SIGKILL at points of a run (ingest, summarise, publish, send), then
run again to completion: the database and the mail received equal those of a run that was
never interrupted. Real processes, a real SQLite file, loopback feed/LLM/SMTP servers."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from jiandu.models.schema import Delivery, Issue, Item, Source, SummaryRow, TextBlob
from tests.faults.support import closed_port
from tests.support.http_server import LocalHTTPServer
from jiandu.testing.llm_server import LLMServer
from tests.support.world import serve_world

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = ["ada@example.org", "bo@example.org", "cy@example.org"]
RUN_LIMIT = 120  # seconds a run may take before the test calls it hung


class SlowInbox:
    """Takes a little while over each message, so a kill can land in the middle of sending."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.3)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def received(self) -> list[tuple]:
        """(recipient, subject, text, html) of each message, a resend of one Message-ID
        counted once (mail clients fold them; see jiandu/stages/deliver.py)."""
        seen, found = set(), []
        for tos, message in self.messages:
            for to in tos:
                if (to, message["Message-ID"]) in seen:
                    continue
                seen.add((to, message["Message-ID"]))
                parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
                found.append((to, str(message["Subject"]), parts["text/plain"], parts["text/html"]))
        return sorted(found)


@pytest.fixture(scope="module")
def world():
    """Feed, pages, LLM and SMTP servers shared by every run of this module."""
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    with LocalHTTPServer() as http, LLMServer(latency=0.1) as llm:
        pages = serve_world(http)
        for name in pages:  # slow enough that a kill can land between two pages
            http.routes[f"/articles/{name}.html"].delay = 0.1
        yield {"http": http, "llm": llm, "inbox": inbox, "smtp_port": controller.port, "pages": pages}
    controller.stop()


def environment(world, home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("JIANDU_", "OPENAI_", "PREFECT_"))}
    env.update({
        "JIANDU_HOME": str(home), "JIANDU_ALLOW_PRIVATE_HOSTS": "1",
        "JIANDU_LLM_BASE_URL": world["llm"].base_url, "JIANDU_LLM_API_KEY": "sk-test",
        "JIANDU_LLM_MODEL": "loopback", "JIANDU_LLM_MAX_CONCURRENCY": "2", "JIANDU_MAX_CONNECTIONS": "2",
        "JIANDU_SMTP_HOST": "127.0.0.1", "JIANDU_SMTP_PORT": str(world["smtp_port"]),
        "JIANDU_SMTP_SECURITY": "none", "JIANDU_MAIL_FROM": "digest@example.com",
        "JIANDU_MAIL_TO": ",".join(RECIPIENTS),
        # A killed run's claims on items run out after a second, not the default ten minutes.
        "JIANDU_CLAIM_LEASE_SECONDS": "1",
        "JIANDU_TRIAGE": "off",  # as in every test but triage's (tests/conftest.py)
        "JIANDU_FIRST_POLL_MAX_AGE_DAYS": "36500",  # the fixture feed's entries are dated
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
        "PYTHONFAULTHANDLER": "1",  # a crash (not our kill) shows where it happened
    })
    return env


JIANDU_RUN = [sys.executable, "-m", "jiandu", "run"]


def stage_runner(world) -> list[str]:
    return [sys.executable, "-m", "tests.faults.stage_runner", world["http"].url("/feed.xml")]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Its own process group, so a kill takes any child (Prefect's server) with it.
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def run_to_completion(command: list[str], env: dict[str, str]) -> None:
    proc = start(command, env)
    out, err = proc.communicate(timeout=RUN_LIMIT)
    assert proc.returncode == 0, err[-3000:]


def kill_when(proc: subprocess.Popen, condition: Callable[[], bool]) -> bool:
    """SIGKILL the process group once condition() holds; False if the run ended first."""
    deadline = time.monotonic() + RUN_LIMIT
    while proc.poll() is None:
        if condition():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        assert time.monotonic() < deadline, "the run hung"
        time.sleep(0.01)
    return False


def wait_for_claims_to_lapse(home: Path) -> None:
    """Until the killed run's claims (a 1 s lease) have run out: a rerun that starts sooner
    rightly leaves a claimed item to a later run, which is not what these tests compare."""
    engine = create_engine(f"sqlite:///{home / 'jiandu.db'}")
    try:
        with Session(engine) as session:
            leases = [when for model in (Item, Source) for when in session.scalars(
                select(model.claimed_until).where(model.claimed_until.is_not(None)))]
    finally:
        engine.dispose()
    if leases:
        from jiandu.models.schema import utcnow

        time.sleep(max(0.0, (max(leases) - utcnow()).total_seconds()) + 0.05)


def snapshot(home: Path) -> dict[str, list]:
    """The meaningful columns of every table (no ids, no timestamps)."""
    engine = create_engine(f"sqlite:///{home / 'jiandu.db'}")
    with Session(engine) as session:
        items = list(session.scalars(select(Item)))
        key_of = {item.id: item.key for item in items}
        tables = {
            # Not last_status: a second poll rightly answers 304 where the first had 200.
            "sources": sorted((s.url, s.name, s.etag, s.last_modified, s.error_count, s.last_error,
                               s.enabled) for s in session.scalars(select(Source))),
            "items": sorted((i.key, i.url, i.title, i.status, i.failed_stage, i.error, i.attempts,
                             i.text.sha256 if i.text else None, i.text_origin, i.text_reason,
                             key_of.get(i.story_id), i.summary.title if i.summary else None,
                             i.issue.number if i.issue else None, tuple(i.links))
                            for i in items),
            "texts": sorted((t.sha256, t.zi) for t in session.scalars(select(TextBlob))),
            "summaries": sorted((s.text_sha256, s.model, s.prompt_version, s.title, s.emoji, s.section,
                                 s.importance, tuple(s.bullets), s.faithful, s.prompt_tokens,
                                 s.completion_tokens)
                                for s in session.scalars(select(SummaryRow))),
            "issues": sorted((i.number, i.issue_date, i.subject, i.markdown, i.html, i.text,
                              sorted(i.stats.items()))
                             for i in session.scalars(select(Issue))),
            "deliveries": sorted((session.get(Issue, d.issue_id).number, d.recipient, d.status, d.error)
                                 for d in session.scalars(select(Delivery))),
        }
    engine.dispose()
    return tables


@pytest.fixture(scope="module")
def reference(world, tmp_path_factory):
    """Tables and mail of a run that nobody interrupted."""
    home = tmp_path_factory.mktemp("reference") / "home"
    world["inbox"].messages.clear()
    run_to_completion(stage_runner(world), environment(world, home))
    tables, mail = snapshot(home), world["inbox"].received()
    assert len(tables["issues"]) == 1 and len(mail) == len(RECIPIENTS)
    assert {row[3] for row in tables["items"]} == {"published"}
    return tables, mail


def page_hits(world) -> int:
    return sum(world["http"].hits(f"/articles/{name}.html") for name in world["pages"])


def kill_points(world, rng: random.Random, started: dict) -> dict[str, Callable[[], bool]]:
    pages, llm, inbox = page_hits(world), len(world["llm"].requests), len(world["inbox"].messages)
    page_target = rng.randint(1, len(world["pages"]) - 1)
    llm_target = rng.randint(1, len(world["pages"]) - 1)
    publish_delay = rng.uniform(0.0, 0.3)

    def publishing() -> bool:
        return "publish" in started["marks"] and time.monotonic() - started["marks"]["publish"] > publish_delay

    return {
        "ingest": lambda: page_hits(world) - pages >= page_target,
        "summarise": lambda: len(world["llm"].requests) - llm >= llm_target,
        "publish": publishing,
        "send": lambda: len(world["inbox"].messages) - inbox >= 1,
    }


def watch_marks(proc: subprocess.Popen, started: dict) -> None:
    """Note when each stage marker appears on the runner's output (read in a thread)."""
    import threading

    def read():
        for line in proc.stdout:
            if line.startswith("stage "):
                started["marks"][line.split()[1]] = time.monotonic()

    threading.Thread(target=read, daemon=True).start()


@pytest.mark.slow
@pytest.mark.parametrize("stage,seed", [("ingest", 1), ("summarise", 2), ("publish", 3), ("send", 4)])
def test_killed_run_then_rerun_equals_an_uninterrupted_run(stage, seed, world, reference, tmp_path):
    expected_tables, expected_mail = reference
    home = tmp_path / "home"
    env = environment(world, home)
    world["inbox"].messages.clear()
    started = {"marks": {}}
    points = kill_points(world, random.Random(seed), started)
    proc = start(stage_runner(world), env)
    watch_marks(proc, started)
    if not kill_when(proc, points[stage]):
        pytest.fail(f"the run ended ({proc.returncode}) before the {stage} kill point: "
                    f"{proc.stderr.read()[-3000:]}")
    wait_for_claims_to_lapse(home)
    run_to_completion(stage_runner(world), env)

    tables = snapshot(home)
    for name, rows in expected_tables.items():
        assert tables[name] == rows, f"{name} differ after a kill during {stage} (seed {seed})"
    assert world["inbox"].received() == expected_mail


@pytest.mark.slow
def test_jiandu_run_killed_during_summarise_then_run_again(world, reference, tmp_path):
    """The real command, Prefect and all (its ephemeral server costs seconds per run)."""
    expected_tables, expected_mail = reference
    home = tmp_path / "home"
    env = environment(world, home)
    world["inbox"].messages.clear()
    run_to_completion([sys.executable, "-m", "jiandu", "source", "add", world["http"].url("/feed.xml")], env)
    asked = len(world["llm"].requests)
    proc = start(JIANDU_RUN, env)
    assert kill_when(proc, lambda: len(world["llm"].requests) - asked >= 3)
    wait_for_claims_to_lapse(home)
    run_to_completion(JIANDU_RUN, env)
    tables = snapshot(home)
    for name, rows in expected_tables.items():
        assert tables[name] == rows, name
    assert world["inbox"].received() == expected_mail
