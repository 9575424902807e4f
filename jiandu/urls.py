"""URL canonicalisation and item identity (pure: no I/O).

Two links to the same article must produce the same key, so the canonical form drops what
does not change the page: host case, default port, fragment, tracking parameters, and the
order of the remaining query parameters.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jiandu.errors import InputError

TRACKING_PARAMS = frozenset(
    {
        "spm", "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "ref_src", "scene", "srcid", "from", "isappinstalled",
        "sharer_shareinfo", "sharer_shareinfo_first", "chksm", "mpshare", "share_token",
    }
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str) -> str:
    """The canonical form of an http(s) URL; other strings come back stripped but unchanged."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL we can rewrite
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    )
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


# Sites where /NAME (or /@NAME, /u/NAME...) is a person's or an organisation's page, not a story.
_PROFILE_SITES = {
    "x.com": (), "twitter.com": (), "github.com": (), "gitee.com": (), "instagram.com": (),
    "facebook.com": (), "threads.net": (), "t.me": (), "weibo.com": ("u",), "medium.com": (),
    "youtube.com": ("c", "channel", "user"), "bilibili.com": (), "space.bilibili.com": (),
    "linkedin.com": ("in", "company"), "zhihu.com": ("people", "org"), "huggingface.co": (),
    "reddit.com": ("user", "u", "r"), "tiktok.com": (), "douyin.com": ("user",),
    "mastodon.social": (), "bsky.app": ("profile",), "substack.com": (),
}


def is_profile_url(url: str) -> bool:
    """True for a home page or a person's page (a bare domain, x.com/NAME, youtube.com/@NAME,
    github.com/NAME): it says who wrote something, not which story, so it never identifies one."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:  # e.g. a broken IPv6 literal: not a page of anyone's
        return False
    if parts.scheme.lower() not in DEFAULT_PORTS or not hostname:
        return False
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments:
        return not parts.query  # a bare domain (a query may name an article: /?p=29169)
    host = hostname.lower().rstrip(".")
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    if host not in _PROFILE_SITES:
        return False
    if len(segments) == 1:
        # x.com/NAME, github.com/NAME, medium.com/@NAME; on YouTube only /@NAME (/watch is a video)
        return host != "youtube.com" or segments[0].startswith("@")
    return len(segments) == 2 and segments[0].lower() in _PROFILE_SITES[host]


def content_hash(*parts: str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def item_key(*, guid: str | None = None, url: str | None = None, title: str | None = None,
             content: str | None = None) -> str:
    """Identity of an item: its GUID, else its canonical URL, else a hash of title and content."""
    if guid and guid.strip():
        return f"guid:{guid.strip()}"
    if url and url.strip():
        return f"url:{canonicalize(url)}"
    return f"hash:{content_hash(title, content)}"


_SCHEME_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# A host the user might type without a scheme: dotted labels ending in a letter TLD,
# an IPv4 address, or localhost; an optional port.
_BARE_HOST = re.compile(
    r"^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,})(?::\d{1,5})?$"
)


def normalize_user_url(text: str) -> str:
    """An http(s) URL typed by the user, with https:// added when only a host was typed.

    Raises InputError naming the input when it cannot be an http(s) URL.
    """
    candidate = text.strip()
    if not candidate:
        raise InputError("empty URL")
    if any(ch.isspace() for ch in candidate):
        raise InputError(f"URL {candidate!r} contains spaces")
    scheme_match = _SCHEME_PREFIX.match(candidate)
    # "example.com:8080/x" parses as scheme "example.com"; only treat it as a scheme when it
    # is not a host followed by a port.
    if scheme_match and not _BARE_HOST.match(candidate.split("/", 1)[0]):
        scheme = scheme_match.group(1).lower()
        if scheme not in DEFAULT_PORTS:
            raise InputError(f"URL {candidate!r} is not http(s) (scheme {scheme}:)")
    else:
        if not _BARE_HOST.match(re.split(r"[/?#]", candidate, maxsplit=1)[0]):
            raise InputError(f"{candidate!r} is not a URL (no http(s):// and no host name)")
        candidate = f"https://{candidate}"
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname
    except ValueError as exc:  # "http://[" and other broken IPv6 literals
        raise InputError(f"URL {candidate!r} has an invalid host ({exc})") from exc
    if not hostname:
        raise InputError(f"URL {candidate!r} has no host")
    try:
        parts.port
    except ValueError as exc:
        raise InputError(f"URL {candidate!r} has an invalid port") from exc
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, parts.fragment))
