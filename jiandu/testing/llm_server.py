"""A real OpenAI-compatible chat server on 127.0.0.1 for tests, benchmarks and manual runs.

    with LLMServer(latency=0.0) as server:
        client = OpenAI(base_url=server.base_url, api_key="test")
        server.behaviour = sequence(rate_limited(1), ok)   # first request 429, then fine

By default it answers a valid summary made deterministically from the article in the prompt:
three bullets copied from the article's own sentences, so the answer is faithful. A behaviour is
any callable (request_json, request_number) -> Reply; request numbers count from 1 per server.
It records every request and the peak number of requests in flight.

Command line: python -m jiandu.testing.llm_server --port 8080 --latency 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

_ARTICLE = re.compile(r"<article>\n(.*?)\n</article>", re.S)
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n")
_ZI = re.compile(r"[\u3400-\u9fff]|[A-Za-z0-9]+")


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # None: the default answer for the request
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (on top of the server's latency)
    raw_body: bytes | None = None  # sent as is, replacing the whole JSON body
    refusal: str | None = None


Behaviour = Callable[[dict, int], Reply]


def article_text(request: dict) -> str:
    """The fenced article of the request's first user message."""
    for message in request.get("messages", []):
        if message.get("role") == "user":
            match = _ARTICLE.search(message.get("content") or "")
            if match:
                return match.group(1)
    return ""


def sections_of(request: dict) -> list[str]:
    response_format = request.get("response_format") or {}
    schema = response_format.get("schema") or (response_format.get("json_schema") or {}).get("schema")
    if schema:
        return schema["properties"]["section"].get("enum") or ["其他"]
    prompt = " ".join(m.get("content") or "" for m in request.get("messages", []))
    match = re.search(r'"section":\s*\{[^{}]*"enum":\s*(\[[^\]]*\])', prompt)
    return json.loads(match.group(1)) if match else ["其他"]


def bullets_from(text: str, count: int = 3, *, pad: bool = True) -> list[str]:
    """Runs of neighbouring sentences of 60+ 字 (fewer if the text is short), from the text."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(re.match(r"\s*-\s+", line) for line in lines):
        text = re.sub(r"^\s*-\s+", "", text, flags=re.M)  # notes from map requests are "- " lists
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    bullets, current = [], ""
    for sentence in sentences:
        joiner = " " if current and sentence[:1].isascii() else ""
        current = f"{current}{joiner}{sentence}"
        if len(_ZI.findall(current)) >= 60:
            bullets.append(current)
            current = ""
        if len(bullets) == count:
            break
    if current and len(bullets) < count:
        if bullets and len(_ZI.findall(current)) < 30:  # a scrap is no bullet: keep it with the last
            bullets[-1] = f"{bullets[-1]} {current}"
        else:
            bullets.append(current)
    while pad and bullets and len(bullets) < count:
        bullets.append(bullets[-1])
    return bullets


def default_answer(request: dict) -> str:
    text = article_text(request)
    if not request.get("response_format"):  # a map request: notes, one per line
        return "\n".join(f"- {bullet}" for bullet in bullets_from(text, 2, pad=False))
    bullets = bullets_from(text)
    return json.dumps(
        {
            "title": "简读：" + (bullets[0][:20] if bullets else "空"),
            "emoji": "📰",
            "section": sections_of(request)[0],
            "importance": 3,
            "bullets": bullets,
        },
        ensure_ascii=False,
    )


def _with_bullets(request: dict, change: Callable[[list[str]], list[str]]) -> str:
    answer = json.loads(default_answer(request))
    answer["bullets"] = change(answer["bullets"])
    return json.dumps(answer, ensure_ascii=False)


# Behaviours: each returns a Reply for one request.
def ok(request: dict, number: int) -> Reply:
    return Reply()


def rate_limited(retry_after: str | float = 1) -> Behaviour:
    return lambda request, number: Reply(status=429, headers={"Retry-After": str(retry_after)})


def server_error(request: dict, number: int) -> Reply:
    return Reply(status=500)


def slow(seconds: float) -> Behaviour:
    return lambda request, number: Reply(delay=seconds)


def truncated_json(request: dict, number: int) -> Reply:
    answer = default_answer(request)
    return Reply(content=answer[: len(answer) // 2])


def bullet_count(count: int) -> Behaviour:
    def behaviour(request: dict, number: int) -> Reply:
        return Reply(content=_with_bullets(request, lambda b: (b * 2)[:count]))

    return behaviour


def empty_content(request: dict, number: int) -> Reply:
    return Reply(content="")


def refusal(request: dict, number: int) -> Reply:
    return Reply(content="", refusal="I can't help with that.")


def shortcode_emoji(request: dict, number: int) -> Reply:
    answer = json.loads(default_answer(request))
    answer["emoji"] = ":computer:"
    return Reply(content=json.dumps(answer, ensure_ascii=False))


def invented_number(request: dict, number: int) -> Reply:
    """A faithful answer but for one bullet stating a figure the article never gives."""
    return Reply(content=_with_bullets(request, lambda b: [b[0] + "该公司估值达到987654亿元。", *b[1:]]))


def sequence(*behaviours: Behaviour, then: Behaviour = ok) -> Behaviour:
    """The n-th request this behaviour sees gets the n-th behaviour, later ones `then`."""
    seen = itertools.count()
    lock = threading.Lock()

    def behaviour(request: dict, number: int) -> Reply:
        with lock:
            index = next(seen)
        return (behaviours[index] if index < len(behaviours) else then)(request, number)

    return behaviour


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner = self.server.owner
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        try:
            request = json.loads(body)
        except ValueError:
            return self._send(400, {"error": {"message": "body is not JSON"}})
        number = owner._enter(request)
        try:
            reply = owner.behaviour(request, number)
            time.sleep(owner.latency + reply.delay)
            if reply.raw_body is not None:
                return self._send_bytes(reply.status, reply.raw_body, reply.headers)
            if reply.status != 200:
                message = {"error": {"message": f"scripted status {reply.status}", "type": "test"}}
                return self._send(reply.status, message, reply.headers)
            content = default_answer(request) if reply.content is None else reply.content
            prompt = "".join(m.get("content") or "" for m in request.get("messages", []))
            completion = {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "test"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": reply.refusal},
                        "finish_reason": "stop",
                    }
                ],
                # Deterministic stand-ins for token counts: a token per two characters.
                "usage": {
                    "prompt_tokens": len(prompt) // 2,
                    "completion_tokens": len(content) // 2,
                    "total_tokens": len(prompt) // 2 + len(content) // 2,
                },
            }
            self._send(200, completion, reply.headers)
        finally:
            owner._leave()

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None):
        self._send_bytes(status, json.dumps(payload, ensure_ascii=False).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to tell it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048  # a benchmark opens a thousand connections at once
    owner: "LLMServer"

    def handle_error(self, request, client_address):
        pass  # clients that time out close their sockets mid-answer; that is expected here


class LLMServer:
    """Context manager running the server in a daemon thread; port 0 picks a free port."""

    def __init__(self, behaviour: Behaviour = ok, *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0):
        self.behaviour = behaviour
        self.latency = latency
        self.requests: list[dict] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _enter(self, request: dict) -> int:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return len(self.requests)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def start(self) -> "LLMServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "LLMServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible test chat server (faithful extractive answers)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    args = parser.parse_args(argv)
    server = LLMServer(latency=args.latency, host=args.host, port=args.port)
    print(f"serving {server.base_url} (latency {args.latency}s); Ctrl-C to stop", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
