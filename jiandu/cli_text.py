"""Data printed to the terminal is text: never rich markup, never control codes.

Titles, URLs, file names and errors come from feeds, pages and users; in a rich string `[/]`
is markup (a MarkupError traceback) and ESC starts a terminal escape sequence. `DataTable`
turns every cell and its title into plain Text, stripped of control characters; `plain()`
does the same for a line printed on its own.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from jiandu.cleantext import strip_controls


def plain(value: object) -> Text:
    """value as literal terminal text (a Text passes through: it is already safe)."""
    if isinstance(value, Text):
        return value
    return Text(strip_controls(str(value)))


class DataTable(Table):
    """A rich Table whose string cells and title are shown as they are."""

    def __init__(self, *args, title: object = None, **kwargs) -> None:
        super().__init__(*args, title=plain(title) if isinstance(title, str) else title, **kwargs)

    def add_row(self, *renderables, **kwargs) -> None:
        super().add_row(*(plain(cell) if isinstance(cell, str) else cell for cell in renderables),
                        **kwargs)
