"""SMTP delivery against real aiosmtpd servers on 127.0.0.1 (and one raw socket server)."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import logging
import socket
import socketserver
import ssl
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jiandu.connectors.mail import MailError, build_message, send_message
from jiandu.issue_context import subject_for
from jiandu.render import render
from tests.fixtures.issues.sample_issue import ISSUE_DATE, sample_context, sample_publication

SENT_AT = datetime.datetime(2024, 1, 22, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
PASSWORD = "s3cret-Pa55word"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def issue_message(**changes):
    context = sample_context()
    fields = dict(
        subject=subject_for(None, sample_publication(), 7, ISSUE_DATE),
        sender="简读 <digest@example.com>",
        recipient="读者 <reader@example.org>",
        reply_to="editor@example.com",
        text=render(context, "txt"),
        html=render(context, "html"),
        message_id="<issue-7@jiandu.example.com>",
        list_unsubscribe="mailto:unsubscribe@example.com?subject=unsubscribe, https://example.com/unsubscribe?u=1",
        date=SENT_AT,
    )
    fields.update(changes)
    return build_message(**fields)


class Recorder:
    """aiosmtpd handler: keeps what it received; answers RCPT/DATA as told."""

    def __init__(self, rcpt_answer: str | None = None, data_answer: str = "250 OK"):
        self.rcpt_answer = rcpt_answer
        self.data_answer = data_answer
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return self.data_answer


def accept_only(username: str, password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == username.encode() and auth_data.password == password.encode()
        # handled=False: aiosmtpd itself answers 535 on failure.
        return AuthResult(success=ok, handled=False)

    return authenticator


@pytest.fixture
def smtp_server():
    """Start an aiosmtpd server with the given handler and options; stops it after the test."""
    controllers = []

    def start(handler, **options):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def client_trusting(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    return context


def received(handler: Recorder) -> email.message.EmailMessage:
    assert len(handler.envelopes) == 1
    return email.message_from_bytes(handler.envelopes[0].content, policy=email.policy.default)


# ---------------------------------------------------------------- the message


def test_subject_for_uses_the_default_and_custom_templates():
    publication = sample_publication()
    assert subject_for(None, publication, 7, ISSUE_DATE) == "简读 第7期 · 2024-01-22"
    assert subject_for("[{publication}] #{number}", publication, 7, ISSUE_DATE) == "[简读] #7"
    with pytest.raises(ValueError, match="unknown_field"):
        subject_for("{unknown_field}", publication, 7, ISSUE_DATE)


def test_message_is_multipart_alternative_with_text_then_html():
    message = issue_message()
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parts)
    raw = message.as_bytes()
    assert "简读".encode() not in raw.split(b"\n\n", 1)[0]  # headers are RFC 2047 encoded
    assert message["List-Unsubscribe"] == (
        "<mailto:unsubscribe@example.com?subject=unsubscribe>, <https://example.com/unsubscribe?u=1>"
    )


def test_message_needs_an_aware_date():
    with pytest.raises(ValueError, match="timezone"):
        issue_message(date=datetime.datetime(2024, 1, 22, 8, 0))


# ---------------------------------------------------------------- delivery


def test_delivers_both_parts_and_every_header(smtp_server):
    handler = Recorder()
    server = smtp_server(handler)
    send_message(issue_message(), host="127.0.0.1", port=server.port, security="none", timeout=5)

    envelope = handler.envelopes[0]
    assert envelope.mail_from == "digest@example.com"
    assert envelope.rcpt_tos == ["reader@example.org"]
    got = received(handler)
    assert got["Subject"] == "简读 第7期 · 2024-01-22"
    assert got["From"].addresses[0].display_name == "简读"
    assert got["From"].addresses[0].addr_spec == "digest@example.com"
    assert got["To"].addresses[0].addr_spec == "reader@example.org"
    assert got["Reply-To"] == "editor@example.com"
    assert got["Message-ID"] == "<issue-7@jiandu.example.com>"
    assert got["List-Unsubscribe"].startswith("<mailto:unsubscribe@example.com")
    assert got["Date"].datetime == SENT_AT

    text = got.get_body(("plain",)).get_content()
    html = got.get_body(("html",)).get_content()
    assert "要点解析" in text and "<script>alert('x')</script>测试" in text
    assert "https://example.org/2023/12/18/openai-board-veto" in text
    assert '<a href="https://example.org/2023/12/18/openai-board-veto"' in html
    assert '<a href="https://example.com/tech/openai-preparedness?ref=rss&amp;lang=zh"' in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_a_4xx_answer_is_a_temporary_failure(smtp_server):
    server = smtp_server(Recorder(data_answer="451 4.3.0 Try again later"))
    with pytest.raises(MailError) as caught:
        send_message(issue_message(), host="127.0.0.1", port=server.port, security="none", timeout=5)
    assert caught.value.permanent is False
    assert caught.value.code == 451
    assert "Try again later" in caught.value.reason and str(server.port) in caught.value.reason


def test_a_5xx_answer_is_a_permanent_failure(smtp_server):
    server = smtp_server(Recorder(data_answer="554 5.7.1 Message rejected as spam"))
    with pytest.raises(MailError) as caught:
        send_message(issue_message(), host="127.0.0.1", port=server.port, security="none", timeout=5)
    assert caught.value.permanent is True
    assert caught.value.code == 554


@pytest.mark.parametrize(("answer", "permanent"), [("550 5.1.1 No such user", True), ("450 4.2.1 Mailbox busy", False)])
def test_a_refused_recipient_names_the_answer(smtp_server, answer, permanent):
    server = smtp_server(Recorder(rcpt_answer=answer))
    with pytest.raises(MailError) as caught:
        send_message(issue_message(), host="127.0.0.1", port=server.port, security="none", timeout=5)
    assert caught.value.permanent is permanent
    assert caught.value.code == int(answer[:3])
    assert "reader@example.org" in caught.value.reason


class _DropsDuringData(socketserver.BaseRequestHandler):
    """Speaks SMTP up to DATA, reads part of the message, then hangs up."""

    def handle(self):
        stream = self.request.makefile("rb")
        self.request.sendall(b"220 drop.example ESMTP\r\n")
        for line in stream:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.request.sendall(b"250 drop.example\r\n")
            elif verb in (b"MAIL", b"RCPT"):
                self.request.sendall(b"250 OK\r\n")
            elif verb == b"DATA":
                self.request.sendall(b"354 Go ahead\r\n")
                stream.read(512)  # part of the message, then the connection goes away
                self.request.shutdown(socket.SHUT_RDWR)
                return


def test_a_connection_dropped_mid_message_is_a_temporary_failure():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _DropsDuringData)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(MailError) as caught:
            send_message(
                issue_message(), host="127.0.0.1", port=server.server_address[1], security="none", timeout=5
            )
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.permanent is False
    assert str(server.server_address[1]) in caught.value.reason


def test_nothing_listening_is_a_temporary_failure():
    port = free_port()
    with pytest.raises(MailError) as caught:
        send_message(issue_message(), host="127.0.0.1", port=port, security="none", timeout=5)
    assert caught.value.permanent is False and caught.value.code is None
    assert f"127.0.0.1:{port}" in caught.value.reason


def test_unknown_security_mode_is_refused():
    with pytest.raises(MailError, match="tls13") as caught:
        send_message(issue_message(), host="127.0.0.1", port=25, security="tls13")
    assert caught.value.permanent is True


# ---------------------------------------------------------------- TLS and login


def test_starttls_with_login_delivers(smtp_server, certificate):
    handler = Recorder()
    server = smtp_server(
        handler,
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=accept_only("digest", PASSWORD),
    )
    send_message(
        issue_message(),
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        username="digest",
        password=PASSWORD,
        timeout=5,
        ssl_context=client_trusting(certificate),
    )
    assert received(handler)["Subject"] == "简读 第7期 · 2024-01-22"


def test_implicit_tls_delivers(smtp_server, certificate):
    handler = Recorder()
    server = smtp_server(handler, ssl_context=server_tls(certificate))
    send_message(
        issue_message(),
        host="127.0.0.1",
        port=server.port,
        security="ssl",
        timeout=5,
        ssl_context=client_trusting(certificate),
    )
    assert received(handler)["Message-ID"] == "<issue-7@jiandu.example.com>"


def test_an_untrusted_certificate_is_a_permanent_failure(smtp_server, certificate):
    server = smtp_server(Recorder(), tls_context=server_tls(certificate), require_starttls=True)
    with pytest.raises(MailError) as caught:
        # The system trust store does not know the self-signed certificate.
        send_message(issue_message(), host="127.0.0.1", port=server.port, security="starttls", timeout=5)
    assert caught.value.permanent is True
    assert "certificate" in caught.value.reason


def test_refused_login_is_permanent_and_never_shows_the_password(smtp_server, certificate, caplog):
    server = smtp_server(
        Recorder(),
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=accept_only("digest", "another-password"),
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailError) as caught:
        send_message(
            issue_message(),
            host="127.0.0.1",
            port=server.port,
            security="starttls",
            username="digest",
            password=PASSWORD,
            timeout=5,
            ssl_context=client_trusting(certificate),
        )
    assert caught.value.permanent is True and caught.value.code == 535
    for shown in (str(caught.value), repr(caught.value), caught.value.reason, caplog.text):
        assert PASSWORD not in shown
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_starttls_not_offered_is_a_permanent_failure(smtp_server):
    server = smtp_server(Recorder())  # no tls_context: the server does not offer STARTTLS
    with pytest.raises(MailError) as caught:
        send_message(issue_message(), host="127.0.0.1", port=server.port, security="starttls", timeout=5)
    assert caught.value.permanent is True
    assert "STARTTLS" in caught.value.reason
