"""Read the material the user already saves: URL lists, Markdown notes, Logseq outlines,
clippings files of saved posts, and browsers' Netscape bookmark exports.

`read_saved_file(path)` detects the format from the content, and returns one SavedRecord per
link (to be fetched) or per clipped post (whose own text is the item). Within one file every
link appears once (by canonical URL), so importing a file twice adds nothing new.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import lxml.etree
import lxml.html
from charset_normalizer import from_bytes
from markdown_it import MarkdownIt
from markdown_it.token import Token

from jiandu.errors import InputError, JianduError
from jiandu.records import SavedRecord
from jiandu.urls import canonicalize, is_profile_url, item_key, normalize_user_url

MAX_FILE_BYTES = 20 * 1024 * 1024
# The user writes in Chinese; big5 and the like are left out because short GBK text is
# often mistaken for them. cp1252 last, for old Western notes.
CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "utf_16", "utf_32", "cp1252"]
# A clipped post needs this many letters/digits of its own (beyond its links) to be an item;
# fewer ("原文：<url>") and the post is just a way of saving its links.
MIN_OWN_TEXT_CHARS = 10
CLIPPING_TITLE_CHARS = 60


class SavedFileError(JianduError):
    """A saved-material file that cannot be read; str() is one line naming the file."""

    def __init__(self, path: Path | str, reason: str):
        self.path = Path(path)
        self.reason = " ".join(reason.split())
        super().__init__(f"{self.path}: {self.reason}")


class SavedFormat(str, Enum):
    URL_LIST = "urls"
    MARKDOWN = "markdown"
    LOGSEQ = "logseq"
    CLIPPINGS = "clippings"
    BOOKMARKS = "bookmarks"


# --- reading and format detection -------------------------------------------------------

_NETSCAPE_DOCTYPE = re.compile(r"^\s*<!DOCTYPE\s+NETSCAPE-Bookmark-file-1\s*>", re.IGNORECASE)
_LOOKS_LIKE_HTML = re.compile(r"^\s*<(?:!DOCTYPE\s+html|html[\s>]|head[\s>]|body[\s>]|\?xml)",
                              re.IGNORECASE)
_CLIPPING_HEADING = re.compile(r"^###[ \t]*(\d+)[ \t]*$", re.MULTILINE)
_CLIPPING_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_HANDLE = re.compile(r"^@\w{1,50}$")
_LOGSEQ_BLOCK = re.compile(r"^[\t ]*-(?:[ \t]|$)")
_LOGSEQ_CONTINUATION = re.compile(r"^[\t ]+\S")
_LOGSEQ_PROPERTY = re.compile(r"^[A-Za-z][\w-]*::(?:[ \t]|$)")
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data, cp_isolation=CANDIDATE_ENCODINGS).best()
        if best is None:
            raise SavedFileError(path, "binary or undecodable content (not UTF-8 or GBK text)")
        text = str(best)
    control = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    if "\x00" in text or control > max(2, len(text) // 100):
        raise SavedFileError(path, "binary content (control characters), not a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_format(text: str) -> SavedFormat:
    """Which kind of saved-material file this text is, judged by its content."""
    if _NETSCAPE_DOCTYPE.match(text) or _LOOKS_LIKE_HTML.match(text):
        return SavedFormat.BOOKMARKS  # read_saved_file rejects HTML that is not an export
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return SavedFormat.MARKDOWN
    if _CLIPPING_HEADING.match(lines[0].strip()) and _has_dated_sections(text):
        return SavedFormat.CLIPPINGS
    if _is_logseq(lines):
        return SavedFormat.LOGSEQ
    if all(_is_typed_url(line) for line in lines):
        return SavedFormat.URL_LIST
    return SavedFormat.MARKDOWN


def _has_dated_sections(text: str) -> bool:
    bodies = _CLIPPING_HEADING.split(text)[2::2]
    dated = sum(1 for body in bodies if _clipping_date(_first_line(body)))
    return dated * 2 >= len(bodies)


def _first_line(body: str) -> str:
    return next((line.strip() for line in body.split("\n") if line.strip()), "")


def _is_logseq(lines: list[str]) -> bool:
    content = [line for line in lines if not _LOGSEQ_PROPERTY.match(line)]
    if not content or not content[0].startswith("-"):
        return False
    return all(_LOGSEQ_BLOCK.match(line) or _LOGSEQ_CONTINUATION.match(line) for line in content)


def _is_typed_url(line: str) -> bool:
    try:
        normalize_user_url(line)
    except InputError:
        return False
    return True


def read_saved_file(path: Path) -> list[SavedRecord]:
    """Every link and clipped post in one saved-material file, each once, in file order."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SavedFileError(path, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise SavedFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    text = _decode(path, data)
    folder = path.resolve().parent
    kind = detect_format(text)
    if path.suffix.lower() in _HTML_SUFFIXES and kind is not SavedFormat.BOOKMARKS:
        raise SavedFileError(path, "named like a bookmarks export (.html) but is not HTML")
    if kind is SavedFormat.BOOKMARKS:
        return _read_bookmarks(path, text)
    if kind is SavedFormat.CLIPPINGS:
        return _read_clippings(text, folder)
    if kind is SavedFormat.LOGSEQ:
        found = _links_in_logseq(text, folder)
    elif kind is SavedFormat.URL_LIST:
        found = ((normalize_user_url(line), None) for line in text.split("\n") if line.strip())
    else:
        found = _links_in_markdown(text, folder)
    return _link_records(found)


# --- links in Markdown and Logseq -------------------------------------------------------

# A bare URL ends at whitespace or at the first non-ASCII character: in Chinese prose a link
# is usually followed directly by text or full-width punctuation ("见https://a.cn/x了解"),
# and URLs pasted from browsers are percent-encoded.
_BARE_URL = re.compile(r"https?://[!#-;=?-~]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?'\"*_~>"


def _markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    # Schemes are judged by _resolve_link (which also allows file: inside the note's folder).
    md.validateLink = lambda url: True
    return md


_MARKDOWN = _markdown_parser()


def bare_urls(text: str) -> Iterator[str]:
    """http(s) URLs written as plain text, without the punctuation that follows them."""
    for match in _BARE_URL.finditer(text):
        url = _strip_unbalanced_closers(match.group(0).rstrip(_TRAILING_PUNCTUATION))
        if _http_host(url):
            yield url


def _strip_unbalanced_closers(url: str) -> str:
    # "(see https://a.com/x)" ends before the ")", "https://en.wikipedia.org/wiki/A_(b)" keeps it.
    for opener, closer in ("()", "[]"):
        while url.endswith(closer) and url.count(closer) > url.count(opener):
            url = url[:-1].rstrip(_TRAILING_PUNCTUATION)
    return url


def _http_host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            return None
        parts.port  # raises ValueError on a malformed port
        return parts.hostname
    except ValueError:
        return None


def _resolve_link(href: str, folder: Path) -> str | None:
    """An absolute http(s) URL, an existing file inside the note's folder, or None (skipped)."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    if href.startswith("//"):
        href = f"https:{href}"
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return href if _http_host(href) else None
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return None
        return _local_file(Path(url2pathname(parts.path)), folder)
    if scheme:
        return None  # mailto:, javascript:, data:, ...
    return _local_file(Path(unquote(parts.path)), folder)


def _local_file(candidate: Path, folder: Path) -> str | None:
    # Only files inside the note's folder: a note must not make the pipeline read (and send
    # to a summariser) arbitrary files such as ~/.ssh/id_rsa.
    try:
        resolved = (folder / candidate).resolve()
        if resolved.is_relative_to(folder) and resolved.is_file():
            return str(resolved)
    except (OSError, ValueError, RuntimeError):
        pass
    return None


def _links_in_inline(children: Iterable[Token], folder: Path) -> Iterator[tuple[str, str | None]]:
    """Links of one paragraph or heading: [title](url) and bare URLs; images are not links."""
    plain: list[str] = []  # the paragraph's text outside links, for bare URLs
    link_href: str | None = None
    link_text: list[str] = []
    for token in children:
        if token.type == "link_open":
            link_href, link_text = str(token.attrGet("href") or ""), []
        elif token.type == "link_close":
            resolved = _resolve_link(link_href or "", folder)
            # <https://...> autolinks show the URL itself, which is no title.
            title = None if token.markup == "autolink" else "".join(link_text).strip() or None
            if resolved:
                yield resolved, title
            link_href = None
            plain.append(" ")
        elif link_href is not None:
            if token.type in ("text", "code_inline"):
                link_text.append(token.content)
        elif token.type == "text":
            plain.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            plain.append("\n")
        elif token.type.endswith(("_open", "_close")):
            plain.append(token.markup)  # emphasis markers may sit inside a bare URL
        else:
            plain.append(" ")  # images, code spans, inline HTML
    for url in bare_urls("".join(plain)):
        yield url, None


def _links_in_markdown(text: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    for token in _MARKDOWN.parse(text):
        if token.type == "inline" and token.children:
            yield from _links_in_inline(token.children, folder)


def _links_in_logseq(text: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    # Each block is read on its own: Logseq's deep tab indentation would otherwise turn into
    # Markdown code blocks. [[page]] and #tag are Logseq's own links, not URLs.
    in_fence = False
    for line in text.split("\n"):
        content = _LOGSEQ_BLOCK.sub("", line, count=1).strip()
        if content.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or not content:
            continue
        for token in _MARKDOWN.parseInline(content):
            yield from _links_in_inline(token.children or [], folder)


def _link_records(found: Iterable[tuple[str, str | None]]) -> list[SavedRecord]:
    records: dict[str, SavedRecord] = {}
    for url, title in found:
        key = item_key(url=url)
        record = records.get(key)
        if record is None:
            records[key] = SavedRecord(key=key, url=url, title=title)
        elif record.title is None and title:
            record.title = title  # a later [title](url) names a link first seen bare
    return list(records.values())


# --- clippings ---------------------------------------------------------------------------


def _clipping_date(line: str) -> date | None:
    match = _CLIPPING_DATE.match(line)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _read_clippings(text: str, folder: Path) -> list[SavedRecord]:
    pieces = _CLIPPING_HEADING.split(text)
    records: dict[str, SavedRecord] = {}

    def keep(record: SavedRecord) -> None:
        known = records.setdefault(record.key, record)
        if known.title is None and record.title:
            known.title = record.title

    for record in _link_records(_links_in_markdown(pieces[0], folder)):
        keep(record)
    for body in pieces[2::2]:
        post = _parse_post(body, folder)
        if isinstance(post, SavedRecord):
            keep(post)
        elif post:
            for record in _link_records(post):
                keep(record)
    return list(records.values())


CLIPPING_PROFILE_BASE = "https://x.com/"


def _parse_post(body: str, folder: Path) -> SavedRecord | list[tuple[str, str | None]] | None:
    """A post with text of its own is one clipping; a post of bare links gives its links."""
    lines = body.split("\n")
    filled = [index for index, line in enumerate(lines) if line.strip()]
    if not filled:
        return None
    start = filled.pop(0)
    published = _clipping_date(lines[start].strip())
    if published:
        start = filled.pop(0) if filled else len(lines)
    author = handle = None
    # The author is a display name on one line and "@handle" on the next non-blank one.
    if filled and _HANDLE.match(lines[filled[0]].strip()) and not _HANDLE.match(lines[start].strip()):
        author = f"{lines[start].strip()} {lines[filled[0]].strip()}"
        handle = lines[filled[0]].strip()
        start = filled[0] + 1
    as_saved = _tidy("\n".join(lines[start:]))
    post_text = _plain(as_saved)
    if not post_text:
        return None
    # A post is plain text, not Markdown: indented lines are not code blocks.
    found = (link for token in _MARKDOWN.parseInline(post_text)
             for link in _links_in_inline(token.children or [], folder))
    first_by_canonical: dict[str, str] = {}
    for url, _ in found:
        first_by_canonical.setdefault(canonicalize(url), url)
    links = list(first_by_canonical.values())
    if _own_text_chars(post_text) < MIN_OWN_TEXT_CHARS:
        return [(url, None) for url in links]
    when = f"{published.isoformat()}" if published else ""
    # The post's own text (with its author and date) is its identity. Its url, which stories
    # are merged by, is the first link to a story: an author's page or a bare home page says
    # who wrote it, not what about, and would fold every post of one author into one story.
    story_links = [url for url in links if not is_profile_url(url)]
    if not links and handle:
        # Saved X (Twitter) posts in this shape lack the post's own address: the author's page
        # is the nearest original a reader can open. A link to show, never the item's url.
        links = [f"{CLIPPING_PROFILE_BASE}{handle.lstrip('@')}"]
    return SavedRecord(
        # Keyed on the text as saved, so a file imported before and after _plain() existed is
        # still the same items.
        key=item_key(title=f"{handle or author or ''} {when}", content=" ".join(as_saved.split())),
        url=story_links[0] if story_links else None,
        title=_clipping_title(post_text),
        text=post_text,
        author=author,
        published=datetime(published.year, published.month, published.day, tzinfo=timezone.utc)
        if published else None,
        links=links,
    )


_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def _plain(text: str) -> str:
    """A post as its reader saw it: copied from a Markdown export, it carries escapes
    ("\\# explaining llm.c") and bold markers ("**马斯克：**") that are not part of the words."""
    return _STRONG.sub(r"\1", _MARKDOWN_ESCAPE.sub(r"\1", text))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _own_text_chars(text: str) -> int:
    without_links = _BARE_URL.sub(" ", text)
    return sum(1 for ch in without_links if unicodedata.category(ch)[0] in "LN")


_SENTENCE_END = re.compile(r"[。！？]|[!?.](?=\s|$)")
_CLAUSE_END = re.compile(r"[，、；：,;:](?=\s|\S)")


def _clipping_title(text: str) -> str:
    """The post's first sentence: whole when it fits CLIPPING_TITLE_CHARS, else cut where a
    clause ends (or between words), never in the middle of one."""
    lines = [" ".join(line.split()) for line in _BARE_URL.sub("", text).split("\n")]
    first = next((line for line in lines if line), " ".join(text.split()))
    if first.startswith("# "):
        first = first[2:]  # a Markdown heading marker, not part of the words
    sentence = _SENTENCE_END.search(first)
    if sentence and sentence.end() <= CLIPPING_TITLE_CHARS:
        first = first[: sentence.end()]
    if len(first) <= CLIPPING_TITLE_CHARS:
        return first.rstrip("：:，,；; ")
    head = first[:CLIPPING_TITLE_CHARS]
    clauses = [m.start() for m in _CLAUSE_END.finditer(head) if m.start() >= 12]
    if clauses:
        return head[: clauses[-1]] + "…"
    space = head.rfind(" ")
    cut = space if space >= 12 else CLIPPING_TITLE_CHARS - 1
    return head[:cut].rstrip() + "…"


# --- Netscape bookmark exports -----------------------------------------------------------


def _read_bookmarks(path: Path, text: str) -> list[SavedRecord]:
    if not _NETSCAPE_DOCTYPE.match(text):
        raise SavedFileError(path, "an HTML page, not a Netscape bookmarks export "
                                   "(no <!DOCTYPE NETSCAPE-Bookmark-file-1>)")
    try:
        document = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise SavedFileError(path, f"bookmarks export cannot be parsed: {exc}") from exc
    if not document.xpath("//dl"):
        raise SavedFileError(path, "declares NETSCAPE-Bookmark-file-1 but has no bookmark list (<DL>)")
    records: dict[str, SavedRecord] = {}
    for anchor in document.iter("a"):
        url = _resolve_bookmark(anchor.get("href") or "")
        if url is None:
            continue  # place:, javascript:, chrome:// and the like
        key = item_key(url=url)
        if key not in records:
            records[key] = SavedRecord(
                key=key,
                url=url,
                title=" ".join(anchor.text_content().split()) or None,
                published=_epoch(anchor.get("add_date")),
            )
    return list(records.values())


def _resolve_bookmark(href: str) -> str | None:
    href = href.strip()
    return href if _http_host(href) else None


def _epoch(value: str | None) -> datetime | None:
    if not value or not value.strip().isdigit():
        return None
    seconds = int(value)
    # Browsers write seconds; some tools write milliseconds or microseconds.
    while seconds > 10**11:
        seconds //= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
