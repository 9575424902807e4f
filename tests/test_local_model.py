"""Issue 21's Done-when: a slow local model that sometimes runs away, through one `jiandu run`.

The loopback server poses as llama.cpp (`/props`: 8,192 tokens a slot, 8 slots), writes 20
tokens a second, so an ordinary answer (200-300 tokens) takes longer than JIANDU_LLM_TIMEOUT=10,
and every tenth answer runs away (repeats a phrase until max_tokens). Measured, not timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.models import store
from jiandu.testing import llm_server
from jiandu.testing.llm_server import LLMServer
from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

LLAMA_CPP_PROPS = {"default_generation_settings": {"n_ctx": 8192}, "total_slots": 8}


def run_jiandu(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jiandu", *args], env=env, capture_output=True,
                          text=True, timeout=1800)


@pytest.mark.slow
def test_sixty_articles_from_a_slow_model_that_sometimes_runs_away(tmp_path, monkeypatch):
    behaviour = llm_server.every(10, llm_server.runaway)
    with LocalHTTPServer() as pages, LLMServer(behaviour, tokens_per_second=20,
                                               llama_cpp_props=LLAMA_CPP_PROPS) as llm:
        urls = serve_world(pages, more=True)
        assert len(urls) == 60
        env = {**os.environ, "JIANDU_HOME": str(tmp_path / "home"), "JIANDU_ALLOW_PRIVATE_HOSTS": "1",
               "JIANDU_LLM_BASE_URL": llm.base_url, "JIANDU_LLM_API_KEY": "local",
               "JIANDU_LLM_MODEL": "qwen2.5:0.5b", "JIANDU_LLM_RESPONSE_FORMAT": "json_object",
               "JIANDU_LLM_TIMEOUT": "10", "JIANDU_LLM_MAX_CONCURRENCY": "8"}
        added = run_jiandu("source", "add", pages.url("/feed.xml"), env=env)
        assert added.returncode == 0, added.stderr
        started = time.monotonic()
        ran = run_jiandu("run", env=env)
        seconds = time.monotonic() - started

        for name, value in env.items():
            if name.startswith("JIANDU_"):
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        rt = open_runtime()
        with rt.sessions() as session:
            items = list(store.iter_items(session))
            summarised = sum(1 for item in items if item.summary_id is not None)
            published = sum(1 for item in items if item.issue_id is not None)
            unpublished = [(item.url, item.status, item.error) for item in items if item.issue_id is None]
        rt.close()
        written = dict(llm.completion_tokens)
        report = (f"run {seconds:.0f}s, exit {ran.returncode}; summarised {summarised}/60, "
                  f"published {published}/60; requests {len(llm.requests)}, "
                  f"{sum(1 for r in llm.requests if r.get('stream'))} streamed, peak in flight "
                  f"{llm.peak_in_flight}; completion tokens: most "
                  f"{max(written.values())}, all {sum(written.values())}; hang-ups {llm.hangups}; "
                  f"not published: {unpublished}")
        print(report)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert published >= 57, report
        assert max(written.values()) <= 1_200, report
        assert sum(written.values()) <= 30_000, report
