"""`jiandu serve` runs the editor's desk beside the schedules, on 127.0.0.1:JIANDU_DESK_PORT,
and stops it on the way out; a desk that cannot start leaves the schedules running."""

from __future__ import annotations

import socket

import httpx
import pytest

from jiandu.flows import serve as serve_module
from jiandu.settings import get_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def no_prefect(monkeypatch):
    """A Prefect API named (so no server is started) and the deployments replaced by a probe."""
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    seen = {}

    def probe(settings):
        seen["served"] = True
        port = settings.desk_port
        try:
            seen["answer"] = httpx.get(f"http://127.0.0.1:{port}/", timeout=2) if port else None
        except httpx.HTTPError as exc:
            seen["answer"] = exc

    monkeypatch.setattr(serve_module, "_serve", probe)
    return seen


def test_serve_runs_the_desk_while_it_serves(no_prefect, monkeypatch):
    port = free_port()
    monkeypatch.setenv("JIANDU_DESK_PORT", str(port))
    get_settings.cache_clear()
    serve_module.serve_schedules(get_settings())
    assert no_prefect["answer"].status_code == 200
    assert "the desk" in no_prefect["answer"].text
    with pytest.raises(httpx.HTTPError):  # stopped on the way out
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_desk_port_in_use_leaves_the_schedules_running(no_prefect, monkeypatch, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("JIANDU_DESK_PORT", str(taken.getsockname()[1]))
        get_settings.cache_clear()
        serve_module.serve_schedules(get_settings())
    assert "desk is not running" in capsys.readouterr().out
    assert no_prefect["served"]  # the schedules were served anyway


def test_desk_port_zero_turns_it_off(no_prefect, monkeypatch):
    monkeypatch.setenv("JIANDU_DESK_PORT", "0")
    get_settings.cache_clear()
    serve_module.serve_schedules(get_settings())
    assert no_prefect["answer"] is None
