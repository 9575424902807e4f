"""connectors.http.fetch against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import gzip
import ipaddress
import os
import threading
import time
import zlib

import brotli
import pytest

import jiandu.connectors.http as http
from jiandu.connectors.errors import (
    BlockedAddress,
    HTTPStatusError,
    RedirectLoop,
    Timeout,
    TooLarge,
    TooManyRedirects,
    UnsupportedContent,
)
from jiandu.connectors.http import fetch, is_refused_address, make_client, parse_retry_after
from tests.support.http_server import LocalHTTPServer, http_server  # noqa: F401  (fixture)


@pytest.fixture
def client():
    with make_client(connect_timeout=2, read_timeout=3) as c:
        yield c


def test_plain_get_sends_jiandu_user_agent_and_reports_type(http_server, client):
    http_server.route("/a", body="你好", headers={"Content-Type": "text/plain; charset=GBK"})
    result = fetch(client, http_server.url("/a"), allow_private=True)
    assert (result.status, result.body.decode("utf-8")) == (200, "你好")
    assert (result.content_type, result.charset) == ("text/plain", "gbk")
    assert http_server.requests("/a")[0]["user-agent"].startswith("jiandu/")


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
])
def test_compressed_bodies_are_decoded(http_server, client, encoding, compress):
    text = ("第一段。" * 5000).encode("utf-8")
    http_server.route("/z", body=compress(text), headers={"Content-Encoding": encoding})
    assert fetch(client, http_server.url("/z"), allow_private=True).body == text


@pytest.mark.parametrize("status", [500, 503, 404, 410])
def test_error_statuses_raise_with_the_status(http_server, client, status):
    http_server.route("/e", status=status, body=b"nope")
    with pytest.raises(HTTPStatusError) as info:
        fetch(client, http_server.url("/e"), allow_private=True)
    assert info.value.status == status
    assert info.value.retryable == (status >= 500)
    assert http_server.url("/e") in str(info.value)


def test_429_carries_retry_after(http_server, client):
    http_server.route("/busy", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetch(client, http_server.url("/busy"), allow_private=True)
    assert (info.value.status, info.value.retry_after, info.value.retryable) == (429, 120, True)
    assert "retry after 120 s" in str(info.value)


def test_retry_after_http_date_is_seconds_from_now():
    import httpx
    from email.utils import formatdate
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert 55 <= parse_retry_after(httpx.Headers({"Retry-After": in_a_minute})) <= 61
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None


def test_redirects_followed_and_permanence_reported(http_server, client):
    http_server.route("/old", redirect="/older", status=301)
    http_server.route("/older", redirect=http_server.url("/new"), status=308)
    http_server.route("/new", body=b"here")
    http_server.route("/temp", redirect="/new", status=302)
    moved = fetch(client, http_server.url("/old"), allow_private=True)
    assert (moved.url, moved.body, moved.permanent_redirect) == (
        http_server.url("/new"), b"here", True)
    assert fetch(client, http_server.url("/temp"), allow_private=True).permanent_redirect is False
    assert fetch(client, http_server.url("/new"), allow_private=True).permanent_redirect is False


def test_redirect_loop_and_too_many_hops(http_server, client):
    http_server.route("/a", redirect="/b")
    http_server.route("/b", redirect="/a")
    with pytest.raises(RedirectLoop):
        fetch(client, http_server.url("/a"), allow_private=True)
    for i in range(8):
        http_server.route(f"/hop{i}", redirect=f"/hop{i + 1}")
    with pytest.raises(TooManyRedirects):
        fetch(client, http_server.url("/hop0"), allow_private=True)
    assert http_server.hits("/hop5") == 1 and http_server.hits("/hop6") == 0


def test_endless_body_is_cut_at_max_bytes(http_server, client):
    http_server.route("/endless", endless=True)
    started = time.monotonic()
    with pytest.raises(TooLarge):
        fetch(client, http_server.url("/endless"), allow_private=True, max_bytes=2_000_000)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", lambda b: gzip.compress(b, 9)), ("br", lambda b: brotli.compress(b, quality=5))])
def test_compression_bomb_stops_at_max_bytes(http_server, client, encoding, compress):
    bomb = compress(b"\0" * 300_000_000)  # 300 MB of zeros in well under 1 MB
    assert len(bomb) < 1_000_000
    http_server.route("/bomb", body=bomb, headers={"Content-Encoding": encoding})
    with pytest.raises(TooLarge):
        fetch(client, http_server.url("/bomb"), allow_private=True, max_bytes=5_000_000)


def test_declared_length_over_cap_is_refused_before_download(http_server, client):
    http_server.route("/big", body=b"x" * 2_000)
    with pytest.raises(TooLarge):
        fetch(client, http_server.url("/big"), allow_private=True, max_bytes=1_000)


def test_drip_feed_ends_at_the_deadline_not_later(http_server, client):
    http_server.route("/drip", body=b"x" * 60, drip=0.25)  # would take 15 s
    started = time.monotonic()
    with pytest.raises(Timeout):
        fetch(client, http_server.url("/drip"), allow_private=True, deadline_seconds=1.0)
    assert 0.9 <= time.monotonic() - started < 1.6


def test_slow_first_byte_hits_the_read_timeout(http_server):
    http_server.route("/slow", body=b"late", delay=1.5)
    with make_client(read_timeout=0.5) as quick, pytest.raises(Timeout):
        fetch(quick, http_server.url("/slow"), allow_private=True)


def test_unwanted_content_type_refused_before_body(http_server, client):
    http_server.route("/doc.pdf", body=b"%PDF-1.4" + b"x" * 100_000,
                      headers={"Content-Type": "application/pdf"})
    with pytest.raises(UnsupportedContent) as info:
        fetch(client, http_server.url("/doc.pdf"), allow_private=True,
              content_types=frozenset({"text/html"}))
    assert info.value.content_type == "application/pdf"


def test_loopback_refused_unless_allowed(http_server, client):
    http_server.route("/a", body=b"hi")
    with pytest.raises(BlockedAddress) as info:
        fetch(client, http_server.url("/a"))
    assert "127.0.0.1" in str(info.value)
    assert http_server.hits("/a") == 0


@pytest.mark.parametrize("target", [
    "http://metadata.test/latest/meta-data/",  # resolves (below) to 169.254.169.254
    "http://intranet.test/",  # resolves (below) to 10.1.2.3
    "http://127.0.0.2:9/",
    "http://[::1]:9/",
    "file:///etc/passwd",
    "ftp://example.org/x",
])
def test_redirect_to_private_address_refused(http_server, client, monkeypatch, target):
    # Pretend this server's 127.0.0.1 is a public host, keeping the real rule for every other
    # address; the fake names resolve to private addresses without any DNS or traffic.
    real_rule, real_resolve = http.is_refused_address, http.resolve
    fake_dns = {"metadata.test": "169.254.169.254", "intranet.test": "10.1.2.3"}
    monkeypatch.setattr(http, "is_refused_address",
                        lambda a: a != ipaddress.ip_address("127.0.0.1") and real_rule(a))
    monkeypatch.setattr(http, "resolve", lambda host, port, url: (
        [ipaddress.ip_address(fake_dns[host])] if host in fake_dns
        else real_resolve(host, port, url)))
    http_server.route("/go", redirect=target)
    with pytest.raises(BlockedAddress):
        fetch(client, http_server.url("/go"))
    assert http_server.hits("/go") == 1


@pytest.mark.parametrize("address,refused", [
    ("127.0.0.1", True), ("10.0.0.8", True), ("172.16.5.4", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
    ("::1", True), ("fe80::1", True), ("fc00::1", True), ("::ffff:10.0.0.1", True),
    ("fd00:ec2::254", True), ("100.100.100.200", True),
    ("93.184.216.34", False), ("1.1.1.1", False), ("2606:4700::1111", False),
])
def test_address_rule(address, refused):
    assert is_refused_address(ipaddress.ip_address(address)) is refused


def test_per_host_limit_bounds_concurrency(http_server, client):
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow_handler(request):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.15)
        with lock:
            active -= 1
        request.send_response(200)
        request.send_header("Content-Length", "2")
        request.end_headers()
        request.wfile.write(b"ok")

    http_server.route("/slow", handler=slow_handler)
    threads = [threading.Thread(target=fetch, args=(client, http_server.url("/slow")),
                                kwargs={"allow_private": True, "per_host_limit": 2})
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert http_server.hits("/slow") == 6
    assert peak == 2


def test_random_bytes_come_back_as_bytes(http_server, client):
    noise = os.urandom(4096)
    http_server.route("/noise", body=noise, headers={"Content-Type": "application/octet-stream"})
    assert fetch(client, http_server.url("/noise"), allow_private=True).body == noise


def test_server_answers_conditional_requests_and_counts_them():
    with LocalHTTPServer() as server, make_client() as c:
        server.route("/f", body=b"v1", etag='"1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
        first = fetch(c, server.url("/f"), allow_private=True)
        again = fetch(c, server.url("/f"), allow_private=True,
                      headers={"If-None-Match": first.headers["etag"]})
        by_date = fetch(c, server.url("/f"), allow_private=True,
                        headers={"If-Modified-Since": first.headers["last-modified"]})
    assert (first.status, again.status, by_date.status) == (200, 304, 304)
    assert server.hits("/f") == 3
