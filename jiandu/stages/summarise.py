"""Summarise: every story leader with text gets a summary, each text paid for at most once.

A summary is looked up by (text hash, model, prompt version) before any request is made; the
rest go to the summariser from a thread pool (the summariser itself enforces the concurrency
and rate limits). A per-run token budget stops new requests cleanly; what is left waits.

Before any request, the rules (jiandu.rules) and the topic triage decide whether the item is
for this publication at all: offline by the topic's keywords (jiandu.topic), with an LLM by one
short request ahead of the summary (jiandu.summarising.triage). Skipped items say why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jiandu.concurrency import bounded_map
from jiandu.costs import cost_of
from jiandu.errors import SummariseError, TooShortToSummarise
from jiandu.progress import progress
from jiandu.records import ArticleInput, Summary
from jiandu.rules import Candidate, RuleSet, reason_to_skip
from jiandu.runtime import Runtime
from jiandu.sections import placed_section
from jiandu.stages.report import StageReport
from jiandu.settings import Settings
from jiandu.topic import KeywordTriage, Verdict, topic_keywords
from jiandu.models import claims, store, transitions
from jiandu.models.schema import Item, utcnow

RENEW_EVERY = 20  # results between renewals of this worker's claims
CLAIM_BATCH = 50  # items a worker claims at once; done well within one lease
FOLLOW_POLL_SECONDS = 0.25
ATTENTION_LIMIT = 100  # items listed by name in one run's report; the counts are always whole


@dataclass
class SummariseReport(StageReport):
    summarised: int = 0
    cache_hits: int = 0
    checked: int = 0  # summaries whose bullets were checked against the article
    failed: int = 0
    too_short: int = 0  # skipped once with the reason: a short text is not a failure to retry
    unfaithful: int = 0
    requests: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    budget_reached: bool = False
    skipped_by_rule: int = 0  # include/exclude/min-length rules (jiandu.rules): no request asked
    tokens_not_spent: int = 0  # estimated prompt tokens of the texts the rules skipped
    # Topic triage (jiandu.summarising.triage, jiandu.topic): "llm", "keywords" or "off".
    triage: str = "off"
    skipped_by_triage: int = 0  # off-topic: no summary asked
    triage_requests: int = 0  # also in requests and the token counts (and so in the cost)
    triage_prompt_tokens: int = 0
    triage_completion_tokens: int = 0
    triage_invalid: int = 0  # answers that could not be read: summarised anyway, never dropped
    triage_tokens_saved: int = 0  # estimated prompt tokens of the full summaries not asked for
    model: str = ""
    # With JIANDU_LLM_FALLBACKS: requests, tokens, summaries and cost per model that was asked.
    models: dict = field(default_factory=dict)
    flagged: int = 0  # kept and published, with a flag for the editor (a title not in Chinese)
    # Items this run held, failed or flagged, each {"item", "status", "title", "reason"}: never silent.
    attention: list = field(default_factory=list)

    def notice(self, items, status: str, reason: str) -> None:
        for item in items:
            if len(self.attention) < ATTENTION_LIMIT:
                self.attention.append({"item": item.id, "status": status,
                                       "title": item.title or item.url or "", "reason": reason})



def make_summariser(settings: Settings):
    """The LLM summariser when an endpoint or key is configured, else the offline one."""
    if settings.llm_configured:
        from jiandu.summarising.llm import from_settings

        if settings.llm_fallbacks:
            from jiandu.summarising.fallback import FallbackSummariser

            return FallbackSummariser([
                from_settings(settings, endpoint)
                for endpoint in [primary_endpoint(settings), *settings.llm_fallbacks]])
        return from_settings(settings)
    from jiandu.summarising.offline import OfflineSummariser

    return OfflineSummariser()


def primary_endpoint(settings: Settings):
    from jiandu.settings import LLMEndpoint

    return LLMEndpoint(base_url=settings.llm_base_url or "https://api.openai.com/v1",
                       model=settings.llm_model, api_key=settings.llm_api_key,
                       response_format=settings.llm_response_format)


def make_triage(settings: Settings, summariser) -> tuple:
    """(the LLM triage, the keyword triage): at most one of them, as JIANDU_TRIAGE resolves
    (Settings.triage_mode); LLM triage needs a summariser with an LLM endpoint."""
    mode = settings.triage_mode
    if mode == "llm":
        from jiandu.summarising.triage import LLMTriage

        triage = LLMTriage.of(summariser, settings.topic)
        if triage is not None:
            return triage, None
        # No endpoint to ask (the offline summariser): the topic's keywords instead, when the
        # topic was stated or triage asked for.
        stated = settings.triage != "auto" or bool(settings.publication_topic or settings.topic_keywords)
        mode = "keywords" if stated else "off"
    if mode == "keywords":
        keywords = topic_keywords(settings.topic, settings.topic_keywords)
        return None, (KeywordTriage(tuple(keywords)) if keywords else None)
    return None, None


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

    bar = progress()
    with rt.sessions() as session:
        # Following an ingest, the amount of work is not known yet.
        bar.start("summaries", None if follow else claims.count_claimable(session, "summarise", now))
    Summarising(rt, summariser, report, now, within_budget, follow).run()
    bar.finish("summaries")
    report.cost_usd = round(cost_of(settings, report.model, report.prompt_tokens,
                                    report.completion_tokens), 6)
    if hasattr(summariser, "usage_by_model"):  # a fallback chain: each model at its own price
        usage_by_model = summariser.usage_by_model()
        if report.triage_requests:  # the triage asks the primary, the report's model
            primary = usage_by_model.setdefault(report.model, {"requests": 0, "prompt_tokens": 0,
                                                               "completion_tokens": 0, "summaries": 0})
            primary["requests"] += report.triage_requests
            primary["prompt_tokens"] += report.triage_prompt_tokens
            primary["completion_tokens"] += report.triage_completion_tokens
        report.models = {model: {**usage, "cost_usd": round(cost_of(
            settings, model, usage["prompt_tokens"], usage["completion_tokens"]), 6)}
            for model, usage in usage_by_model.items()}
        report.cost_usd = round(sum(usage["cost_usd"] for usage in report.models.values()), 6)
    with rt.sessions.begin() as session:
        store.record_run(session, "summarise", now, report.as_dict())
    return report


class Summarising:
    """One summarise run: claims work as request slots free up, so the LLM is never left idle
    waiting for a batch to finish, and any number of workers can run at once."""

    def __init__(self, rt: Runtime, summariser, report: SummariseReport, now: datetime,
                 within_budget: Callable[[], bool], follow: Callable[[], bool] | None):
        self.rt, self.summariser, self.report, self.now = rt, summariser, report, now
        self.within_budget, self.follow = within_budget, follow
        self.sections = list(rt.settings.sections)
        self.worker = claims.worker_id()
        self.lease = timedelta(seconds=rt.settings.claim_lease_seconds)
        self.batch = max(CLAIM_BATCH, 4 * rt.settings.llm_max_concurrency)
        self.held: set[int] = set()  # claimed and not finished
        self.publication_rules = RuleSet.build("the publication", rt.settings.include,
                                               rt.settings.exclude, rt.settings.min_zi)
        self.source_rules: dict[int, RuleSet] = {}
        self.in_flight: dict[str, list[int]] = {}  # text hash -> items waiting for its summary
        self.llm_triage, self.keyword_triage = make_triage(rt.settings, summariser)
        report.triage = "llm" if self.llm_triage else "keywords" if self.keyword_triage else "off"
        self._counting = threading.Lock()  # triage counts are added from the request threads

    def run(self) -> None:
        with self.rt.sessions() as session:
            try:
                self._summarise_all(session)
            finally:
                session.rollback()
                claims.release(self.rt.sessions, sorted(self.held), self.worker)

    def _jobs(self, session: Session) -> Iterator[tuple[str, ArticleInput]]:
        """Articles to summarise, claimed a batch at a time as they are asked for; one request
        per distinct text however many items carry it; cached summaries attached on the way."""
        while self.within_budget():
            # Asked before claiming: whatever was stored before the feeder finished is seen below.
            feeder_done = self.follow is None or self.follow()
            claimed = claims.claim(self.rt.sessions, "summarise", self.worker, lease=self.lease,
                                   now=self.now, limit=self.batch)
            if not claimed:
                if feeder_done:
                    return
                time.sleep(FOLLOW_POLL_SECONDS)
                continue
            self.held.update(claimed)
            jobs = []
            for item in store.items_by_ids(session, claimed):
                sha = item.text.sha256
                cached = store.cached_summary(session, sha, self.summariser.model,
                                              self.summariser.prompt_version)
                if not transitions.may(item, transitions.SUMMARY_ATTACHED):
                    self._finished(item)  # moved on by a worker whose claim outlived ours
                elif reason := self._reason_to_skip(item):
                    from jiandu.tokens import estimate_tokens  # tiktoken: only when needed

                    transitions.filtered(item, reason=reason)
                    self._finished(item)
                    self.report.skipped_by_rule += 1
                    self.report.tokens_not_spent += estimate_tokens(item.text.content)
                    progress().advance("summaries")
                elif self.keyword_triage and (reason := self.keyword_triage.reason_to_skip(
                        item.title or "", item.text.content)):
                    from jiandu.tokens import estimate_tokens

                    transitions.filtered(item, reason=reason)
                    self._finished(item)
                    self.report.skipped_by_triage += 1
                    self.report.triage_tokens_saved += estimate_tokens(item.text.content)
                    progress().advance("summaries")
                elif cached is not None and cached.faithful is not False:
                    transitions.summary_attached(item, cached.id)
                    self._finished(item)
                    self.report.cache_hits += 1
                    progress().advance("summaries")
                elif sha in self.in_flight:
                    # Our own lease can run out during a long request and the item come back
                    # to us: it waits for the answer once, not twice.
                    if item.id not in self.in_flight[sha]:
                        self.in_flight[sha].append(item.id)
                else:
                    self.in_flight[sha] = [item.id]
                    jobs.append((sha, ArticleInput(title=item.title or "", text=item.text.content,
                                                   url=item.url, section_hint=item.source.section)))
            session.commit()
            yield from jobs

    def _reason_to_skip(self, item: Item) -> str | None:
        """Before any request: the publication's rules, then the item's source's."""
        source = item.source
        if source.id not in self.source_rules:
            self.source_rules[source.id] = RuleSet.build(f"source {source.id}", source.include,
                                                         source.exclude, source.min_zi)
        rule_sets = [r for r in (self.publication_rules, self.source_rules[source.id]) if r]
        if not rule_sets:
            return None
        candidate = Candidate(title=item.title or "", text=item.text.content, url=item.url or "",
                              author=item.author or "")
        return reason_to_skip(candidate, rule_sets)

    def _summarise_all(self, session: Session) -> None:
        # The summariser's own: a local server's slots may set it rather than the settings.
        workers = max(1, getattr(self.summariser, "max_concurrency", self.rt.settings.llm_max_concurrency))

        def request(job: tuple[str, ArticleInput]) -> Summary | Verdict:
            sha, article = job
            if self.llm_triage is not None:
                verdict = self._triaged(sha, article)
                if not verdict.relevant:
                    return verdict
            return self.summariser.summarise(article, self.sections)

        for done, ((sha, _), outcome) in enumerate(
                bounded_map(request, self._jobs(session), workers=workers,
                            keep_going=self.within_budget), start=1):
            items = [session.get(Item, item_id) for item_id in self.in_flight.pop(sha)]
            self._record(session, sha, items, outcome)
            for item in items:
                self._finished(item)
            if done % RENEW_EVERY == 0:
                claims.renew(session, sorted(self.held), self.worker, self.lease)
            session.commit()  # at once: the write lock is never held while waiting on the LLM
            if done % RENEW_EVERY == 0:
                session.expunge_all()  # texts already summarised need not stay in memory
            progress().advance("summaries", len(items))

    def _record(self, session: Session, sha: str, items: list[Item],
                outcome: Summary | BaseException) -> None:
        report, now = self.report, self.now
        # An item another worker moved on (its claim outlived ours) is left as it is.
        items = [item for item in items if transitions.may(item, transitions.SUMMARY_ATTACHED)]
        if isinstance(outcome, Verdict):  # off-topic: no summary was asked
            for item in items:
                transitions.filtered(item, reason=outcome.skip_reason())
            report.skipped_by_triage += len(items)
            return
        if isinstance(outcome, TooShortToSummarise):
            for item in items:
                transitions.filtered(item, reason=str(outcome))
            report.too_short += len(items)
            return
        if isinstance(outcome, BaseException):
            retry = not isinstance(outcome, SummariseError) or outcome.retryable
            reason = str(outcome) if isinstance(outcome, SummariseError) else (
                f"{type(outcome).__name__}: {outcome}")
            for item in items:
                transitions.failed(item, transitions.SUMMARISE, reason, now, retry=retry)
            report.failed += len(items)
            report.notice(items, "failed", reason)
            if isinstance(outcome, SummariseError):
                report.requests += outcome.requests
                report.repairs += outcome.repairs
                report.prompt_tokens += outcome.prompt_tokens
                report.completion_tokens += outcome.completion_tokens
            return
        summary = normalise(outcome, self.sections)
        row = store.store_summary(session, sha, summary)
        for item in items:
            if summary.faithful is False and self.rt.settings.hold_unfaithful:
                # Stored and shown, kept out of issues, asked again on a later run.
                transitions.held(item, row.id,
                                 "unsupported claims: " + "; ".join(summary.unsupported), now)
                report.notice([item], "held", "unsupported claims: " + "; ".join(summary.unsupported))
            else:
                transitions.summary_attached(item, row.id)
        if summary.flags:
            report.flagged += len(items)
            report.notice(items, "flagged", "; ".join(summary.flags))
        report.checked += summary.faithful is not None
        if summary.faithful is False:
            report.unfaithful += len(items)
        else:
            report.summarised += len(items)
        report.requests += summary.requests
        report.repairs += summary.repairs
        report.prompt_tokens += summary.prompt_tokens
        report.completion_tokens += summary.completion_tokens

    def _finished(self, item: Item) -> None:
        transitions.claim_finished(item)
        self.held.discard(item.id)

    def _triaged(self, sha: str, article: ArticleInput) -> Verdict:
        """The LLM's verdict on the text (in a request thread), its cost counted; a request that
        fails raises SummariseError and the items wait, as for a failed summary."""
        from jiandu.tokens import estimate_tokens

        try:
            verdict = self.llm_triage.judge(sha, article)
        except SummariseError as error:
            self._count_triage(error.requests, error.prompt_tokens, error.completion_tokens)
            error.spent(0, 0, 0)  # counted above, as triage
            raise
        self._count_triage(verdict.requests, verdict.prompt_tokens, verdict.completion_tokens,
                           invalid=verdict.invalid is not None,
                           saved=0 if verdict.relevant else estimate_tokens(article.text))
        return verdict

    def _count_triage(self, requests: int, prompt: int, completion: int, *, invalid: bool = False,
                      saved: int = 0) -> None:
        report = self.report
        with self._counting:
            report.triage_requests += requests
            report.triage_prompt_tokens += prompt
            report.triage_completion_tokens += completion
            report.requests += requests
            report.prompt_tokens += prompt
            report.completion_tokens += completion
            report.triage_invalid += invalid
            report.triage_tokens_saved += saved


def normalise(summary: Summary, sections: list[str]) -> Summary:
    """Keep what the issue relies on true whatever the summariser did: a known section, 1-5."""
    summary.section = placed_section(summary.section, sections)
    summary.importance = min(5, max(1, int(summary.importance)))
    return summary
