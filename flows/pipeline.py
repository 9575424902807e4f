"""The flows: ingest, summarise, publish, ingest-and-summarise and pipeline (all in order).

Each task is one call of a job in jiandu.stages.jobs (the same functions a one-off `jiandu run`
calls without Prefect); the flows leave a table of what they did (and the issue) as artifacts.
The pipeline is one flow of tasks rather than a flow of sub-flows: every flow run costs API
round trips, and ingest and summarise overlap inside one task (jiandu.stages.pipeline).
"""

from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from jiandu.runtime import open_runtime
from jiandu.stages import jobs

NETWORK_RETRIES = 2
NETWORK_RETRY_DELAYS = [5, 30]
HOUR = 3600


def _table(key: str, report: dict, description: str) -> None:
    rows = [{"what": name, "value": value} for name, value in report.items()
            if not isinstance(value, list)]
    create_table_artifact(key=key, table=rows, description=description)
    if report.get("attention"):  # held, failed and flagged items are never silent
        create_table_artifact(key=f"{key}-attention", table=report["attention"],
                              description="Items held, failed or flagged, with their reasons")


@task(name="poll-feeds-and-fetch-pages", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=2 * HOUR)
def ingest_task() -> dict:
    return jobs.ingest()


@task(name="summarise-with-llm", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=4 * HOUR)
def summarise_task() -> dict:
    return jobs.summarise()


@task(name="fetch-pages-and-summarise-as-they-come", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=4 * HOUR)
def ingest_and_summarise_task() -> dict:
    return jobs.ingest_and_summarise()


@task(name="render-and-store-issue", timeout_seconds=HOUR)
def publish_task(since: date | None, until: date | None) -> dict:
    return jobs.publish(since, until)


@task(name="email-issue", retries=NETWORK_RETRIES, retry_delay_seconds=NETWORK_RETRY_DELAYS,
      timeout_seconds=HOUR)
def deliver_task() -> dict:
    return jobs.deliver()


@task(name="push-issue", timeout_seconds=HOUR)
def push_task() -> dict:
    return jobs.push()


def _publish_and_deliver(since: date | None, until: date | None) -> dict:
    report = publish_task(since, until)
    _table("publish-report", report, "The issue made by this run")
    if report.get("issue_number"):
        from jiandu.models import store

        rt = open_runtime()
        try:
            with rt.sessions() as session:
                issue = store.issue_by_number(session, report["issue_number"])
                if report.get("draft"):
                    create_markdown_artifact(
                        key=f"draft-{issue.number}", markdown=_awaiting(issue.number) + "\n\n---\n\n"
                        + issue.markdown, description=f"Draft, not sent: {issue.subject}")
                else:
                    create_markdown_artifact(key=f"issue-{issue.number}", markdown=issue.markdown,
                                             description=issue.subject)
        finally:
            rt.close()
    report["delivery"] = deliver_task()  # earlier issues' pending mail; a draft has none
    report["push"] = push_task()  # JIANDU_PUSH_URLS: each target once; failed ones again
    return report


def _awaiting(number: int) -> str:
    return (f"Issue {number} is a draft waiting for its editor: nothing was sent. Approve it at "
            f"the desk (`jiandu desk`) or with `jiandu issue approve {number}`, which sends it.")


def _truthful(result: dict, publish_report: dict):
    """With review on, the run ends in a Completed state named AwaitingReview, so Prefect's UI
    says what is waiting: the draft, for its editor (not this run, which has finished)."""
    number = publish_report.get("issue_number") if publish_report.get("draft") else (
        publish_report.get("waiting_draft"))
    if not number:
        return result
    from prefect.states import Completed

    return Completed(name="AwaitingReview", message=_awaiting(number), data=result)


def _ingest_and_summarise() -> dict:
    reports = ingest_and_summarise_task()
    _table("ingest-report", reports["ingest"], "Sources polled, new items, pages fetched, failures")
    _table("summarise-report", reports["summarise"], "LLM requests, tokens, cost, failures")
    return reports


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


@flow(name="ingest-and-summarise", log_prints=False)
def ingest_and_summarise_flow() -> dict:
    """Poll feeds and fetch pages, summarising each text as soon as it is stored."""
    return _ingest_and_summarise()


@flow(name="publish", log_prints=False)
def publish_flow(since: date | None = None, until: date | None = None) -> dict:
    report = _publish_and_deliver(since, until)
    return _truthful(report, report)


@flow(name="pipeline", log_prints=False)
def pipeline_flow(since: date | None = None, until: date | None = None) -> dict:
    ingested = _ingest_and_summarise()
    published = _publish_and_deliver(since, until)
    return _truthful({**ingested, "publish": published}, published)
