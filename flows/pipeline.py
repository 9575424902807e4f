"""The flows: ingest, summarise, publish, ingest-and-summarise and pipeline (all in order).

Each task is one call of a job in jiandu.stages.jobs (the same functions a one-off `jiandu run`
calls without Prefect); each flow run leaves one table of what its stages did, `<flow>-report`,
and the issue it made, as artifacts.

Every task run and every artifact costs API round trips and work on the server, so there are
few of each: a task where Prefect's retries or time-out matter (the network), one table per run
rather than one per stage. The pipeline is one flow of tasks rather than a flow of sub-flows,
and ingest and summarise overlap inside one task (jiandu.stages.pipeline). Results are never
reused, so tasks take no cache policy (the default one hashes inputs and source on every call)
and persist nothing; the reports live in jiandu's runs table.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Iterator

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from jiandu.runtime import open_runtime
from jiandu.stages import jobs

NETWORK_RETRIES = 2
NETWORK_RETRY_DELAYS = [5, 30]
HOUR = 3600
UNCACHED = {"cache_policy": NO_CACHE, "persist_result": False}

REPORT_DESCRIPTIONS = {
    "ingest": "sources polled, new items, pages fetched, failures",
    "summarise": "LLM requests, tokens, cost, failures",
    "publish": "the issue made",
    "delivery": "mail sent",
    "push": "push notifications sent",
}


@contextmanager
def report_table(flow_name: str) -> Iterator[dict[str, dict]]:
    """Collects each stage's report; one table artifact `<flow>-report` at the end, with the
    stages that finished even when a later one failed (and `<flow>-report-attention`, the items
    held, failed or flagged, when there are any)."""
    reports: dict[str, dict] = {}
    try:
        yield reports
    finally:
        rows = [{"stage": stage, "what": name.replace("_", " "), "value": value}
                for stage, report in reports.items() for name, value in report.items()
                if not isinstance(value, (list, dict))]
        if rows:
            create_table_artifact(key=f"{flow_name}-report", table=rows, description="; ".join(
                f"{stage}: {REPORT_DESCRIPTIONS.get(stage, stage)}" for stage in reports))
        attention = [row for report in reports.values() for row in report.get("attention") or []]
        if attention:  # held, failed and flagged items are never silent
            create_table_artifact(key=f"{flow_name}-report-attention", table=attention,
                                  description="Items held, failed or flagged, with their reasons")


@task(name="poll-feeds-and-fetch-pages", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=2 * HOUR, **UNCACHED)
def ingest_task() -> dict:
    return jobs.ingest()


@task(name="summarise-with-llm", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=4 * HOUR, **UNCACHED)
def summarise_task() -> dict:
    return jobs.summarise()


@task(name="fetch-pages-and-summarise-as-they-come", retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS, timeout_seconds=4 * HOUR, **UNCACHED)
def ingest_and_summarise_task() -> dict:
    return jobs.ingest_and_summarise()


@task(name="render-and-store-issue", timeout_seconds=HOUR, **UNCACHED)
def publish_task(since: date | None, until: date | None) -> dict:
    return jobs.publish(since, until)


@task(name="email-and-push-issues", retries=NETWORK_RETRIES, retry_delay_seconds=NETWORK_RETRY_DELAYS,
      timeout_seconds=HOUR, **UNCACHED)
def send_task() -> dict:
    """Pending mail, then JIANDU_PUSH_URLS; both send each (issue, recipient) once, so a retry
    sends only what failed."""
    return {"delivery": jobs.deliver(), "push": jobs.push()}


def _publish_and_deliver(since: date | None, until: date | None, reports: dict[str, dict]) -> dict:
    report = publish_task(since, until)
    reports["publish"] = report
    if report.get("issue_number"):
        _issue_artifact(report)
    sent = send_task()  # earlier issues' pending mail too; a draft has none
    reports.update(sent)
    report.update(sent)
    return report


def _issue_artifact(report: dict) -> None:
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


def _ingest_and_summarise(reports: dict[str, dict]) -> dict:
    both = ingest_and_summarise_task()
    reports.update(both)
    return both


@flow(name="ingest", log_prints=False, persist_result=False)
def ingest_flow() -> dict:
    with report_table("ingest") as reports:
        reports["ingest"] = ingest_task()
    return reports["ingest"]


@flow(name="summarise", log_prints=False, persist_result=False)
def summarise_flow() -> dict:
    with report_table("summarise") as reports:
        reports["summarise"] = summarise_task()
    return reports["summarise"]


@flow(name="ingest-and-summarise", log_prints=False, persist_result=False)
def ingest_and_summarise_flow() -> dict:
    """Poll feeds and fetch pages, summarising each text as soon as it is stored."""
    with report_table("ingest-and-summarise") as reports:
        return _ingest_and_summarise(reports)


@flow(name="publish", log_prints=False, persist_result=False)
def publish_flow(since: date | None = None, until: date | None = None) -> dict:
    with report_table("publish") as reports:
        report = _publish_and_deliver(since, until, reports)
    return _truthful(report, report)


@flow(name="pipeline", log_prints=False, persist_result=False)
def pipeline_flow(since: date | None = None, until: date | None = None) -> dict:
    with report_table("pipeline") as reports:
        ingested = _ingest_and_summarise(reports)
        published = _publish_and_deliver(since, until, reports)
    return _truthful({**ingested, "publish": published}, published)
