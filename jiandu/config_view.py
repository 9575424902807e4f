"""What `jiandu config` shows: what will actually be used, and where each setting came from.

Each setting's origin is the environment variable that set it (`$JIANDU_LLM_MODEL`,
`$OPENAI_API_KEY`), the TOML file, or the default; the same precedence Settings applies
(environment over file over default). Values come masked from Settings.masked().
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from jiandu.settings import Settings, config_file

OFFLINE_MODEL = "offline-textrank"  # jiandu.summarising.offline.OfflineSummariser.model


def _env_names(settings_cls: type[Settings], name: str) -> list[str]:
    alias = settings_cls.model_fields[name].validation_alias
    choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
    return [str(choice) for choice in choices] or [f"JIANDU_{name.upper()}"]


def origins(settings: Settings, environ: dict[str, str] | None = None,
            file: Path | None = None) -> dict[str, str]:
    """setting name -> where its value came from."""
    environ = dict(os.environ if environ is None else environ)
    upper_env = {key.upper(): key for key in environ}
    file_keys: set[str] = set()
    if file is not None:
        try:
            file_keys = {key.lower() for key in tomllib.loads(file.read_text(encoding="utf-8"))}
        except (OSError, tomllib.TOMLDecodeError):
            file_keys = set()
    found: dict[str, str] = {}
    for name in type(settings).model_fields:
        names = _env_names(type(settings), name)
        env = next((upper_env[n.upper()] for n in names if n.upper() in upper_env), None)
        if env is not None:
            found[name] = f"${env}"
        elif name in file_keys or any(n.lower() in file_keys for n in names):
            found[name] = str(file)
        else:
            found[name] = "default"
    return found


def in_use(settings: Settings, shown: dict[str, Any]) -> list[tuple[str, str]]:
    """The decisions the settings add up to, in words."""
    if settings.llm_configured:
        endpoint = shown.get("llm_base_url") or "https://api.openai.com/v1"
        summariser = f"LLM {settings.llm_model} at {endpoint} ({settings.llm_response_format})"
    else:
        summariser = (f"{OFFLINE_MODEL}, the offline extractive summariser "
                      "(no JIANDU_LLM_BASE_URL / JIANDU_LLM_API_KEY set)")
    mail = (f"to {', '.join(settings.mail_to)} via {settings.smtp_host}"
            if settings.smtp_host and settings.mail_to else
            "off (needs JIANDU_SMTP_HOST and JIANDU_MAIL_TO)")
    site = settings.site_url or "not set: `jiandu site build` refuses until JIANDU_SITE_URL is set"
    return [("summariser", summariser), ("topic triage", triage_in_words(settings)),
            ("database", str(shown.get("database_url"))),
            ("issues written to", str(settings.out_dir)), ("mail", mail), ("site URL", site)]


def triage_in_words(settings: Settings) -> str:
    """What JIANDU_TRIAGE resolves to (README "Choosing what gets summarised")."""
    mode = settings.triage_mode
    if mode == "llm":
        return f"one short LLM request per item before its summary, on the topic {settings.topic!r}"
    if mode == "keywords":
        from jiandu.topic import topic_keywords

        keywords = topic_keywords(settings.topic, settings.topic_keywords)
        return "offline, by the topic's keywords: " + (", ".join(keywords) or "none (nothing is skipped)")
    return "off" + ("" if settings.triage == "off" else
                    " (offline with no JIANDU_PUBLICATION_TOPIC or JIANDU_TOPIC_KEYWORDS stated)")


def config_rows(settings: Settings) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    file = config_file()
    shown = settings.masked()
    where = origins(settings, file=file)
    rows = []
    for name, value in shown.items():
        note = ""
        if name.startswith("llm_") and not settings.llm_configured and name not in (
                "llm_base_url", "llm_api_key"):
            note = "unused: the offline summariser is in use"
        rows.append({"setting": f"JIANDU_{name.upper()}", "value": value,
                     "from": where.get(name, "derived"), "note": note})
    return in_use(settings, shown), rows
