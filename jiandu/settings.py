"""The one settings object: JIANDU_* environment variables over an optional jiandu.toml.

Only this module reads the environment for jiandu's own settings; everything else takes values
as arguments. `get_settings()` is cached; tests call `get_settings.cache_clear()`.

The TOML file is the first that exists of: $JIANDU_CONFIG, ./jiandu.toml, $JIANDU_HOME/jiandu.toml.
Its keys are the setting names without the prefix, e.g. `llm_model = "deepseek-chat"`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)
from typing_extensions import Annotated

from jiandu.errors import ConfigError
from jiandu.issue_context import TITLE_TEMPLATE

DEFAULT_SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]
DEFAULT_PURPOSE = "本系列文章主要是用于持续跟踪最新的AI产业情况，让你减少知识焦虑。"


def _listed(value: Any, split) -> Any:
    """A list setting written as text: a JSON list, or what `split` makes of it (blanks dropped)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in split(text) if part.strip()] if text else []


def _alias(name: str, *more: str) -> AliasChoices:
    return AliasChoices(f"JIANDU_{name}", *more)


def config_file() -> Path | None:
    candidates = [os.environ.get("JIANDU_CONFIG"), "jiandu.toml"]
    home = os.environ.get("JIANDU_HOME")
    if home:
        candidates.append(str(Path(home) / "jiandu.toml"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    if os.environ.get("JIANDU_CONFIG"):
        raise ConfigError(f"JIANDU_CONFIG: no such file: {os.environ['JIANDU_CONFIG']}")
    return None


class LLMEndpoint(BaseModel):
    """One entry of JIANDU_LLM_FALLBACKS."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    model: str
    api_key: SecretStr | None = None
    response_format: Literal["json_schema", "json_object"] | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JIANDU_", extra="ignore", populate_by_name=True, validate_default=True
    )

    # Where jiandu keeps its database, rendered issues and Prefect's state.
    home: Path = Field(Path(".jiandu"), validation_alias=_alias("HOME"))
    database_url: str | None = Field(None, validation_alias=_alias("DATABASE_URL"))

    # The summariser. No API key and no base URL: the offline extractive summariser.
    llm_base_url: str | None = Field(
        None, validation_alias=_alias("LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=_alias("LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_model: str = Field("gpt-4o-mini", validation_alias=_alias("LLM_MODEL"))
    llm_response_format: Literal["json_schema", "json_object"] = Field(
        "json_schema", validation_alias=_alias("LLM_RESPONSE_FORMAT")
    )
    llm_max_concurrency: int = Field(
        8, ge=1, le=256, validation_alias=_alias("LLM_MAX_CONCURRENCY")
    )
    llm_requests_per_minute: int | None = Field(
        None, ge=1, validation_alias=_alias("LLM_REQUESTS_PER_MINUTE")
    )
    # None: follows the model (its context window, or what a local server says), minus the answer.
    llm_input_token_budget: int | None = Field(
        None, ge=500, validation_alias=_alias("LLM_INPUT_TOKEN_BUDGET")
    )
    llm_run_token_budget: int | None = Field(
        None, ge=1, validation_alias=_alias("LLM_RUN_TOKEN_BUDGET")
    )
    # The longest silence: no first token, or no next token, for this long (answers stream).
    llm_timeout: float = Field(60.0, gt=0, validation_alias=_alias("LLM_TIMEOUT"))
    # The longest one request may take in all, however steadily it writes.
    llm_request_deadline: float = Field(600.0, gt=0, validation_alias=_alias("LLM_REQUEST_DEADLINE"))
    # Streamed answers: "auto" streams from a local server (loopback or private address), where
    # slow and runaway models live; a hosted endpoint answers fast and streaming would cost CPU
    # per token. true/false force it. jiandu also falls back when an endpoint rejects streaming.
    llm_stream: Literal["auto", "true", "false"] = Field("auto", validation_alias=_alias("LLM_STREAM"))
    # The longest answer of each task: one number for all, or JSON such as
    # {"summary": 1200, "repair": 1200, "part": 1000, "combine": 1200}.
    llm_max_output_tokens: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict, validation_alias=_alias("LLM_MAX_OUTPUT_TOKENS")
    )
    llm_max_attempts: int = Field(5, ge=1, validation_alias=_alias("LLM_MAX_ATTEMPTS"))
    # "llm": one more request per summary lists statements the article does not support
    # (jiandu.summarising.verify); they get one regeneration, then the summary is held. Off by default.
    verify: Literal["off", "llm"] = Field("off", validation_alias=_alias("VERIFY"))
    verify_model: str | None = Field(None, validation_alias=_alias("VERIFY_MODEL"))  # default: llm_model
    # USD per million tokens, [prompt, completion], by model name.
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": (0.15, 0.60),
            "gpt-4o": (2.50, 10.00),
            "deepseek-chat": (0.27, 1.10),
            "qwen-plus": (0.11, 0.28),
        },
        validation_alias=_alias("LLM_PRICES"),
    )
    hold_unfaithful: bool = Field(True, validation_alias=_alias("HOLD_UNFAITHFUL"))

    # Fetching.
    allow_private_hosts: bool = Field(
        False, validation_alias=_alias("ALLOW_PRIVATE_HOSTS")
    )
    fetch_pages: bool = Field(True, validation_alias=_alias("FETCH_PAGES"))
    max_body_bytes: int = Field(
        10_000_000, ge=1024, validation_alias=_alias("MAX_BODY_BYTES")
    )
    connect_timeout: float = Field(10.0, gt=0, validation_alias=_alias("CONNECT_TIMEOUT"))
    read_timeout: float = Field(20.0, gt=0, validation_alias=_alias("READ_TIMEOUT"))
    max_connections: int = Field(16, ge=1, validation_alias=_alias("MAX_CONNECTIONS"))
    per_host_connections: int = Field(
        2, ge=1, validation_alias=_alias("PER_HOST_CONNECTIONS")
    )

    # Resolvers (connectors/resolvers): PDF limits, and where each route's upstream lives.
    pdf_max_bytes: int = Field(25_000_000, ge=1024, validation_alias=_alias("PDF_MAX_BYTES"))
    pdf_max_pages: int = Field(60, ge=1, validation_alias=_alias("PDF_MAX_PAGES"))
    arxiv_url: str = Field("https://arxiv.org", validation_alias=_alias("ARXIV_URL"))
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query",
                               validation_alias=_alias("ARXIV_API_URL"))
    github_api_url: str = Field("https://api.github.com", validation_alias=_alias("GITHUB_API_URL"))
    huggingface_url: str = Field("https://huggingface.co", validation_alias=_alias("HUGGINGFACE_URL"))
    youtube_url: str = Field("https://www.youtube.com", validation_alias=_alias("YOUTUBE_URL"))
    youtube_timedtext_url: str = Field("https://www.youtube.com/api/timedtext",
                                       validation_alias=_alias("YOUTUBE_TIMEDTEXT_URL"))
    x_oembed_url: str = Field("https://publish.twitter.com/oembed",
                              validation_alias=_alias("X_OEMBED_URL"))
    # The author's earlier posts of a thread; "" turns thread reading off.
    x_thread_api_url: str = Field("https://api.fxtwitter.com",
                                  validation_alias=_alias("X_THREAD_API_URL"))
    tco_url: str = Field("https://t.co", validation_alias=_alias("TCO_URL"))
    wechat_url: str = Field("https://mp.weixin.qq.com", validation_alias=_alias("WECHAT_URL"))
    sogou_url: str = Field("https://weixin.sogou.com", validation_alias=_alias("SOGOU_URL"))

    # The publication.
    publication_name: str = Field("简读AI", validation_alias=_alias("PUBLICATION_NAME"))
    publication_purpose: str = Field(
        DEFAULT_PURPOSE, validation_alias=_alias("PUBLICATION_PURPOSE")
    )
    sections: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SECTIONS), validation_alias=_alias("SECTIONS")
    )
    variant: Literal["sectioned", "flat"] = Field("sectioned", validation_alias=_alias("VARIANT"))
    highlights: int = Field(10, ge=1, le=50, validation_alias=_alias("HIGHLIGHTS"))
    # More stories than a reader (or a mail client: Gmail clips past ~100 KB) can take wait for
    # the next issue, the most important going first.
    issue_max_stories: int = Field(200, ge=1, validation_alias=_alias("ISSUE_MAX_STORIES"))
    timezone: str = Field("Asia/Shanghai", validation_alias=_alias("TIMEZONE"))
    period: Literal["daily", "weekly"] = Field("daily", validation_alias=_alias("PERIOD"))
    # Where `jiandu site build`'s archive will be served; blank until the user says (site build
    # refuses without it, rather than writing an Atom feed of made-up links).
    site_url: str = Field("", validation_alias=_alias("SITE_URL"))

    # Mail. Nothing is sent unless JIANDU_SMTP_HOST and JIANDU_MAIL_TO are set.
    smtp_host: str | None = Field(None, validation_alias=_alias("SMTP_HOST"))
    smtp_port: int | None = Field(None, validation_alias=_alias("SMTP_PORT"))
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        "starttls", validation_alias=_alias("SMTP_SECURITY")
    )
    smtp_username: str | None = Field(None, validation_alias=_alias("SMTP_USERNAME"))
    smtp_password: SecretStr | None = Field(None, validation_alias=_alias("SMTP_PASSWORD"))
    mail_from: str = Field("jiandu@localhost", validation_alias=_alias("MAIL_FROM"))
    mail_to: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("MAIL_TO")
    )
    mail_reply_to: str | None = Field(None, validation_alias=_alias("MAIL_REPLY_TO"))
    mail_subject: str = Field(TITLE_TEMPLATE, validation_alias=_alias("MAIL_SUBJECT"))
    list_unsubscribe: str | None = Field(
        None, validation_alias=_alias("LIST_UNSUBSCRIBE")
    )

    # Schedules for `jiandu serve` (cron, in the publication's timezone).
    ingest_cron: str = Field("0 * * * *", validation_alias=_alias("INGEST_CRON"))
    # Default: 08:00 every day, or every Monday when JIANDU_PERIOD is weekly.
    publish_cron: str = Field("0 8 * * *", validation_alias=_alias("PUBLISH_CRON"))
    # The Prefect server `jiandu serve` starts listens on 127.0.0.1 at this port, the same on
    # every start (its UI bookmarkable); Prefect's own default. 0: any free port.
    prefect_port: int = Field(4200, ge=0, le=65535, validation_alias=_alias("PREFECT_PORT"))

    @model_validator(mode="after")
    def _weekly_publishes_on_monday(self) -> "Settings":
        if self.period == "weekly" and "publish_cron" not in self.model_fields_set:
            self.publish_cron = "0 8 * * 1"
        return self

    # The editor's desk. With review on, publish makes a draft that is sent only once approved.
    review: bool = Field(False, validation_alias=_alias("REVIEW"))
    # Needed to serve the desk on any address but loopback; asked for by the desk's login page.
    desk_token: SecretStr | None = Field(None, validation_alias=_alias("DESK_TOKEN"))
    # `jiandu serve` also serves the desk on 127.0.0.1 at this port; 0 turns that off.
    desk_port: int = Field(8765, ge=0, le=65535, validation_alias=_alias("DESK_PORT"))

    # What gets summarised (jiandu.rules; README "Choosing what gets summarised"): the
    # publication's include/exclude rules (regular expressions, `title:` etc. to limit a rule
    # to one field) and minimum length, before any LLM request; a source may add its own.
    include: Annotated[list[str], NoDecode] = Field(default_factory=list, validation_alias=_alias("INCLUDE"))
    exclude: Annotated[list[str], NoDecode] = Field(default_factory=list, validation_alias=_alias("EXCLUDE"))
    min_zi: int = Field(0, ge=0, validation_alias=_alias("MIN_ZI"))
    # A feed's first poll adds only its recent entries; older ones are recorded as seen.
    first_poll_max_age_days: float = Field(3.0, gt=0, validation_alias=_alias("FIRST_POLL_MAX_AGE_DAYS"))
    first_poll_max_items: int = Field(50, ge=1, validation_alias=_alias("FIRST_POLL_MAX_ITEMS"))
    # Topic triage before a full summary (jiandu.summarising.triage, jiandu.topic): llm asks a
    # short question, keywords looks for the topic's words offline; auto: llm with an LLM
    # configured, else keywords when the topic is stated (PUBLICATION_TOPIC or TOPIC_KEYWORDS).
    triage: Literal["off", "llm", "keywords", "auto"] = Field("auto", validation_alias=_alias("TRIAGE"))
    publication_topic: str = Field("", validation_alias=_alias("PUBLICATION_TOPIC"))  # blank: the purpose
    topic_keywords: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                           validation_alias=_alias("TOPIC_KEYWORDS"))
    # Ranking (jiandu.ranking): a source's weight, {"source id or URL": weight}; others weigh 1.
    source_weights: dict[str, float] = Field(default_factory=dict, validation_alias=_alias("SOURCE_WEIGHTS"))

    @field_validator("topic_keywords", mode="before")
    @classmethod
    def _keyword_list(cls, value: Any) -> Any:
        # A JSON list, or words separated by commas (either width) or 、.
        return _listed(value, lambda text: re.split(r"[,，、]", text))

    @field_validator("source_weights")
    @classmethod
    def _weights_not_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for source, weight in value.items():
            if weight < 0:
                raise ValueError(f"weight of {source!r} is {weight:g}; a weight is 0 or more")
        return value

    @property
    def topic(self) -> str:
        from jiandu.topic import topic_of

        return topic_of(self.publication_topic, self.publication_purpose)

    @property
    def triage_mode(self) -> str:
        """What triage this run does: "llm", "keywords" or "off" (see `triage`)."""
        if self.triage == "off":
            return "off"
        if self.triage == "keywords" or not self.llm_configured:
            stated = self.triage != "auto" or bool(self.publication_topic or self.topic_keywords)
            return "keywords" if stated else "off"
        return "llm"

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _rule_list(cls, value: Any) -> Any:
        # A JSON list, or one rule (rules hold commas and spaces, so no splitting on them).
        return _listed(value, lambda text: [text])

    @field_validator("include", "exclude")
    @classmethod
    def _valid_rules(cls, value: list[str]) -> list[str]:
        from jiandu.rules import parse_rule

        for rule in value:
            parse_rule(rule)  # a RuleError (a ValueError) names the rule
        return value

    # How long a worker's claim on a batch of items lasts; a dead worker's items wait this long.
    claim_lease_seconds: float = Field(
        600.0, gt=0, validation_alias=_alias("CLAIM_LEASE_SECONDS")
    )

    # Reach (README "Following accounts through RSSHub", "Pushing issues to chats").
    rsshub_url: str | None = Field(None, validation_alias=_alias("RSSHUB_URL"))
    rsshub_access_key: SecretStr | None = Field(None, validation_alias=_alias("RSSHUB_ACCESS_KEY"))
    # Apprise URLs (tgram://, feishu://, dingtalk://, wecombot://, json://, ...): a JSON list,
    # or URLs separated by spaces or commas. They hold tokens: shown masked everywhere.
    push_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("PUSH_URLS")
    )
    # Further OpenAI-compatible endpoints tried in order when the primary gives up on an item.
    llm_fallbacks: Annotated[list[LLMEndpoint], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("LLM_FALLBACKS")
    )

    @field_validator("push_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        return _listed(value, lambda text: text.replace(",", " ").split())

    @field_validator("llm_stream", mode="before")
    @classmethod
    def _stream_words(cls, value: Any) -> Any:
        words = {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false", "off": "false"}
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return words.get(value.strip().lower(), value.strip().lower())
        return value

    @field_validator("llm_max_output_tokens", mode="before")
    @classmethod
    def _output_tokens(cls, value: Any) -> Any:
        from jiandu.summarising.limits import OUTPUT_TASKS

        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("{") else (int(text) if text else {})
        if isinstance(value, int) and not isinstance(value, bool):
            value = {task: value for task in OUTPUT_TASKS}
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(OUTPUT_TASKS))
            if unknown:
                raise ValueError(f"unknown task {unknown[0]!r}; tasks are {', '.join(OUTPUT_TASKS)}")
            if any(not isinstance(v, int) or isinstance(v, bool) or v < 16 for v in value.values()):
                raise ValueError("each maximum must be a whole number of tokens, at least 16")
        return value

    @field_validator("llm_fallbacks", mode="before")
    @classmethod
    def _fallbacks_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @field_validator("sections", "mail_to", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sections")
    @classmethod
    def _sections_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one section is needed")
        return value

    @field_validator("publication_name", "mail_from", "mail_reply_to", "mail_subject",
                     "list_unsubscribe", "mail_to")
    @classmethod
    def _one_line_headers(cls, value: Any) -> Any:
        """These become mail headers: a line break would let them add headers of their own."""
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and ("\r" in text or "\n" in text):
                raise ValueError(f"{text!r} contains a line break; a mail header must be one line")
        return value

    @field_validator("mail_subject")
    @classmethod
    def _subject_template(cls, value: str) -> str:
        """Fails here, when read, rather than at publish time after the issue is made."""
        try:
            value.format(publication="简读", number=1, date="2026-01-01")
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ValueError(f"{value!r} is not a subject template ({type(exc).__name__}: {exc}); "
                             "it may use {publication}, {number} and {date}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # Derived values.
    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'jiandu.db').resolve()}"

    @property
    def out_dir(self) -> Path:
        return self.home / "out"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url or self.llm_api_key)

    def masked(self) -> dict[str, Any]:
        """Effective settings for display: secrets and URL passwords masked."""
        from sqlalchemy.engine import make_url

        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, str) and "://" in value:
                value = secret_free_url(value)
            shown[name] = value
        shown["push_urls"] = [mask_url(url) for url in self.push_urls]
        shown["llm_fallbacks"] = [
            {"base_url": secret_free_url(e.base_url), "model": e.model, "api_key": "********" if e.api_key else "",
             "response_format": e.response_format} for e in self.llm_fallbacks]
        try:
            shown["database_url"] = make_url(self.database).render_as_string(hide_password=True)
        except Exception:  # an unparseable URL is reported by the database layer, not here
            shown["database_url"] = "(unparseable)"
        return shown


def secret_free_url(url: str) -> str:
    from jiandu.secrets import mask_url as mask_password

    return mask_password(url)


def mask_url(url: str) -> str:
    """A push URL for display without importing Apprise: its scheme and host kept, the rest
    (tokens, keys, passwords) hidden."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "****"
    if scheme not in ("json", "jsons", "form", "forms", "xml", "xmls", "ntfy", "ntfys"):
        return f"{scheme}://****"  # chat services keep their tokens where the host would be
    host = rest.split("/", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/****"


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        if not name.isupper():
            name = f"JIANDU_{name.upper()}"
        problems.append(f"{name}: {item['msg']}")
    return "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        settings = Settings()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_file()}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{config_file()}: not UTF-8 text, as TOML must be "
                          f"(byte {exc.start}: {exc.reason})") from None
    except SettingsError as exc:  # a JSON-valued setting that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"JIANDU_{field.group(1).upper()}" if field else "a setting"
        raise ConfigError(f"bad setting: {name}: not valid JSON") from None
    except ValidationError as exc:
        raise ConfigError(f"bad setting: {_describe(exc)}") from None
    from jiandu.secrets import register_settings

    register_settings(settings)  # from here on, no error jiandu stores or prints shows them
    return settings
