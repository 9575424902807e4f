"""Plain records that cross module boundaries.

Connectors return these, stages store them, renderers read them. They carry no
database or network state, so every module can be tested with hand-made values. Records of
what came from outside (ControlFree) drop control characters from their text when made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from jiandu.cleantext import ControlFree


@dataclass
class FeedEntry(ControlFree):
    """One entry of a feed, normalised."""

    key: str  # stable identity: "guid:<guid>", "url:<canonical url>" or "hash:<sha256>"
    url: str | None  # absolute link to the article (or a local path for file feeds)
    guid: str | None
    title: str
    author: str | None = None
    published: datetime | None = None  # timezone-aware UTC, None when the feed gives none
    content: str = ""  # the feed's own text for the entry (HTML converted to plain text)


@dataclass
class FeedFetch(ControlFree):
    """What one poll of a feed produced."""

    status: int  # HTTP status; 304 = not modified (entries empty); 0 for a local file
    url: str  # where the feed now lives (a permanent redirect changes it)
    permanently_moved: bool = False
    gone: bool = False  # 410: the source should be disabled
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    entries: list[FeedEntry] = field(default_factory=list)
    warning: str | None = None  # feedparser's bozo exception text, when it parsed with errors


@dataclass
class PageFetch:
    """A downloaded page, before extraction."""

    url: str  # final URL after redirects
    status: int
    content_type: str  # e.g. "text/html"; lower-case, without parameters
    charset: str | None  # from the HTTP header, if any
    body: bytes


@dataclass
class Extracted(ControlFree):
    """Main text and metadata of a page (trafilatura)."""

    text: str
    title: str | None = None
    author: str | None = None
    date: datetime | None = None
    sitename: str | None = None
    language: str | None = None
    url: str | None = None  # the page's own canonical URL, when it declares one


@dataclass
class SavedRecord(ControlFree):
    """One thing the user saved: a link to fetch, or a clipping whose text is the item."""

    key: str  # stable identity within jiandu (see jiandu.urls.item_key)
    url: str | None  # absolute http(s) URL, or an absolute local file path
    title: str | None = None
    text: str | None = None  # a clipping's own text; None for a plain link
    author: str | None = None
    published: datetime | None = None
    links: list[str] = field(default_factory=list)  # links found inside a clipping


@dataclass
class ArticleInput:
    """What a summariser gets for one item."""

    title: str
    text: str
    url: str | None = None
    section_hint: str | None = None  # the section its source was given, if any
    language: str | None = None


@dataclass
class Summary(ControlFree):
    """A summariser's answer for one text."""

    title: str
    emoji: str
    section: str
    importance: int  # 1..5
    bullets: list[str]  # exactly three
    model: str
    prompt_version: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # LLM requests this summary cost (0 offline)
    repairs: int = 0  # repair or regeneration requests among them
    faithful: bool | None = None  # None: not checked (offline summaries quote the text)
    unsupported: list[str] = field(default_factory=list)  # claims not found in the article
    flags: list[str] = field(default_factory=list)  # for the editor, not held: "title: not in Chinese"


@dataclass
class DigestItem(ControlFree):
    """One story as the issue shows it."""

    title: str
    emoji: str
    section: str
    importance: int
    bullets: list[str]
    links: list[str]  # every 原文链接 of the story, first one first
    published: datetime
    source_chars: int  # 字 of the full extracted text
    highlight: bool | None = None  # the editor's 看点 choice; None: the most important are shown
    ref: int | None = None  # the caller's id for the story (the desk's item id); not rendered
    outlets: int = 1  # sites that carried the story (its merged items): ranking
    source_weight: float = 1.0  # JIANDU_SOURCE_WEIGHTS for its sources (the highest): ranking


@dataclass
class Publication(ControlFree):
    """What the issue looks like: settings a publication chooses."""

    name: str
    purpose: str
    sections: list[str]
    variant: str = "sectioned"  # "sectioned" (seed 002) or "flat" (seed 003)
    highlights: int = 10
