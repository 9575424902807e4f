"""Secrets out of everything jiandu stores or prints.

Every secret the settings hold (each SecretStr, and the password inside any URL setting) is
registered when the settings are made. `scrub()` replaces each with "***" wherever it occurs:
in an error an LLM endpoint echoed back, in a URL inside a reason, anywhere. It is applied
where text leaves jiandu's hands: every row flushed to the database (`install()`), every stage
report, every error line and table of the CLI. Scrubbing there, rather than at each place an
error is made, covers the paths nobody thought of.
"""

from __future__ import annotations

import base64
import threading
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "***"
# Shorter values are words ("local", "test", "ollama" as a placeholder key for a local server)
# that masking would cut out of host names and reasons; real keys and passwords are longer.
MIN_SECRET_LENGTH = 8
_secrets: set[str] = set()
_lock = threading.Lock()


def register(*values: str | None) -> None:
    """Treat each value (and its percent- and base64-encoded forms) as a secret from now on."""
    forms: set[str] = set()
    for value in values:
        if value and len(value) >= MIN_SECRET_LENGTH:
            forms.update({value, quote(value, safe=""), base64.b64encode(value.encode()).decode()})
    if forms:
        with _lock:
            _secrets.update(forms)


def register_settings(settings: Any) -> None:
    """Every SecretStr and every password in a URL, anywhere in a settings object (lists and
    nested models included, e.g. the API keys of LLM fallbacks)."""
    _register_within(settings)
    database = getattr(settings, "database", None)
    if isinstance(database, str):
        register(url_password(database))


def _register_within(value: Any) -> None:
    if isinstance(value, SecretStr):
        register(value.get_secret_value())
    elif isinstance(value, str) and "://" in value:
        register(url_password(value))
    elif isinstance(value, (list, tuple)):
        for item in value:
            _register_within(item)
    elif isinstance(value, dict):
        for item in value.values():
            _register_within(item)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _register_within(getattr(value, name))


def url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def mask_url(url: str) -> str:
    """The URL with the password of its user part (if any) replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return scrub(url)
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def scrub(text: str) -> str:
    """text with every registered secret replaced by ***."""
    if not text or not _secrets:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub_data(value: Any) -> Any:
    """scrub() through strings inside dicts, lists and tuples (stage reports, run stats)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_data(item) for item in value)
    return value


# Columns that hold text from outside (errors, warnings, stats) on any mapped row.
SCRUBBED_ATTRIBUTES = ("error", "last_error", "warning", "text_reason", "stats")


def _scrub_rows(session, flush_context, instances) -> None:  # noqa: ANN001 - SQLAlchemy's hook
    if not _secrets:
        return
    for row in (*session.new, *session.dirty):
        for name in SCRUBBED_ATTRIBUTES:
            value = getattr(row, name, None) if hasattr(type(row), name) else None
            if value is None:
                continue
            clean = scrub_data(value)
            if clean != value:
                setattr(row, name, clean)


def install() -> None:
    """Scrub the text columns of every row any session flushes, from here on (idempotent)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "before_flush", _scrub_rows):
        event.listen(Session, "before_flush", _scrub_rows)
