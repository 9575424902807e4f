"""`jiandu trigger`: start a run of one of `jiandu serve`'s deployments, now (issue 13, item 11).

It finds the server the way `jiandu run` does (PREFECT_API_URL, else the one `jiandu serve`
started on this home), so it works as printed, without knowing Prefect's settings.
"""

from __future__ import annotations

import os

import typer

from jiandu.cli import app, console, settings
from jiandu.errors import InputError

DEFAULT_DEPLOYMENT = "pipeline/manual"


@app.command()
def trigger(
    deployment: str = typer.Argument(DEFAULT_DEPLOYMENT, metavar="DEPLOYMENT",
                                     help="ingest-and-summarise/hourly, publish/daily or pipeline/manual."),
    wait: bool = typer.Option(False, "--wait", help="Wait until the run ends and say how it ended."),
) -> None:
    """Run a deployment of `jiandu serve` now (default: pipeline/manual, all stages)."""
    from jiandu.flows import prepare_prefect_environment
    from jiandu.flows.deployments import DEPLOYMENT_NAMES

    if deployment not in DEPLOYMENT_NAMES:
        raise InputError(f"no deployment {deployment!r}; jiandu serve has: {', '.join(DEPLOYMENT_NAMES)}")
    prepare_prefect_environment(settings().home)  # before Prefect is imported
    from jiandu.flows.runner import running_server

    api_url = os.environ.get("PREFECT_API_URL") or running_server()
    if not api_url:
        raise InputError("no Prefect server is running for this JIANDU_HOME: start `jiandu serve` "
                         "(or set PREFECT_API_URL to yours)")
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        try:
            run = run_deployment(deployment, timeout=None if wait else 0, as_subflow=False)
        except ObjectNotFound:
            raise InputError(f"the Prefect server at {api_url} has no deployment {deployment!r} (yet): "
                             "`jiandu serve` registers them a few seconds after it starts") from None
    ui = api_url.removesuffix("/api")
    console.print(f"Triggered {deployment}: flow run {run.name} ({run.id})", markup=False, highlight=False)
    console.print(f"Watch it: {ui}/runs/flow-run/{run.id}", markup=False, highlight=False, soft_wrap=True)
    if wait:
        state = run.state.name if run.state else "unknown"
        console.print(f"Ended: {state}", markup=False, highlight=False)
        if not (run.state and run.state.is_completed()):
            raise typer.Exit(1)
