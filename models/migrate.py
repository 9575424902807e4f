"""Schema migrations (Alembic), run from code: no alembic.ini in the user's directory.

`upgrade(engine)` brings any database to the newest revision. A database made by
`create_all` before migrations existed has jiandu's tables but no `alembic_version`; it is
stamped at the baseline revision (the schema as it was then) and upgraded from there.
On PostgreSQL an advisory lock makes workers that start together migrate one at a time.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when there is something to migrate: importing it costs about 0.4 s,
# which every command would otherwise pay just to learn that the database is up to date.

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001_initial"  # the schema create_all made before migrations existed
# Any fixed number: the key of the PostgreSQL advisory lock held while migrating.
MIGRATION_LOCK = 0x6A69616E6475


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


_REVISION_LINE = re.compile(r'''^(down_revision|revision)\b[^=]*=\s*(?:["']([^"']*)["']|None)''', re.MULTILINE)


@functools.cache
def known_head() -> str | None:
    """The newest revision, read from the migration files' `revision`/`down_revision` lines
    without Alembic; None when they do not form one chain (then Alembic decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        found = dict((name, value) for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision` (default: the newest)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = current_revision(connection)
        if revision == "head" and current is not None and current == known_head():
            return  # the common case: nothing to do, and no DDL machinery started
        from alembic import command

        config = alembic_config(connection)
        if current is None and _has_jiandu_tables(connection):
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def _has_jiandu_tables(connection: Connection) -> bool:
    return inspect(connection).has_table("items")
