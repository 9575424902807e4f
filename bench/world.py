"""The loopback world a benchmark runs against: many sites on 127.0.0.x serving feeds and pages.

Every feed lives on its own address (127.0.0.2, 127.0.0.3, ...), so jiandu's per-host limit
applies as it would on the internet, where feeds are on different hosts. Pages are the real
articles of tests/fixtures/pages; each URL gets a variant whose text characters are permuted
(vowels among vowels, consonants among consonants, CJK characters among the page's own), so a
thousand URLs carry a thousand different texts (no near-duplicate merging, one LLM request
each) while the HTML, its size and the extraction work stay those of the real page.
"""

from __future__ import annotations

import gzip
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from jiandu.connectors.pages import decode_html

PAGES_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"
VOWELS = "aeiou"
CONSONANTS = "bcdfghjklmnpqrstvwxyz"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TEXT_RUN = re.compile(r">[^<]+<")
_CHARSET = re.compile(r"charset=[\"']?[\w-]+", re.I)
STALL_PATH = "/stalled-feed.xml"


@dataclass
class BasePage:
    name: str
    html: str  # decoded, with its charset declaration rewritten to utf-8
    cjk: str  # the distinct CJK characters of the page, in a fixed order


def load_base_pages(directory: Path = PAGES_DIR) -> list[BasePage]:
    pages = []
    for case in sorted(directory.iterdir()):
        source = case / "source.html.gz"
        if not source.exists():
            continue
        html = _CHARSET.sub("charset=utf-8", decode_html(gzip.decompress(source.read_bytes()), None))
        pages.append(BasePage(case.name, html, "".join(sorted(set(_CJK.findall(html))))))
    if not pages:
        raise FileNotFoundError(f"{directory}: no <case>/source.html.gz pages to serve")
    return pages


def _permutation(alphabet: str, rng: random.Random) -> dict[int, int]:
    shuffled = list(alphabet)
    rng.shuffle(shuffled)
    return {ord(a): ord(b) for a, b in zip(alphabet, shuffled)}


@dataclass
class World:
    """What the sites serve: `feeds` feeds of `entries_per_feed` entries, pages by number."""

    feeds: int
    entries_per_feed: int
    page_latency: float = 0.2  # seconds before every page answer
    feed_latency: float = 0.2  # seconds before every feed answer
    page_padding: int = 0  # bytes of HTML comment appended to every page (a bigger page)
    teaser_chars: int = 0  # feed entries carry this much of the article's text as content
    stall_seconds: float = 0.0  # STALL_PATH answers after this long (a slow source)
    version: int = 1  # bump to publish new entries; same version = 304 to a conditional GET
    base: list[BasePage] = field(default_factory=load_base_pages)
    counts: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tables: dict[int, dict[int, int]] = field(default_factory=dict)
    _texts: dict[int, str] = field(default_factory=dict)

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def enter_page(self) -> None:
        with self._lock:
            self.counts["pages_in_flight"] += 1
            self.counts["pages_peak_in_flight"] = max(self.counts["pages_peak_in_flight"],
                                                      self.counts["pages_in_flight"])

    def leave_page(self) -> None:
        with self._lock:
            self.counts["pages_in_flight"] -= 1

    def reset_counts(self) -> dict[str, int]:
        with self._lock:
            before = dict(self.counts)
            self.counts.clear()
        return before

    def _table(self, number: int) -> dict[int, int]:
        cached = self._tables.get(number)
        if cached is not None:
            return cached
        rng = random.Random(number)
        table = _permutation(VOWELS, rng) | _permutation(CONSONANTS, rng)
        table |= {ord(chr(a).upper()): ord(chr(b).upper()) for a, b in table.items()}
        page = self.base_of(number)
        if page.cjk:
            table |= _permutation(page.cjk, rng)
        with self._lock:
            if len(self._tables) > 256:
                self._tables.clear()
            self._tables[number] = table
        return table

    def base_of(self, number: int) -> BasePage:
        return self.base[number % len(self.base)]

    def vary(self, number: int, text: str) -> str:
        return text.translate(self._table(number))

    def page(self, number: int) -> bytes:
        """The page for item `number`: a real page with its text characters permuted."""
        table = self._table(number)
        html = _TEXT_RUN.sub(lambda run: run.group(0).translate(table), self.base_of(number).html)
        if self.page_padding:
            html += "<!--" + "x" * self.page_padding + "-->"
        return html.encode("utf-8")

    def item_number(self, feed: int, entry: int) -> int:
        return feed * self.entries_per_feed + entry

    def _base_text(self, index: int) -> str:
        if index not in self._texts:
            import trafilatura

            self._texts[index] = trafilatura.extract(self.base[index].html) or ""
        return self._texts[index]

    def feed(self, feed: int, host_url: str) -> bytes:
        """RSS 2.0 of the feed's entries, newest first, an hour apart."""
        start = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
        parts = [f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                 f"<title>Site {feed}</title><link>{host_url}/</link><description>bench</description>"]
        for entry in range(self.entries_per_feed):
            number = self.item_number(feed, entry)
            if self.teaser_chars:
                base_text = self._base_text(number % len(self.base))[: self.teaser_chars]
                teaser = self.vary(number, base_text)
            else:
                teaser = f"A short teaser for story {number}."
            parts.append(
                f"<item><guid isPermaLink='false'>site{feed}-{number}</guid>"
                f"<title>Story {number} of site {feed}</title>"
                f"<link>{host_url}/p/{number}.html</link>"
                f"<description>{escape(teaser)}</description>"
                f"<pubDate>{format_datetime(start - timedelta(minutes=entry))}</pubDate></item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    server: "_SiteServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:
        world, site = self.server.world, self.server.site
        path = self.path.split("?", 1)[0]
        if path == STALL_PATH:
            world.count("stalled")
            time.sleep(world.stall_seconds)
            return self._send(200, b"<rss/>", "application/rss+xml")
        if path == "/feed.xml":
            return self._feed(world, site)
        match = re.fullmatch(r"/p/(\d+)\.html", path)
        if match:
            world.count("pages")
            world.enter_page()
            try:
                time.sleep(world.page_latency)
                body = world.page(int(match.group(1)))
            finally:
                world.leave_page()
            return self._send(200, body, "text/html; charset=utf-8")
        world.count("not_found")
        self._send(404, b"no such page\n", "text/plain")

    def _feed(self, world: World, site: int) -> None:
        tag = f'"feed{site}-v{world.version}"'
        conditional = self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
        world.count("feed_conditional" if conditional else "feed_plain")
        time.sleep(world.feed_latency)
        if self.headers.get("If-None-Match") == tag:
            world.count("feed_304")
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        world.count("feed_200")
        body = world.feed(site, f"http://{self.server.server_address[0]}:{self.server.server_address[1]}")
        self._send(200, body, "application/rss+xml", {"ETag": tag})

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the slow-source scenario); nothing to tell it


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    world: World
    site: int

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on a stalled answer are the point of one scenario


class Sites:
    """One threaded HTTP server per site, site k on 127.0.0.(k+2), all on one port."""

    def __init__(self, world: World, sites: int) -> None:
        self.world = world
        self.servers: list[_SiteServer] = []
        self.threads: list[threading.Thread] = []
        port = 0
        for site in range(sites):
            server = _SiteServer((f"127.0.0.{site + 2}", port), _Handler)
            server.world, server.site = world, site
            port = server.server_address[1]
            self.servers.append(server)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name=f"site-{site}", daemon=True)
            thread.start()
            self.threads.append(thread)
        self.port = port

    def url(self, site: int, path: str) -> str:
        return f"http://127.0.0.{site + 2}:{self.port}{path}"

    def feed_urls(self) -> list[str]:
        return [self.url(site, "/feed.xml") for site in range(len(self.servers))]

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> "Sites":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
