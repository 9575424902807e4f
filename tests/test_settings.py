"""Settings: environment over jiandu.toml, the OPENAI_* fallbacks, derived defaults, errors."""

from __future__ import annotations

import pytest

from jiandu.errors import ConfigError
from jiandu.settings import get_settings


def fresh():
    get_settings.cache_clear()
    return get_settings()


def test_defaults_put_everything_under_home(jiandu_env):
    settings = fresh()
    assert settings.database == f"sqlite:///{(jiandu_env / 'jiandu.db').resolve()}"
    assert settings.llm_configured is False
    assert settings.sections == ["产品介绍", "产业资讯", "技术教程", "其他"]
    assert settings.publish_cron == "0 8 * * *"


def test_toml_file_and_environment(tmp_path, monkeypatch):
    (tmp_path / "jiandu.toml").write_text(
        'llm_model = "deepseek-chat"\nsections = ["新闻", "其他"]\nvariant = "flat"\n', encoding="utf-8")
    monkeypatch.setenv("JIANDU_LLM_MODEL", "qwen-plus")  # the environment wins
    settings = fresh()
    assert settings.llm_model == "qwen-plus"
    assert settings.sections == ["新闻", "其他"] and settings.variant == "flat"


def test_openai_variables_are_honoured(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abc")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = fresh()
    assert settings.llm_configured
    assert settings.llm_api_key.get_secret_value() == "sk-abc"
    assert settings.llm_base_url == "http://127.0.0.1:9/v1"
    assert settings.masked()["llm_api_key"] == "********"


def test_weekly_period_publishes_on_mondays_unless_told(monkeypatch):
    monkeypatch.setenv("JIANDU_PERIOD", "weekly")
    assert fresh().publish_cron == "0 8 * * 1"
    monkeypatch.setenv("JIANDU_PUBLISH_CRON", "30 7 * * 5")
    assert fresh().publish_cron == "30 7 * * 5"


@pytest.mark.parametrize("name, value, named", [
    ("JIANDU_LLM_MAX_CONCURRENCY", "many", "JIANDU_LLM_MAX_CONCURRENCY"),
    ("JIANDU_TIMEZONE", "Mars/Olympus", "JIANDU_TIMEZONE"),
    ("JIANDU_VARIANT", "zigzag", "JIANDU_VARIANT"),
    ("JIANDU_SMTP_SECURITY", "tls13", "JIANDU_SMTP_SECURITY"),
])
def test_a_bad_setting_is_named(monkeypatch, name, value, named):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        fresh()
