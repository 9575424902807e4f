"""Feeds: `fetch_feed()` polls one feed with a conditional GET; `parse_feed()` turns bytes into
a FeedFetch with normalised FeedEntry records (feedparser for XML feeds, json for JSON Feed).

Encoding is decided here, not by feedparser, in this order of trust: the HTTP header's charset,
then the BOM / XML prolog, then the bytes themselves (UTF-8, else charset-normalizer's guess).
GB2312 and GBK are read as their superset GB18030, as browsers do. The decoded text is handed to
feedparser as UTF-8 without its XML declaration, so a declaration that lies cannot undo this.
"""

from __future__ import annotations

import codecs
import json
import re
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import charset_normalizer
import feedparser
import lxml.html
from lxml import etree

from jiandu.connectors.errors import FetchError, HTTPStatusError, ParseError, TooLarge
from jiandu.connectors.paths import as_local_path
from jiandu.dates import iso_to_utc
from jiandu.records import FeedEntry, FeedFetch
from jiandu.urls import item_key

if TYPE_CHECKING:  # the HTTP client is loaded only to fetch, not to read a file
    import httpx

DEFAULT_MAX_BYTES = 10_000_000
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
# Only the XML declaration is looked at with a pattern; it is ASCII by definition.
_XML_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "ascii": "utf-8", "latin-1": "cp1252",
              "iso8859-1": "cp1252"}
# A BOM, or how "<?" looks without one (XML 1.0 Appendix F); longest patterns first.
_XML_SNIFF = ((codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF32_LE, "utf-32"),
              (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_BE, "utf-16"),
              (codecs.BOM_UTF16_LE, "utf-16"), (b"\x00\x00\x00<", "utf-32-be"),
              (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
              (b"<\x00?\x00", "utf-16-le"))
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
               "blockquote", "pre", "section", "article", "header", "footer", "table", "dd",
               "dt", "figure", "figcaption", "hr"}


def fetch_feed(client: httpx.Client | None, url: str, *, etag: str | None = None,
               last_modified: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
               allow_private: bool = False, per_host_limit: int = 2) -> FeedFetch:
    """Poll one feed. 304 -> FeedFetch(status=304) unparsed; 410 -> gone=True; a local path or
    file:// URL is read from disk (status 0; `client` may then be None). Other failures raise
    FetchError subclasses."""
    path = as_local_path(url)
    if path is not None:
        return _read_local_feed(url, path, max_bytes, last_modified)
    from jiandu.connectors.http import fetch

    headers = {"Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        result = fetch(client, url, headers=headers, max_bytes=max_bytes,
                       allow_private=allow_private, per_host_limit=per_host_limit)
    except HTTPStatusError as exc:
        if exc.status == 410:
            return FeedFetch(status=410, url=url, gone=True)
        raise
    new_url = result.url if result.permanent_redirect else url
    new_etag = result.headers.get("etag") or etag
    new_last_modified = result.headers.get("last-modified") or last_modified
    if result.status == 304:
        return FeedFetch(status=304, url=new_url, permanently_moved=result.permanent_redirect,
                         etag=new_etag, last_modified=new_last_modified)
    parsed = parse_feed(result.body, url=result.url, content_type=result.content_type,
                        charset=result.charset)
    parsed.status = result.status
    parsed.url = new_url
    parsed.permanently_moved = result.permanent_redirect
    parsed.etag = new_etag
    parsed.last_modified = new_last_modified
    return parsed


def _read_local_feed(url: str, path: Path, max_bytes: int, last_modified: str | None) -> FeedFetch:
    """A feed file on disk; its modification time plays Last-Modified, so an unchanged file
    answers like a 304 and costs no parsing."""
    try:
        stat = path.stat()
        if stat.st_size > max_bytes:
            raise TooLarge(url, max_bytes)
        modified = formatdate(stat.st_mtime, usegmt=True)
        if last_modified == modified:
            return FeedFetch(status=304, url=url, last_modified=modified)
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(url, f"cannot read feed file: {exc.strerror or exc}") from exc
    parsed = parse_feed(body, url=str(path.resolve()))
    parsed.status = 0
    parsed.url = url
    parsed.last_modified = modified
    return parsed


def parse_feed(body: bytes, *, url: str, content_type: str | None = None,
               charset: str | None = None) -> FeedFetch:
    """Parse feed bytes fetched from `url` (an http(s) URL or an absolute local path).

    Returns FeedFetch(status=200, ...) with entries; a feed parsed with errors keeps what it
    yielded and sets `warning`. Raises ParseError if the bytes are not a feed at all."""
    base = _base_url(url)
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if "json" in (content_type or "") or stripped.startswith(b"{"):
        return _parse_json_feed(body, url, base)
    text = decode_feed_bytes(body, charset)
    document = _without_xml_declaration(text).encode("utf-8")
    headers = {"content-type": "application/xml; charset=utf-8"}
    if not base.startswith("file:"):  # feedparser mangles file: bases; _absolute_link copes
        headers["content-location"] = base
    try:
        result = feedparser.parse(document, response_headers=headers)
    except Exception as exc:  # feedparser is lenient; anything escaping it is a broken feed
        raise ParseError(url, f"feed parser failed: {exc}") from exc
    if not result.entries and not result.get("version") and _not_a_channel(result.feed):
        reason = result.get("bozo_exception") or "no RSS, Atom or RDF structure found"
        raise ParseError(url, f"not a feed: {reason}")
    warning = str(result.get("bozo_exception")) if result.get("bozo") else None
    # A feed read from disk has no address of its own; the address it declares stands in.
    declared = _declared_address(result.feed) if base.startswith("file:") else None
    entries = [_entry(raw, base, declared) for raw in result.entries]
    return FeedFetch(status=200, url=url, title=_detail_text(result.feed, "title"),
                     entries=entries, warning=warning)


def _not_a_channel(feed: Any) -> bool:
    """No channel title, or the document was an HTML page (feedparser keeps its root tags)."""
    return not feed.get("title") or any(tag in feed for tag in ("html", "xhtml_html", "head"))


def decode_feed_bytes(body: bytes, header_charset: str | None = None) -> str:
    """Decode by trust: header charset, BOM / XML prolog, UTF-8, charset-normalizer, cp1252."""
    candidates = [header_charset]
    for start, name in _XML_SNIFF:
        if body.startswith(start):
            candidates.append(name)
            break
    declared = _XML_DECLARED_ENCODING.match(body[:512])
    candidates.append(declared.group(1).decode("ascii") if declared else None)
    candidates.append("utf-8")
    for name in candidates:
        encoding = normalise_encoding(name)
        if encoding is None:
            continue
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    guess = charset_normalizer.from_bytes(body).best()
    if guess is not None:
        encoding = normalise_encoding(guess.encoding)
        if encoding is not None:
            return body.decode(encoding, errors="replace")
    return body.decode("cp1252", errors="replace")


def normalise_encoding(name: str | None) -> str | None:
    """Python's codec name for `name`, with GB2312/GBK widened to GB18030; None if unknown."""
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, canonical)


def _without_xml_declaration(text: str) -> str:
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("<?xml"):
        end = start.find("?>")
        if end != -1:
            return start[end + 2:]
    return start


def _entry(raw: Any, base: str, declared: str | None = None) -> FeedEntry:
    guid = (raw.get("id") or "").strip() or None
    url = _absolute_link(raw.get("link"), base, declared)
    title = _detail_text(raw, "title") or ""
    contents = [_html_or_text(part.get("value", ""), part.get("type"))
                for part in raw.get("content", [])]
    if raw.get("summary"):
        contents.append(_html_or_text(raw["summary"],
                                      raw.get("summary_detail", {}).get("type")))
    content = max(contents, key=len, default="")
    published = None
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get maps a missing updated_parsed to published_parsed, warning.
        published = _utc(dict.get(raw, field))
        if published is not None:
            break
    author = (raw.get("author") or "").strip() or None
    return FeedEntry(key=item_key(guid=guid, url=url, title=title, content=content), url=url,
                     guid=guid, title=title, author=author, published=published,
                     content=content)


def _detail_text(container: Any, name: str) -> str | None:
    value = container.get(name)
    if not value:
        return None
    detail_type = container.get(f"{name}_detail", {}).get("type")
    return _html_or_text(value, detail_type) or None


def _html_or_text(value: str, media_type: str | None) -> str:
    if media_type == "text/plain":
        return "\n".join(" ".join(line.split()) for line in value.splitlines()).strip()
    return html_to_text(value)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, one paragraph per block element, blank lines between."""
    if not html or not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(html.split())
    etree.strip_elements(root, "script", "style", "noscript", etree.Comment, with_tail=False)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n\n" + (element.text or "")
    paragraphs = (" ".join(chunk.split()) for chunk in root.text_content().split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def _utc(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


# --- local files and links ----------------------------------------------------------------

def _base_url(url: str) -> str:
    """The URL relative links resolve against: the feed's URL, or file:// for a local feed."""
    path = as_local_path(url)
    return path.resolve().as_uri() if path is not None else url


def _declared_address(feed: Any) -> str | None:
    """Where a feed says it lives: its rel=self link, else its home page (<link>), made
    absolute against the first; None when it declares no http(s) address."""
    links = feed.get("links") or []
    self_link = next((link.get("href") for link in links if link.get("rel") == "self"), None)
    home = feed.get("link")
    declared = None
    for candidate in (self_link, home):
        if candidate and candidate.strip():
            joined = urljoin(declared or "", candidate.strip())
            if urlsplit(joined).scheme in ("http", "https"):
                declared = declared or joined
    return declared


def _absolute_link(link: str | None, base: str, declared: str | None = None) -> str | None:
    """Absolute http(s) URL, or an absolute local path for links of a local feed; else None.

    xml:base is applied by feedparser (against the feed's URL). A relative link in a feed read
    from disk names a file beside it when there is one (saved pages), else a page at the
    address the feed declares (a copy of a published feed), as feed readers resolve it."""
    if not link or not link.strip():
        return None
    absolute = urljoin(base, link.strip())
    parts = urlsplit(absolute)
    if parts.scheme in ("http", "https"):
        return absolute if parts.netloc else None  # "http:./x" names no host
    if parts.scheme == "file":
        # feedparser turns file:///tmp/x into file://tmp/x; a file on another host is never
        # read, so an authority here is the first folder of a local path.
        local = parts.path if parts.netloc in ("", "localhost") else f"/{parts.netloc}{parts.path}"
        path = url2pathname(local)
        if declared and not Path(path).exists():
            return urljoin(declared, link.strip())
        return path
    return None


# --- JSON Feed (https://jsonfeed.org/version/1.1) -----------------------------------------

def _parse_json_feed(body: bytes, url: str, base: str) -> FeedFetch:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(url, f"not a JSON Feed: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list) or not str(
            document.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ParseError(url, "not a JSON Feed: no jsonfeed.org version or items list")
    declared = None
    if base.startswith("file:"):
        declared = next((str(document[field]) for field in ("feed_url", "home_page_url")
                         if str(document.get(field) or "").startswith(("http://", "https://"))), None)
    entries = [_json_entry(item, base, declared) for item in document["items"]
               if isinstance(item, dict)]
    title = document.get("title")
    return FeedFetch(status=200, url=url, title=title if isinstance(title, str) else None,
                     entries=entries)


def _json_entry(item: dict[str, Any], base: str, declared: str | None = None) -> FeedEntry:
    guid = str(item["id"]).strip() if item.get("id") not in (None, "") else None
    url = _absolute_link(item.get("url") or item.get("external_url"), base, declared)
    title = " ".join(str(item.get("title") or "").split())
    contents = [html_to_text(str(item.get("content_html") or "")),
                str(item.get("content_text") or "").strip(),
                str(item.get("summary") or "").strip()]
    content = max(contents, key=len)
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    names = [a.get("name") for a in authors if isinstance(a, dict) and a.get("name")]
    published = None
    for field in ("date_published", "date_modified"):
        published = iso_to_utc(item.get(field))
        if published is not None:
            break
    return FeedEntry(key=item_key(guid=guid, url=url, title=title, content=content), url=url,
                     guid=guid, title=title, author=", ".join(names) or None,
                     published=published, content=content)
