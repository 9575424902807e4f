"""Loopback webhook receivers for push tests: each records every POST (path, headers, body)
and answers with its `status` (200 receives; 500 refuses).

    with WebhookServer() as hook:
        url = f"json://user:secret@127.0.0.1:{hook.port}/hook"
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class WebhookServer:
    def __init__(self, status: int = 200) -> None:
        self.status = status

    def __enter__(self) -> "WebhookServer":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.status = self.status
        self._server.received = []
        self._server.lock = threading.Lock()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def received(self) -> list[tuple[str, dict, bytes]]:
        with self._server.lock:
            return list(self._server.received)

    def answer(self, status: int) -> None:
        self._server.status = status

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
