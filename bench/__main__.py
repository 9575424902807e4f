"""`python -m bench` (or `make bench`): run the scenarios, print the table, write
bench/results/latest.json."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from bench import report
from bench.harness import JobFailed, Workspace
from bench.everyday import EVERYDAY
from bench.llm_transport import LLM_TRANSPORT
from bench.scenarios import SCENARIOS as LOAD_SCENARIOS
from bench.scenarios import Config, Context, scaled
from jiandu.testing.llm_server import LLMServer


SCENARIOS = {**LOAD_SCENARIOS, **EVERYDAY, **LLM_TRANSPORT}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="scaled-down scenarios for a smoke run (about three minutes, mostly start-up)")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), dest="scenarios",
                        help="run only this scenario (repeatable); default: all")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the JSON (default bench/results/latest.json; "
                             "--quick runs write bench/results/quick.json)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch homes for inspection")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = scaled(Config(), args.quick)
    console = Console(stderr=True)
    began = time.perf_counter()
    load_at_start = os.getloadavg()
    workspace = Workspace(keep=args.keep)
    rows: list[dict] = []
    try:
        with LLMServer(latency=config.llm_latency) as llm:
            ctx = Context(config, workspace, llm)
            for name in args.scenarios or list(SCENARIOS):
                console.print(f"[bold]{name}[/] ...")
                try:
                    rows.extend(SCENARIOS[name](ctx))
                except JobFailed as failure:  # a crash is a finding: report it, run the rest
                    console.print(f"[red]{name} failed:[/] {failure}\n{failure.stderr}")
                    rows.append({"scenario": f"{name}: FAILED", "notes": str(failure),
                                 "stderr": failure.stderr, "passed": False})
    finally:
        workspace.close()
        if args.keep:
            console.print(f"scratch homes kept in {workspace.root}")
    seconds = time.perf_counter() - began
    output = args.output or report.RESULTS / ("quick.json" if args.quick else "latest.json")
    path = report.write(rows, config={**asdict(config), "quick": args.quick,
                                      "load_average_at_start": load_at_start}, seconds=seconds,
                        path=output)
    report.show(rows)
    console.print(f"{seconds:.0f} s; results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
