"""The deployments `jiandu serve` offers and prefect.yaml mirrors, named once here.

    ingest-and-summarise/hourly   settings.ingest_cron: poll feeds, fetch pages, then summarise
    publish/daily                 settings.publish_cron: make the issue and email it
    pipeline/manual               no schedule: all three stages, for `prefect deployment run`

Schedules are cron expressions in the publication's time zone (settings.timezone).
Entry points are module paths, so a flow run finds its code wherever jiandu is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from jiandu.flows.pipeline import ingest_and_summarise_flow, pipeline_flow, publish_flow
from jiandu.settings import Settings


@dataclass(frozen=True)
class Plan:
    flow: object
    name: str
    cron_setting: str | None  # the Settings field holding its cron expression; None: manual only
    description: str

    @property
    def full_name(self) -> str:
        return f"{self.flow.name}/{self.name}"


PLANS = [
    Plan(ingest_and_summarise_flow, "hourly", "ingest_cron",
         "Poll due feeds, fetch new pages, then summarise what has text."),
    Plan(publish_flow, "daily", "publish_cron",
         "Make the next issue from everything summarised, then email it."),
    Plan(pipeline_flow, "manual", None,
         "Ingest, summarise and publish in order; run it by hand or from the UI."),
]
DEPLOYMENT_NAMES = [plan.full_name for plan in PLANS]


def build_deployments(settings: Settings) -> list[RunnerDeployment]:
    deployments = []
    for plan in PLANS:
        schedules = []
        if plan.cron_setting:
            schedules = [Cron(getattr(settings, plan.cron_setting), timezone=settings.timezone)]
        deployments.append(plan.flow.to_deployment(
            name=plan.name,
            schedules=schedules,
            description=plan.description,
            tags=["jiandu"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        ))
    return deployments
