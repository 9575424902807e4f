"""SMTP delivery of an issue: build a multipart/alternative message and send it with smtplib.

Every failure becomes MailError(reason, permanent, code). `permanent` tells the caller whether
sending again can help: 5xx answers, refused credentials and broken TLS set-up are permanent;
4xx answers, timeouts and dropped connections are not. The password never appears in a reason:
server answers are scrubbed of it (and of its base64 forms, in case a server echoes AUTH).
"""

from __future__ import annotations

import base64
import datetime
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jiandu.errors import JianduError

SECURITY_MODES = ("none", "starttls", "ssl")


class MailError(JianduError):
    """An issue could not be handed to the SMTP server."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


def build_message(
    *,
    subject: str,
    sender: str,
    recipient: str,
    reply_to: str | None,
    text: str,
    html: str,
    message_id: str | None,
    list_unsubscribe: str | None,
    date: datetime.datetime,
) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML edition preferred."""
    if date.tzinfo is None:
        raise ValueError("the Date header needs a timezone-aware datetime")
    headers = {"Subject": subject, "From": sender, "To": recipient, "Reply-To": reply_to,
               "List-Unsubscribe": list_unsubscribe}
    for name, value in headers.items():
        if value and ("\r" in value or "\n" in value):
            # A line break would start a header of its own (Bcc: ...): header injection.
            raise MailError(f"{name}: {value!r} contains a line break; not sent", permanent=True)
    if "@" not in recipient:
        raise MailError(f"To: {recipient!r} is not an email address; not sent", permanent=True)
    message = EmailMessage()
    try:
        message["Subject"] = subject
        message["From"] = sender
        message["To"] = recipient
        if reply_to:
            message["Reply-To"] = reply_to
        message["Date"] = format_datetime(date)
        message["Message-ID"] = message_id or make_msgid(domain=_domain_of(sender))
        if list_unsubscribe:
            message["List-Unsubscribe"] = _angle_bracketed(list_unsubscribe)
    except (ValueError, IndexError) as exc:  # the email package refusing a header value
        raise MailError(f"cannot build the message to {recipient!r}: {exc}", permanent=True) from None
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def send_message(
    message: EmailMessage,
    *,
    host: str,
    port: int,
    security: str,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 30,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Hand message to the SMTP server at host:port; raises MailError on any failure.

    security: "none" (plain), "starttls" (upgrade after EHLO) or "ssl" (TLS from the start).
    ssl_context defaults to the system trust store with certificate checking.
    """
    if security not in SECURITY_MODES:
        raise MailError(
            f"unknown SMTP security {security!r}; choose one of {SECURITY_MODES}", permanent=True
        )
    where = f"SMTP {host}:{port} ({security})"
    context = ssl_context or ssl.create_default_context()
    try:
        if security == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if security == "starttls":
                client.starttls(context=context)
            if username:
                client.login(username, password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        answers = "; ".join(f"{rcpt}: {code} {_text(answer)}" for rcpt, (code, answer) in exc.recipients.items())
        raise MailError(
            _scrub(f"{where}: recipients refused: {answers}", username, password),
            permanent=all(500 <= code < 600 for code in codes),
            code=codes[0] if codes else None,
        ) from None
    except smtplib.SMTPResponseException as exc:
        # Also SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError.
        raise MailError(
            _scrub(f"{where}: {type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}", username, password),
            permanent=500 <= exc.smtp_code < 600,
            code=exc.smtp_code,
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise MailError(
            _scrub(f"{where}: server closed the connection: {exc}", username, password), permanent=False
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        # e.g. STARTTLS or AUTH not offered: a setting is wrong, retrying will not help.
        raise MailError(_scrub(f"{where}: {exc}", username, password), permanent=True) from None
    except smtplib.SMTPException as exc:
        raise MailError(
            _scrub(f"{where}: {type(exc).__name__}: {exc}", username, password), permanent=False
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise MailError(f"{where}: TLS certificate not trusted: {exc.verify_message}", permanent=True) from None
    except ssl.SSLError as exc:
        raise MailError(f"{where}: TLS failed: {exc.reason or exc}", permanent=False) from None
    except (socket.timeout, TimeoutError):
        raise MailError(f"{where}: no answer within {timeout} s", permanent=False) from None
    except OSError as exc:
        raise MailError(f"{where}: cannot connect: {exc.strerror or exc}", permanent=False) from None


def _scrub(text: str, username: str | None, password: str | None) -> str:
    """text without the password, plain or as AUTH PLAIN / AUTH LOGIN would have sent it."""
    if not password:
        return text
    secrets = {
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{username or ''}\0{password}".encode()).decode(),
    }
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _angle_bracketed(value: str) -> str:
    """List-Unsubscribe wants each URI in <...> (RFC 2369)."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return ", ".join(part if part.startswith("<") else f"<{part}>" for part in parts)


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"
