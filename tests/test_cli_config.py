"""`jiandu config` says what will actually be used and where each setting came from; `site
build` refuses without the address the site will be served from (issue 13, item 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

JIANDU = Path(sys.executable).with_name("jiandu")


def jiandu(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(JIANDU), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def settings_by_name(proc) -> dict[str, dict]:
    return {row["setting"]: row for row in json.loads(proc.stdout)["settings"]}


def test_config_without_a_key_says_the_offline_summariser_is_in_use():
    proc = jiandu("config")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("summariser:")
    first = proc.stdout.splitlines()[0]
    assert "offline-textrank" in first and "gpt-4o-mini" not in first
    rows = settings_by_name(jiandu("config", "--format", "json"))
    assert rows["JIANDU_LLM_MODEL"]["from"] == "default"
    assert "unused" in rows["JIANDU_LLM_MODEL"]["note"]
    assert rows["JIANDU_HOME"]["from"] == "$JIANDU_HOME"


def test_config_names_the_variable_or_file_each_setting_came_from(tmp_path):
    (tmp_path / "jiandu.toml").write_text('llm_model = "deepseek-chat"\nhighlights = 7\n', encoding="utf-8")
    proc = jiandu("config", "--format", "json", OPENAI_API_KEY="sk-secret-123", JIANDU_HIGHLIGHTS="5")
    assert proc.returncode == 0, proc.stderr
    assert "sk-secret-123" not in proc.stdout
    document = json.loads(proc.stdout)
    assert document["in_use"]["summariser"].startswith("LLM deepseek-chat at ")
    rows = {row["setting"]: row for row in document["settings"]}
    assert rows["JIANDU_LLM_API_KEY"]["from"] == "$OPENAI_API_KEY"
    assert rows["JIANDU_LLM_API_KEY"]["value"] == "********"
    assert rows["JIANDU_LLM_MODEL"]["from"] == "jiandu.toml" and rows["JIANDU_LLM_MODEL"]["value"] == "deepseek-chat"
    assert rows["JIANDU_HIGHLIGHTS"]["from"] == "$JIANDU_HIGHLIGHTS" and rows["JIANDU_HIGHLIGHTS"]["value"] == 5
    assert rows["JIANDU_LLM_MODEL"]["note"] == ""


def test_site_build_refuses_without_a_site_url_and_builds_with_one(tmp_path):
    refused = jiandu("site", "build", str(tmp_path / "site"))
    assert refused.returncode == 1
    assert "JIANDU_SITE_URL is not set" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "site").exists()
    built = jiandu("site", "build", str(tmp_path / "site"), "--url", "https://me.example/jiandu/")
    assert built.returncode == 0, built.stderr
    feed = (tmp_path / "site" / "feed.xml").read_text(encoding="utf-8")
    assert "https://me.example/jiandu/" in feed and "example.invalid" not in feed
    by_env = jiandu("site", "build", str(tmp_path / "site2"), JIANDU_SITE_URL="https://env.example/")
    assert by_env.returncode == 0 and "https://env.example/" in (tmp_path / "site2" / "feed.xml").read_text()
