"""Review: what an editor does to a draft, from the desk or the terminal.

Every action is one transaction: check, change, log (who, when, before, after), render the
draft again (stats line and 看点 recomputed) and store it. Network and LLM work (re-running a
summary, adding a story by URL) happens outside any transaction, so the database is never
locked while a page or a model is awaited. Approval renders the final editions and sends them
through the same delivery rows as publish, so each recipient gets the issue exactly once.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from jiandu import editorial
from jiandu.issue_context import is_web_link
from jiandu.errors import InputError
from jiandu.records import ArticleInput
from jiandu.runtime import Runtime
from jiandu.settings import Settings
from jiandu.stages.publish import edition_path, fill_editions, issue_context, write_editions
from jiandu.models import drafts, store, transitions
from jiandu.models.drafts import DraftError
from jiandu.models.schema import Issue, Item, ItemStatus, utcnow


def cli_editor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment (a container without passwd entry)
        return "cli"


class ReviewError(InputError):
    """An editor's action that cannot be done, in one line."""


def _draft(session: Session, number: int) -> Issue:
    try:
        return drafts.draft(session, number)
    except DraftError as exc:
        raise ReviewError(str(exc)) from None


def _story(session: Session, issue: Issue, item_id: int) -> Item:
    try:
        return drafts.story_in(session, issue, item_id)
    except DraftError as exc:
        raise ReviewError(str(exc)) from None


def rerender(session: Session, settings: Settings, issue: Issue) -> None:
    """The draft's editions and stats again, from its stories as they are now."""
    leaders = drafts.stories(session, issue, dropped=False)
    context = issue_context(session, settings, leaders, issue.number,
                            date.fromisoformat(issue.issue_date))
    fill_editions(issue, context, leaders)
    session.flush()
    write_editions(settings.out_dir, issue)


def shown_fields(item: Item) -> dict:
    shown = editorial.effective_summary(item.summary, item.edited)
    return {"title": shown.title, "emoji": shown.emoji, "section": shown.section,
            "bullets": shown.bullets}


# Drop and restore ------------------------------------------------------------------------------


def drop(rt: Runtime, number: int, item_ids: list[int], editor: str,
         now: datetime | None = None) -> list[int]:
    """Take stories out of the draft (they are never sent); the ids of those dropped now."""
    return _drop_or_restore(rt, number, item_ids, editor, now, drafts.DROPPED, "drop")


def restore(rt: Runtime, number: int, item_ids: list[int], editor: str,
            now: datetime | None = None) -> list[int]:
    return _drop_or_restore(rt, number, item_ids, editor, now, drafts.RESTORED, "restore")


def _drop_or_restore(rt, number, item_ids, editor, now, transition, action) -> list[int]:
    now = now or utcnow()
    changed: list[int] = []
    with rt.sessions.begin() as session:
        issue = _draft(session, number)
        stories = [_story(session, issue, item_id) for item_id in item_ids]  # all checked first
        for story in stories:
            if story.status == transition.target or story.id in changed:
                continue  # already so: nothing to do
            before = story.status
            drafts.move(story, transition)
            drafts.log_edit(session, story, editor=editor, action=action,
                            before={"status": before}, after={"status": story.status},
                            issue_number=number, now=now)
            changed.append(story.id)
        if changed:
            rerender(session, rt.settings, issue)
    return changed


# Edits -----------------------------------------------------------------------------------------


@dataclass
class EditResult:
    item_id: int
    changed: list[str] = field(default_factory=list)  # fields whose shown value changed
    flags: list[str] = field(default_factory=list)  # claims of the edited bullets not in the article
    issue_number: int | None = None


def edit(rt: Runtime, item_id: int, changes: dict, editor: str, *,
         number: int | None = None, now: datetime | None = None) -> EditResult:
    """Lay the editor's changes over a story's summary. Invalid fields raise ReviewError with
    every problem; unsupported claims in edited bullets are flagged and kept."""
    now = now or utcnow()
    settings = rt.settings
    problems = editorial.validate_edit(changes, list(settings.sections))
    if problems:
        raise ReviewError(f"item {item_id}: " + "; ".join(problems))
    changes = editorial.clean(changes)
    with rt.sessions.begin() as session:
        if number is not None:
            issue = _draft(session, number)
            item = _story(session, issue, item_id)
        else:
            item, issue = _editable_item(session, item_id)
        before_shown = shown_fields(item)
        changed = [name for name, value in changes.items() if before_shown[name] != value]
        result = EditResult(item_id=item.id, changed=changed,
                            issue_number=issue.number if issue else None)
        if not changed:
            result.flags = editorial.effective_summary(item.summary, item.edited).unsupported
            return result
        unsupported = None
        if "bullets" in changed:
            from jiandu.faithfulness import check_bullets

            unsupported = check_bullets(changes["bullets"], item.text.content if item.text else "")
        item.edited = editorial.merge_edit(item.edited, {n: changes[n] for n in changed},
                                           item.summary, unsupported)
        drafts.log_edit(session, item, editor=editor, action="edit",
                        before={name: before_shown[name] for name in changed},
                        after={name: changes[name] for name in changed},
                        issue_number=result.issue_number, now=now)
        result.flags = editorial.effective_summary(item.summary, item.edited).unsupported
        if issue is not None:
            rerender(session, settings, issue)
    return result


def _editable_item(session: Session, item_id: int) -> tuple[Item, Issue | None]:
    """A story with a summary that has not been sent yet: waiting in the pool, or in a draft."""
    item = session.get(Item, item_id)
    if item is None:
        raise ReviewError(f"no item {item_id}")
    if item.story_id and item.story_id != item.id:
        item = session.get(Item, item.story_id) or item
    if item.summary is None:
        raise ReviewError(f"item {item.id} has no summary to edit (status {item.status})")
    if item.status == ItemStatus.PUBLISHED:
        raise ReviewError(f"item {item.id} was sent in issue {item.issue.number}: it can no longer change")
    issue = item.issue if item.status in drafts.IN_DRAFT else None
    return item, issue


def move_section(rt: Runtime, number: int, item_id: int, section: str, editor: str) -> EditResult:
    return edit(rt, item_id, {"section": section}, editor, number=number)


def set_highlight(rt: Runtime, number: int, item_id: int, value: bool | None, editor: str,
                  now: datetime | None = None) -> None:
    """Mark (True) or unmark (False) a story as a 看点, or let importance decide (None)."""
    now = now or utcnow()
    with rt.sessions.begin() as session:
        issue = _draft(session, number)
        story = _story(session, issue, item_id)
        if story.highlight is value:
            return
        drafts.log_edit(session, story, editor=editor, action="highlight",
                        before={"highlight": story.highlight}, after={"highlight": value},
                        issue_number=number, now=now)
        story.highlight = value
        rerender(session, rt.settings, issue)


def draft_context(session: Session, settings: Settings, issue: Issue) -> dict:
    """The issue's context as it renders now; each story's view carries its item id ("ref")."""
    leaders = drafts.stories(session, issue, dropped=False)
    return issue_context(session, settings, leaders, issue.number, date.fromisoformat(issue.issue_date))


# Re-run a summary, add a story -----------------------------------------------------------------


def resummarise(rt: Runtime, number: int, item_id: int, editor: str, summariser=None,
                now: datetime | None = None) -> None:
    """Ask the summariser again for one story of the draft; the editor's changes to it are
    cleared (and logged), since they were made to the answer being replaced."""
    from jiandu.stages.summarise import make_summariser, normalise

    now = now or utcnow()
    settings = rt.settings
    with rt.sessions() as session:
        issue = _draft(session, number)
        story = _story(session, issue, item_id)
        if story.text is None:
            raise ReviewError(f"item {story.id} has no text to summarise")
        article = ArticleInput(title=story.title or "", text=story.text.content, url=story.url,
                               section_hint=story.source.section)
        story_id, sha = story.id, story.text.sha256
    summariser = summariser or make_summariser(settings)
    fresh = normalise(_summarise(summariser, article, list(settings.sections)), list(settings.sections))
    with rt.sessions.begin() as session:
        issue = _draft(session, number)
        story = _story(session, issue, story_id)
        before = {**shown_fields(story), "model": story.summary.model}
        row = store.cached_summary(session, sha, fresh.model, fresh.prompt_version)
        if row is None:
            row = store.store_summary(session, sha, fresh)
        else:
            drafts.replace_summary(session, row, fresh)
        story.summary_id = row.id
        story.edited = None
        session.flush()
        session.refresh(story)
        drafts.log_edit(session, story, editor=editor, action="resummarise", before=before,
                        after={**shown_fields(story), "model": row.model},
                        issue_number=number, now=now)
        rerender(session, settings, issue)


def _summarise(summariser, article: ArticleInput, sections: list[str]):
    from jiandu.errors import SummariseError

    try:
        return summariser.summarise(article, sections)
    except SummariseError as exc:
        raise ReviewError(f"the summariser gave no usable answer: {exc}") from None


@dataclass
class AddResult:
    item_id: int
    title: str
    already: bool = False  # the story was in the draft already


def add_story(rt: Runtime, number: int, url: str, editor: str, summariser=None,
              now: datetime | None = None) -> AddResult:
    """Fetch, extract and summarise a page on the spot and put it in the draft."""
    from jiandu.connectors.http import make_client
    from jiandu.connectors.pages import extract_page, fetch_page
    from jiandu.records import SavedRecord
    from jiandu.stages.summarise import make_summariser, normalise
    from jiandu.urls import canonicalize, item_key, normalize_user_url
    from jiandu import dedup
    from jiandu.zi import count_zi

    now = now or utcnow()
    settings = rt.settings
    url = normalize_user_url(url)
    with rt.sessions.begin() as session:
        _draft(session, number)
        known = _known_story(session, canonicalize(url))
        if known is not None:
            return _add_known(session, settings, number, known, editor, now)
        source = store.links_source(session, "links:manual", "Links added by hand")
        store.add_saved_records(session, source, [SavedRecord(key=item_key(url=url), url=url)], now)
    from jiandu.connectors.errors import FetchError

    try:
        with make_client(connect_timeout=settings.connect_timeout,
                         read_timeout=settings.read_timeout, max_connections=2) as client:
            page = fetch_page(client, url, max_bytes=settings.max_body_bytes,
                              allow_private=settings.allow_private_hosts,
                              per_host_limit=settings.per_host_connections)
        extracted = extract_page(page)
    except FetchError as exc:
        raise ReviewError(f"could not read {url}: {exc}") from None
    text = (extracted.text or "").strip()
    if not text:
        raise ReviewError(f"{url}: the page has no text to summarise")
    article = ArticleInput(title=extracted.title or "", text=text, url=url)
    summariser = summariser or make_summariser(settings)
    summary = normalise(_summarise(summariser, article, list(settings.sections)), list(settings.sections))
    with rt.sessions.begin() as session:
        issue = _draft(session, number)
        item = _known_story(session, canonicalize(url), any_status=True)
        if item is None or item.status not in (ItemStatus.NEW, ItemStatus.FAILED):
            if item is not None and item.status in drafts.IN_DRAFT + (ItemStatus.SUMMARISED.value,):
                return _add_known(session, settings, number, item, editor, now)
            raise ReviewError(f"{url}: already known (item {item.id if item else '?'}, "
                              f"{item.status if item else 'missing'})")
        if extracted.title and not item.title:
            item.title = extracted.title
        blob = store.text_for(session, text, count_zi(text), dedup.signature(text))
        item.failed_stage = None
        item.status = ItemStatus.NEW.value
        transitions.text_stored(item, text_id=blob.id, origin="page",
                                reason="added at the desk: main text extracted from the page")
        row = store.store_summary(session, blob.sha256, summary)
        transitions.summary_attached(item, row.id)
        drafts.mark_drafted(session, [item.id], issue)
        drafts.log_edit(session, item, editor=editor, action="add", before=None,
                        after={"url": url, **shown_fields(item)}, issue_number=number, now=now)
        rerender(session, settings, issue)
        return AddResult(item_id=item.id, title=shown_fields(item)["title"])


def _known_story(session: Session, canonical_url: str, *, any_status: bool = False) -> Item | None:
    from sqlalchemy import select

    item = session.scalar(select(Item).where(Item.canonical_url == canonical_url).order_by(Item.id).limit(1))
    if item is None:
        return None
    if item.story_id and item.story_id != item.id:
        item = session.get(Item, item.story_id) or item
    if not any_status and item.status in (ItemStatus.NEW, ItemStatus.FAILED, ItemStatus.EXTRACTED):
        return None  # not summarised yet: fetch and summarise it now
    return item


def _add_known(session: Session, settings: Settings, number: int, item: Item, editor: str,
               now: datetime) -> AddResult:
    issue = _draft(session, number)
    if item.issue_id == issue.id and item.status in drafts.IN_DRAFT:
        if item.status == ItemStatus.DROPPED:
            drafts.move(item, drafts.RESTORED)
            rerender(session, settings, issue)
        return AddResult(item_id=item.id, title=shown_fields(item)["title"], already=True)
    if item.status != ItemStatus.SUMMARISED or item.issue_id is not None:
        where = f"issue {item.issue.number}" if item.issue else item.status
        raise ReviewError(f"that page is item {item.id}, already in {where}")
    drafts.mark_drafted(session, [item.id], issue)
    session.refresh(item)
    drafts.log_edit(session, item, editor=editor, action="add", before=None,
                    after={"url": item.url, **shown_fields(item)}, issue_number=number, now=now)
    rerender(session, settings, issue)
    return AddResult(item_id=item.id, title=shown_fields(item)["title"])


# Approve and discard ---------------------------------------------------------------------------


@dataclass
class ApproveReport:
    issue_number: int
    stories: int
    already_approved: bool = False
    sent: int = 0
    failed: int = 0
    skipped_already_sent: int = 0
    pushed: int = 0  # JIANDU_PUSH_URLS targets reached
    push_failed: int = 0
    errors: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def approve(rt: Runtime, number: int, editor: str, now: datetime | None = None) -> ApproveReport:
    """Render the final editions, publish the draft and send it (each recipient once). Run
    again after a failed send, it sends only to those who have not had it."""
    from jiandu.stages.deliver import deliver_pending
    from jiandu.stages.push import push_pending, queue_pushes

    now = now or utcnow()
    settings = rt.settings
    with rt.sessions.begin() as session:
        issue = store.issue_by_number(session, number)
        if issue is None:
            raise ReviewError(f"no issue number {number}")
        already = issue.status == drafts.PUBLISHED
        if already and issue.approved_at is None:
            raise ReviewError(f"issue {number} was published without review: nothing to approve")
        stories = drafts.stories(session, issue, dropped=False)
        if not already:
            if not stories:
                raise ReviewError(f"draft {number} has no stories left: restore one or discard it")
            rerender(session, settings, issue)
            drafts.approve(session, issue, editor, now)
            if settings.smtp_host:
                for recipient in settings.mail_to:
                    store.delivery_for(session, issue, recipient)
            queue_pushes(session, issue, settings.push_urls)  # pushed once approved, each once
        report = ApproveReport(issue_number=number, stories=len(stories), already_approved=already,
                               files=[str(p) for p in write_editions(settings.out_dir, issue)])
    delivered = deliver_pending(rt, now=now)
    report.sent, report.failed = delivered.sent, delivered.failed
    report.errors = list(delivered.errors)
    pushed = push_pending(rt, now=now)
    report.pushed, report.push_failed = pushed.pushed, pushed.failed
    report.errors += pushed.errors
    return report


def discard(rt: Runtime, number: int, editor: str, now: datetime | None = None) -> int:
    """Delete the draft; its stories go back to the pool for the next issue. How many."""
    now = now or utcnow()
    with rt.sessions.begin() as session:
        issue = _draft(session, number)
        for story in drafts.stories(session, issue):
            drafts.log_edit(session, story, editor=editor, action="discard",
                            before={"status": story.status}, after={"status": ItemStatus.SUMMARISED.value},
                            issue_number=number, now=now)
        returned = drafts.discard(session, issue)
    for fmt in ("md", "html", "txt"):
        edition_path(rt.settings.out_dir, number, fmt).unlink(missing_ok=True)
    return returned


# What the desk and `jiandu issue review` show ---------------------------------------------------


def story_view(item: Item, *, position: int | None = None, highlighted: bool = False,
               placed_section: str | None = None, links: list[str] | None = None) -> dict:
    shown = editorial.effective_summary(item.summary, item.edited)
    summary = item.summary
    return {
        "id": item.id,
        "position": position,
        "status": item.status,
        "dropped": item.status == ItemStatus.DROPPED,
        "title": shown.title,
        "emoji": shown.emoji,
        "section": placed_section or shown.section,
        "importance": shown.importance,
        "bullets": shown.bullets,
        # Only http(s) links are made clickable (a javascript: URL from a feed stays text).
        "links": [{"url": url, "web": is_web_link(url)} for url in (
            links if links is not None else list(item.links or ([item.url] if item.url else [])))],
        "flags": [editorial.flag_words(claim) for claim in shown.unsupported],
        "highlighted": highlighted,
        "highlight_choice": item.highlight,
        "edited_fields": shown.edited_fields,
        "model": {"title": summary.title, "emoji": summary.emoji, "section": summary.section,
                  "bullets": list(summary.bullets), "name": summary.model},
        "source_chars": item.text.zi if item.text else 0,
    }


def draft_view(session: Session, settings: Settings, issue: Issue) -> dict:
    """The issue as its editor sees it: stories in issue order, per section, with their flags;
    the dropped ones apart; the stats line and 看点 as they would be sent now."""
    context = draft_context(session, settings, issue)
    shown_highlights = {h["anchor"] for h in context["highlights"]}
    items = {item.id: item for item in drafts.stories(session, issue)}
    sections = []
    for section in context["sections"]:
        stories = [story_view(items[view["ref"]], position=view["position"],
                              highlighted=view["anchor"] in shown_highlights,
                              placed_section=view["placed_section"],
                              links=[link["url"] for link in view["links"]])
                   for view in section["items"]]
        sections.append({"name": section["name"], "stories": stories})
    dropped = [story_view(item) for item in items.values() if item.status == ItemStatus.DROPPED]
    return {
        "number": issue.number,
        "status": issue.status,
        "draft": issue.status == drafts.DRAFT,
        "subject": issue.subject,
        "date": issue.issue_date,
        "stats": context["stats"],
        "highlights": [h["heading"] for h in context["highlights"]],
        "sections": sections,
        "dropped": dropped,
        "story_count": context["item_count"],
        "approved_at": issue.approved_at,
        "approved_by": issue.approved_by,
    }
