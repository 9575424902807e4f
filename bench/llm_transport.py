"""What streaming costs against a fast endpoint (issue 21): the same summaries through the
loopback LLM server (no latency, in its own process) streamed and not, 8 at a time."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from jiandu.records import ArticleInput
from jiandu.summarising.llm import LLMSummariser

ARTICLES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "articles"
SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]
TARGET = 1.10  # streamed / not streamed, wall time; above this streaming costs something


def _articles(count: int) -> list[ArticleInput]:
    texts = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(ARTICLES.glob("*.json"))]
    # A distinct title each, so no two requests are the same text.
    return [ArticleInput(title=f"{texts[n % len(texts)]['title']} {n}", text=texts[n % len(texts)]["text"])
            for n in range(count)]


@contextmanager
def _server_process():
    """The loopback LLM server in its own process, as a real endpoint is: its per-token work
    must not share this process's GIL with the client being measured."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "jiandu.testing.llm_server", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        process.stdout.readline()  # "serving ...": it is listening
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait()


def _seconds(base_url: str, stream: bool, articles: list[ArticleInput]) -> float:
    summariser = LLMSummariser(base_url=base_url, api_key="bench", model="gpt-4o-mini",
                               max_concurrency=8, stream=stream)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda article: summariser.summarise(article, SECTIONS), articles))
    return time.perf_counter() - started


def streaming_cost(ctx) -> list[dict]:
    count = 60 if ctx.config.items < 1_000 else 200
    articles = _articles(count)
    runs = {True: [], False: []}
    with _server_process() as base_url:
        _seconds(base_url, True, articles[:8])  # warm up: imports, tokenizer
        for _ in range(3):
            for stream in (False, True):
                runs[stream].append(_seconds(base_url, stream, articles))
    streamed, plain = min(runs[True]), min(runs[False])
    ratio = streamed / plain
    return [{"scenario": f"{count} summaries streamed, fast loopback LLM, 8 at a time (ratio: / not streamed)",
             "wall_s": streamed, "ratio": ratio, "not_streamed_s": plain,
             "target": f"<= {TARGET:.2f}x not streamed",
             "passed": ratio <= TARGET,
             "notes": "fastest of 3; the server in its own process, answering at once, one HTTP chunk "
                      "a token; the whole summarise call per article. Streaming costs the client "
                      "CPU per token (httpcore/h11 chunk parsing), which is why JIANDU_LLM_STREAM=auto "
                      "streams only from local servers: a hosted endpoint is asked without it"}]


LLM_TRANSPORT = {"llm-streaming": streaming_cost}
