"""Faults of the database: SQLite held by another writer (the run waits and succeeds) and
PostgreSQL connections cut mid-run (the run stops; the next run completes; nothing is lost)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.models import store
from jiandu.models.schema import Item
from tests.faults.support import add_feed, article, fault_runtime, items_of, load_articles, now_utc
from tests.support.http_server import LocalHTTPServer
from tests.support.postgres import postgres_url  # noqa: F401  (fixture)
from tests.support.world import serve_world

HOLD_SECONDS = 3.0


def test_sqlite_held_by_another_writer_makes_the_run_wait_then_succeed(monkeypatch, tmp_path):
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0")
    database = make_url(rt.settings.database).database
    locked, release = threading.Event(), threading.Event()

    def other_writer():
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # takes the write lock and keeps it
        other.execute("UPDATE sources SET name = name")
        locked.set()
        release.wait(HOLD_SECONDS)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=other_writer)
    holder.start()
    assert locked.wait(5)
    started = time.monotonic()
    threading.Timer(HOLD_SECONDS, release.set).start()
    source_id = load_articles(rt, tmp_path, {name: article(name) for name in ("gmw", "bbc-1")})
    waited = time.monotonic() - started
    holder.join()
    assert waited >= HOLD_SECONDS - 0.5  # it waited for the lock instead of failing
    assert summarise(rt).summarised == 2
    assert publish(rt).items == 2
    assert [i.status for i in items_of(rt, source_id)] == ["published", "published"]
    rt.close()


@pytest.mark.postgres
def test_postgres_connections_cut_mid_run_lose_nothing(postgres_url, monkeypatch):  # noqa: F811
    with LocalHTTPServer() as server:
        urls = serve_world(server)
        for name in urls:  # slow pages, so the cut lands while pages are being fetched
            server.routes[f"/articles/{name}.html"].delay = 0.3
        rt = fault_runtime(monkeypatch, JIANDU_DATABASE_URL=postgres_url, JIANDU_MAX_CONNECTIONS="2",
                           JIANDU_CLAIM_LEASE_SECONDS="1")
        source_id = add_feed(rt, server.url("/feed.xml"))
        outcome: list[BaseException | object] = []

        def run():
            try:
                outcome.append(ingest(rt))
            except BaseException as exc:  # the cut is expected to stop the run
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 20
        while sum(server.hits(f"/articles/{name}.html") for name in urls) < 3:
            assert time.monotonic() < deadline, "pages were never fetched"
            time.sleep(0.05)
        admin = create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            cut = connection.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": make_url(postgres_url).database},
            ).scalar()
        admin.dispose()
        worker.join(60)
        assert cut >= 1 and not worker.is_alive()
        rt.close()

        time.sleep(1.1)  # the dead run's claims run out (lease 1 s)
        get_settings.cache_clear()
        rt = open_runtime()
        later = now_utc()
        ingest(rt, now=later)
        summarise(rt, now=later)
        assert publish(rt, now=later).items == len(urls)
        items = items_of(rt, source_id)
        assert sorted(i.url for i in items) == sorted(urls.values())  # none lost, none twice
        assert {i.status for i in items} == {"published"}
        assert {i.text_origin for i in items} == {"page"}
        with rt.sessions() as session:
            assert session.query(Item).count() == len(urls)
            assert len(store.list_issues(session)) == 1
        rt.close()
