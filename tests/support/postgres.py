"""A fresh PostgreSQL database per test, on the server at 127.0.0.1:5432 (trust auth).

    def test_x(postgres_url): ...   # "postgresql+psycopg://postgres@127.0.0.1:5432/jiandu_test_..."

The database has a unique name, is created empty and dropped afterwards (its connections are
ended first, so a killed worker cannot keep it alive). With no server answering, the test skips.
Point JIANDU_TEST_POSTGRES at another server's admin URL to use it instead.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ADMIN_URL = os.environ.get(
    "JIANDU_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin_engine():
    # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction.
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT",
                         connect_args={"connect_timeout": 3})


@pytest.fixture
def postgres_url():
    admin = _admin_engine()
    name = f"jiandu_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        pytest.skip(f"no PostgreSQL server at {make_url(ADMIN_URL).render_as_string()}: {reason}")
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
