"""Issue 12, holes 2 and 3: the fetch connects to the address it checked (DNS rebinding), and
one deadline covers connect, headers and body (a server that drips its headers)."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest

import jiandu.connectors.http as http
from jiandu.connectors.errors import BlockedAddress, FetchError, Timeout
from jiandu.connectors.http import fetch, make_client
from tests.support.http_server import http_server  # noqa: F401  (fixture)

PUBLIC = "93.184.216.34"


def _answers(address: str, port: int):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


@pytest.fixture
def rebinding_dns(monkeypatch):
    """`rebind.test` answers a public address the first time it is asked and 127.0.0.1 every
    time after: what a hostile DNS server with a zero TTL does."""
    real = socket.getaddrinfo
    asked = {"count": 0}

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.test":
            asked["count"] += 1
            return _answers(PUBLIC if asked["count"] == 1 else "127.0.0.1", int(port or 80))
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_the_check_and_the_connection_use_one_answer(http_server, rebinding_dns):
    """The lookup the address check made is the one the connection uses: the name is asked
    once, and the connection goes to the public address that was checked (nothing answers
    there on this machine), never to the loopback address a second answer would give."""
    http_server.route("/secret", body=b"internal only")
    with make_client(connect_timeout=1, read_timeout=2) as client:
        with pytest.raises(FetchError):
            fetch(client, f"http://rebind.test:{http_server.port}/secret")
    assert http_server.hits("/secret") == 0
    assert rebinding_dns["count"] == 1


def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_fetched(http_server, rebinding_dns,
                                                                         monkeypatch):
    # The cached answer has expired by the time of the connection: the transport's own check
    # of the new answer refuses it.
    monkeypatch.setattr(http, "RESOLVE_TTL_SECONDS", 0.0)
    http_server.route("/secret", body=b"internal only")
    with make_client(connect_timeout=1, read_timeout=2) as client:
        with pytest.raises(BlockedAddress) as caught:
            fetch(client, f"http://rebind.test:{http_server.port}/secret")
    assert http_server.hits("/secret") == 0
    assert "127.0.0.1" in caught.value.reason


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(
        http_server, monkeypatch):
    """A name that always answers 127.0.0.1, with 127.0.0.1 counted as public for this test:
    the request reaches the server with Host still the name, not the address."""
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: (
        _answers("127.0.0.1", int(port or 80)) if host == "named.test" else real(host, port, *a, **k)))
    real_rule = http.is_refused_address
    monkeypatch.setattr(http, "is_refused_address",
                        lambda a: a != ipaddress.ip_address("127.0.0.1") and real_rule(a))
    http_server.route("/page", body=b"hello")
    with make_client(connect_timeout=1, read_timeout=2) as client:
        result = fetch(client, f"http://named.test:{http_server.port}/page")
    assert result.body == b"hello"
    assert http_server.requests("/page")[0]["host"] == f"named.test:{http_server.port}"


class DripHeaders:
    """Status line and headers one byte at a time, 0.3 s apart (about 25 s in all), then a
    valid body: each byte comes well within the read timeout, the whole far past the deadline.
    Remembers whether the client stayed for the whole head."""

    def __init__(self) -> None:
        self.head_complete = False

    def __call__(self, handler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
        handler.close_connection = True
        try:
            for i in range(len(head)):
                if handler.server.owner.closed.is_set():
                    return
                handler.wfile.write(head[i:i + 1])
                handler.wfile.flush()
                time.sleep(0.3)
            self.head_complete = True
            handler.wfile.write(b"ok")
        except OSError:
            pass  # the client hung up half way: what the test wants


def test_headers_that_drip_end_at_the_total_deadline(http_server):
    drip = DripHeaders()
    http_server.route("/slow-head", handler=drip)
    with make_client(connect_timeout=1, read_timeout=2) as client:  # deadline: 3 s
        with pytest.raises(Timeout) as caught:
            fetch(client, http_server.url("/slow-head"), allow_private=True)
    assert "deadline" in caught.value.reason
    # The fetch gave up while the head was still arriving, not after it had all come in.
    assert not drip.head_complete


def test_a_redirect_hop_to_a_name_that_rebinds_is_refused_too(http_server, monkeypatch):
    """Hop 1 is the test server (127.0.0.1, counted as public here); it redirects to a name
    that answers a public address to the check and 127.0.0.2 to the connect."""
    from tests.support.http_server import LocalHTTPServer

    real = socket.getaddrinfo
    asked = {"count": 0}

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind2.test":
            asked["count"] += 1
            return _answers(PUBLIC if asked["count"] == 1 else "127.0.0.2", int(port or 80))
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(http, "RESOLVE_TTL_SECONDS", 0.0)  # expired between check and connect
    real_rule = http.is_refused_address
    monkeypatch.setattr(http, "is_refused_address",
                        lambda a: a != ipaddress.ip_address("127.0.0.1") and real_rule(a))
    with LocalHTTPServer(host="127.0.0.2") as inner:
        inner.route("/secret", body=b"internal only")
        http_server.route("/go", redirect=f"http://rebind2.test:{inner.port}/secret")
        with make_client(connect_timeout=1, read_timeout=2) as client:
            with pytest.raises(BlockedAddress) as caught:
                fetch(client, http_server.url("/go"))
        assert inner.hits("/secret") == 0
    assert http_server.hits("/go") == 1 and "127.0.0.2" in caught.value.reason
