"""Shared test set-up: every test gets its own JIANDU_HOME and a clean environment.

Prefect is pointed at a temporary home once per session, quietly and offline.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="jiandu-prefect-")
for name, value in {
    "PREFECT_HOME": _PREFECT_HOME,
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_UI_ENABLED": "false",
}.items():
    os.environ[name] = value
os.environ.pop("PREFECT_API_URL", None)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def jiandu_env(tmp_path, monkeypatch):
    """A fresh home and no stray JIANDU_/OPENAI_ settings from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("JIANDU_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("JIANDU_HOME", str(home))
    # The fixtures are real feeds from past years: a first poll takes all of them unless a
    # test of the first-poll limit says otherwise.
    monkeypatch.setenv("JIANDU_FIRST_POLL_MAX_AGE_DAYS", "36500")
    monkeypatch.setenv("JIANDU_FIRST_POLL_MAX_ITEMS", "100000")
    # Topic triage asks one more request per text: off unless a test of triage turns it on, so
    # that request counts and fixtures on any subject stay as they were.
    monkeypatch.setenv("JIANDU_TRIAGE", "off")
    monkeypatch.chdir(tmp_path)
    from jiandu.settings import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect server for the few tests that run real flows (about 10 s, once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
