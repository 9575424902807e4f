"""Schema migrations (Alembic), run from code: no alembic.ini in the user's directory.

`upgrade(engine)` brings any database to the newest revision. A database made by
`create_all` before migrations existed has jiandu's tables but no `alembic_version`; it is
stamped at the baseline revision (the schema as it was then) and upgraded from there.
On PostgreSQL an advisory lock makes workers that start together migrate one at a time.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001_initial"  # the schema create_all made before migrations existed
# Any fixed number: the key of the PostgreSQL advisory lock held while migrating.
MIGRATION_LOCK = 0x6A69616E6475


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision` (default: the newest)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = current_revision(connection)
        if revision == "head" and current == head_revision():
            return  # the common case: nothing to do, and no DDL machinery started
        config = alembic_config(connection)
        if current is None and _has_jiandu_tables(connection):
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def _has_jiandu_tables(connection: Connection) -> bool:
    return inspect(connection).has_table("items")
