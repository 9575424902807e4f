"""Article pages: `fetch_page()` downloads one (HTML only), `decode_html()` turns its bytes into
text we trust, `extract_page()` hands that text to trafilatura for the main text and metadata.

We decode before trafilatura does: its own charset guess turns about one in five GBK pages into
mojibake (shared/LIBRARIES.md). Candidates, most trusted first: the HTTP header's charset, the
page's <meta> charset, strict UTF-8, charset-normalizer's guess, GB18030. A candidate that fails
to decode, or decodes into mojibake, gives way to the next one.
"""

from __future__ import annotations

import mimetypes
import multiprocessing
import os
import re
import threading

import httpx
import trafilatura
from lxml import etree
from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio
from trafilatura.utils import load_html

from jiandu.connectors.errors import BlockedAddress, FetchError, ParseError, TooLarge, UnsupportedContent
from jiandu.connectors.feeds import normalise_encoding
from jiandu.connectors.http import as_local_path, fetch
from jiandu.dates import iso_to_utc
from jiandu.records import Extracted, PageFetch

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
# The <meta charset> / http-equiv prescan looks at ASCII bytes of the head only.
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_PRESCAN_BYTES = 8192
_SINGLE_BYTE_LATIN = {"latin-1", "cp1252", "iso8859-15", "ascii"}
_MESS_LIMIT = 0.2  # charset-normalizer's chaos ratio above which we call a decoding mojibake
# trafilatura shares compiled lxml XPath objects between calls, and those are not thread-safe:
# two extractions at once crashed the process (SIGSEGV) about one run in twelve. Fetching stays
# concurrent; extraction, which holds the GIL most of the time anyway, goes one at a time.
_TRAFILATURA = threading.Lock()
# The cost budget of one extraction. trafilatura's time and memory grow with the number of
# elements (a page of 150,000 links: 17 s and 660 MB; 500,000: 132 s and 1.2 GB), while the
# largest real article page in the readability corpus has about 10,000. Over the budget, the
# parts that never hold an article are pruned; still over, the page is refused, not extracted.
MAX_EXTRACT_ELEMENTS = 50_000
# Within that, shapes differ (48,000 nested elements took 8 s): a page over TIMED_FROM elements
# (past every real page in that corpus) is read in a worker process killed after EXTRACT_SECONDS.
TIMED_FROM = 15_000
EXTRACT_SECONDS = 20.0
# One such worker per core at most, however many pages are fetched at once (each holds a page's
# tree and trafilatura, a few hundred MB).
_TIMED_WORKERS = threading.BoundedSemaphore(os.cpu_count() or 1)
_NEVER_ARTICLE = ("script", "style", "noscript", "svg", "template", "iframe", "select", "form",
                  "nav", "footer", "aside", "button")


def fetch_page(client: httpx.Client, url: str, *, max_bytes: int = 10_000_000,
               allow_private: bool = False, allow_files: bool = False,
               per_host_limit: int = 2) -> PageFetch:
    """Download an HTML page (or read a local .html file when allow_files)."""
    path = as_local_path(url)
    if path is not None:
        if not allow_files:
            raise BlockedAddress(url, "local files are not allowed here")
        content_type = mimetypes.guess_type(path.name)[0] or ""
        if content_type not in HTML_TYPES:
            raise UnsupportedContent(url, content_type)
        try:
            if path.stat().st_size > max_bytes:
                raise TooLarge(url, max_bytes)
            body = path.read_bytes()
        except OSError as exc:
            raise FetchError(url, f"cannot read page file: {exc.strerror or exc}") from exc
        return PageFetch(url=str(path.resolve()), status=0, content_type=content_type,
                         charset=None, body=body)
    result = fetch(client, url, headers={"Accept": PAGE_ACCEPT}, max_bytes=max_bytes,
                   allow_private=allow_private, per_host_limit=per_host_limit,
                   content_types=HTML_TYPES | {""})
    content_type = result.content_type or "text/html"
    if not result.content_type and not result.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise UnsupportedContent(url, "(none, and the body is not markup)")
    return PageFetch(url=result.url, status=result.status, content_type=content_type,
                     charset=result.charset, body=result.body)


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """The page's text, decoded by the most trusted candidate that yields no mojibake."""
    declared = _META_CHARSET.search(body[:_PRESCAN_BYTES])
    candidates = [header_charset, declared.group(1).decode("ascii") if declared else None,
                  "utf-8"]
    guess = from_bytes(body[:200_000]).best()
    candidates += [guess.encoding if guess else None, "gb18030"]
    tried: set[str] = set()
    for name in candidates:
        encoding = normalise_encoding(name)
        if encoding is None or encoding in tried:
            continue
        tried.add(encoding)
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _looks_like_mojibake(text, body, encoding):
            return text
    return body.decode("utf-8", errors="replace")


def _within_budget(tree, url: str) -> int:  # noqa: ANN001 - an lxml element
    """Prune a page over the element budget; raise ParseError if it is still over. Returns
    the page's element count."""
    count = _elements(tree)
    if count <= MAX_EXTRACT_ELEMENTS:
        return count  # the usual case: the page goes to trafilatura untouched
    etree.strip_elements(tree, *_NEVER_ARTICLE, with_tail=False)
    pruned = _elements(tree)
    if pruned > MAX_EXTRACT_ELEMENTS:
        raise ParseError(url, f"page too large to extract: {pruned:,} elements after pruning "
                              f"{count - pruned:,} (budget {MAX_EXTRACT_ELEMENTS:,})")
    return pruned


def _elements(tree) -> int:  # noqa: ANN001 - an lxml element
    return sum(1 for _ in tree.iter())


def _looks_like_mojibake(text: str, body: bytes, encoding: str) -> bool:
    if encoding in _SINGLE_BYTE_LATIN and not body.isascii():
        try:
            body.decode("utf-8")
            return True  # valid multi-byte UTF-8 is practically never real Latin-1 text
        except UnicodeDecodeError:
            pass
    return mess_ratio(text[:100_000], _MESS_LIMIT) >= _MESS_LIMIT


def extract_page(page: PageFetch) -> Extracted:
    """Main text (paragraphs separated by blank lines) and metadata; ParseError if none."""
    text = decode_html(page.body, page.charset)
    with _TRAFILATURA:
        try:
            tree = load_html(text)
        except ValueError as exc:
            raise ParseError(page.url, f"not parseable as HTML: {exc}") from exc
        if tree is None:
            raise ParseError(page.url, "not parseable as HTML")
        language = (tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
                    or None)
        elements = _within_budget(tree, page.url)
        if elements <= TIMED_FROM:
            document = _document_fields(tree, page.url)
        else:
            html = etree.tostring(tree, encoding="unicode")
    if elements > TIMED_FROM:  # outside the lock: other pages extract meanwhile
        document = _with_time_budget(html, page.url, elements)
    main_text = document["text"] if document is not None else None
    if not main_text or not main_text.strip():
        raise ParseError(page.url, "no main text found in the page")
    paragraphs = (line.strip() for line in main_text.splitlines())
    return Extracted(text="\n\n".join(p for p in paragraphs if p),
                     title=document["title"] or None,
                     author=document["author"] or None,
                     date=iso_to_utc(document["date"]),
                     sitename=document["sitename"] or None,
                     language=document["language"] or (language.strip() if language else None),
                     url=document["url"] if document["url"] and document["url"] != page.url else None)


def _document_fields(tree, url: str) -> dict | None:  # noqa: ANN001 - an lxml element
    """trafilatura's reading of a page, as plain values (they cross a process boundary)."""
    document = trafilatura.bare_extraction(tree, url=url, with_metadata=True,
                                           include_comments=False, include_tables=True)
    if document is None:
        return None
    return {name: getattr(document, name, None)
            for name in ("text", "title", "author", "date", "sitename", "language", "url")}


def _fields_of_html(html: str, url: str) -> dict | None:
    """In a worker process: parse and read a large page."""
    tree = load_html(html)
    return _document_fields(tree, url) if tree is not None else None


def _with_time_budget(html: str, url: str, elements: int) -> dict | None:
    """A large page is read in a worker process that is killed past EXTRACT_SECONDS: a
    thread cannot be stopped, a process can."""
    with _TIMED_WORKERS, multiprocessing.get_context("spawn").Pool(1) as pool:
        pending = pool.apply_async(_fields_of_html, (html, url))
        try:
            return pending.get(timeout=EXTRACT_SECONDS)
        except multiprocessing.TimeoutError:  # leaving the with block kills the worker
            raise ParseError(url, f"extraction stopped after {EXTRACT_SECONDS:g} s (time budget); "
                                  f"the page has {elements:,} elements") from None
