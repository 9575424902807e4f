"""Claimed work: batches are disjoint, leases expire, releases give items back; and real worker
processes summarising one database at once, on SQLite and PostgreSQL, one of them killed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jiandu.models import claims
from jiandu.models.db import init_db, make_engine, session_factory
from jiandu.models.schema import Item, Source, SummaryRow, TextBlob
from jiandu.testing.llm_server import LLMServer, article_text
from tests.support.postgres import postgres_url  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=10)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jiandu.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    yield session_factory(engine)
    engine.dispose()


def article(number: int) -> str:
    return (f"第{number}号研究团队发布了新的语言模型。该模型在{number}项测试中表现稳定。"
            f"团队表示，编号{number}的版本将向研究者开放。业内人士认为这一进展值得关注。")


def add_items(sessions, count: int, *, status: str = "extracted") -> list[int]:
    """`count` story leaders, each with its own text, ready for the stage after `status`."""
    with sessions.begin() as session:
        source = Source(kind="feed", url="https://example.org/feed.xml", enabled=True,
                        error_count=0)
        session.add(source)
        session.flush()
        items = []
        for number in range(1, count + 1):
            content = article(number)
            blob = TextBlob(sha256=f"{number:064x}", content=content, zi=len(content))
            session.add(blob)
            session.flush()
            item = Item(source_id=source.id, key=f"guid:{number}", url=f"https://example.org/{number}",
                        title=f"第{number}条", first_seen_at=NOW, published_at=NOW,
                        feed_content="", links=[], status=status, attempts=0,
                        text_id=blob.id if status == "extracted" else None)
            session.add(item)
            items.append(item)
        session.flush()
        for item in items:
            item.story_id = item.id
        return [item.id for item in items]


def clock_at(moment: datetime):
    return lambda: moment


# In-process behaviour of claims ----------------------------------------------------------------


def test_two_workers_get_disjoint_batches_until_nothing_is_left(sessions):
    ids = add_items(sessions, 25)
    taken = []
    for worker in ["a", "b", "a", "b"]:
        taken.append(claims.claim(sessions, "summarise", worker, limit=10, lease=LEASE, now=NOW))
    assert [len(batch) for batch in taken] == [10, 10, 5, 0]
    assert sorted(sum(taken, [])) == ids
    with sessions() as session:
        owners = dict(session.execute(select(Item.id, Item.claimed_by)).all())
    assert {owners[i] for i in taken[0] + taken[2]} == {"a"}
    assert {owners[i] for i in taken[1]} == {"b"}


def test_an_expired_lease_lets_another_worker_take_the_items(sessions):
    ids = add_items(sessions, 3)
    start = datetime.now(timezone.utc)
    assert claims.claim(sessions, "summarise", "dead", limit=10, lease=LEASE, now=NOW,
                        clock=clock_at(start)) == ids
    just_before = clock_at(start + LEASE - timedelta(seconds=1))
    assert claims.claim(sessions, "summarise", "alive", limit=10, lease=LEASE, now=NOW,
                        clock=just_before) == []
    after = clock_at(start + LEASE + timedelta(seconds=1))
    assert claims.claim(sessions, "summarise", "alive", limit=10, lease=LEASE, now=NOW,
                        clock=after) == ids
    # The dead worker's late release must not free what is now someone else's.
    assert claims.release(sessions, ids, "dead") == 0
    with sessions() as session:
        assert set(session.scalars(select(Item.claimed_by))) == {"alive"}


def test_a_due_feed_is_polled_by_one_worker_until_its_claim_ends(sessions):
    with sessions.begin() as session:
        for n in range(3):
            session.add(Source(kind="feed", url=f"http://example.com/{n}.xml", enabled=True,
                               error_count=0))
        session.add(Source(kind="feed", url="http://example.com/off.xml", enabled=False,
                           error_count=0))
        session.add(Source(kind="links", url="/notes.md", enabled=True, error_count=0))
    start = datetime.now(timezone.utc)
    first = claims.claim_due_feeds(sessions, "a", limit=100, lease=LEASE, now=NOW,
                                   clock=clock_at(start))
    assert len(first) == 3  # the enabled feeds only
    assert claims.claim_due_feeds(sessions, "b", limit=100, lease=LEASE, now=NOW,
                                  clock=clock_at(start)) == []
    claims.release_feeds(sessions, first[:1], "a")
    assert claims.claim_due_feeds(sessions, "b", limit=100, lease=LEASE, now=NOW,
                                  clock=clock_at(start)) == first[:1]
    after = clock_at(start + LEASE + timedelta(seconds=1))
    assert claims.claim_due_feeds(sessions, "c", limit=100, lease=LEASE, now=NOW,
                                  clock=after) == first


def test_renew_keeps_the_claim_and_release_gives_it_back(sessions):
    ids = add_items(sessions, 4)
    start = datetime.now(timezone.utc)
    claimed = claims.claim(sessions, "summarise", "w", limit=10, lease=LEASE, now=NOW,
                           clock=clock_at(start))
    later = start + LEASE - timedelta(seconds=5)
    with sessions.begin() as session:
        assert claims.renew(session, claimed, "w", LEASE, clock=clock_at(later)) == 4
    past_first_lease = clock_at(start + LEASE + timedelta(seconds=1))
    assert claims.claim(sessions, "summarise", "x", limit=10, lease=LEASE, now=NOW,
                        clock=past_first_lease) == []
    assert claims.release(sessions, claimed, "w") == 4
    with sessions() as session:
        assert claims.count_claimable(session, "summarise", NOW) == 4
        assert set(session.execute(select(Item.claimed_by, Item.claimed_until))) == {(None, None)}
    assert claims.claim(sessions, "summarise", "x", limit=10, lease=LEASE, now=NOW) == ids


def test_only_items_the_stage_wants_are_claimed(sessions):
    new_ids = add_items(sessions, 3, status="new")
    with sessions.begin() as session:
        waiting, due = session.get(Item, new_ids[0]), session.get(Item, new_ids[1])
        waiting.status = due.status = "failed"
        waiting.failed_stage = due.failed_stage = "fetch"
        waiting.next_attempt_at = NOW + timedelta(minutes=15)  # still backing off
        due.next_attempt_at = NOW - timedelta(minutes=1)
    assert claims.claim(sessions, "summarise", "w", limit=10, lease=LEASE, now=NOW) == []
    assert claims.claim(sessions, "fetch", "w", limit=10, lease=LEASE, now=NOW) == new_ids[1:]
    with pytest.raises(ValueError, match="unknown stage 'publish'"):
        claims.claim(sessions, "publish", "w", limit=10, lease=LEASE, now=NOW)


def test_worker_id_names_host_and_process_and_is_unique():
    first, second = claims.worker_id(), claims.worker_id()
    assert first.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert first != second


# Real worker processes -------------------------------------------------------------------------

WORKER = """
import json
from jiandu.runtime import open_runtime
from jiandu.stages.summarise import summarise
rt = open_runtime()
print(json.dumps(summarise(rt).as_dict()))
rt.close()
"""


def start_worker(database_url: str, llm: LLMServer, home: Path, lease: float) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("JIANDU_", "OPENAI_"))}
    env.update({
        "JIANDU_HOME": str(home),
        "JIANDU_DATABASE_URL": database_url,
        "JIANDU_LLM_BASE_URL": llm.base_url,
        "JIANDU_LLM_API_KEY": "sk-test",
        "JIANDU_LLM_MAX_CONCURRENCY": "4",
        "JIANDU_CLAIM_LEASE_SECONDS": str(lease),
        "JIANDU_TRIAGE": "off",  # one summary request per article: what the counts below expect
        "PYTHONPATH": str(ROOT),
    })
    return subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(worker: subprocess.Popen) -> dict:
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def requests_per_text(llm: LLMServer) -> Counter:
    return Counter(article_text(request) for request in llm.requests)


def summary_counts(sessions) -> tuple[int, int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(SummaryRow)),
            session.scalar(select(func.count()).where(Item.status == "summarised")),
            session.scalar(select(func.count(func.distinct(Item.summary_id)))),
        )


@pytest.mark.slow
def test_two_worker_processes_summarise_200_items_exactly_once(sessions, database_url, tmp_path):
    add_items(sessions, 200)
    with LLMServer(latency=0.02) as llm:
        workers = [start_worker(database_url, llm, tmp_path / f"w{n}", lease=600) for n in (1, 2)]
        reports = [finish(worker) for worker in workers]
        per_text = requests_per_text(llm)

    assert set(per_text) == {article(n) for n in range(1, 201)}
    assert set(per_text.values()) == {1}  # no text paid for twice
    assert sum(report["summarised"] for report in reports) == 200
    assert all(report["summarised"] > 0 for report in reports)  # both really worked
    assert summary_counts(sessions) == (200, 200, 200)
    with sessions() as session:
        assert session.scalar(select(func.count()).where(Item.claimed_by.is_not(None))) == 0


@pytest.mark.slow
def test_a_killed_workers_items_are_finished_by_the_other_after_the_lease(
        sessions, database_url, tmp_path):
    lease = 1.0
    add_items(sessions, 200)
    with LLMServer(latency=0.05) as llm:
        doomed = start_worker(database_url, llm, tmp_path / "doomed", lease=lease)
        deadline = time.monotonic() + 30
        while summary_counts(sessions)[0] < 20:  # its first commit: mid-way through a batch
            assert doomed.poll() is None and time.monotonic() < deadline, doomed.stderr.read()
            time.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed_at = time.monotonic()
        with sessions() as session:
            stranded = set(session.scalars(
                select(Item.id).where(Item.status == "extracted",
                                      Item.claimed_by.like(f"%:{doomed.pid}:%"))))
            done_by_doomed = summary_counts(sessions)[0]
        assert stranded, "the killed worker held no unfinished claims"

        survivor = start_worker(database_url, llm, tmp_path / "survivor", lease=lease)
        report = finish(survivor)
        per_text = requests_per_text(llm)

    # The survivor needs over 2 s for its share (180 requests of 50 ms, 4 at a time), so its
    # last claim came after the dead worker's lease ran out, and took the stranded items.
    assert time.monotonic() - killed_at > lease
    assert report["summarised"] == 200 - done_by_doomed
    assert summary_counts(sessions) == (200, 200, 200)
    asked_twice = {text for text, count in per_text.items() if count > 1}
    stranded_texts = {article(item_id) for item_id in stranded}  # ids are 1..200 in order
    assert asked_twice <= stranded_texts  # only work the dead worker never committed was redone
    assert set(per_text.values()) <= {1, 2}
    assert set(per_text) == {article(n) for n in range(1, 201)}
