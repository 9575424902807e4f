"""Run a flow from the command line with Prefect's start-up cost and noise kept down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import httpx


def running_server() -> str | None:
    """The API of the server a `jiandu serve` on this home started, if it answers."""
    from jiandu.flows.serve import running_server_file

    if os.environ.get("PREFECT_API_URL"):
        return None
    marker = running_server_file(Path(os.environ["PREFECT_HOME"]))
    try:
        api_url = marker.read_text(encoding="utf-8").strip()
        if httpx.get(f"{api_url}/health", timeout=0.5).status_code == 200:
            return api_url
    except (OSError, httpx.HTTPError):
        pass
    return None


def quiet_flow_run(flow: Callable[..., Any], **parameters: Any) -> Any:
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    # The heartbeat thread sleeps in 1 s steps and adds about a second to every sync flow.
    updates: dict = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    # A server already running costs about 1.5 s a flow; a temporary one, 6-10 s to start.
    api_url = running_server()
    if api_url:
        updates[PREFECT_API_URL] = api_url
    with temporary_settings(updates=updates):
        return flow(**parameters)
