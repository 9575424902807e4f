"""Alembic migrations on real SQLite files and a real PostgreSQL database: from empty, from the
previous revision with rows in it, and from a database create_all made before migrations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.settings import get_settings
from jiandu.models import migrate
from jiandu.models.db import make_engine
from jiandu.models.schema import Base
from tests.support.postgres import postgres_url  # noqa: F401  (fixture)

PREVIOUS = "0001_initial"
CLAIM_INDEX = "ix_items_status_claimed_until"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'jiandu.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    engine = make_engine(url)
    yield engine
    engine.dispose()


def differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def revision(engine) -> str | None:
    with engine.connect() as connection:
        return migrate.current_revision(connection)


def item_indexes(engine) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes("items")}


def add_rows(engine) -> None:
    seen = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sources (id, kind, url, enabled, error_count, created_at) "
            "VALUES (1, 'feed', 'https://example.org/feed.xml', true, 0, :seen)"), {"seen": seen})
        connection.execute(text(
            "INSERT INTO items (id, source_id, key, title, first_seen_at, feed_content, links, "
            "is_clipping, status, attempts) VALUES (1, 1, 'guid:a', '旧条目', :seen, '正文', '[]', "
            "false, 'extracted', 0)"), {"seen": seen})


def test_upgrade_of_an_empty_database_matches_the_models(engine):
    migrate.upgrade(engine)
    assert revision(engine) == migrate.head_revision()
    assert differences(engine) == []
    assert CLAIM_INDEX in item_indexes(engine)


def test_upgrade_from_the_previous_revision_keeps_rows_and_adds_the_index(engine):
    migrate.upgrade(engine, PREVIOUS)
    assert revision(engine) == PREVIOUS
    assert CLAIM_INDEX not in item_indexes(engine)
    add_rows(engine)

    migrate.upgrade(engine)

    assert revision(engine) == migrate.head_revision() != PREVIOUS
    assert CLAIM_INDEX in item_indexes(engine)
    assert differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title, status FROM items")).all() == [
            ("旧条目", "extracted")]


def test_database_from_before_migrations_is_stamped_then_upgraded(engine):
    # What create_all made before Alembic: the baseline tables and no alembic_version.
    migrate.upgrade(engine, PREVIOUS)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    add_rows(engine)

    migrate.upgrade(engine)

    assert revision(engine) == migrate.head_revision()
    assert differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM items")).scalar() == 1


def test_downgrade_to_the_previous_revision_and_back(engine):
    migrate.upgrade(engine)
    migrate.downgrade(engine, PREVIOUS)
    assert CLAIM_INDEX not in item_indexes(engine)
    migrate.upgrade(engine)
    assert differences(engine) == []


def test_upgrade_at_head_is_a_no_op_that_never_starts_alembic(engine, monkeypatch):
    # Every command opens the database this way: at head it reads one row and stops.
    migrate.upgrade(engine)
    from alembic import command

    def refuse(*args, **kwargs):
        raise AssertionError("alembic was asked to migrate a database already at head")

    monkeypatch.setattr(command, "upgrade", refuse)
    monkeypatch.setattr(command, "stamp", refuse)
    migrate.upgrade(engine)
    assert revision(engine) == migrate.head_revision()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_jiandu_db_upgrade_migrates_the_configured_database(kind, request, tmp_path, monkeypatch):
    url = (f"sqlite:///{tmp_path / 'cli.db'}" if kind == "sqlite"
           else request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("JIANDU_DATABASE_URL", url)
    get_settings.cache_clear()

    result = CliRunner().invoke(app, ["db", "upgrade"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    engine = make_engine(url)
    try:
        assert revision(engine) == migrate.head_revision()
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_upgrade_from_the_claim_index_revision_adds_source_claims(engine):
    from sqlalchemy import inspect

    migrate.upgrade(engine, "0002_claim_index")
    add_rows(engine)
    assert "claimed_by" not in {c["name"] for c in inspect(engine).get_columns("sources")}
    migrate.upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("sources")}
    assert {"claimed_by", "claimed_until"} <= columns
    assert differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM items")).scalar() == 1


def test_upgrade_from_source_claims_adds_review_and_keeps_issues_published(engine):
    """0003 -> 0004: issues already made were sent as they are, so they become "published";
    items gain the editor's fields, and the edit log starts empty."""
    from sqlalchemy import inspect

    migrate.upgrade(engine, "0003_source_claims")
    add_rows(engine)
    made = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO issues (id, number, issue_date, subject, markdown, html, text, stats, "
            "created_at) VALUES (1, 1, '2026-11-02', '第1期', '# 1', '<p>1</p>', '1', '{}', :made)"),
            {"made": made})
    assert "item_edits" not in inspect(engine).get_table_names()

    migrate.upgrade(engine, "0004_review")

    assert revision(engine) == "0004_review"
    assert "item_edits" in inspect(engine).get_table_names()
    assert {"edited", "highlight"} <= {c["name"] for c in inspect(engine).get_columns("items")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT number, status, approved_at FROM issues")).all() == [
            (1, "published", None)]
        assert connection.execute(text("SELECT title, edited, highlight FROM items")).all() == [
            ("旧条目", None, None)]
    migrate.downgrade(engine, "0003_source_claims")
    assert "item_edits" not in inspect(engine).get_table_names()
    assert "status" not in {c["name"] for c in inspect(engine).get_columns("issues")}
    migrate.upgrade(engine)
    assert differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM issues")).all() == [("published",)]


def test_the_head_read_without_alembic_is_alembics_head():
    # The fast "already up to date" check must agree with Alembic, or every command would migrate.
    assert migrate.known_head() == migrate.head_revision()
