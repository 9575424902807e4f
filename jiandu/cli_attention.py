"""Held and failed are never silent: `jiandu items retry`, and the table of items that need a
person, shown by `jiandu status` and after every summarise run. Registered on import by jiandu.cli."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from jiandu.cli import console, items_app, run_flow, runtime, summary_table
from jiandu.errors import InputError

REASON_WIDTH = 160  # a reason is one line in the table; `jiandu items export` has it whole


def attention_table(title: str, rows: list[dict]) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in (("item", "right"), ("status", "left"), ("title", "left"), ("reason", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        reason = str(row["reason"])
        reason = reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"
        table.add_row(str(row["item"]), row["status"], escape(str(row["title"])[:60]), escape(reason))
    return table


def show_summarise(report: dict) -> None:
    """The summarise table, then every item it held, failed or flagged, with the reason."""
    rows = report.get("attention") or []
    console.print(summary_table("Summarise", {k: v for k, v in report.items() if k != "attention"}))
    if rows:
        console.print(attention_table("Needs attention (retry with `jiandu items retry ID` or --all)", rows))


def show_status_attention(rt) -> None:
    from jiandu.models.attention import attention_items

    with rt.sessions() as session:
        listed, counts = attention_items(session)
    if listed:
        shown = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
        console.print(attention_table(f"Needs attention ({shown}; latest first)",
                                      [vars(entry) for entry in listed]))


@items_app.command("retry")
def items_retry(
    ids: Optional[list[int]] = typer.Argument(None, metavar="ID", help="Item ids (from `jiandu status` or `jiandu items export`)."),
    all_: bool = typer.Option(False, "--all", help="Every held or failed item."),
    no_run: bool = typer.Option(False, "--no-run", help="Only make them due now; the next run asks again."),
) -> None:
    """Ask again now for held or failed items, without waiting for their backoff: their
    summaries are requested at once (items whose page failed are fetched by the next ingest)."""
    from jiandu.models.attention import make_due
    from jiandu.models.schema import utcnow

    if bool(ids) == all_:
        raise InputError("give item ids or --all (not both)")
    rt = runtime()
    with rt.sessions.begin() as session:
        due, refused = make_due(session, None if all_ else ids, utcnow())
    for item_id, why in refused:
        console.print(f"item {item_id}: {why}")
    if not due:
        raise InputError("nothing to retry: no held or failed item" + ("" if all_ else " among those ids"))
    summarise_now = sum(1 for stage in due.values() if stage == "summarise")
    fetch_later = len(due) - summarise_now
    console.print(f"{len(due)} items due now ({summarise_now} to summarise, {fetch_later} to fetch).")
    if fetch_later:
        console.print("Pages are fetched again by the next `jiandu ingest` or `jiandu run`.")
    if summarise_now and not no_run:
        show_summarise(run_flow("summarise"))
