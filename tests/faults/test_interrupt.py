"""Hole 4 of the hardening issue: SIGTERM and Ctrl-C stop `jiandu summarise` within seconds,
even while an endpoint drip-feeds its answer (Content-Length, then one byte a second, which
alone would take many minutes), and the items it held are claimable by the next run at once.
A real `jiandu summarise` process, a real SQLite file, the loopback LLM server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jiandu.models import claims
from jiandu.testing import llm_server
from jiandu.testing.llm_server import LLMServer
from tests.faults.support import article, fault_runtime, items_of, load_articles, now_utc

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = ("gmw", "youth", "bbc-1")
STOP_LIMIT = 30  # seconds: the drip-feed alone would hold a request for many minutes


def wait_for(condition, seconds: float = 30.0) -> bool:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_summarise_on_a_drip_feed_and_leaves_items_claimable(signum, monkeypatch, tmp_path):
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0")
    source_id = load_articles(rt, tmp_path, {name: article(name) for name in ARTICLES})
    with LLMServer(llm_server.drip(1.0)) as server:
        env = {**os.environ, "JIANDU_LLM_BASE_URL": server.base_url, "JIANDU_LLM_API_KEY": "sk-test",
               "JIANDU_LLM_MODEL": "loopback", "JIANDU_LLM_TIMEOUT": "3", "JIANDU_LLM_MAX_ATTEMPTS": "1",
               "JIANDU_LLM_MAX_CONCURRENCY": "2"}
        proc = subprocess.Popen([sys.executable, "-m", "jiandu", "summarise"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Both requests are being drip-fed and the items claimed: now stop it.
            assert wait_for(lambda: server.in_flight == 2 or proc.poll() is not None)
            assert proc.poll() is None, proc.communicate()
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=STOP_LIMIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 128 + signum, err
        assert f"Stopped ({signal.Signals(signum).name})" in err
        assert "Traceback" not in err
        # The abandoned requests' connections were closed, so a real server stops generating.
        assert wait_for(lambda: server.hangups == 2)

    items = items_of(rt, source_id)
    assert [(i.status, i.claimed_by) for i in items] == [("extracted", None)] * len(ARTICLES)
    with rt.sessions() as session:
        assert claims.count_claimable(session, "summarise", now_utc()) == len(ARTICLES)
    rt.close()
