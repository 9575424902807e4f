"""Ingest: poll the feeds that are due, then give every new item its text and its story.

Network work runs in a thread pool; only this thread writes to the database, committing as it
goes, so a run that dies keeps what it stored and the next run picks up the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from jiandu.connectors.errors import BlockedAddress, FetchError, HTTPStatusError, UnsupportedContent
from jiandu.connectors import rsshub
from jiandu.connectors.feeds import fetch_feed
from jiandu.connectors.http import as_local_path, make_client
from jiandu.connectors.resolvers import resolve
from jiandu.connectors.resolvers.settings import resolver_context
from jiandu import dedup, quiet
from jiandu.concurrency import bounded_map
from jiandu.extraction import Extractor
from jiandu.progress import progress
from jiandu.records import Extracted, FeedFetch
from jiandu.rules import FirstPollLimit
from jiandu.runtime import Runtime
from jiandu.stages.report import StageReport
from jiandu.urls import canonicalize, is_profile_url
from jiandu.zi import count_zi
from jiandu.models import claims, store, transitions
from jiandu.models.schema import Item, Source, utcnow

STORY_WINDOW = timedelta(days=14)  # near-duplicates are looked for among this recent past
RENEW_EVERY = 50  # results between renewals of this worker's claims
GENERIC_TITLE_ZI = 4  # link texts shorter than this are not titles
CLAIM_BATCH = 400  # items a worker claims at once: enough hosts to keep every connection busy
FEED_CLAIM_BATCH = 10_000  # feeds one run polls at most; any more wait for the next run


@dataclass
class IngestReport(StageReport):
    sources_polled: int = 0
    not_modified: int = 0
    source_errors: int = 0
    new_items: int = 0
    pages_fetched: int = 0
    text_from_page: int = 0
    text_from_feed: int = 0
    clippings: int = 0
    merged_into_stories: int = 0
    skipped: int = 0
    skipped_first_poll: int = 0  # a new feed's older entries, recorded as seen, not read
    fetch_failures: int = 0


def is_local(url: str) -> bool:
    return url.startswith("file://") or url.startswith("/") or (len(url) > 1 and url[1] == ":")


def ingest(rt: Runtime, *, now: datetime | None = None) -> IngestReport:
    now = now or utcnow()
    report = IngestReport()
    settings = rt.settings
    with make_client(  # with the one User-Agent, jiandu's own version in it
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_connections=settings.max_connections,
    ) as client:
        poll_feeds(rt, client, report, now)
        extract_texts(rt, client, report, now)
    with rt.sessions.begin() as session:
        store.record_run(session, "ingest", now, report.as_dict())
    return report


# Feeds -----------------------------------------------------------------------------------------


def poll_feeds(rt: Runtime, client, report: IngestReport, now: datetime) -> None:
    settings = rt.settings
    # Due feeds are claimed, so workers running ingest at once never poll the same feed.
    worker = claims.worker_id()
    lease = timedelta(seconds=settings.claim_lease_seconds)
    claimed = claims.claim_due_feeds(rt.sessions, worker, limit=FEED_CLAIM_BATCH, lease=lease,
                                     now=now)
    if not claimed:
        return
    with rt.sessions() as session:
        # Feeds that answered last time first: many failing ones (each may wait on a timeout)
        # must never delay the healthy ones.
        due = [(s.id, s.url, s.etag, s.last_modified)
               for s in sorted(store.sources_by_ids(session, claimed), key=lambda s: s.error_count or 0)]

    def poll(job: tuple[int, str, str | None, str | None]) -> FeedFetch:
        _, url, etag, last_modified = job
        if rsshub.is_rsshub(url):
            key = settings.rsshub_access_key
            return rsshub.fetch_route(client, url, base_url=settings.rsshub_url,
                                      access_key=key.get_secret_value() if key else None,
                                      etag=etag, last_modified=last_modified,
                                      max_bytes=settings.max_body_bytes,
                                      per_host_limit=settings.per_host_connections)
        return fetch_feed(client, url, etag=etag, last_modified=last_modified,
                          max_bytes=settings.max_body_bytes,
                          allow_private=settings.allow_private_hosts,
                          per_host_limit=settings.per_host_connections)

    bar = progress()
    bar.start("feeds", len(due))
    try:
        with rt.sessions() as session:
            for (source_id, *_), outcome in bounded_map(poll, due, workers=settings.max_connections,
                                                        window=settings.max_connections):
                source = session.get(Source, source_id)
                report.sources_polled += 1
                if isinstance(outcome, BaseException):
                    record_feed_error(source, outcome, now)
                    report.source_errors += 1
                else:
                    limit = None if store.source_has_items(session, source.id) else FirstPollLimit(
                        settings.first_poll_max_age_days, settings.first_poll_max_items)
                    report.new_items += record_feed(session, source, outcome, now, first_poll=limit)
                    report.skipped_first_poll += limit.skipped if limit else 0
                    report.not_modified += outcome.status == 304
                claims.release_feed(source)
                session.commit()  # never hold the write lock while waiting on the network
                bar.advance("feeds")
    finally:
        claims.release_feeds(rt.sessions, claimed, worker)
    bar.finish("feeds")


def record_feed(session: Session, source: Source, fetched: FeedFetch, now: datetime,
                first_poll: FirstPollLimit | None = None) -> int:
    source.last_status = fetched.status
    source.last_polled_at = now
    source.error_count = 0
    source.last_error = None
    source.next_check_at = None
    if fetched.gone:
        source.enabled = False
        source.last_error = "410 Gone: the feed was removed; source disabled"
        return 0
    if fetched.permanently_moved and fetched.url != source.url:
        if not store.source_url_taken(session, fetched.url):
            source.url = fetched.url
    if fetched.status == 304:
        quiet.observe(source, [], new_entries=0, now=now)
        return 0
    source.etag = fetched.etag
    source.last_modified = fetched.last_modified
    source.warning = fetched.warning
    if fetched.title and not source.name:
        source.name = fetched.title
    new_entries = store.add_feed_entries(session, source, fetched.entries, now, first_poll=first_poll)
    quiet.observe(source, [entry.published for entry in fetched.entries],
                  new_entries=new_entries, now=now)
    return new_entries


def record_feed_error(source: Source, error: BaseException, now: datetime) -> None:
    source.last_polled_at = now
    source.error_count = (source.error_count or 0) + 1
    source.last_error = str(error) or type(error).__name__
    source.last_status = getattr(error, "status", None)
    wait = store.backoff(source.error_count)
    retry_after = getattr(error, "retry_after", None) if isinstance(error, HTTPStatusError) else None
    if retry_after:
        wait = max(wait, timedelta(seconds=float(retry_after)))
    source.next_check_at = now + wait


# Texts -----------------------------------------------------------------------------------------


@dataclass
class PageJob:
    item_id: int
    url: str
    allow_files: bool
    files_within: Path | None = None  # a feed file's folder: its local pages must be inside


def check_local_page(job: PageJob) -> None:
    """A feed file on disk may only lead to files in its own folder (a notes file's links are
    held to the same by savedlinks), so a hostile feed cannot have any file on disk read."""
    path = as_local_path(job.url) if job.files_within is not None else None
    if path is not None and not path.resolve().is_relative_to(job.files_within):
        raise BlockedAddress(job.url, f"outside the feed file's folder {job.files_within}: "
                                      "a local feed may only link to files beside it")


def extract_texts(rt: Runtime, client, report: IngestReport, now: datetime) -> None:
    settings = rt.settings
    # Items are claimed a batch at a time, so any number of workers can fetch pages at once.
    worker = claims.worker_id()
    lease = timedelta(seconds=settings.claim_lease_seconds)
    bar = progress()
    with rt.sessions() as session:
        claimable = claims.count_claimable(session, "fetch", now)
        bar.start("pages", claimable)
        matcher = dedup.StoryMatcher()
        for story_id, signature in store.recent_story_signatures(session, now - STORY_WINDOW):
            matcher.add(story_id, signature)
    with Extractor(expected_pages=claimable if settings.fetch_pages else 0) as extractor:
        while claimed := claims.claim(rt.sessions, "fetch", worker, limit=CLAIM_BATCH,
                                      lease=lease, now=now):
            try:
                extract_claimed(rt, client, extractor, claimed, matcher, report, now,
                                renew=lambda session: claims.renew(session, claimed, worker, lease))
            finally:
                claims.release(rt.sessions, claimed, worker)
    bar.finish("pages")


def spread_by_host(jobs: list[PageJob]) -> list[PageJob]:
    """Round-robin over hosts, so the per-host limit never leaves the other connections idle."""
    by_host: dict[str, list[PageJob]] = {}
    for job in jobs:
        by_host.setdefault(urlsplit(job.url).hostname or "", []).append(job)
    queues = list(by_host.values())
    spread: list[PageJob] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        spread.extend(q[round_] for q in queues if round_ < len(q))
    return spread


def extract_claimed(rt: Runtime, client, extractor: Extractor, item_ids: list[int],
                    matcher: dedup.StoryMatcher, report: IngestReport, now: datetime,
                    renew) -> None:
    settings = rt.settings
    bar = progress()

    def fetch_and_extract(job: PageJob) -> tuple[Extracted, bytes | None]:
        check_local_page(job)
        # The resolver picks the route by URL (paper, repository, video, post, WeChat, page);
        # the page path still extracts through `extractor` (worker processes for big batches).
        return resolve(resolver_context(settings, client, allow_files=job.allow_files,
                                        offload=extractor.run), job.url, extractor)

    with rt.sessions() as session:
        jobs: list[PageJob] = []
        direct: list[int] = []
        for item in store.items_by_ids(session, item_ids):
            if item.is_clipping or not item.url or not settings.fetch_pages:
                direct.append(item.id)
            else:
                source_url = item.source.url
                feed_file = as_local_path(source_url) if item.source.kind == "feed" else None
                jobs.append(PageJob(item.id, item.url,
                                    allow_files=is_local(source_url) or item.source.kind == "links",
                                    files_within=feed_file.resolve().parent if feed_file else None))
        applied = 0
        for item_id in direct:
            item = session.get(Item, item_id)
            apply_text(session, item, None, None, matcher, report, now)
            applied += 1
            bar.advance("pages")
        for job, outcome in bounded_map(fetch_and_extract, spread_by_host(jobs),
                                        workers=settings.max_connections):
            item = session.get(Item, job.item_id)
            if isinstance(outcome, BaseException):
                apply_text(session, item, None, outcome, matcher, report, now)
            else:
                report.pages_fetched += 1
                page, signature = outcome
                apply_text(session, item, page, None, matcher, report, now, page_signature=signature)
            applied += 1
            if applied % RENEW_EVERY == 0:
                renew(session)
            # Each result is committed at once: SQLite has one writer, and a transaction left
            # open while slow pages are awaited would block a summariser running alongside.
            session.commit()
            session.expunge_all()
            bar.advance("pages")
        session.commit()


def apply_text(session: Session, item: Item, page: Extracted | None, error: BaseException | None,
               matcher: dedup.StoryMatcher, report: IngestReport, now: datetime,
               page_signature: bytes | None = None) -> None:
    """Choose the item's text (page or feed), store it once, and put the item in its story."""
    if not transitions.may(item, transitions.TEXT_STORED):
        return  # this worker's lease ran out and another has moved the item on
    feed_text = (item.feed_content or "").strip()
    feed_zi = count_zi(feed_text)
    # This item's fetch is settled: its claim ends here, so a summariser can claim it at once.
    transitions.claim_finished(item)
    if item.is_clipping:
        text, origin, reason = feed_text, "clipping", "the clipping's own text"
        report.clippings += 1
    elif page is not None and count_zi(page.text) >= feed_zi and page.text.strip():
        text = page.text.strip()
        origin = getattr(page, "origin", "page")  # a resolver's route (Resolved), else the page
        reason = getattr(page, "reason", "main text extracted from the page")
        report.text_from_page += 1
        # A saved link's text ("原文", "link") is a poor heading: the page's own title is better.
        if page.title and (not item.title or (item.source.kind == "links"
                                              and count_zi(item.title) < GENERIC_TITLE_ZI)):
            item.title = page.title
    elif feed_text:
        text, origin = feed_text, "feed"
        if page is not None:
            reason = f"the page yields less text ({count_zi(page.text)} 字) than the feed ({feed_zi} 字)"
        elif error is not None:
            reason = f"page not used: {error}"
        else:
            reason = "page fetching is off" if item.url else "the entry has no link"
        report.text_from_feed += 1
    elif isinstance(error, UnsupportedContent):
        transitions.skipped(item, reason=str(error), content_type=error.content_type)
        report.skipped += 1
        return
    else:
        reason = str(error) if error is not None else "no text: the page yields none and the feed has none"
        if isinstance(error, BaseException) and not isinstance(error, FetchError):
            reason = f"{type(error).__name__}: {error}"
        transitions.failed(item, transitions.FETCH, reason, now)
        report.fetch_failures += 1
        return

    if page is not None and page.url and page.url.startswith(("http://", "https://")) and not (
            item.url or "").startswith(("http://", "https://")):
        # A saved local page that names its own address: link readers to the original.
        item.url = page.url
        item.canonical_url = canonicalize(page.url)
        item.links = [page.url]
    signature = page_signature if origin == "page" and page_signature is not None else (
        dedup.signature(text))
    blob = store.text_for(session, text, count_zi(text), signature)
    transitions.text_stored(item, text_id=blob.id, origin=origin, reason=reason)
    story = None
    # The same story link merges; an author's page or a bare home page does not name a story.
    if item.canonical_url and not is_profile_url(item.canonical_url):
        story = store.story_by_url(session, item.canonical_url, item.id)
    if story is None:
        story = matcher.match(signature)
    if story is None or story == item.id:
        matcher.add(item.id, signature)  # it leads its own story (text_stored)
    else:
        transitions.merged(item, story)
        report.merged_into_stories += 1

