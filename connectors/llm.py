"""Transport to any OpenAI-compatible chat endpoint, through the openai SDK.

This module sends requests and counts what they cost; what to ask and which answers to accept is
summarising policy (jiandu.summarising.llm).
- streaming: requests stream (`stream: true`, with `stream_options.include_usage`), so `timeout`
  is the longest silence allowed (no first token, or no next token, for that long) and a slow
  model that keeps writing is never abandoned. `deadline` bounds a whole request, however it
  drips. An endpoint that rejects streaming (or stream_options) is asked again without it, and
  this client remembers; `stream=False` turns it off from the start.
- stopping: `max_tokens` bounds each answer; a caller's `stop_when(text)` can end an answer early
  (a runaway). An abandoned request closes its connection, which makes llama.cpp's server and
  Ollama stop generating.
- retries: 408/409/429/5xx, silences, deadlines and connection errors are retried with
  exponential backoff and jitter, honouring Retry-After, until max_attempts or max_total_wait;
  other HTTP errors (400, 401, 404...) fail at once. The SDK's own retries are off.
- limits: a semaphore of max_concurrency around every request and an even-spacing
  requests_per_minute limiter, shared by every thread using this client.
- usage: every request sent, and its tokens, are added to the caller's Usage, also when it
  fails or is cut; tokens the server did not report (an abandoned stream) are counted here.
- local servers: probe_server() asks llama.cpp (/props) and Ollama (/api/show) for their
  context size and slots.
"""

from __future__ import annotations

import ipaddress
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2  # the openai SDK's HTTP client: errors while reading a streamed body are its own
import openai

from jiandu.connectors.http import parse_retry_after
from jiandu.errors import SummariseError
from jiandu.interrupt import stopping
from jiandu.ratelimit import RateLimiter
from jiandu.tokens import count_tokens

RETRYABLE_STATUS = {408, 409, 429} | set(range(500, 600))
REJECTED_STATUS = {400, 422}  # how servers say "I do not take that parameter"
MESSAGE_OVERHEAD = 4  # tokens a chat format adds per message
STOP_CHECK_CHARS = 32  # how often (in characters of answer) a caller's stop_when is asked
# Ways of asking, best first; an endpoint that rejects one is asked the next way.
STREAM_WITH_USAGE, STREAM_PLAIN, NO_STREAM = "stream+usage", "stream", "off"


@dataclass
class Usage:
    """What a caller's requests cost so far."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0


@dataclass
class Completion:
    """One answer: its text (None when there was none), refusal and why it ended.

    finish_reason is the server's ("stop", "length"...) or "stopped" when stop_when ended it;
    stop_reason then says why. tokens_estimated: the server reported no usage, so the counts
    are our own. seconds and first_token_seconds time the request (first_token is None when
    the answer did not stream)."""

    content: str | None
    refusal: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    stop_reason: str | None = None
    seconds: float = 0.0
    first_token_seconds: float | None = None


class _Failure(Exception):
    """A transient failure of one attempt; the message is the reason."""


def retry_after(headers) -> float | None:
    """Seconds the server asked us to wait: the one reading of it (connectors.http)."""
    return parse_retry_after(headers)


class SSEDecoder:
    """Server-sent events from bytes as they arrive: feed() returns the data of every event
    completed so far (multi-line data joined with newlines; comments and other fields ignored)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        events = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:end].rstrip(b"\r"), self._buffer[end + 1:]
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data).decode("utf-8", "replace"))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def close(self) -> list[str]:
        """Whatever event the stream ended in the middle of (a server that skips the last blank line)."""
        events = self.feed(b"\n\n") if self._buffer or self._data else []
        return events


class ChatClient:
    """Chat completions against one endpoint, shared by every thread of a run."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        timeout: float = 60,
        deadline: float = 600,
        stream: bool = True,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        max_total_wait: float = 120.0,
    ):
        """timeout: the longest silence; deadline: the longest a request may take in all.
        Backoff waits base*2^n seconds (times a jitter of 0.5-1.5, at most backoff_max), or what
        Retry-After says; a request gives up when its waits would pass max_total_wait."""
        if max_concurrency < 1 or max_attempts < 1:
            raise ValueError("max_concurrency and max_attempts must be at least 1")
        if timeout <= 0 or deadline <= 0:
            raise ValueError("timeout and deadline must be positive")
        self.base_url = base_url
        self.model = model
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.deadline = deadline
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_total_wait = max_total_wait
        self.stream_mode = STREAM_WITH_USAGE if stream else NO_STREAM
        self.max_tokens_field = "max_tokens"  # "max_completion_tokens" for endpoints that insist
        # One sync client for all threads; retries are ours, so the SDK's are off.
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._limiter = RateLimiter(requests_per_minute) if requests_per_minute else None

    def close(self) -> None:
        self._client.close()

    def complete(
        self,
        messages: list[dict],
        usage: Usage,
        *,
        response_format: dict | None = None,
        max_tokens: int | None = None,
        stop_when: Callable[[str], str | None] | None = None,
    ) -> Completion:
        """One chat completion, retried on transient failures; no response_format asks for text.
        stop_when(text so far) returning a reason ends a streamed answer there."""
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            if self._limiter:
                self._limiter.acquire()
            wait = None
            with self._slots:
                if stopping.is_set():  # the run is being stopped: start nothing new
                    raise SummariseError("stopped before the request was sent")
                try:
                    return self._attempt(messages, usage, response_format, max_tokens, stop_when)
                except _Failure as error:
                    failure = str(error)
                except openai.APIConnectionError as error:  # includes timeouts before the answer
                    failure = self._connection_failure(error)
                except openai.APIStatusError as error:
                    failure = f"HTTP {error.status_code} from {self.base_url}: {error.message}"
                    if error.status_code not in RETRYABLE_STATUS:
                        raise SummariseError(failure, retryable=False) from error
                    wait = retry_after(error.response.headers)
            if attempt == self.max_attempts:
                break
            if wait is None:
                wait = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            if waited + wait > self.max_total_wait:
                raise SummariseError(
                    f"{failure}; gave up after {attempt} attempts, next wait {wait:.1f}s "
                    f"would pass {self.max_total_wait:.0f}s of waiting"
                )
            if stopping.wait(wait):
                raise SummariseError(f"{failure}; stopped while waiting to retry")
            waited += wait
        raise SummariseError(f"{failure}; gave up after {self.max_attempts} attempts")

    # -- one attempt --

    def _connection_failure(self, error: Exception) -> str:
        if isinstance(error, openai.APITimeoutError):
            return f"no answer from {self.base_url} for {self.timeout:g}s"
        return f"{type(error).__name__} from {self.base_url}"

    def _attempt(self, messages, usage, response_format, max_tokens, stop_when) -> Completion:
        """One request, asked again at once in a plainer way if the endpoint rejects a parameter."""
        while True:
            mode, field = self.stream_mode, self.max_tokens_field
            request = {"model": self.model, "messages": messages}
            if response_format is not None:
                request["response_format"] = response_format
            if max_tokens is not None:
                request[field] = max_tokens
            if mode != NO_STREAM:
                request["stream"] = True
            if mode == STREAM_WITH_USAGE:
                request["stream_options"] = {"include_usage": True}
            usage.requests += 1
            try:
                return self._send(request, usage, stop_when)
            except openai.APIStatusError as error:
                if error.status_code not in REJECTED_STATUS or not self._plainer(error, mode, field, max_tokens):
                    raise

    def _plainer(self, error: openai.APIStatusError, mode: str, field: str, max_tokens: int | None) -> bool:
        """After a 400/422: switch to a plainer way of asking, if there is one worth trying."""
        message = str(error.message).lower()
        if max_tokens is not None and field == "max_tokens" and "max_completion_tokens" in message:
            self.max_tokens_field = "max_completion_tokens"
            return True
        if mode == STREAM_WITH_USAGE and ("stream_options" in message or "include_usage" in message):
            self.stream_mode = STREAM_PLAIN
            return True
        if mode != NO_STREAM and "stream" in message:
            self.stream_mode = NO_STREAM
            return True
        return False

    def _send(self, request: dict, usage: Usage, stop_when) -> Completion:
        started = time.monotonic()
        # The silence allowed before the headers is the timeout too.
        timeout = openai.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        answer, body, streamed = _Answer(started), bytearray(), False
        try:
            with self._client.chat.completions.with_streaming_response.create(**request, timeout=timeout) as response:
                # Leaving this block closes the connection, also when the answer is abandoned.
                streamed = "text/event-stream" in response.headers.get("content-type", "")
                self._read(response, answer if streamed else None, body, started + self.deadline, stop_when)
        except httpx2.TimeoutException as error:
            raise _Failure(f"no answer from {self.base_url} for {self.timeout:g}s") from error
        except httpx2.TransportError as error:
            raise _Failure(f"{type(error).__name__} from {self.base_url} while answering") from error
        finally:
            if streamed and answer.events:
                # Whatever was received was paid for, also when the request failed half way.
                completion = answer.completion(request, self.model)
                usage.prompt_tokens += completion.prompt_tokens
                usage.completion_tokens += completion.completion_tokens
        if streamed:
            return completion
        return _from_body(bytes(body), self.base_url, usage, request, self.model, started)

    def _read(self, response, answer: "_Answer | None", body: bytearray, give_up_at: float, stop_when) -> None:
        """Read the answer as it arrives (streamed into answer, else into body) until it ends,
        the deadline passes or stop_when says stop."""
        decoder = SSEDecoder()
        for chunk in response.iter_bytes():
            if stopping.is_set():
                raise _Failure("stopped while the answer was arriving")
            if time.monotonic() > give_up_at:
                raise _Failure(f"no complete answer from {self.base_url} within the {self.deadline:g}s deadline")
            if answer is None:
                body += chunk
                continue
            for data in decoder.feed(chunk):
                if answer.take(data, self.base_url):
                    return
            # Asked every STOP_CHECK_CHARS new characters, not every token: cheap on fast servers.
            if stop_when and answer.length - answer.checked_at >= STOP_CHECK_CHARS:
                answer.checked_at = answer.length
                if reason := stop_when(answer.text):
                    answer.stopped(reason)
                    return
        if answer is not None:
            for data in decoder.close():
                answer.take(data, self.base_url)


class _Answer:
    """An answer assembled from streamed chunks."""

    def __init__(self, started: float):
        self.started = started
        self.parts: list[str] = []
        self.refusal_parts: list[str] = []
        self.finish_reason: str | None = None
        self.stop_reason: str | None = None
        self.usage: dict | None = None
        self.done = False
        self.length = 0  # characters of content so far
        self.checked_at = 0  # length when stop_when was last asked
        self.events = 0
        self.first_token: float | None = None
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.parts)
        return self._text

    def take(self, data: str, base_url: str) -> bool:
        """One event's data; True when the stream says it is over."""
        self.events += 1
        if data.strip() == "[DONE]":
            self.done = True
            return True
        try:
            chunk = json.loads(data)
        except ValueError:
            raise _Failure(f"a streamed chunk from {base_url} is not JSON: {data[:80]!r}") from None
        if not isinstance(chunk, dict):
            raise _Failure(f"a streamed chunk from {base_url} is not a JSON object")
        if error := chunk.get("error"):
            message = error.get("message") if isinstance(error, dict) else error
            raise _Failure(f"{base_url} stopped answering: {message}")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.first_token is None:
                    self.first_token = time.monotonic() - self.started
                self.parts.append(delta["content"])
                self.length += len(delta["content"])
                self._text = None
            if delta.get("refusal"):
                self.refusal_parts.append(delta["refusal"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return False

    def stopped(self, reason: str) -> None:
        self.finish_reason, self.stop_reason = "stopped", reason

    def completion(self, request: dict, model: str) -> Completion:
        estimated = not (self.usage and self.usage.get("completion_tokens") is not None)
        if estimated:
            prompt_tokens = _prompt_tokens(request, model)
            completion_tokens = count_tokens(self.text, model)
        else:
            prompt_tokens = self.usage.get("prompt_tokens") or 0
            completion_tokens = self.usage.get("completion_tokens") or 0
        return Completion(
            content=self.text if self.parts else None,
            refusal="".join(self.refusal_parts) or None,
            finish_reason=self.finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens_estimated=estimated,
            stop_reason=self.stop_reason,
            seconds=time.monotonic() - self.started,
            first_token_seconds=self.first_token,
        )


def _prompt_tokens(request: dict, model: str) -> int:
    return sum(count_tokens(m.get("content") or "", model) + MESSAGE_OVERHEAD for m in request["messages"])


def _from_body(body: bytes, base_url: str, usage: Usage, request: dict, model: str, started: float) -> Completion:
    """A Completion from a whole (not streamed) chat.completion body, its tokens added to usage."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "choices" not in payload:
        raise _Failure(f"the answer from {base_url} is not a chat completion (not JSON)")
    reported = payload.get("usage") or {}
    choices = payload.get("choices") or []
    message = (choices[0].get("message") or {}) if choices else {}
    content = message.get("content")
    if reported.get("completion_tokens") is not None:
        prompt_tokens = reported.get("prompt_tokens") or 0
        completion_tokens = reported.get("completion_tokens") or 0
        estimated = False
    else:
        prompt_tokens, completion_tokens = _prompt_tokens(request, model), count_tokens(content or "", model)
        estimated = True
    usage.prompt_tokens += prompt_tokens
    usage.completion_tokens += completion_tokens
    return Completion(
        content=content,
        refusal=message.get("refusal"),
        finish_reason=choices[0].get("finish_reason") if choices else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_estimated=estimated,
        seconds=time.monotonic() - started,
    )


# ---- local servers -----------------------------------------------------------------------


@dataclass
class ServerInfo:
    """What a local server says about itself: its kind, context per request and parallel slots."""

    kind: str  # "llama.cpp" or "ollama"
    context_tokens: int | None = None
    slots: int | None = None


def is_local(base_url: str) -> bool:
    """A loopback or private address, or localhost: a model on the reader's own machine or LAN."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host in ("localhost", "host.docker.internal") or host.endswith(".local") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def probe_server(base_url: str, model: str, *, timeout: float = 3.0) -> ServerInfo | None:
    """Ask a local server for its context size and slots: llama.cpp's GET /props, then Ollama's
    POST /api/show. None when neither answers (any other server, or none)."""
    root = base_url.rstrip("/")
    if root.endswith("/v1"):
        root = root[:-3]
    with httpx2.Client(timeout=timeout) as client:
        try:
            props = client.get(f"{root}/props")
            if props.status_code == 200 and isinstance(info := _json(props), dict) and (
                    "default_generation_settings" in info or "total_slots" in info):
                return llama_cpp_info(info)
        except httpx2.HTTPError:
            pass
        try:
            shown = client.post(f"{root}/api/show", json={"model": model})
            if shown.status_code == 200 and isinstance(info := _json(shown), dict):
                return ollama_info(info)
        except httpx2.HTTPError:
            pass
    return None


def _json(response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def llama_cpp_info(props: dict) -> ServerInfo:
    """llama.cpp's /props: default_generation_settings.n_ctx is each slot's context."""
    settings = props.get("default_generation_settings") or {}
    n_ctx = settings.get("n_ctx") or props.get("n_ctx")
    slots = props.get("total_slots")
    return ServerInfo("llama.cpp", int(n_ctx) if n_ctx else None, int(slots) if slots else None)


# Ollama's context when neither the model's parameters nor the request set num_ctx (Ollama's
# default since 0.6; older versions used 2048, and OLLAMA_CONTEXT_LENGTH changes it unseen).
OLLAMA_DEFAULT_CONTEXT = 4096


def ollama_info(shown: dict) -> ServerInfo:
    """Ollama's /api/show: num_ctx in the model's parameters is the context it runs with; the
    model's own context_length is only an upper bound."""
    context = None
    for line in (shown.get("parameters") or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            context = int(value.strip())
    trained = next((v for k, v in (shown.get("model_info") or {}).items()
                    if k.endswith(".context_length") and isinstance(v, int)), None)
    if context is None:
        context = min(OLLAMA_DEFAULT_CONTEXT, trained) if trained else OLLAMA_DEFAULT_CONTEXT
    return ServerInfo("ollama", context, None)
