"""The one way jiandu downloads anything: a shared httpx client and a guarded `fetch()`.

`fetch()` follows redirects itself so that every hop is checked (scheme, address, loops),
decodes gzip/deflate/brotli itself with a bounded output so a compression bomb cannot
inflate past `max_bytes`, keeps one total deadline across all hops and the body, and lets
at most `per_host_limit` requests run at once against one host, process-wide.

Two guards live below httpx, in the network backend of `make_client()`'s transport, because
only there do they see every socket: `_GuardedBackend` resolves a host once, checks every
address it got and connects to a checked one (so a name cannot answer a public address to
the check and a private one to the connect: DNS rebinding), and `_DeadlineStream` gives no
socket read, write or TLS handshake more time than the fetch's total deadline has left (so a
server that drips its status line and headers ends with the deadline like one that drips its
body). The fetch in progress tells them its rules through a context variable.
"""

from __future__ import annotations

import contextvars
import ipaddress
import math
import os
import socket
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version

import brotli
import httpcore
import httpx

from jiandu.connectors.errors import (
    BlockedAddress,
    FetchError,
    HTTPStatusError,
    NetworkError,
    RedirectLoop,
    Timeout,
    TooLarge,
    TooManyRedirects,
    UnsupportedContent,
)
from jiandu.connectors.paths import as_local_path  # noqa: F401  (re-exported: ingest, pages, resolvers)

try:
    _VERSION = version("jiandu")
except PackageNotFoundError:  # running from a source tree that was never installed
    _VERSION = "0"

DEFAULT_USER_AGENT = f"jiandu/{_VERSION} (feed reader and digest; +https://github.com/jiandu)"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
# Cloud metadata endpoints that are not covered by the private/link-local ranges.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"),
                                ipaddress.ip_address("100.100.100.200")})


@dataclass
class FetchResult:
    url: str  # final URL, after redirects
    status: int
    headers: httpx.Headers
    body: bytes
    permanent_redirect: bool = False  # every redirect hop was 301/308

    @property
    def content_type(self) -> str:
        """Media type, lower-case, without parameters ("" when absent)."""
        return _parse_content_type(self.headers.get("content-type", ""))[0]

    @property
    def charset(self) -> str | None:
        return _parse_content_type(self.headers.get("content-type", ""))[1]


# glibc's resolver waits 5 s for a lost DNS answer and tries twice, and a lost answer stalls the
# lookups queued behind it: with a resolver that drops a query now and then (measured: one in
# about 32 here), 1,326 dead feeds cost 236 s, 59 s with a 1 s wait. Real answers take
# milliseconds, so 1 s (twice) loses nothing. A user's own RES_OPTIONS wins.
RESOLVER_OPTIONS = "timeout:1 attempts:2"


def make_client(*, user_agent: str = DEFAULT_USER_AGENT, connect_timeout: float = 10,
                read_timeout: float = 20, max_connections: int = 16) -> httpx.Client:
    """A thread-safe sync client for `fetch()`; share one per process and close it at the end.
    Its transport connects only to checked addresses (see the module's docstring); a proxy
    from the environment is not used, as it would connect for us, unchecked."""
    os.environ.setdefault("RES_OPTIONS", RESOLVER_OPTIONS)  # read by glibc at its first lookup
    forget_resolved()  # a new client (a new run) asks the resolver afresh
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections)
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate, br"},
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout,
                              write=read_timeout, pool=connect_timeout + read_timeout),
        limits=limits,
        transport=_GuardedTransport(limits),
        event_hooks={"response": [_remember_location]},
        follow_redirects=False,  # fetch() follows them, checking each hop
    )


def fetch(client: httpx.Client, url: str, *, headers: dict[str, str] | None = None,
          max_bytes: int = 10_000_000, allow_private: bool = False, per_host_limit: int = 2,
          deadline_seconds: float | None = None,
          content_types: frozenset[str] | None = None) -> FetchResult:
    """GET `url`; return the final 2xx or 304 answer, or raise a FetchError subclass.

    `deadline_seconds` bounds the whole fetch (all hops and the body); by default it is the
    client's connect + read timeouts, so a body that drips a byte at a time still ends.
    With `content_types`, a 2xx answer of any other media type raises UnsupportedContent
    before its body is downloaded ("" in the set accepts a missing Content-Type).
    """
    timeouts = client.timeout
    if deadline_seconds is None:
        deadline_seconds = (timeouts.connect or 10) + (timeouts.read or 20)
    deadline = time.monotonic() + deadline_seconds
    rules = _FetchRules(url, allow_private, deadline)
    token = _current_rules.set(rules)
    try:
        return _follow(client, url, rules, headers or {}, max_bytes, timeouts, per_host_limit,
                       content_types)
    finally:
        _current_rules.reset(token)


def _follow(client: httpx.Client, url: str, rules: _FetchRules, headers: dict[str, str],
            max_bytes: int, timeouts: httpx.Timeout, per_host_limit: int,
            content_types: frozenset[str] | None) -> FetchResult:
    allow_private = rules.allow_private
    visited: set[str] = set()
    permanent = True
    redirected = False
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        if current in visited:
            raise RedirectLoop(url, f"redirect loop: came back to {current}")
        visited.add(current)
        host = check_url_allowed(current, allow_private=allow_private)
        queued = time.monotonic()
        with _host_slot(host, per_host_limit):
            # Waiting for a turn at a busy host is not this answer being slow: a page that
            # drips must not use up the deadline of every other page queued behind it.
            rules.deadline += time.monotonic() - queued
            rules.url = current
            status, response_headers, location, body = _one_request(
                client, current, headers, max_bytes, rules.deadline, timeouts, content_types)
        if location is None:
            if status >= 400:
                raise HTTPStatusError(current, status,
                                      retry_after=parse_retry_after(response_headers))
            return FetchResult(url=current, status=status, headers=response_headers,
                               body=body, permanent_redirect=redirected and permanent)
        redirected = True
        permanent = permanent and status in PERMANENT_REDIRECT_STATUSES
        current = str(httpx.URL(current).join(location))
    raise TooManyRedirects(url, f"more than {MAX_REDIRECTS} redirects (last: {current})")


def _one_request(client: httpx.Client, url: str, headers: dict[str, str], max_bytes: int,
                 deadline: float, timeouts: httpx.Timeout, content_types: frozenset[str] | None
                 ) -> tuple[int, httpx.Headers, str | None, bytes]:
    """One hop: (status, headers, redirect location or None, decoded body)."""
    remaining = _remaining(url, deadline)
    hop_timeout = httpx.Timeout(connect=min(timeouts.connect or remaining, remaining),
                                read=min(timeouts.read or remaining, remaining),
                                write=min(timeouts.write or remaining, remaining),
                                pool=remaining)
    try:
        with client.stream("GET", url, headers=headers, timeout=hop_timeout) as response:
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location:
                return response.status_code, response.headers, location, b""
            if response.status_code >= 400 or response.status_code == 304:
                return response.status_code, response.headers, None, b""
            media_type = _parse_content_type(response.headers.get("content-type", ""))[0]
            if content_types is not None and media_type not in content_types:
                raise UnsupportedContent(url, media_type)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes and not response.headers.get(
                    "content-encoding"):
                raise TooLarge(url, max_bytes)
            body = _read_body(response, url, max_bytes, deadline)
            return response.status_code, response.headers, None, body
    except httpx.InvalidURL as exc:  # httpx reads a redirect's Location before we see it
        rules = _current_rules.get()
        location = rules.location if rules is not None else None
        raise FetchError(url, f"redirect to an invalid Location: {location} ({exc})") from exc
    except httpx.TimeoutException as exc:
        if time.monotonic() >= deadline:
            raise Timeout(url, "total deadline passed before the answer was complete") from exc
        raise Timeout(url, f"timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise NetworkError(url, f"network error: {exc or type(exc).__name__}") from exc


def _read_body(response: httpx.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    decoder = _decoder_for(url, response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    for raw in response.iter_raw():
        _remaining(url, deadline)
        piece = decoder.decode(raw, max_bytes - size + 1)
        size += len(piece)
        if size > max_bytes:
            raise TooLarge(url, max_bytes)
        parts.append(piece)
    _remaining(url, deadline)
    return b"".join(parts)


def _remaining(url: str, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Timeout(url, "total deadline passed before the answer was complete")
    return left


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data


class _Zlib:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), output capped."""

    def __init__(self, url: str, wbits: int) -> None:
        self.url = url
        self.wbits = wbits
        self.decompressor = zlib.decompressobj(wbits)
        self.started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            out = self.decompressor.decompress(data, limit)
        except zlib.error as exc:
            if self.wbits == zlib.MAX_WBITS and not self.started:
                self.decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                self.wbits = -zlib.MAX_WBITS
                return self.decode(data, limit)
            raise FetchError(self.url, f"bad compressed body: {exc}") from exc
        self.started = True
        return out  # len(out) == limit means more was waiting: the caller stops


class _Brotli:
    def __init__(self, url: str) -> None:
        self.url = url
        self.decompressor = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            return self.decompressor.process(data, output_buffer_limit=limit)
        except brotli.error as exc:
            raise FetchError(self.url, f"bad brotli body: {exc}") from exc


def _decoder_for(url: str, content_encoding: str) -> _Identity | _Zlib | _Brotli:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return _Zlib(url, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Zlib(url, zlib.MAX_WBITS)
    if encoding == "br":
        return _Brotli(url)
    raise FetchError(url, f"unsupported Content-Encoding {content_encoding!r}")


# --- the address guard -------------------------------------------------------------------

def check_url_allowed(url: str, *, allow_private: bool) -> str:
    """Return the URL's host, or raise BlockedAddress for a scheme or address we refuse."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise BlockedAddress(url, f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise BlockedAddress(url, f"scheme {parsed.scheme or '(none)'!r} refused: only http/https")
    host = parsed.host
    if not host:
        raise BlockedAddress(url, "URL has no host")
    if allow_private:
        return host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    for address in resolve(host, port, url):
        if is_refused_address(address):
            raise BlockedAddress(url, f"host {host} resolves to {address}, a non-public "
                                      "address (allow_private is off)")
    return host


# One lookup serves the address check and the connection that follows it (and the other pages
# of the same host for a short while): a dead host costs one lookup, not two, and the address
# connected to is the one that was checked. Failures are kept as briefly as answers.
RESOLVE_TTL_SECONDS = 30.0
_RESOLVE_CACHE_SIZE = 4096
_resolved: dict[tuple[str, int], tuple[float, list | str]] = {}
_resolved_lock = threading.Lock()


def forget_resolved() -> None:
    with _resolved_lock:
        _resolved.clear()


def resolve(host: str, port: int, url: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    key, now = (host.lower(), port), time.monotonic()
    with _resolved_lock:
        cached = _resolved.get(key)
    if cached is None or cached[0] < now:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
            result: list | str = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        except socket.gaierror as exc:
            result = exc.strerror or str(exc)
        with _resolved_lock:
            if len(_resolved) >= _RESOLVE_CACHE_SIZE:
                _resolved.clear()
            _resolved[key] = cached = (now + RESOLVE_TTL_SECONDS, result)
    if isinstance(cached[1], str):
        raise NetworkError(url, f"cannot resolve host {host}: {cached[1]}")
    return list(cached[1])


def is_refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for loopback, private, link-local (incl. 169.254.169.254), reserved, metadata..."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_refused_address(mapped)
    return (not address.is_global or address.is_multicast or address.is_reserved
            or address in METADATA_ADDRESSES)


# --- below httpx: connect to the checked address, within the deadline ----------------------

@dataclass
class _FetchRules:
    url: str  # the hop being fetched, for error messages
    allow_private: bool
    deadline: float  # time.monotonic() by which the whole fetch must be done
    location: str | None = None  # the last answer's Location header, for error messages


def _remember_location(response: httpx.Response) -> None:
    rules = _current_rules.get()
    if rules is not None:
        rules.location = response.headers.get("location")


_current_rules: contextvars.ContextVar[_FetchRules | None] = contextvars.ContextVar(
    "jiandu_fetch_rules", default=None)


def _clamped(timeout: float | None, *, on_expiry: type[Exception]) -> float | None:
    """`timeout`, shortened to what the current fetch's deadline has left."""
    rules = _current_rules.get()
    if rules is None:
        return timeout
    left = rules.deadline - time.monotonic()
    if left <= 0:
        raise on_expiry("total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by the fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamped(timeout, on_expiry=httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamped(timeout, on_expiry=httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # server_hostname is the URL's name, so SNI and certificate checks use the name even
        # though the socket was opened to an address.
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, _clamped(timeout, on_expiry=httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolve once, check every address, connect to a checked one."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options=None) -> httpcore.NetworkStream:
        rules = _current_rules.get()
        timeout = _clamped(timeout, on_expiry=httpcore.ConnectTimeout)
        if rules is None:  # a request made outside fetch(): no address rules to apply
            return _DeadlineStream(super().connect_tcp(host, port, timeout, local_address,
                                                       socket_options))
        try:
            addresses = resolve(host, port, rules.url)
        except NetworkError as exc:  # reported like any other failure to connect
            raise httpcore.ConnectError(exc.reason) from exc
        if not rules.allow_private:
            for address in addresses:
                if is_refused_address(address):
                    raise BlockedAddress(rules.url, f"host {host} resolves to {address}, a "
                                                    "non-public address (allow_private is off)")
        failure: Exception | None = None
        for address in addresses:
            try:
                return _DeadlineStream(super().connect_tcp(
                    str(address), port, _clamped(timeout, on_expiry=httpcore.ConnectTimeout),
                    local_address, socket_options))
            except httpcore.ConnectError as exc:  # try the next address, as browsers do
                failure = exc
        raise failure or httpcore.ConnectError(f"no address for {host}")


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport over a connection pool that uses `_GuardedBackend`."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(),
        )


# --- per-host concurrency -----------------------------------------------------------------

_host_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_host_slots_lock = threading.Lock()


class _host_slot:
    """Hold one of `limit` slots for `host` for the duration of a request."""

    def __init__(self, host: str, limit: int) -> None:
        key = (host.lower(), max(1, limit))
        with _host_slots_lock:
            self.semaphore = _host_slots.setdefault(key, threading.BoundedSemaphore(key[1]))

    def __enter__(self) -> None:
        self.semaphore.acquire()

    def __exit__(self, *exc: object) -> None:
        self.semaphore.release()


# --- header helpers -----------------------------------------------------------------------

def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for, in seconds from now; None if it asked for none or it
    cannot be read. The one reading of it for feeds, pages and the LLM endpoint: OpenAI's
    `retry-after-ms`, else `Retry-After` as seconds (decimals too) or an HTTP date. A wait
    in the past is 0. `headers` is case-insensitive (httpx.Headers, as the openai SDK has)."""
    milliseconds = _seconds(headers.get("retry-after-ms") or "")
    if milliseconds is not None:
        return milliseconds / 1000
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _parse_content_type(value: str) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = value or "application/octet-stream"
    media_type = message.get_content_type().lower() if value else ""
    charset = message.get_param("charset")
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    return media_type, (str(charset).strip().lower() or None) if charset else None
