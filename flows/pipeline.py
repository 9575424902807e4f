"""The flows: ingest, summarise, publish, and pipeline (all three in order).

Each task is a line or two over a stage function in jiandu.stages; the flows read settings,
open the database, and leave a table of what they did (and the issue itself) as artifacts.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from jiandu.runtime import open_runtime
from jiandu.stages import deliver as deliver_stage
from jiandu.stages import ingest as ingest_stage
from jiandu.stages import publish as publish_stage
from jiandu.stages import summarise as summarise_stage

NETWORK_RETRIES = 2
NETWORK_RETRY_DELAYS = [5, 30]
HOUR = 3600


def _table(key: str, report: dict, description: str) -> None:
    rows = [{"what": name, "value": value} for name, value in report.items()
            if not isinstance(value, list)]
    create_table_artifact(key=key, table=rows, description=description)


@task(name="poll-feeds-and-fetch-pages", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=2 * HOUR)
def ingest_task() -> dict:
    rt = open_runtime()
    try:
        return ingest_stage.ingest(rt).as_dict()
    finally:
        rt.close()


@task(name="summarise-with-llm", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=4 * HOUR)
def summarise_task() -> dict:
    rt = open_runtime()
    try:
        return summarise_stage.summarise(rt).as_dict()
    finally:
        rt.close()


@task(name="render-and-store-issue", timeout_seconds=HOUR)
def publish_task(since: date | None, until: date | None) -> dict:
    rt = open_runtime()
    try:
        return publish_stage.publish(rt, since=since, until=until).as_dict()
    finally:
        rt.close()


@task(name="email-issue", retries=NETWORK_RETRIES, retry_delay_seconds=NETWORK_RETRY_DELAYS,
      timeout_seconds=HOUR)
def deliver_task() -> dict:
    rt = open_runtime()
    try:
        return deliver_stage.deliver_pending(rt).as_dict()
    finally:
        rt.close()


@flow(name="ingest", log_prints=False)
def ingest_flow() -> dict:
    report = ingest_task()
    _table("ingest-report", report, "Sources polled, new items, pages fetched, failures")
    return report


@flow(name="summarise", log_prints=False)
def summarise_flow() -> dict:
    report = summarise_task()
    _table("summarise-report", report, "LLM requests, tokens, cost, failures")
    return report


@flow(name="publish", log_prints=False)
def publish_flow(since: date | None = None, until: date | None = None) -> dict:
    report = publish_task(since, until)
    _table("publish-report", report, "The issue made by this run")
    if report.get("issue_number"):
        rt = open_runtime()
        try:
            from models import store

            with rt.sessions() as session:
                issue = store.issue_by_number(session, report["issue_number"])
                create_markdown_artifact(key=f"issue-{issue.number}", markdown=issue.markdown,
                                         description=issue.subject)
        finally:
            rt.close()
    report["delivery"] = deliver_task()
    return report


@flow(name="pipeline", log_prints=False)
def pipeline_flow(since: date | None = None, until: date | None = None) -> dict:
    return {
        "ingest": ingest_flow(),
        "summarise": summarise_flow(),
        "publish": publish_flow(since=since, until=until),
    }
