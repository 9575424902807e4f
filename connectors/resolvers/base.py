"""What every resolver shares: the Resolved record, the route bases, the fetch context.

A resolver turns one URL into an article text (`Resolved`, an `Extracted` that also says which
route produced it and why) or raises a FetchError naming the URL and the reason. Every request
goes through `jiandu.connectors.http.fetch`, so the address guard, size caps, deadlines and
per-host limits hold for every route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from jiandu.connectors.errors import FetchError, ParseError, UnsupportedContent
from jiandu.connectors.http import FetchResult, fetch
from jiandu.records import Extracted, PageFetch


@dataclass
class Resolved(Extracted):
    """An article text and where it came from (`origin` is stored as items.text_origin)."""

    origin: str = "page"
    reason: str = "main text extracted from the page"


class NotAStory(UnsupportedContent):
    """A profile, channel, home or search page: recorded as skipped, never fetched."""

    def __init__(self, url: str, reason: str) -> None:
        FetchError.__init__(self, url, reason)
        self.content_type = None


class VerificationPage(FetchError):
    """The site answered with a human-verification page instead of the article."""

    retryable = True


@dataclass(frozen=True)
class RouteBases:
    """Where each route's upstream lives. Settings, so tests point them at 127.0.0.1."""

    arxiv: str = "https://arxiv.org"
    arxiv_api: str = "https://export.arxiv.org/api/query"
    github_api: str = "https://api.github.com"
    huggingface: str = "https://huggingface.co"
    youtube: str = "https://www.youtube.com"
    youtube_timedtext: str = "https://www.youtube.com/api/timedtext"
    x_oembed: str = "https://publish.twitter.com/oembed"
    x_thread_api: str = ""  # the FxTwitter API; "" reads single posts only
    tco: str = "https://t.co"
    wechat: str = "https://mp.weixin.qq.com"
    sogou: str = "https://weixin.sogou.com"

    @classmethod
    def from_settings(cls, settings) -> RouteBases:
        return cls(arxiv=settings.arxiv_url, arxiv_api=settings.arxiv_api_url,
                   github_api=settings.github_api_url, huggingface=settings.huggingface_url,
                   youtube=settings.youtube_url, youtube_timedtext=settings.youtube_timedtext_url,
                   x_oembed=settings.x_oembed_url, x_thread_api=settings.x_thread_api_url,
                   tco=settings.tco_url,
                   wechat=settings.wechat_url, sogou=settings.sogou_url)


# The generic page path's extraction step (trafilatura, possibly in a worker process):
# PageFetch -> (Extracted, signature).
PageExtractor = Callable[[PageFetch], tuple[Extracted, bytes]]


@dataclass
class Context:
    """One resolution's network settings; `get()` is the only way a resolver downloads."""

    client: httpx.Client
    bases: RouteBases = field(default_factory=RouteBases)
    max_bytes: int = 10_000_000
    allow_private: bool = False
    allow_files: bool = False
    per_host_limit: int = 2
    pdf_max_bytes: int = 25_000_000
    pdf_max_pages: int = 60
    # Runs CPU-heavy work (a PDF's text) elsewhere, e.g. ingest's worker processes; it must
    # take a picklable module-level function. None: in this thread.
    offload: Callable | None = None

    def cpu(self, function, *args, **kwargs):
        if self.offload is None:
            return function(*args, **kwargs)
        return self.offload(function, *args, **kwargs)

    def get(self, url: str, *, accept: str | None = None,
            content_types: frozenset[str] | None = None, max_bytes: int | None = None,
            headers: dict[str, str] | None = None) -> FetchResult:
        sent = dict(headers or {})
        if accept:
            sent["Accept"] = accept
        return fetch(self.client, url, headers=sent, max_bytes=max_bytes or self.max_bytes,
                     allow_private=self.allow_private, per_host_limit=self.per_host_limit,
                     content_types=content_types)

    def get_json(self, url: str, *, accept: str = "application/json") -> object:
        import json

        result = self.get(url, accept=accept)
        try:
            return json.loads(result.body.decode(result.charset or "utf-8", errors="replace"))
        except ValueError as exc:
            raise ParseError(url, f"not JSON: {exc}") from exc


def utc_from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def tidy(text: str) -> str:
    """Paragraphs separated by one blank line, lines stripped, runs of blank lines collapsed."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def html_tree(body: bytes, charset: str | None):
    """An lxml tree of an HTML answer, decoded with pages' charset care."""
    import re

    from lxml import html as lxml_html

    from jiandu.connectors.pages import decode_html

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", decode_html(body, charset))
    try:
        return lxml_html.fromstring(text or "<html></html>")
    except (ValueError, Exception) as exc:  # lxml's ParserError for an empty document
        raise ValueError(f"not parseable as HTML: {exc}") from exc
