"""The jobs a command or a flow runs, as plain functions: each opens the database, runs its
stages in order and returns plain dicts.

Prefect's flows (jiandu.flows.pipeline) wrap these same steps in tasks; a one-off `jiandu run`
with no Prefect server to report to calls them directly, so it pays no server start-up. Either
way every stage records itself in the runs table and the issue in the issues table.
"""

from __future__ import annotations

from datetime import date

from jiandu.runtime import open_runtime
from jiandu.stages import deliver as deliver_stage
from jiandu.stages import ingest as ingest_stage
from jiandu.stages import pipeline as pipeline_stage
from jiandu.stages import publish as publish_stage
from jiandu.stages import push as push_stage
from jiandu.stages import summarise as summarise_stage


def _with_runtime(stage, *args, **kwargs):
    rt = open_runtime()
    try:
        return stage(rt, *args, **kwargs)
    finally:
        rt.close()


def ingest() -> dict:
    return _with_runtime(ingest_stage.ingest).as_dict()


def summarise() -> dict:
    return _with_runtime(summarise_stage.summarise).as_dict()


def ingest_and_summarise() -> dict:
    """Poll feeds and fetch pages, summarising each text as soon as it is stored."""
    ingested, summarised = _with_runtime(pipeline_stage.ingest_and_summarise)
    return {"ingest": ingested.as_dict(), "summarise": summarised.as_dict()}


def publish(since: date | None = None, until: date | None = None) -> dict:
    return _with_runtime(publish_stage.publish, since=since, until=until).as_dict()


def deliver() -> dict:
    return _with_runtime(deliver_stage.deliver_pending).as_dict()


def push() -> dict:
    return _with_runtime(push_stage.push_pending).as_dict()


def publish_and_deliver(since: date | None = None, until: date | None = None) -> dict:
    report = publish(since, until)
    report["delivery"] = deliver()
    report["push"] = push()
    return report


def pipeline(since: date | None = None, until: date | None = None) -> dict:
    return {**ingest_and_summarise(), "publish": publish_and_deliver(since, until)}


JOBS = {
    "ingest": ingest,
    "summarise": summarise,
    "publish": publish_and_deliver,
    "pipeline": pipeline,
}
