"""Run one measured job in this process and write what it cost to a JSON file.

    python -m bench.probe OUT.json plain ingest summarise publish   # the stage functions
    python -m bench.probe OUT.json plain ingest+summarise publish   # both at once, as `jiandu run`
    python -m bench.probe OUT.json cli run                          # `jiandu run` (the flows)

Peak RSS is this process's own (resource.getrusage), read when the job is done; the Prefect
server subprocess that ephemeral mode starts is not counted.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time

STARTED = time.perf_counter()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run_plain(stages: list[str]) -> dict:
    from jiandu.runtime import open_runtime
    from jiandu.stages.ingest import ingest
    from jiandu.stages.publish import publish
    from jiandu.stages.summarise import summarise

    from jiandu.stages.pipeline import ingest_and_summarise

    def pipeline(rt) -> dict:  # what `jiandu run` does before publishing: both stages at once
        ingested, summarised = ingest_and_summarise(rt)
        return {"ingest": ingested.as_dict(), "summarise": summarised.as_dict()}

    functions = {"ingest": ingest, "summarise": summarise, "publish": publish,
                 "ingest+summarise": pipeline}
    rt = open_runtime()
    seconds, reports, rss_after = {}, {}, {}
    try:
        for stage in stages:
            began = time.perf_counter()
            report = functions[stage](rt)
            reports[stage] = report if isinstance(report, dict) else report.as_dict()
            seconds[stage] = time.perf_counter() - began
            rss_after[stage] = round(peak_rss_mb(), 1)
    finally:
        rt.close()
    return {"stage_seconds": seconds, "reports": reports, "peak_rss_after_mb": rss_after}


def run_cli(arguments: list[str]) -> dict:
    from jiandu.cli import main

    sys.argv = ["jiandu", *arguments]
    try:
        main()
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise RuntimeError(f"jiandu {' '.join(arguments)} exited with {exit_.code}") from None
    return {}


def main() -> None:
    out, mode, *arguments = sys.argv[1:]
    result = run_plain(arguments) if mode == "plain" else run_cli(arguments)
    result["job_seconds"] = time.perf_counter() - STARTED
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    with open(out, "w", encoding="utf-8") as stream:
        json.dump(result, stream)
    gc.freeze()  # exit as `jiandu` does (jiandu.cli.main), without collecting every module's objects


if __name__ == "__main__":
    main()
