"""Control characters out of text that came from outside (pure).

Feeds, pages, saved links and LLM answers may carry C0/C1 control characters (NUL, ESC and
terminal escape sequences, the C1 range). They corrupt what jiandu writes: a terminal obeys
them, and XML 1.0 forbids most of them, so one in a title makes the site's Atom feed not
well-formed. They are removed when text enters jiandu, keeping tab and newline; a carriage
return becomes a newline.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """text without C0/C1 control characters other than \\t and \\n (\\r\\n and \\r become \\n)."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, list) and any(isinstance(item, str) for item in value):
        return [strip_controls(item) if isinstance(item, str) else item for item in value]
    return value


class ControlFree:
    """Dataclass mixin: every str (and list of str) field is stripped of control characters
    when the record is made, so no record carries them across a module boundary."""

    def __post_init__(self) -> None:
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            clean = _clean(value)
            if clean is not value:
                setattr(self, field.name, clean)
