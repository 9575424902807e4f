"""RSSHub routes as feeds: a source `rsshub:/twitter/user/op7418` is polled at
JIANDU_RSSHUB_URL + the route, as any feed.

The source row keeps only `rsshub:` + the route (and its query, e.g. `limit=20`). The access
key never leaves this module: it becomes RSSHub's `code` parameter, md5 hex of the route path
plus the key, added to the URL at the moment of the request; every error raised from here names
the `rsshub:` route, never the URL that carried the code.

RSSHub's refusals become reasons a person can act on: 403 (its "Access denied." page) means a
wrong or missing access key; 404 and 503 (its error page) mean the route is wrong or broken
upstream.
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from jiandu.connectors.errors import FetchError, HTTPStatusError
from jiandu.connectors.feeds import DEFAULT_MAX_BYTES, fetch_feed
from jiandu.records import FeedFetch

SCHEME = "rsshub:"
_CODE_IN_URL = re.compile(r"([?&]code=)[0-9a-fA-F]{32}")


class _HideCode(logging.Filter):
    """httpx logs every request's URL at INFO; the code in it is hidden before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "code=" in message:
            record.msg, record.args = _CODE_IN_URL.sub(r"\1***", message), ()
        return True


for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_HideCode())


class RSSHubNotConfigured(FetchError):
    """An rsshub: source with no JIANDU_RSSHUB_URL to resolve it against."""

    def __init__(self, source_url: str) -> None:
        super().__init__(source_url, "JIANDU_RSSHUB_URL is not set: set it to your RSSHub "
                                     "server (e.g. http://127.0.0.1:1200) to follow rsshub: routes")


def is_rsshub(url: str) -> bool:
    return url.startswith(SCHEME)


def parse_source(value: str, *, limit: int | None = None) -> str:
    """`rsshub:/route[?query]` as stored: the route checked, `limit` put in its query.

    Raises ValueError naming the value when it is not a route path."""
    rest = value[len(SCHEME):].strip() if is_rsshub(value) else value.strip()
    if not rest.startswith("/") or rest.startswith("//"):
        raise ValueError(f"{value}: an RSSHub route starts with one '/', e.g. rsshub:/twitter/user/op7418")
    if any(ch.isspace() for ch in rest):
        raise ValueError(f"{value}: an RSSHub route has no spaces")
    parts = urlsplit(rest)
    if parts.fragment:
        raise ValueError(f"{value}: an RSSHub route has no #fragment")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("code", "key")]  # a secret pasted into the route is never stored
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit: must be at least 1, not {limit}")
        query = [(k, v) for k, v in query if k != "limit"] + [("limit", str(limit))]
    path = quote(parts.path, safe="/@:+-._~%!$&'()*,;=")
    return SCHEME + path + (f"?{urlencode(query)}" if query else "")


def route_of(source_url: str) -> str:
    """The route path alone (no query): what RSSHub hashes with the key."""
    return urlsplit(source_url[len(SCHEME):]).path


def access_code(route_path: str, access_key: str) -> str:
    """RSSHub's `code`: md5 hex of the request path (without the query) plus the key."""
    return hashlib.md5((route_path + access_key).encode("utf-8")).hexdigest()


def feed_url(source_url: str, base_url: str, access_key: str | None) -> str:
    """The URL to request. It carries the code, so it is built per request and never kept."""
    parts = urlsplit(source_url[len(SCHEME):])
    query = parse_qsl(parts.query, keep_blank_values=True)
    if access_key:
        query.append(("code", access_code(parts.path, access_key)))
    return base_url.rstrip("/") + parts.path + (f"?{urlencode(query)}" if query else "")


def explain_status(status: int) -> str:
    if status == 403:
        return ("RSSHub refused access (HTTP 403, \"Access denied.\"): the access key is wrong "
                "or missing; set JIANDU_RSSHUB_ACCESS_KEY to the server's ACCESS_KEY")
    if status == 404:
        return ("RSSHub answered HTTP 404 with its error page: the route is wrong (check its "
                "path at docs.rsshub.app) or broken upstream")
    if status == 503:
        return ("RSSHub answered HTTP 503 with its error page: the route is broken upstream "
                "(the site it reads failed or blocked it), or needs configuration on the server")
    return f"RSSHub answered HTTP {status}"


def fetch_route(client: httpx.Client, source_url: str, *, base_url: str | None,
                access_key: str | None, etag: str | None = None,
                last_modified: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                per_host_limit: int = 2) -> FeedFetch:
    """Poll an rsshub: source. Errors are FetchErrors naming `source_url`, with no secret."""
    if not base_url:
        raise RSSHubNotConfigured(source_url)
    url = feed_url(source_url, base_url, access_key)
    try:
        # The RSSHub server is the user's own choice, usually on their own network.
        fetched = fetch_feed(client, url, etag=etag, last_modified=last_modified,
                             max_bytes=max_bytes, allow_private=True,
                             per_host_limit=per_host_limit)
    except HTTPStatusError as exc:
        raise _scrubbed(exc, source_url, url, explain_status(exc.status)) from None
    except FetchError as exc:
        raise _scrubbed(exc, source_url, url, exc.reason) from None
    fetched.url = source_url  # a redirect never rewrites the route into a server URL
    fetched.permanently_moved = False
    return fetched


def _scrubbed(exc: FetchError, source_url: str, url: str, reason: str) -> FetchError:
    """The same error, naming the route instead of the URL that carried the code."""
    code = dict(parse_qsl(urlsplit(url).query)).get("code")
    reason = reason.replace(url, source_url)
    if code:
        reason = reason.replace(code, "***")
    exc.url = source_url
    exc.reason = reason
    exc.args = (source_url, reason)
    return exc


# Profile pages and the routes that follow them ---------------------------------------------

def rsshub_route_for(url: str) -> str | None:
    """The `rsshub:` source that follows the account behind a profile URL, or None.

    Pure: used by the hint on profile links that are skipped as "a profile page, not a story".
    Paths are RSSHub's documented routes (docs.rsshub.app)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    segments = [s for s in parts.path.split("/") if s]
    if not segments and host != "space.bilibili.com":
        return None
    first = segments[0] if segments else ""
    if host in ("x.com", "twitter.com", "mobile.twitter.com"):
        if len(segments) == 1 and first.lower() not in _X_RESERVED and first.replace("_", "").isalnum():
            return f"{SCHEME}/twitter/user/{first}"
        return None
    if host in ("youtube.com", "music.youtube.com"):
        if first.startswith("@") and len(segments) <= 2:
            return f"{SCHEME}/youtube/user/{first}"
        if first == "channel" and len(segments) >= 2:
            return f"{SCHEME}/youtube/channel/{segments[1]}"
        return None
    if host == "space.bilibili.com" and segments and first.isdigit():
        return f"{SCHEME}/bilibili/user/video/{first}"
    if host == "weibo.com":
        if first == "u" and len(segments) >= 2 and segments[1].isdigit():
            return f"{SCHEME}/weibo/user/{segments[1]}"
        if len(segments) == 1 and first.isdigit():
            return f"{SCHEME}/weibo/user/{first}"
        return None
    if host == "github.com" and len(segments) == 1 and first.lower() not in _GITHUB_RESERVED:
        return f"{SCHEME}/github/repos/{first}"
    if host == "huggingface.co" and segments == ["papers"]:
        return f"{SCHEME}/huggingface/daily-papers"
    return None


_X_RESERVED = {"home", "explore", "search", "i", "settings", "notifications", "messages",
               "login", "signup", "tos", "privacy", "hashtag", "intent", "share"}
_GITHUB_RESERVED = {"about", "features", "pricing", "login", "join", "explore", "topics",
                    "trending", "marketplace", "settings", "notifications", "orgs", "sponsors",
                    "search", "collections", "events", "enterprise", "pulls", "issues"}
