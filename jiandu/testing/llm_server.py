"""A real OpenAI-compatible chat server on 127.0.0.1 for tests, benchmarks and manual runs.

    with LLMServer(latency=0.0) as server:
        client = OpenAI(base_url=server.base_url, api_key="test")
        server.behaviour = sequence(rate_limited(1), ok)   # first request 429, then fine

By default it answers a valid summary made deterministically from the article in the prompt:
three bullets copied from the article's own sentences, so the answer is faithful. A triage
request (its prompt holds <topic>...</topic>) is answered by content: relevant when the article
contains one of the topic's words (`triage_answer`). A behaviour is
any callable (request_json, request_number) -> Reply; request numbers count from 1 per server.
It records every request and the peak number of requests in flight.

Like llama.cpp's server and Ollama it streams when asked (`stream: true`, server-sent events,
usage in a last chunk when `stream_options.include_usage`), can write slowly
(`tokens_per_second`), stops any answer at the request's max_tokens (finish_reason "length"),
can run away (`runaway`: repeat a phrase until max_tokens, or 6,000 tokens without it), and
stops generating when the client hangs up (counted in `hangups`). A token here is one CJK
character or up to four other characters, about as real tokenizers count, in usage and streams.
`completion_tokens` records, per request, the tokens it actually wrote.

Command line: python -m jiandu.testing.llm_server --port 8080 --latency 2 --tokens-per-second 20
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import select
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

_ARTICLE = re.compile(r"<article>\n(.*?)\n</article>", re.S)
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n")
_ZI = re.compile(r"[\u3400-\u9fff]|[A-Za-z0-9]+")
RUNAWAY_TOKENS = 6_000  # how far a runaway answer goes when the request sets no max_tokens
RUNAWAY_PHRASE = "并且该公司表示，"
_TOKEN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]{1,4}", re.S)


def tokens_of(text: str) -> list[str]:
    """The server's tokens: each CJK character, and runs of up to four other characters."""
    return _TOKEN.findall(text)


def max_tokens_of(request: dict) -> int | None:
    return request.get("max_tokens") or request.get("max_completion_tokens")


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # None: the default answer for the request
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (on top of the server's latency)
    raw_body: bytes | None = None  # sent as is, replacing the whole JSON body
    refusal: str | None = None
    runaway: bool = False  # repeat a phrase until max_tokens (or RUNAWAY_TOKENS): "length"
    runaway_phrase: str = RUNAWAY_PHRASE  # "" writes text that never repeats itself
    silent: bool = False  # never answer, until the client hangs up
    stall_after: int | None = None  # streamed: go silent after this many tokens
    drip: float | None = None  # seconds between bytes of the body (a drip-feed)


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
    return [_at_most(bullet, 150) for bullet in bullets]


def _at_most(bullet: str, zi: int) -> str:
    """A bullet cut after its first `zi` 字 (a whole word or number each), as a model keeps
    its bullets short however long the article's sentences run."""
    counted = list(_ZI.finditer(bullet))
    return bullet if len(counted) <= zi else bullet[:counted[zi - 1].end()]


_TOPIC = re.compile(r"<topic>\n(.*?)\n</topic>", re.S)
_TOPIC_TERMS = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.\-]*[A-Za-z0-9+]|[A-Za-z]|[^\sA-Za-z0-9,，、;；。.!！?？:：()（）「」“”\"'|/]+")


def triage_topic(request: dict) -> str | None:
    """The topic of a triage request (its prompt fences it in <topic> tags), else None."""
    for message in request.get("messages", []):
        if message.get("role") == "user":
            match = _TOPIC.search(message.get("content") or "")
            if match:
                return match.group(1)
    return None


def is_triage(request: dict) -> bool:
    return triage_topic(request) is not None


def topic_terms(topic: str) -> list[str]:
    """The topic's words as this server reads them: Latin words, and runs of other characters
    between punctuation ("AI、大模型 芯片" -> AI, 大模型, 芯片)."""
    return [term for term in _TOPIC_TERMS.findall(topic) if term.strip()]


def triage_answer(request: dict) -> str:
    """Relevant when the article (title and opening) contains one of the topic's words."""
    text = article_text(request).lower()
    found = next((term for term in topic_terms(triage_topic(request) or "") if term.lower() in text), None)
    if found:
        answer = {"relevant": True, "score": 0.9, "reason": f"文章提到了「{found}」"}
    else:
        answer = {"relevant": False, "score": 0.1, "reason": "文章没有提到主题中的任何词"}
    return json.dumps(answer, ensure_ascii=False)


def default_answer(request: dict) -> str:
    if is_triage(request):
        return triage_answer(request)
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
    if not request.get("response_format"):  # a map request asks for notes, not a summary
        return default_answer(request)
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


# Quirks of real models (llama.cpp, Ollama, small Qwen models in json_object mode), each a valid
# summary written the way they write it. jiandu must publish each without another request.
# Requests for notes (map requests, no response_format) get the plain default answer.
def _summaries_only(quirk: Behaviour) -> Behaviour:
    def behaviour(request: dict, number: int) -> Reply:
        return quirk(request, number) if request.get("response_format") else Reply()

    behaviour.__name__, behaviour.__doc__ = quirk.__name__, quirk.__doc__
    return behaviour


def _answer_with(request: dict, **changes) -> dict:
    answer = json.loads(default_answer(request))
    answer.update(changes)
    return answer


@_summaries_only
def robot_face_emoji(request: dict, number: int) -> Reply:
    """The emoji as a :shortcode:."""
    return Reply(content=json.dumps(_answer_with(request, emoji=":robot_face:"), ensure_ascii=False))


@_summaries_only
def keycap_emoji(request: dict, number: int) -> Reply:
    """A keycap digit and the broken keycap a real 0.5B model wrote (1️⃀️) instead of an emoji."""
    return Reply(content=json.dumps(_answer_with(request, emoji="1️⃣1️⃀️"), ensure_ascii=False))


@_summaries_only
def fenced_json(request: dict, number: int) -> Reply:
    """The JSON inside a Markdown code fence, with a sentence before it."""
    return Reply(content="以下是摘要：\n```json\n" + default_answer(request) + "\n```")


@_summaries_only
def raw_newline(request: dict, number: int) -> Reply:
    """A raw line break (and a tab) inside a JSON string, where JSON wants \\n."""
    answer = json.loads(default_answer(request))
    first = answer["bullets"][0]
    cut = _line_break_at(first)
    answer["bullets"][0] = first[:cut] + "\u0000LINE\u0000" + first[cut:]
    text = json.dumps(answer, ensure_ascii=False).replace("\\u0000LINE\\u0000", "\n\t")
    return Reply(content=text)


@_summaries_only
def trailing_comma(request: dict, number: int) -> Reply:
    """A comma after the last bullet and after the last field."""
    answer = json.loads(default_answer(request))
    bullets = ", ".join(json.dumps(bullet, ensure_ascii=False) for bullet in answer.pop("bullets"))
    fields = ", ".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in answer.items())
    return Reply(content="{" + fields + ', "bullets": [' + bullets + "],}")


def _line_break_at(text: str) -> int:
    """Where a model breaks a line: after a comma, a full stop or a space past the middle."""
    middle = len(text) // 2
    found = re.search(r"[，。；,;.]\s*|\s+", text[middle:])
    return middle + found.end() if found else middle


_BIG_NUMBER = re.compile(r"(?<![0-9.,])(\d{1,3}(?:,\d{3})+|\d{5,})(?![0-9.,])")


def in_wan_yi(text: str) -> str:
    """Numbers of 10,000 and more restated in 万 or 亿 (27680 -> 2.768万), as models do."""
    def restate(match: re.Match) -> str:
        value = int(match.group(1).replace(",", ""))
        unit, size = ("亿", 10 ** 8) if value >= 10 ** 8 else ("万", 10 ** 4)
        return f"{value / size:.6f}".rstrip("0").rstrip(".") + unit
    return _BIG_NUMBER.sub(restate, text)


@_summaries_only
def restated_numbers(request: dict, number: int) -> Reply:
    """Numbers restated in 万/亿 instead of the article's digits."""
    return Reply(content=_with_bullets(request, lambda bullets: [in_wan_yi(b) for b in bullets]))


QUIRKS: dict[str, Behaviour] = {
    "robot_face_emoji": robot_face_emoji, "keycap_emoji": keycap_emoji, "fenced_json": fenced_json,
    "raw_newline": raw_newline, "trailing_comma": trailing_comma, "restated_numbers": restated_numbers,
}


@_summaries_only
def real_model(request: dict, number: int) -> Reply:
    """Every quirk at once: fenced, trailing commas, a raw line break, a shortcode, 万/亿."""
    answer = json.loads(default_answer(request))
    answer["emoji"] = ":robot_face:"
    answer["bullets"] = [in_wan_yi(bullet) for bullet in answer["bullets"]]
    first = answer["bullets"][0]
    answer["bullets"][0] = first[: _line_break_at(first)] + "\u0000" + first[_line_break_at(first):]
    body = json.dumps(answer, ensure_ascii=False, indent=2).replace("\\u0000", "\n")
    body = body.replace("\n  ]", ",\n  ]").replace("\n}", ",\n}")
    return Reply(content="```json\n" + body + "\n```")


def triage_only(behaviour: Behaviour) -> Behaviour:
    """`behaviour` for triage requests; summaries are answered as usual."""
    return lambda request, number: behaviour(request, number) if is_triage(request) else Reply()


def invalid_triage(request: dict, number: int) -> Reply:
    """A triage answer that is no verdict (prose, not the JSON asked for); summaries as usual."""
    if is_triage(request):
        return Reply(content="这篇文章看起来有点相关，也可能不相关。")
    return Reply()


def runaway(request: dict, number: int) -> Reply:
    return Reply(runaway=True)


def silent(request: dict, number: int) -> Reply:
    return Reply(silent=True)


def drip(seconds_per_byte: float) -> Behaviour:
    return lambda request, number: Reply(drip=seconds_per_byte)


def every(n: int, behaviour: Behaviour, otherwise: Behaviour = ok) -> Behaviour:
    """Request numbers n, 2n, 3n... get behaviour, the others `otherwise`."""
    return lambda request, number: (behaviour if number % n == 0 else otherwise)(request, number)


def runaway_text(request: dict, phrase: str = RUNAWAY_PHRASE) -> tuple[str, int]:
    """The text of an answer that never closes, and its length in tokens: max_tokens, or
    RUNAWAY_TOKENS when the request sets none."""
    cap = max_tokens_of(request) or RUNAWAY_TOKENS
    start = '{"title": "简读：失控的回答", "emoji": "📰", "section": "其他", "importance": 3, "bullets": ["'
    if phrase:
        body = phrase * (cap // len(phrase) + 1)
    else:  # never the same phrase twice in a row
        body = "".join(f"第{n}条说明各不相同，" for n in range(cap // 4 + 1))
    return "".join(tokens_of(start + body)[:cap]), cap


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

    def do_GET(self):
        owner = self.server.owner
        if self.path.rstrip("/") == "/props" and owner.llama_cpp_props is not None:
            return self._send(200, owner.llama_cpp_props)
        return self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner = self.server.owner
        if self.path.rstrip("/") == "/api/show" and owner.ollama_show is not None:
            return self._send(200, owner.ollama_show)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        try:
            request = json.loads(body)
        except ValueError:
            return self._send(400, {"error": {"message": "body is not JSON"}})
        if request.get("stream") and owner.reject_stream:
            return self._send(400, {"error": {"message": "stream is not supported"}})
        if request.get("stream_options") and owner.reject_stream_options:
            return self._send(400, {"error": {"message": "Unrecognized request argument: stream_options"}})
        number = owner._enter(request)
        try:
            reply = owner.behaviour(request, number)
            time.sleep(owner.latency + reply.delay)
            if reply.silent:
                return self._wait_for_hangup()
            if reply.raw_body is not None:
                return self._send_bytes(reply.status, reply.raw_body, reply.headers)
            if reply.status != 200:
                message = {"error": {"message": f"scripted status {reply.status}", "type": "test"}}
                return self._send(reply.status, message, reply.headers)
            finish_reason = "stop"
            if reply.runaway:
                content, _ = runaway_text(request, reply.runaway_phrase)
                finish_reason = "length"
            else:
                content = default_answer(request) if reply.content is None else reply.content
                cap = max_tokens_of(request)
                if cap and len(tokens := tokens_of(content)) > cap:  # as a real server stops
                    content, finish_reason = "".join(tokens[:cap]), "length"
            prompt = "".join(m.get("content") or "" for m in request.get("messages", []))
            usage = {"prompt_tokens": len(tokens_of(prompt))}
            if request.get("stream") and owner.streaming and not reply.drip:
                return self._stream(request, number, reply, content, finish_reason, usage)
            if owner.tokens_per_second:
                time.sleep(len(tokens_of(content)) / owner.tokens_per_second)
            usage["completion_tokens"] = len(tokens_of(content))
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            completion = {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "test"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": reply.refusal},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": usage,
            }
            if reply.drip:
                return self._drip(json.dumps(completion, ensure_ascii=False).encode(), reply.drip)
            owner._wrote(number, usage["completion_tokens"])
            self._send(200, completion, reply.headers)
        finally:
            owner._leave()

    # -- streaming, dripping and hanging up --

    def _stream(self, request: dict, number: int, reply: Reply, content: str, finish_reason: str,
                usage: dict) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": request.get("model", "test")}

        def event(choices: list, **extra) -> bool:
            return self._chunk(f"data: {json.dumps({**base, 'choices': choices, **extra}, ensure_ascii=False)}\n\n")

        written = 0
        try:
            if not event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]):
                return
            tokens = tokens_of(content)
            for token in tokens:
                if reply.stall_after is not None and written >= reply.stall_after:
                    return self._wait_for_hangup()
                if owner.tokens_per_second:
                    time.sleep(1 / owner.tokens_per_second)
                if not event([{"index": 0, "delta": {"content": token}, "finish_reason": None}]):
                    return
                written += 1
            if reply.refusal and not event([{"index": 0, "delta": {"refusal": reply.refusal}, "finish_reason": None}]):
                return
            if not event([{"index": 0, "delta": {}, "finish_reason": finish_reason}]):
                return
            if (request.get("stream_options") or {}).get("include_usage"):
                counted = {**usage, "completion_tokens": written, "total_tokens": usage["prompt_tokens"] + written}
                if not event([], usage=counted):
                    return
            self._chunk("data: [DONE]\n\n") and self._chunk("")
        finally:
            owner._wrote(number, written)

    def _chunk(self, text: str) -> bool:
        """One HTTP chunk (empty: the last); False when the client has hung up."""
        data = text.encode()
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.server.owner._hung_up()
            self.close_connection = True
            return False

    def _wait_for_hangup(self, longest: float = 600.0) -> None:
        """Say nothing until the client closes the connection (or `longest` passes)."""
        give_up = time.monotonic() + longest
        while time.monotonic() < give_up:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, 0):
                        break
                except OSError:
                    break
        else:
            return
        self.server.owner._hung_up()
        self.close_connection = True

    def _drip(self, data: bytes, seconds_per_byte: float) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for index in range(len(data)):
                time.sleep(seconds_per_byte)
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.server.owner._hung_up()
            self.close_connection = True

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

    def __init__(self, behaviour: Behaviour = ok, *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0,
                 tokens_per_second: float | None = None, streaming: bool = True,
                 reject_stream: bool = False, reject_stream_options: bool = False,
                 llama_cpp_props: dict | None = None, ollama_show: dict | None = None):
        """streaming=False answers stream requests with one JSON body (as servers that ignore
        `stream` do); reject_stream / reject_stream_options answer them 400 instead.
        llama_cpp_props is served at GET /props, ollama_show at POST /api/show (to pose as
        those servers); without them both are 404."""
        self.behaviour = behaviour
        self.latency = latency
        self.tokens_per_second = tokens_per_second
        self.streaming = streaming
        self.reject_stream = reject_stream
        self.reject_stream_options = reject_stream_options
        self.llama_cpp_props = llama_cpp_props
        self.ollama_show = ollama_show
        self.requests: list[dict] = []
        self.completion_tokens: dict[int, int] = {}  # request number -> tokens written
        self.hangups = 0  # answers cut short because the client closed the connection
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

    def _wrote(self, number: int, tokens: int) -> None:
        with self._lock:
            self.completion_tokens[number] = tokens

    def _hung_up(self) -> None:
        with self._lock:
            self.hangups += 1

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
    parser.add_argument("--tokens-per-second", type=float, default=None,
                        help="write answers this slowly (a token is two characters)")
    parser.add_argument("--runaway-every", type=int, default=0,
                        help="every N-th answer runs away (repeats until max_tokens); 0: never")
    args = parser.parse_args(argv)
    behaviour = every(args.runaway_every, runaway) if args.runaway_every else ok
    server = LLMServer(behaviour, latency=args.latency, host=args.host, port=args.port,
                       tokens_per_second=args.tokens_per_second)
    print(f"serving {server.base_url} (latency {args.latency}s); Ctrl-C to stop", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
