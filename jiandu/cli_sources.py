"""`jiandu source list|remove|disable|enable`: managing many sources (issue 13, item 8).

Registered on `jiandu source` by importing this module from jiandu.cli.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import typer

from jiandu.cli import console, runtime, source_app
from jiandu.cli_tables import Column, check_format, emit
from jiandu.errors import InputError

REFERENCE_HELP = "Source id (from `jiandu source list`) or its URL/path; several allowed."


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _state(source) -> str:
    if not source.enabled:
        return "disabled"
    if source.error_count:
        return f"failing x{source.error_count}"
    quiet = getattr(source, "quiet_since", None)
    if quiet is not None:
        return f"quiet since {quiet:%Y-%m-%d}"
    return "ok" if source.last_polled_at else "new"


def _problem(source) -> str:
    """The last error (or warning) without the source's own URL, which the row already names."""
    text = source.last_error or source.warning or ""
    for noise in (f" from {source.url}", f"{source.url}: ", source.url):
        text = text.replace(noise, "")
    return " ".join(text.split())


def source_row(source) -> dict:
    return {
        "id": source.id, "kind": source.kind, "name": source.name, "url": source.url,
        "section": source.section, "enabled": source.enabled, "state": _state(source),
        "last_status": source.last_status, "last_poll": _when(source.last_polled_at),
        "errors": source.error_count or 0, "next_check": _when(source.next_check_at),
        "last_error": source.last_error, "warning": source.warning, "problem": _problem(source),
    }


LIST_COLUMNS = [
    Column("id", "id", justify="right"),
    Column("name", "name", fixed=False, share=2),
    Column("url", "url", fixed=False, share=3),
    Column("state", "state"),
    Column("problem", "last error", fixed=False, share=3),
]


@source_app.command("list")
def source_list(
    failing: bool = typer.Option(False, "--failing", help="Only sources whose last poll failed."),
    disabled: bool = typer.Option(False, "--disabled", help="Only disabled sources."),
    format: str = typer.Option("table", "--format", metavar="FORMAT",
                               help="table (one line per source) or json (every field, for scripts)."),
) -> None:
    """Sources with their polling state: ok, failing (how often), disabled or quiet; last error."""
    from jiandu.models import store

    fmt = check_format(format)
    rt = runtime()
    with rt.sessions() as session:
        rows = [source_row(s) for s in store.list_sources(session)
                if (not failing or s.error_count) and (not disabled or not s.enabled)]
    what = "failing sources" if failing else "disabled sources" if disabled else "sources"
    emit(console, rows, LIST_COLUMNS, fmt, title=f"{what.capitalize()} ({len(rows):,})",
         empty=f"No {what}.")


def _change(references: list[str], verb: str, apply) -> None:
    from jiandu.models.sources import SourceNotFound, find_source

    rt = runtime()
    with rt.sessions.begin() as session:
        try:
            sources = [find_source(session, reference) for reference in references]
        except SourceNotFound as exc:
            raise InputError(str(exc)) from None
        lines = [apply(session, source) for source in sources]
    for line in lines:
        console.print(line, markup=False, highlight=False)


@source_app.command("disable")
def source_disable(references: list[str] = typer.Argument(..., metavar="SOURCE...", help=REFERENCE_HELP)) -> None:
    """Stop polling a source; its items and issues stay."""
    from jiandu.models.sources import set_enabled

    def apply(session, source):
        changed = set_enabled(source, False)
        return f"{'Disabled' if changed else 'Already disabled:'} source {source.id}: {source.name or source.url}"

    _change(references, "disable", apply)


@source_app.command("enable")
def source_enable(references: list[str] = typer.Argument(..., metavar="SOURCE...", help=REFERENCE_HELP)) -> None:
    """Poll a disabled source again, from the next run."""
    from jiandu.models.sources import set_enabled

    def apply(session, source):
        changed = set_enabled(source, True)
        return f"{'Enabled' if changed else 'Already enabled:'} source {source.id}: {source.name or source.url}"

    _change(references, "enable", apply)


@source_app.command("remove")
def source_remove(references: list[str] = typer.Argument(..., metavar="SOURCE...", help=REFERENCE_HELP)) -> None:
    """Stop following a source and delete the items it brought that no issue has shown. A source
    with items in an issue is kept (issues are a record): disable it instead."""
    from jiandu.models.sources import items_in_issues, remove_source

    def apply(session, source):
        shown = items_in_issues(session, source)
        if shown:
            raise InputError(f"source {source.id} ({source.name or source.url}) has {shown} item(s) in "
                             f"issues, which are kept as sent; `jiandu source disable {source.id}` "
                             f"stops polling it")
        label = f"{source.id}: {source.name or source.url}"
        removed = remove_source(session, source)
        return f"Removed source {label} and {removed} item(s)"

    _change(references, "remove", apply)


def check_new_feed(url: str) -> str | None:
    """Read a feed before following it, as feed readers do. A page or file that is not a feed is
    refused (one line naming it); a feed that cannot be reached now is added with a warning
    (returned), since ingest retries. rsshub: routes are checked by their first poll."""
    if url.startswith("rsshub:"):
        return None
    from jiandu.cli import settings
    from jiandu.connectors.errors import FetchError, ParseError
    from jiandu.connectors.feeds import fetch_feed
    from jiandu.connectors.paths import as_local_path

    s = settings()
    try:
        if as_local_path(url) is not None:  # a file: read without loading the HTTP client
            fetched = fetch_feed(None, url, max_bytes=s.max_body_bytes)
        else:
            from jiandu.connectors.http import make_client

            with make_client(connect_timeout=min(s.connect_timeout, 5),
                             read_timeout=min(s.read_timeout, 10)) as client:
                fetched = fetch_feed(client, url, max_bytes=s.max_body_bytes,
                                     allow_private=s.allow_private_hosts)
    except ParseError as exc:
        raise InputError(f"{url}: {exc.reason}; not following it "
                         "(give the feed's own address, often linked as RSS or Atom on the page; "
                         "--no-check adds it anyway)") from None
    except FetchError as exc:
        return f"could not read it now ({exc.reason}); added anyway: ingest will try again"
    if not fetched.entries:
        return "the feed has no entries yet"
    return None
