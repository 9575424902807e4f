"""Run a flow from the command line with Prefect's start-up cost and noise kept down."""

from __future__ import annotations

from typing import Any, Callable


def quiet_flow_run(flow: Callable[..., Any], **parameters: Any) -> Any:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    # The heartbeat thread sleeps in 1 s steps and adds about a second to every sync flow.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return flow(**parameters)
