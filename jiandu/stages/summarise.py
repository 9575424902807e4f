"""Summarise: every story leader with text gets a summary, each text paid for at most once.

A summary is looked up by (text hash, model, prompt version) before any request is made; the
rest go to the summariser from a thread pool (the summariser itself enforces the concurrency
and rate limits). A per-run token budget stops new requests cleanly; what is left waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from jiandu.concurrency import bounded_map
from jiandu.errors import SummariseError
from jiandu.progress import progress
from jiandu.records import ArticleInput, Summary
from jiandu.runtime import Runtime
from jiandu.stages.report import StageReport
from jiandu.settings import Settings
from models import claims, store
from models.schema import Item, utcnow

RENEW_EVERY = 20  # results between renewals of this worker's claims
CLAIM_BATCH = 50  # items a worker claims at once; done well within one lease
FOLLOW_POLL_SECONDS = 0.25


@dataclass
class SummariseReport(StageReport):
    summarised: int = 0
    cache_hits: int = 0
    checked: int = 0  # summaries whose bullets were checked against the article
    failed: int = 0
    unfaithful: int = 0
    requests: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    budget_reached: bool = False
    model: str = ""



def make_summariser(settings: Settings):
    """The LLM summariser when an endpoint or key is configured, else the offline one."""
    if settings.llm_configured:
        from connectors.llm import LLMSummariser

        return LLMSummariser(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none",
            model=settings.llm_model,
            response_format=settings.llm_response_format,
            max_concurrency=settings.llm_max_concurrency,
            requests_per_minute=settings.llm_requests_per_minute,
            input_token_budget=settings.llm_input_token_budget,
            timeout=settings.llm_timeout,
            max_attempts=settings.llm_max_attempts,
        )
    from jiandu.offline_summariser import OfflineSummariser

    return OfflineSummariser()


def cost_of(settings: Settings, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    prompt_price, completion_price = settings.llm_prices.get(model, (0.0, 0.0))
    return (prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000


def summarise(rt: Runtime, summariser=None, *, now: datetime | None = None,
              follow: Callable[[], bool] | None = None) -> SummariseReport:
    """Summarise what is waiting. With `follow`, keep watching for new work until it returns
    True (the ingest that feeds this run has finished), so summaries start with the first text."""
    now = now or utcnow()
    settings = rt.settings
    summariser = summariser or make_summariser(settings)
    report = SummariseReport(model=summariser.model)
    budget = settings.llm_run_token_budget

    def within_budget() -> bool:
        if budget is None or report.prompt_tokens + report.completion_tokens < budget:
            return True
        report.budget_reached = True
        return False

    # Items are claimed a batch at a time, so any number of workers can run this at once.
    worker = claims.worker_id()
    lease = timedelta(seconds=settings.claim_lease_seconds)
    bar = progress()
    with rt.sessions() as session:
        # Following an ingest, the amount of work is not known yet.
        bar.start("summaries", None if follow else claims.count_claimable(session, "summarise", now))
    while within_budget():
        # Asked before claiming: whatever was stored before the feeder finished is seen below.
        feeder_done = follow is None or follow()
        claimed = claims.claim(rt.sessions, "summarise", worker, lease=lease, now=now,
                               limit=max(CLAIM_BATCH, 4 * settings.llm_max_concurrency))
        if not claimed:
            if feeder_done:
                break
            time.sleep(FOLLOW_POLL_SECONDS)
            continue
        try:
            summarise_claimed(rt, summariser, claimed, report, now, within_budget,
                              renew=lambda session: claims.renew(session, claimed, worker, lease))
        finally:
            claims.release(rt.sessions, claimed, worker)
    bar.finish("summaries")
    report.cost_usd = round(cost_of(settings, report.model, report.prompt_tokens,
                                    report.completion_tokens), 6)
    with rt.sessions.begin() as session:
        store.record_run(session, "summarise", now, report.as_dict())
    return report


def summarise_claimed(rt: Runtime, summariser, item_ids: list[int], report: SummariseReport,
                      now: datetime, within_budget, renew) -> None:
    sections = list(rt.settings.sections)
    bar = progress()

    def run(job: tuple[str, ArticleInput]) -> Summary:
        return summariser.summarise(job[1], sections)

    with rt.sessions() as session:
        # One request per distinct text, however many items carry it.
        waiting: dict[str, list[int]] = {}
        for item in session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id)):
            sha = item.text.sha256
            cached = store.cached_summary(session, sha, summariser.model,
                                          summariser.prompt_version)
            if cached is not None and cached.faithful is not False:
                attach(item, cached.id)
                report.cache_hits += 1
                bar.advance("summaries")
            else:
                waiting.setdefault(sha, []).append(item.id)
        session.commit()
        session.expunge_all()

        def articles():
            for sha, ids in waiting.items():
                item = session.get(Item, ids[0])
                yield sha, ArticleInput(
                    title=item.title or "", text=item.text.content, url=item.url,
                    section_hint=item.source.section,
                )

        done = 0
        workers = max(1, rt.settings.llm_max_concurrency)
        for (sha, _), outcome in bounded_map(run, articles(), workers=workers,
                                             keep_going=within_budget):
            items = [session.get(Item, item_id) for item_id in waiting[sha]]
            if isinstance(outcome, BaseException):
                retry = not isinstance(outcome, SummariseError) or outcome.retryable
                reason = str(outcome) if isinstance(outcome, SummariseError) else (
                    f"{type(outcome).__name__}: {outcome}")
                for item in items:
                    store.mark_failed(item, "summarise", reason, now, retry=retry)
                report.failed += len(items)
            else:
                summary = normalise(outcome, sections)
                row = store.store_summary(session, sha, summary)
                for item in items:
                    attach(item, row.id)
                    if summary.faithful is False and rt.settings.hold_unfaithful:
                        # Stored and shown, kept out of issues, asked again on a later run.
                        store.mark_failed(item, "summarise",
                                          "unsupported claims: " + "; ".join(summary.unsupported),
                                          now, status="held")
                report.checked += summary.faithful is not None
                if summary.faithful is False:
                    report.unfaithful += len(items)
                else:
                    report.summarised += len(items)
                report.requests += summary.requests
                report.repairs += summary.repairs
                report.prompt_tokens += summary.prompt_tokens
                report.completion_tokens += summary.completion_tokens
            done += 1
            if done % RENEW_EVERY == 0:
                renew(session)
            session.commit()  # at once: the write lock is never held while waiting on the LLM
            bar.advance("summaries", len(items))
        session.commit()


def attach(item: Item, summary_id: int) -> None:
    item.summary_id = summary_id
    item.status = "summarised"
    item.failed_stage = None
    item.error = None
    item.next_attempt_at = None


def normalise(summary: Summary, sections: list[str]) -> Summary:
    """Keep what the issue relies on true whatever the summariser did: a known section, 1-5."""
    if summary.section not in sections:
        summary.section = sections[-1]
    summary.importance = min(5, max(1, int(summary.importance)))
    return summary
