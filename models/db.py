"""Engines and sessions. SQLite gets WAL and a busy timeout so a second writer waits, not fails."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from jiandu.errors import ConfigError
from jiandu.models.migrate import upgrade


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"JIANDU_DATABASE_URL: not a database URL: {url!r}") from None
    safe = parsed.render_as_string(hide_password=True)
    if not parsed.drivername.startswith(("sqlite", "postgresql", "postgres")):
        raise ConfigError(f"JIANDU_DATABASE_URL: {parsed.get_backend_name()} is not supported "
                          f"({safe}); use sqlite:///PATH or postgresql://USER@HOST/DB")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"JIANDU_DATABASE_URL: cannot make the folder {folder} for "
                                  f"{safe}: {exc.strerror or exc}") from None
        engine = _create(parsed, safe, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return _create(parsed, safe, pool_pre_ping=True)


def _create(parsed, safe: str, **options) -> Engine:  # noqa: ANN001 - a sqlalchemy URL
    try:
        return create_engine(parsed, **options)
    except (NoSuchModuleError, ImportError) as exc:  # a driver that is not installed
        raise ConfigError(f"JIANDU_DATABASE_URL: no driver for {safe}: {exc}") from None


def init_db(engine: Engine) -> None:
    """Bring the schema up to date: the Alembic migrations, run from code."""
    try:
        upgrade(engine)
    except DatabaseError as exc:  # unreachable, or a file that is not a database
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        safe = engine.url.render_as_string(hide_password=True)
        problem = "cannot reach" if isinstance(exc, OperationalError) else "cannot use"
        raise ConfigError(f"JIANDU_DATABASE_URL: {problem} {safe}: {reason}") from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)

