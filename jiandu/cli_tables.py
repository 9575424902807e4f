"""Lists that read well at 80 columns and in a pipe, and `--format json` for scripts.

On a terminal a table keeps one line per row: short columns never wrap (a date stays whole),
long ones are cut with an ellipsis to fit the width rather than folded over several lines. In
a pipe, as gh does, rows are tab-separated and nothing is cut. JSON is every field, for scripts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "json")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fixed: bool = True  # never wrapped or cut (ids, dates, counts)
    justify: str = "left"
    share: int = 1  # of the width left to the columns that may be cut


def check_format(value: str) -> str:
    from jiandu.errors import InputError

    if value not in FORMATS:
        raise InputError(f"--format: unknown format {value!r}; use {' or '.join(FORMATS)}")
    return value


def emit(console: Console, rows: list[dict], columns: list[Column], fmt: str, *, title: str | None = None,
         empty: str = "") -> None:
    if fmt == "json":
        console.file.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if not rows:
        if empty:
            console.print(empty, markup=False, highlight=False)
        return
    if not console.is_terminal:
        # In a pipe, as gh does: tab-separated, nothing cut, one line per row (a header first).
        lines = ["\t".join(column.header for column in columns)]
        lines += ["\t".join(_cell(row.get(column.key)).plain.replace("\t", " ") for column in columns)
                  for row in rows]
        console.file.write("\n".join(lines) + "\n")
        return
    cells = [[_cell(row.get(column.key)) for column in columns] for row in rows]
    widths = fit_widths(columns, [max([len(column.header), *(line[i].cell_len for line in cells)])
                                  for i, column in enumerate(columns)], console.width)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  show_edge=False, collapse_padding=True)
    for column, width in zip(columns, widths):
        table.add_column(column.header, justify=column.justify, no_wrap=True, overflow="ellipsis",
                         width=width)
    for line in cells:
        table.add_row(*line)
    console.print(table)


def fit_widths(columns: list[Column], widest: list[int], total: int) -> list[int]:
    """Each column's width: fixed ones as wide as their widest cell, the others sharing what is
    left by their share, none wider than it needs (its surplus goes to the rest)."""
    widths = list(widest)
    flexible = [i for i, column in enumerate(columns) if not column.fixed]
    room = total - sum(widest[i] for i, column in enumerate(columns) if column.fixed) - 2 * (len(columns) - 1)
    while flexible:
        shares = sum(columns[i].share for i in flexible)
        fits = [i for i in flexible if widest[i] <= room * columns[i].share // shares]
        if not fits:
            for i in flexible:
                widths[i] = max(3, room * columns[i].share // shares)
            break
        for i in fits:
            widths[i] = widest[i]
            room -= widest[i]
            flexible.remove(i)
    return widths


def _cell(value) -> Text:
    """Text, never markup: a feed's title or an error may hold "[...]"."""
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(" ".join(str(value).split()))


def display_path(path: str | Path) -> str:
    """A path as git shows it: relative to the current directory when inside it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)
