"""Push messages to chats and webhooks through Apprise (tgram://, feishu://, lark://,
dingtalk://, wecombot://, slack://, discord://, ntfy://, json://, form://): no client per service.

Apprise is imported here only, when something is sent (its import and plugin discovery cost
about a second). Every URL gets `overflow=split`: Apprise neither splits nor truncates long
bodies by default, and Telegram, Discord and WeCom refuse them. A URL holds secrets, so what
leaves this module names a target by Apprise's masked form (`url(privacy=True)`) only.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit


# A filter on a logger sees only the records logged on that very logger, so each is named.
_LOGGERS_THAT_SEE_URLS = ("apprise", "urllib3.connectionpool", "urllib3.connection",
                          "urllib3.util.retry", "requests")


@dataclass(frozen=True)
class PushOutcome:
    masked: str  # Apprise's masked form of the target URL
    ok: bool
    reason: str | None = None


def target_key(url: str) -> str:
    """A stable name for a target that holds no secret: the SHA-256 of its URL."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()


def with_split(url: str) -> str:
    """The URL with `overflow=split` (replacing any other overflow mode)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "overflow"]
    query.append(("overflow", "split"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def masked(url: str) -> str:
    """Apprise's masked form of a URL (or a placeholder when Apprise does not know it)."""
    import apprise

    server = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return server.url(privacy=True) if server else "(not an Apprise URL)"


def send(url: str, title: str, body: str) -> PushOutcome:
    """Send one message to one target; never raises for a refusal, it is in the outcome."""
    import apprise

    server = apprise.Apprise.instantiate(with_split(url), suppress_exceptions=True)
    if not server:
        return PushOutcome("(not an Apprise URL)", False,
                           "not an Apprise URL this version of Apprise understands")
    shown = server.url(privacy=True)
    notifier = apprise.Apprise()
    notifier.add(server)
    # Apprise and urllib3 log request URLs at DEBUG (a Telegram bot token is in its API path):
    # whatever Apprise's masked form hides is hidden in their records too, for any handler.
    hide = _HideSecrets(secrets_of(url, shown))
    loggers = [logging.getLogger(name) for name in _LOGGERS_THAT_SEE_URLS]
    for logger in loggers:
        logger.addFilter(hide)
    try:
        with apprise.LogCapture(level=logging.WARNING) as captured:
            outcome = notifier.notify(body=body, title=title)
    finally:
        for logger in loggers:
            logger.removeFilter(hide)
    results = getattr(outcome, "results", None)  # Apprise 2: an AppriseResult per target
    if results:
        result = results[0]
        ok = bool(getattr(result, "success", outcome))
        reason = "; ".join(str(line) for line in getattr(result, "logs", []) or []) or None
    else:  # Apprise 1.x: True only when every target took it
        ok = bool(outcome)
        reason = None
    if not ok and not reason:
        lines = [line.split(" - ", 2)[-1] for line in captured.getvalue().splitlines() if line.strip()]
        reason = "; ".join(lines) or "Apprise reported a failure"
    return PushOutcome(shown, ok, None if ok else _without(reason, url))


def secrets_of(url: str, shown: str) -> list[str]:
    """The parts of a URL that Apprise's masked form does not show: tokens, keys, passwords."""
    pieces = set(re.split(r"[/:@?&=#,]+", url)) | set(re.split(r"[/:@?&=#,]+", unquote(url)))
    secrets = {piece for piece in pieces if len(piece) >= 4 and piece not in shown}
    return sorted(secrets, key=len, reverse=True)


class _HideSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for secret in self.secrets:
            hidden = hidden.replace(secret, "****")
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


def _without(reason: str, url: str) -> str:
    """Whatever Apprise said, with the raw URL's secret parts taken out."""
    parts = urlsplit(url)
    for secret in (parts.password, url, *(v for _, v in parse_qsl(parts.query) if len(v) >= 8)):
        if secret:
            reason = reason.replace(secret, "****")
    return reason
