"""`jiandu source edit|backfill` and `jiandu items why`: choosing what gets summarised.

Registered on `jiandu source` and `jiandu items` by importing this module from jiandu.cli.
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from jiandu.cli import check_section, console, items_app, runtime, source_app
from jiandu.errors import InputError


def checked_rules(rules: list[str], option: str) -> list[str]:
    """The rules as given, each checked to be a regular expression (a bad one is one line)."""
    from jiandu.rules import RuleError, parse_rule

    for rule in rules:
        try:
            parse_rule(rule)
        except RuleError as exc:
            raise InputError(f"{option}: {exc}") from None
    return list(rules)


def _source(session, reference: str):
    from jiandu.models import store

    source = None
    if reference.isdigit():
        source = store.source_by_id(session, int(reference))
    if source is None:
        source = store.source_by_url(session, reference)
    if source is None:
        raise InputError(f"{reference}: no such source (see `jiandu source list`)")
    return source


@source_app.command("edit")
def source_edit(
    reference: str = typer.Argument(..., metavar="SOURCE", help="Source id (from `jiandu source list`) or URL."),
    include: list[str] = typer.Option([], "--include", metavar="REGEX",
                                      help="Summarise only items matching this; replaces the source's include rules. Repeatable."),
    exclude: list[str] = typer.Option([], "--exclude", metavar="REGEX",
                                      help="Never summarise items matching this; replaces its exclude rules. Repeatable."),
    min_zi: Optional[int] = typer.Option(None, "--min-zi", min=0, metavar="N",
                                         help="Skip texts shorter than N 字 (0: no minimum)."),
    section: Optional[str] = typer.Option(None, "--section", help="The section its items go to by default."),
    name: Optional[str] = typer.Option(None, "--name", help="Display name."),
    clear_rules: bool = typer.Option(False, "--clear-rules", help="Remove its include, exclude and minimum rules."),
) -> None:
    """Change a source's name, section or rules (what of it gets summarised)."""
    include, exclude = checked_rules(include, "--include"), checked_rules(exclude, "--exclude")
    section = check_section(section)
    rt = runtime()
    with rt.sessions.begin() as session:
        source = _source(session, reference)
        if clear_rules:
            source.include = source.exclude = source.min_zi = None
        if include:
            source.include = include
        if exclude:
            source.exclude = exclude
        if min_zi is not None:
            source.min_zi = min_zi or None
        if section:
            source.section = section
        if name:
            source.name = name
        console.print(escape(f"Source {source.id}: {source.url}"), highlight=False)
        console.print(escape(f"  include: {source.include or '-'}  exclude: {source.exclude or '-'}  "
                             f"min 字: {source.min_zi or '-'}  section: {source.section or '-'}"),
                      highlight=False)


@source_app.command("backfill")
def source_backfill(
    reference: str = typer.Argument(..., metavar="SOURCE", help="Source id or URL."),
) -> None:
    """Read the older entries a source's first poll only recorded as seen (JIANDU_FIRST_POLL_*)."""
    from jiandu.models import store, transitions

    rt = runtime()
    with rt.sessions.begin() as session:
        source = _source(session, reference)
        items = store.first_poll_skipped(session, source.id)
        for item in items:
            transitions.backfilled(item)
        console.print(escape(f"Source {source.id}: {len(items)} older entries queued; "
                             "the next `jiandu run` reads them."), highlight=False)


@items_app.command("why")
def items_why(item_id: int = typer.Argument(..., metavar="ITEM", help="Item id (from `jiandu items export`).")) -> None:
    """Why an item was skipped, merged, held or failed, or where it stands: for a story in an
    issue (or waiting for the next), its rank in its section, its score and why, and 看点."""
    from jiandu.item_explain import explain

    rt = runtime()
    with rt.sessions() as session:
        lines = explain(session, item_id, rt.settings)
    if lines is None:
        raise InputError(f"{item_id}: no such item (see `jiandu items export`)")
    for line in lines:
        console.print(escape(line), highlight=False)
