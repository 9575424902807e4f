"""The editor's commands: `jiandu issue review/drop/restore/approve/discard`, `jiandu items edit`
and `jiandu desk`. Registered on jiandu.cli's command groups when that module is imported."""

from __future__ import annotations

import sys
import typer
from rich.markup import escape

from jiandu.cli import app, console, err, issue_app, items_app, runtime, summary_table
from jiandu.errors import InputError


def _editor() -> str:
    from jiandu.stages.review import cli_editor

    return cli_editor()


@issue_app.command("review")
def issue_review(number: int = typer.Argument(..., help="The draft's number.")) -> None:
    """Show a draft as its editor reads it: each story with its item id, section, bullets, links
    and the faithfulness check's flags; dropped stories last."""
    from jiandu.models import store
    from jiandu.stages.review import draft_view

    rt = runtime()
    with rt.sessions() as session:
        issue = store.issue_by_number(session, number)
        if issue is None:
            raise InputError(f"no issue number {number}")
        view = draft_view(session, rt.settings, issue)
    stats = view["stats"]
    state = "draft, not sent" if view["draft"] else view["status"]
    console.print(f"[bold]{escape(view['subject'])}[/]  ({state})")
    console.print(f"原文 {stats['source_chars']} 字 -> 简读 {stats['digest_chars']} 字, "
                  f"{stats['minutes']} 分钟, 效率 {stats['efficiency']}%  ·  {view['story_count']} stories")
    console.print("看点: " + escape(" / ".join(view["highlights"])) if view["highlights"] else "看点: (none)")
    for section in view["sections"]:
        if section["name"]:
            console.print(f"\n[bold cyan]## {escape(section['name'])}[/]")
        for story in section["stories"]:
            _print_story(story)
    if view["dropped"]:
        console.print("\n[bold red]Dropped (not sent)[/]")
        for story in view["dropped"]:
            _print_story(story)
    if view["draft"]:
        console.print(f"\nNext: jiandu issue drop {number} ID... | jiandu items edit ID | "
                      f"jiandu issue approve {number} | jiandu issue discard {number}")


def _print_story(story: dict) -> None:
    marks = []
    if story["highlighted"]:
        marks.append("看点")
    if story["edited_fields"]:
        marks.append("edited: " + ", ".join(story["edited_fields"]))
    extra = f"  [dim]({'; '.join(marks)})[/]" if marks else ""
    console.print(f"\n[bold][{story['id']}][/] {escape(story['title'])} {escape(story['emoji'])}"
                  f"  [dim]{escape(story['section'])} · importance {story['importance']}[/]{extra}")
    for bullet in story["bullets"]:
        console.print(f"  - {escape(bullet)}")
    for link in story["links"]:
        console.print(f"  原文链接: {escape(link['url'])}", soft_wrap=True)
    for flag in story["flags"]:
        console.print(f"  [yellow]! {escape(flag)}[/]")


@issue_app.command("drop")
def issue_drop(
    number: int = typer.Argument(..., help="The draft's number."),
    items: list[int] = typer.Argument(..., metavar="ITEM...", help="Item ids of stories to drop."),
) -> None:
    """Take stories out of a draft: they are not sent (restore brings them back)."""
    from jiandu.stages.review import drop

    rt = runtime()
    changed = drop(rt, number, items, _editor())
    console.print(f"Dropped {len(changed)} stor{'y' if len(changed) == 1 else 'ies'} from draft {number}"
                  + (f": {', '.join(map(str, changed))}" if changed else " (already dropped)"))


@issue_app.command("restore")
def issue_restore(
    number: int = typer.Argument(..., help="The draft's number."),
    items: list[int] = typer.Argument(..., metavar="ITEM...", help="Item ids of dropped stories."),
) -> None:
    """Put dropped stories back into a draft."""
    from jiandu.stages.review import restore

    rt = runtime()
    changed = restore(rt, number, items, _editor())
    console.print(f"Restored {len(changed)} stor{'y' if len(changed) == 1 else 'ies'} in draft {number}"
                  + (f": {', '.join(map(str, changed))}" if changed else " (none was dropped)"))


@issue_app.command("approve")
def issue_approve(number: int = typer.Argument(..., help="The draft's number.")) -> None:
    """Render the draft's final editions, publish it and email it (each recipient once; run it
    again after a failed send and only those still waiting get it)."""
    from jiandu.stages.review import approve

    rt = runtime()
    report = approve(rt, number, _editor())
    console.print(summary_table(f"Issue {number} approved", {
        k: v for k, v in vars(report).items() if k not in ("files", "errors")}))
    for error in report.errors:
        err.print(f"[red]not sent:[/] {escape(error)}")
    if not rt.settings.smtp_host:
        console.print("JIANDU_SMTP_HOST is not set: the issue is published, no mail was sent.")
    if report.failed:
        raise typer.Exit(1)


@issue_app.command("discard")
def issue_discard(number: int = typer.Argument(..., help="The draft's number.")) -> None:
    """Delete a draft; its stories (edits kept) go back to the pool for the next issue."""
    from jiandu.stages.review import discard

    rt = runtime()
    returned = discard(rt, number, _editor())
    console.print(f"Discarded draft {number}; {returned} stories wait for the next issue.")


@items_app.command("edit")
def items_edit(item: int = typer.Argument(..., metavar="ITEM", help="The item id (see `jiandu issue review N`).")) -> None:
    """Edit a story's title, emoji, section and bullets in $EDITOR. Checked on save as a model's
    answer is (three one-paragraph bullets, emoji characters, a configured section); claims the
    article lacks are flagged, not refused. The model's own summary is kept beside the edit."""
    import click

    from jiandu import editorial
    from jiandu.stages import review

    rt = runtime()
    sections = list(rt.settings.sections)
    with rt.sessions() as session:
        story, _ = review._editable_item(session, item)
        shown = editorial.effective_summary(story.summary, story.edited)
        document = editorial.edit_document(story.id, shown, sections, story.title or shown.title)
        story_id = story.id
    while True:
        edited = click.edit(document, extension=".toml", require_save=True)
        if edited is None:
            console.print("Not saved: nothing changed.")
            return
        try:
            fields = editorial.parse_edit_document(edited)
            result = review.edit(rt, story_id, fields, _editor())
            break
        except (editorial.EditDocumentError, review.ReviewError) as exc:
            err.print(f"[red]not saved:[/] {escape(str(exc))}")
            if not sys.stdin.isatty() or not typer.confirm("Edit again?", default=True):
                raise typer.Exit(1)
            document = edited
    if not result.changed:
        console.print(f"Item {story_id}: nothing changed.")
    else:
        where = f" (draft {result.issue_number} rendered again)" if result.issue_number else ""
        console.print(f"Item {story_id}: saved {', '.join(result.changed)}{where}.")
    for flag in result.flags:
        console.print(f"[yellow]! {escape(editorial.flag_words(flag))}[/]")


@app.command()
def desk(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; any but loopback needs JIANDU_DESK_TOKEN."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    open_browser: bool = typer.Option(False, "--open", help="Open the desk in a web browser."),
) -> None:
    """The editor's desk: read, correct and approve drafts in a web browser (until Ctrl-C)."""
    from jiandu.desk.server import run_desk

    run_desk(runtime(), host=host, port=port, open_browser=open_browser)

