"""A one-task flow run the way jiandu runs its flows: the yardstick for Prefect's start-up.

Prints a JSON line of phase times (seconds since the interpreter started this module).
"""

from __future__ import annotations

import json
import sys
import time

started = time.perf_counter()

from prefect import flow, task  # noqa: E402
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402

imported = time.perf_counter()


@task
def one() -> int:
    return 1


@flow
def trivial() -> int:
    return one()


def main() -> None:
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        trivial()
    finished = time.perf_counter()
    phases = {"import_prefect": imported - started, "flow_run": finished - imported}
    print(json.dumps(phases), file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
