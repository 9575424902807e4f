"""A whole run without Prefect, for the kill tests: `python -m tests.faults.stage_runner [FEED...]`.

It calls the stages `jiandu run` calls, in the same order, with the settings from the
environment, and prints a marker line as each stage starts so a test can kill it there.
"""

from __future__ import annotations

import sys

from jiandu.runtime import open_runtime
from jiandu.stages.deliver import deliver_pending
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.models import store


def mark(stage: str) -> None:
    print(f"stage {stage}", flush=True)


def main(feeds: list[str]) -> int:
    rt = open_runtime()
    try:
        with rt.sessions.begin() as session:
            for url in feeds:  # already there on a second run
                store.add_source(session, kind="feed", url=url)
        mark("ingest")
        ingest(rt)
        mark("summarise")
        summarise(rt)
        mark("publish")
        publish(rt)
        mark("deliver")
        deliver_pending(rt)
        mark("done")
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
