"""Publish: gather the summarised stories no issue has shown yet, render and store the issue.

Each story appears once, with every link it was reached by. An issue is numbered, stored with
its three editions, and written to JIANDU_HOME/out/. No items: no issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jiandu.issue_context import build_context, subject_for
from jiandu.ranking import outlets_of, source_weight
from jiandu.records import DigestItem, Publication
from jiandu.render import render
from jiandu.runtime import Runtime
from jiandu.stages.push import queue_pushes
from jiandu.stages.report import StageReport
from jiandu.settings import Settings
from jiandu.editorial import effective_summary
from jiandu.models import drafts, store
from jiandu.models.schema import Issue, Item, utcnow

EDITIONS = ("md", "html", "txt")


@dataclass
class PublishReport(StageReport):
    issue_number: int | None = None
    stories: int = 0  # entries in the issue
    items: int = 0  # items in those stories (one story may come from several sources)
    source_chars: int = 0
    digest_chars: int = 0
    files: list[str] = field(default_factory=list)
    draft: bool = False  # JIANDU_REVIEW: the issue waits for its editor; nothing was sent
    waiting_draft: int | None = None  # the draft already waiting, when no new one was made



def publication_of(settings: Settings) -> Publication:
    return Publication(
        name=settings.publication_name, purpose=settings.publication_purpose,
        sections=list(settings.sections), variant=settings.variant,
        highlights=settings.highlights,
    )


def day_bounds(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def digest_item(leader: Item, members: list[Item], weights: dict[str, float] | None = None) -> DigestItem:
    """The story as the issue shows it; `weights` is JIANDU_SOURCE_WEIGHTS (for ranking)."""
    summary = effective_summary(leader.summary, leader.edited)  # the editor's version, if any
    story = [leader, *[m for m in members if m.id != leader.id]]
    links: list[str] = []
    for member in story:
        for link in member.links or ([member.url] if member.url else []):
            if link and link not in links:
                links.append(link)
    outlets = outlets_of([member.url for member in story], [f"source {m.source_id}" for m in story])
    weight = source_weight(weights, [(m.source_id, m.source.url) for m in story]) if weights else 1.0
    return DigestItem(
        title=summary.title, emoji=summary.emoji, section=summary.section,
        importance=summary.importance, bullets=list(summary.bullets), links=links,
        published=leader.published_at or leader.first_seen_at,
        source_chars=leader.text.zi if leader.text else 0,
        highlight=leader.highlight, ref=leader.id, outlets=outlets, source_weight=weight,
    )


def publish(rt: Runtime, *, since: date | None = None, until: date | None = None,
            now: datetime | None = None) -> PublishReport:
    """Make the next issue from what is waiting; with since/until, only items dated in those
    days (both inclusive, in the publication's time zone): a backfill of a past period."""
    now = now or utcnow()
    settings = rt.settings
    tz = ZoneInfo(settings.timezone)
    start = day_bounds(since, tz) if since else None
    end = day_bounds(until + timedelta(days=1), tz) if until else None
    report = PublishReport()
    with rt.sessions.begin() as session:
        waiting = drafts.open_draft(session) if settings.review else None
        if waiting is not None:
            # One draft at a time: new stories wait until the editor approves or discards it.
            report.waiting_draft = waiting.number
            store.record_run(session, "publish", now, report.as_dict())
            return report
        leaders = store.publishable_items(session, since=start, until=end,
                                          include_unfaithful=not settings.hold_unfaithful,
                                          limit=settings.issue_max_stories)
        if not leaders:
            store.record_run(session, "publish", now, report.as_dict())
            return report
        number = store.next_issue_number(session)
        issue_day = until if until else now.astimezone(tz).date()
        issue = Issue(
            number=number, period_start=start, period_end=end or now,
            issue_date=issue_day.isoformat(),
            subject=subject_for(settings.mail_subject, publication_of(settings), number, issue_day),
            status=drafts.DRAFT if settings.review else drafts.PUBLISHED,
        )
        fill_editions(issue, issue_context(session, settings, leaders, number, issue_day), leaders)
        stats = issue.stats
        session.add(issue)
        session.flush()
        if settings.review:
            drafts.mark_drafted(session, [item.id for item in leaders], issue)
            report.draft = True
        else:
            store.assign_to_issue(session, [item.id for item in leaders], issue)
            if settings.smtp_host:
                for recipient in settings.mail_to:
                    store.delivery_for(session, issue, recipient)
            queue_pushes(session, issue, settings.push_urls)  # JIANDU_PUSH_URLS, each once
        report.issue_number = number
        report.stories, report.items = store.issue_counts(session, [issue.id])[issue.id]
        report.source_chars = stats.get("source_chars", 0)
        report.digest_chars = stats.get("digest_chars", 0)
        report.files = [str(p) for p in write_editions(settings.out_dir, issue)]
        store.record_run(session, "publish", now, report.as_dict())
    return report


def fill_editions(issue: Issue, context: dict, leaders: list[Item]) -> None:
    """Render the issue's three editions and its stats from a finished context."""
    editions = {fmt: render(context, fmt) for fmt in EDITIONS}
    stats = dict(context["stats"])
    # What the issue's summaries cost, whichever runs paid for them.
    stats["prompt_tokens"] = sum(item.summary.prompt_tokens for item in leaders)
    stats["completion_tokens"] = sum(item.summary.completion_tokens for item in leaders)
    if context.get("source_weights"):  # ranked with these: the issue keeps its order if they change
        stats["source_weights"] = dict(context["source_weights"])
    issue.markdown, issue.html, issue.text = editions["md"], editions["html"], editions["txt"]
    issue.stats = stats


def issue_context(session, settings: Settings, leaders: list[Item], number: int, day: date,
                  weights: dict[str, float] | None = None) -> dict:
    """The finished context the templates render, from the stories' stored summaries; ranked
    with `weights` (a published issue's own), else JIANDU_SOURCE_WEIGHTS."""
    weights = settings.source_weights if weights is None else weights
    members = store.story_members(session, [item.id for item in leaders])
    items = [digest_item(leader, members[leader.id], weights) for leader in leaders]
    context = build_context(publication_of(settings), items, number=number, date=day)
    context["source_weights"] = dict(weights)  # not rendered; kept in the issue's stats
    return context


def stored_issue_context(session, settings: Settings, issue: Issue) -> dict:
    """The context of an issue already published, rebuilt from the database: rendering it
    again reproduces the stored editions byte for byte."""
    leaders = drafts.stories(session, issue, dropped=False)
    weights = (issue.stats or {}).get("source_weights", {}) if issue.status == drafts.PUBLISHED else None
    return issue_context(session, settings, leaders, issue.number, date.fromisoformat(issue.issue_date),
                         weights)


def edition_path(out_dir: Path, number: int, fmt: str) -> Path:
    return out_dir / f"issue-{number:04d}.{fmt}"


def write_editions(out_dir: Path, issue: Issue) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, body in (("md", issue.markdown), ("html", issue.html), ("txt", issue.text)):
        path = edition_path(out_dir, issue.number, fmt)
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths
