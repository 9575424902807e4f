"""Push: send each published issue to each JIANDU_PUSH_URLS target exactly once.

Every (issue, target) is a row keyed by the SHA-256 of the target's URL (the URL holds tokens,
so it is never stored; only Apprise's masked form is). A row is marked "sending" and committed
before the message goes, and "sent" or "failed" (with Apprise's reason) right after; a failed
target is tried again by the next run, and targets that have it are never sent it twice.
Drafts waiting for the editor's desk are not pushed: a draft's rows wait until it is published.

Hook for the desk (JIANDU_REVIEW): approving a draft should call `queue_pushes(session, issue,
settings.push_urls)` next to its delivery rows, then `push_pending(rt)` next to `deliver_pending`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from jiandu.connectors import push as pusher
from jiandu.push_message import push_message
from jiandu.runtime import Runtime
from jiandu.stages.report import StageReport
from jiandu.models import pushes, store, transitions
from jiandu.models.schema import Issue, utcnow

MAX_ATTEMPTS = 8


@dataclass
class PushReport(StageReport):
    pushed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def is_published(issue: Issue) -> bool:
    return getattr(issue, "status", "published") == "published"


def queue_pushes(session: Session, issue: Issue, urls: list[str], *, force: bool = False) -> None:
    """The issue's push rows for these targets (force: send again to those that have it)."""
    from jiandu.settings import mask_url

    for url in urls:
        row = pushes.push_for(session, issue, pusher.target_key(url), mask_url(url))
        if force:
            transitions.push_requeued(row)


def push_pending(rt: Runtime, *, urls: list[str] | None = None,
                 now: datetime | None = None) -> PushReport:
    """Send every pending or failed push whose target is among `urls` (default JIANDU_PUSH_URLS)."""
    settings = rt.settings
    urls = list(settings.push_urls if urls is None else urls)
    report = PushReport()
    by_key = {pusher.target_key(url): url for url in urls}
    with rt.sessions() as session:
        rows = [row for row in pushes.pushes_to_send(session, list(by_key), max_attempts=MAX_ATTEMPTS)
                if is_published(session.get(Issue, row.issue_id))]
        messages: dict[int, tuple[str, str]] = {}
        for row in rows:
            issue = session.get(Issue, row.issue_id)
            if issue.id not in messages:
                messages[issue.id] = message_for(session, settings, issue)
            title, body = messages[issue.id]
            transitions.sending(row)
            session.commit()  # recorded before sending
            outcome = pusher.send(by_key[row.target_key], title, body)
            row.target = outcome.masked
            if outcome.ok:
                transitions.sent(row, now or utcnow())
                report.pushed += 1
            else:
                transitions.refused(row, outcome.reason)
                report.failed += 1
                report.errors.append(f"issue {issue.number} to {outcome.masked}: {outcome.reason}")
            session.commit()  # recorded after sending
    return report


def message_for(session: Session, settings, issue: Issue) -> tuple[str, str]:
    from jiandu.stages.publish import stored_issue_context

    context = stored_issue_context(session, settings, issue)
    stories = [(view["emoji"], view["title"]) for section in context["sections"]
               for view in section["items"]]
    return push_message(publication=settings.publication_name, number=issue.number,
                        date=issue.issue_date, stats=context["stats"], stories=stories,
                        site_url=settings.site_url)


def queue_issue(rt: Runtime, number: int, urls: list[str], *, force: bool = False) -> None:
    """`jiandu issue push N`: rows for one issue, by hand."""
    from jiandu.errors import InputError

    with rt.sessions.begin() as session:
        issue = store.issue_by_number(session, number)
        if issue is None:
            raise InputError(f"no issue number {number}")
        if not is_published(issue):
            raise InputError(f"issue {number} is a draft: approve it before pushing it")
        queue_pushes(session, issue, urls, force=force)
