"""What a person feels every day (the speed issue's table): an empty `jiandu run`, 60 long real
articles through a 2 s LLM with 8 requests in flight, a big subscription list whose hosts do not
resolve, and the commands that only read the database. Each row is reported against its target.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench.bounds import bounds, extraction_seconds
from bench.scenarios import Context, add_sources, fastest_of, row
from bench.world import PAGES_DIR, Sites, World, load_base_pages

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent
OPML = ROOT / "tests" / "fixtures" / "opml" / "chinese-independent-blogs.feed.opml"
PAGES_MORE = PAGES_DIR.parent / "pages_more"


def empty_run(ctx: Context) -> list[dict]:
    """`jiandu run` with nothing to do: in-process (no server), and through Prefect."""
    ws, cfg = ctx.workspace, ctx.config
    home = ws.home("empty-run")
    env = ctx.llm_env()
    ws.time_command(home, [PYTHON, "-m", "jiandu", "status"], env)  # the database exists first
    plain = fastest_of([ws.time_command(home, [PYTHON, "-m", "jiandu", "run"], env)
                        for _ in range(cfg.repeats + 2)])
    rows = [row("jiandu run, nothing to do, no Prefect server (in-process)", wall_s=plain,
                startup_s=plain, target="<= 2 s", passed=plain <= 2.0)]
    via = fastest_of([ws.time_command(home, [PYTHON, "-m", "jiandu", "run", "--via-prefect"], env)
                      for _ in range(cfg.repeats)])
    rows.append(row("jiandu run --via-prefect, nothing to do (temporary Prefect server)",
                    wall_s=via, startup_s=via, notes="what every run paid before"))
    return rows


def sixty_articles(ctx: Context) -> list[dict]:
    """60 long real articles (200 ms a page), LLM 2 s a request, 8 in flight."""
    ws = ctx.workspace
    base = load_base_pages(PAGES_DIR) + (load_base_pages(PAGES_MORE) if PAGES_MORE.exists() else [])
    world = World(feeds=6, entries_per_feed=10, page_latency=0.2, feed_latency=0.2, base=base)
    llm_latency, concurrency = 2.0, 8
    ctx.llm.latency = llm_latency
    # A model whose context window jiandu knows (128k): every article fits, none is split.
    env = {**ctx.llm_env(concurrency=concurrency), "JIANDU_LLM_MODEL": "gpt-4o-mini"}
    home = ws.home("sixty-articles")
    with Sites(world, world.feeds) as sites:
        add_sources(home, sites.feed_urls())
        world.reset_counts()
        ctx.llm_requests()
        job = ws.run(home, "plain", ["ingest+summarise", "publish"], env)
        counts = world.reset_counts()
        requests, peak = ctx.llm_requests()
    work = sum(job.stage_seconds.values())
    llm_bound = 60 * llm_latency / concurrency
    b = bounds(feeds=world.feeds, pages=counts.get("pages", 0), llm_requests=60, world=world,
               page_costs=extraction_seconds(world), connections=ctx.config.connections, per_host=ctx.config.per_host,
               sites=world.feeds, llm_latency=llm_latency, llm_concurrency=concurrency,
               cores_used=os.cpu_count() or 1)
    largest = max(b.largest[1], llm_bound)
    summarised = job.reports.get("ingest+summarise", {}).get("summarise", {})
    return [
        row("60 long real articles, LLM 2 s, 8 in flight: work time", items=60, wall_s=job.wall,
            work_s=work, bounds={**b.as_dict(), "llm_s": llm_bound}, ratio=work / largest,
            peak_rss_mb=job.peak_rss_mb, stage_seconds=job.stage_seconds,
            requests={"pages": counts.get("pages", 0), "llm": requests, "llm_peak_in_flight": peak},
            notes=f"summarise report: {summarised}", target="<= 1.3 x the 15 s LLM bound",
            passed=work <= 1.3 * largest),
        row("60 long real articles: LLM requests", items=60, requests={"llm": requests},
            target="60 (the model's context holds every article)", passed=requests == 60),
    ]


def dead_feeds(ctx: Context) -> list[dict]:
    """The 1,326-feed Chinese OPML with no network: every host fails to resolve."""
    ws = ctx.workspace
    home = ws.home("dead-feeds")
    env = {"JIANDU_FETCH_PAGES": "false"}
    ws.time_command(home, [PYTHON, "-m", "jiandu", "source", "import-opml", str(OPML)], env)
    began = time.perf_counter()
    job = ws.run(home, "plain", ["ingest"], env)
    wall = time.perf_counter() - began
    report = job.reports.get("ingest", {})
    return [row(f"jiandu ingest of {report.get('sources_polled', 0):,} feeds whose hosts do not resolve",
                wall_s=wall, work_s=job.stage_seconds.get("ingest"), peak_rss_mb=job.peak_rss_mb,
                notes=f"source errors: {report.get('source_errors')}; DNS answers come from this "
                      f"machine's resolver (RES_OPTIONS={os.environ.get('RES_OPTIONS', 'jiandu default')})",
                target="<= 20 s", passed=wall <= 20.0)]


def read_commands(ctx: Context) -> list[dict]:
    """Commands that only read a small database, and `source add` of a local file."""
    ws, cfg = ctx.workspace, ctx.config
    home = ws.home("read-commands")
    world = World(feeds=2, entries_per_feed=5, page_latency=0.0, feed_latency=0.0, teaser_chars=600)
    env = {"JIANDU_FETCH_PAGES": "false"}  # the offline summariser: no key
    with Sites(world, world.feeds) as sites:
        add_sources(home, sites.feed_urls())
        ws.run(home, "plain", ["ingest", "summarise", "publish"], env)
    rows = []
    commands = {
        "jiandu issue show 1": ["issue", "show", "1"],
        "jiandu source list": ["source", "list"],
        "jiandu status": ["status"],
        "jiandu items export": ["items", "export"],
    }
    for name, arguments in commands.items():
        wall = fastest_of([ws.time_command(home, [PYTHON, "-m", "jiandu", *arguments], env)
                           for _ in range(cfg.repeats + 2)])
        rows.append(row(f"{name} (small database)", wall_s=wall, startup_s=wall,
                        target="<= 0.6 s", passed=wall <= 0.6))
    feed = home / "local-feed.xml"
    feed.write_bytes(world.feed(0, "https://example.org"))
    times = []
    for attempt in range(cfg.repeats + 2):
        copy = home / f"feed-{attempt}.xml"
        copy.write_bytes(feed.read_bytes())
        times.append(ws.time_command(home, [PYTHON, "-m", "jiandu", "source", "add", str(copy)], env))
    wall = fastest_of(times)
    rows.append(row("jiandu source add (a local feed file)", wall_s=wall, startup_s=wall,
                    target="<= 0.6 s", passed=wall <= 0.6))
    return rows


EVERYDAY = {
    "empty-run": empty_run,
    "sixty-articles": sixty_articles,
    "dead-feeds": dead_feeds,
    "read-commands": read_commands,
}
