"""The benchmark's table (rich) and its JSON record."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines()
                             if l.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        memory_kb = 0
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "memory_gb": round(memory_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "system": platform.platform(), "load_average": os.getloadavg(),
            "versions": {name: version(name) for name in ("prefect", "trafilatura", "sqlalchemy",
                                                          "feedparser", "openai", "httpx")}}


def _s(value) -> str:
    return "" if value is None else f"{value:.1f}"


def table(rows: list[dict]) -> Table:
    out = Table(title="jiandu benchmark", show_lines=False, title_justify="left")
    for column, justify in (("scenario", "left"), ("wall s", "right"), ("start-up s", "right"),
                            ("work s", "right"), ("largest bound s", "right"), ("work/bound", "right"),
                            ("peak RSS MB", "right"), ("feeds/pages/LLM", "right"),
                            ("target", "left"), ("", "left")):
        out.add_column(column, justify=justify, overflow="fold")
    for r in rows:
        b = r.get("bounds") or {}
        bound = f"{b['largest_s']:.1f} {b['largest']}" if b else ""
        asked = r.get("requests") or {}
        requests = (f"{asked.get('feeds', 0)}/{asked.get('pages', 0)}/{asked.get('llm', 0)}"
                    if asked else "")
        verdict = {True: "[green]pass[/]", False: "[red]FAIL[/]"}.get(r.get("passed"), "")
        target = r.get("target", "")
        if "prefect_overhead_pct" in r:
            target = f"{r['prefect_overhead_pct']:.1f}% ({target})"
        out.add_row(r["scenario"], _s(r.get("wall_s")), _s(r.get("startup_s")), _s(r.get("work_s")),
                    bound, f"{r['ratio']:.2f}" if r.get("ratio") is not None else "",
                    _s(r.get("peak_rss_mb")), requests, target, verdict)
    return out


def write(rows: list[dict], *, config: dict, seconds: float, path: Path | None = None) -> Path:
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "config": config, "bench_seconds": round(seconds, 1),
              "rows": rows}
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    return path


def show(rows: list[dict], console: Console | None = None) -> None:
    console = console or Console(width=200)
    console.print(table(rows))
    for r in rows:
        if r.get("notes"):
            console.print(f"[dim]{r['scenario']}: {r['notes']}[/]")
