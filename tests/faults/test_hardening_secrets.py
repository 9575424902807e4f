"""Issue 12, hole 1: no secret in any stored or printed error, whatever path it came by.

An endpoint that refuses the key the way OpenAI does echoes the key back in its 401 message;
a password can sit inside JIANDU_LLM_BASE_URL. Neither may reach items.error, a run's stats,
a stage report, `jiandu items export`, `jiandu config` or an error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jiandu.models.schema import Item, Run
from jiandu.stages.summarise import summarise
from jiandu.testing.llm_server import LLMServer, Reply
from tests.faults.support import article, fault_runtime, load_articles

API_KEY = "sk-SECRET-llm-4f9a7c"
URL_PASSWORD = "pw-SECRET-url-77aa"


def echo_the_key(request, number):
    """OpenAI's own 401 text: the key it was given, repeated back."""
    body = {"error": {"message": f"Incorrect API key provided: {API_KEY}. You can find your "
                                 "API key at https://platform.openai.com/account/api-keys.",
                      "type": "invalid_request_error", "code": "invalid_api_key"}}
    return Reply(status=401, raw_body=json.dumps(body).encode())


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    return subprocess.run([sys.executable, "-m", "jiandu", *args], cwd=cwd, env={**clean, "COLUMNS": "200", **env},
                          capture_output=True, text=True, timeout=120)


def test_an_api_key_echoed_by_a_401_is_never_stored_exported_or_reported(monkeypatch, tmp_path):
    with LLMServer() as llm:
        # The key also sits in the base URL's password, as some gateways want it.
        base_url = llm.base_url.replace("http://", f"http://jiandu:{URL_PASSWORD}@")
        env = {"JIANDU_FETCH_PAGES": "0", "JIANDU_LLM_BASE_URL": base_url,
               "JIANDU_LLM_API_KEY": API_KEY, "JIANDU_LLM_MAX_ATTEMPTS": "1"}
        rt = fault_runtime(monkeypatch, **env)
        load_articles(rt, tmp_path, {name: article(name) for name in ("gmw", "bbc-1")})
        llm.behaviour = echo_the_key
        report = summarise(rt).as_dict()
        assert llm.requests, "the endpoint was asked"
        with rt.sessions() as session:
            errors = [item.error for item in session.query(Item)]
            stats = [json.dumps(run.stats, ensure_ascii=False) for run in session.query(Run)]
        rt.close()
    assert errors and all(error and "401" in error for error in errors), errors
    assert all("Incorrect API key provided" in error for error in errors)  # the reason stays
    exported = run_cli(["items", "export"], {"JIANDU_HOME": os.environ["JIANDU_HOME"], **env}, tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "401" in exported.stdout
    for text in [*errors, *stats, json.dumps(report, ensure_ascii=False), exported.stdout]:
        assert API_KEY not in text and URL_PASSWORD not in text, text[:400]


def test_config_masks_a_password_inside_the_llm_base_url(tmp_path):
    fallback = f'[{{"base_url": "https://u:{URL_PASSWORD}@backup.example.com/v1", "model": "m"}}]'
    env = {"JIANDU_HOME": str(tmp_path / "home"), "JIANDU_LLM_FALLBACKS": fallback,
           "JIANDU_LLM_BASE_URL": f"https://gateway:{URL_PASSWORD}@llm.example.com/v1"}
    shown = run_cli(["config"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "llm.example.com" in shown.stdout and "backup.example.com" in shown.stdout
    assert URL_PASSWORD not in shown.stdout + shown.stderr


def test_an_error_line_never_prints_a_secret(tmp_path):
    """A database URL jiandu cannot use is named in the error line, its password hidden."""
    env = {"JIANDU_HOME": str(tmp_path / "home"),
           "JIANDU_DATABASE_URL": f"postgresql+nosuchdriver://jiandu:{URL_PASSWORD}@127.0.0.1:1/x"}
    failed = run_cli(["source", "list"], env, tmp_path)
    assert failed.returncode != 0
    assert "JIANDU_DATABASE_URL" in failed.stderr and "Traceback" not in failed.stderr
    assert URL_PASSWORD not in failed.stdout + failed.stderr
