"""A real HTTP server on 127.0.0.1 for tests and benchmarks.

    with LocalHTTPServer() as server:
        server.route("/feed.xml", body=xml, headers={"Content-Type": "application/rss+xml"},
                     etag='"v1"')
        fetch(client, server.url("/feed.xml"))
        assert server.hits("/feed.xml") == 1
        assert server.requests("/feed.xml")[0]["user-agent"].startswith("jiandu")

Or, in pytest, import the fixture into the test module:

    from tests.support.http_server import http_server  # noqa: F401  (pytest fixture)

Each path answers from a mutable `Route`: status, body, headers, conditional-GET validators
(etag / last_modified answer 304 to a matching If-None-Match / If-Modified-Since), a delay
before answering, a "drip" body (one byte per `drip` seconds), an "endless" body, a redirect,
or a callable `handler(request_handler)` for anything odd. Requests are counted per path and
their headers recorded (lower-cased names), so a test can assert "no second download".
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

# An endless body stops after this much, so a client that never gives up cannot wedge a test.
ENDLESS_LIMIT_BYTES = 1 << 30
ENDLESS_CHUNK = b"x" * 65536


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None  # an HTTP date, compared as a string
    delay: float = 0.0  # seconds to wait before answering
    drip: float | None = None  # seconds between single bytes of the body
    endless: bool = False  # ignore body; send bytes until the client hangs up
    redirect: str | None = None  # Location (absolute URL or path); status defaults to 302
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so benchmarks do not pay a connect per request
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # tests stay quiet

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        route = self.server.owner._record(self.path, dict(self.headers.items()))
        if route is None:
            self._send(404, b"no route\n", {"Content-Type": "text/plain"}, send_body)
            return
        if route.delay:
            time.sleep(route.delay)
        if route.handler is not None:
            route.handler(self)
            return
        if route.redirect is not None:
            status = route.status if route.status != 200 else 302
            self._send(status, b"", {**route.headers, "Location": route.redirect}, send_body)
            return
        validators = {}
        if route.etag is not None:
            validators["ETag"] = route.etag
        if route.last_modified is not None:
            validators["Last-Modified"] = route.last_modified
        if self._not_modified(route):
            self._send(304, b"", validators, send_body=False)
            return
        headers = {**route.headers, **validators}
        if route.endless:
            self._send_endless(route.status, headers, send_body)
        elif route.drip is not None:
            self._send_drip(route, headers, send_body)
        else:
            self._send(route.status, route.body, headers, send_body)

    def _not_modified(self, route: Route) -> bool:
        if route.etag is not None and self.headers.get("If-None-Match"):
            tags = [tag.strip() for tag in self.headers["If-None-Match"].split(",")]
            return route.etag in tags or "*" in tags
        if route.last_modified is not None and self.headers.get("If-Modified-Since"):
            return self.headers["If-Modified-Since"] == route.last_modified
        return False

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict[str, str], send_body: bool) -> None:
        self._head(status, {**headers, "Content-Length": str(len(body))})
        if send_body and body:
            self.wfile.write(body)

    def _send_drip(self, route: Route, headers: dict[str, str], send_body: bool) -> None:
        # Connection: close, so a client that gave up half way never reuses this socket.
        self._head(route.status, {**headers, "Content-Length": str(len(route.body)),
                                  "Connection": "close"})
        self.close_connection = True
        if not send_body:
            return
        try:
            for i in range(len(route.body)):
                if self.server.owner.closed.is_set():
                    break
                self.wfile.write(route.body[i : i + 1])
                self.wfile.flush()
                time.sleep(route.drip or 0)
        except OSError:
            pass  # the client gave up, which is what the test wants to see

    def _send_endless(self, status: int, headers: dict[str, str], send_body: bool) -> None:
        # No Content-Length: the body ends when the connection closes (RFC 9112 §6.3).
        self._head(status, {**headers, "Connection": "close"})
        self.close_connection = True
        if not send_body:
            return
        sent = 0
        try:
            while sent < ENDLESS_LIMIT_BYTES and not self.server.owner.closed.is_set():
                self.wfile.write(ENDLESS_CHUNK)
                sent += len(ENDLESS_CHUNK)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalHTTPServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up (timeouts, size caps) are expected in these tests: stay quiet.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class LocalHTTPServer:
    """A threaded HTTP server on 127.0.0.1 (a free port), serving a mutable route table."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.owner = self
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, body: bytes | str = b"", **options: object) -> Route:
        """Serve `path` (exact, query included if given, else any query) with a new Route."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        route = Route(body=body, **options)  # type: ignore[arg-type]
        with self._lock:
            self.routes[path] = route
        return route

    def hits(self, path: str) -> int:
        """How many requests reached `path` (its query string ignored)."""
        return len(self.requests(path))

    def requests(self, path: str) -> list[dict[str, str]]:
        """Headers of every request to `path`, oldest first, with lower-cased names."""
        with self._lock:
            return list(self._requests.get(path, []))

    def reset_counts(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, raw_path: str, headers: dict[str, str]) -> Route | None:
        path = urlsplit(raw_path).path
        with self._lock:
            self._requests[path].append({k.lower(): v for k, v in headers.items()})
            return self.routes.get(raw_path) or self.routes.get(path)

    def close(self) -> None:
        self.closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """A fresh LocalHTTPServer for one test."""
    with LocalHTTPServer() as server:
        yield server
