"""`jiandu eval`: a report card per model from the bundled real articles, through the loopback
OpenAI-compatible server answering differently for each model name (issue 14)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.model_eval import sample_articles
from jiandu.settings import get_settings
from jiandu.testing import llm_server as fake
from jiandu.testing.llm_server import LLMServer

runner = CliRunner()


def by_model(request: dict, number: int) -> fake.Reply:
    """"careful" answers as asked; "quirky" as a small local model writes; "english" keeps
    English titles; "inventive" invents a figure in every answer."""
    model = request.get("model")
    if model == "quirky":
        return fake.real_model(request, number)
    if model == "inventive":
        return fake.invented_number(request, number)
    if model == "english" and request.get("response_format"):
        data = json.loads(fake.default_answer(request))
        return fake.Reply(content=json.dumps({**data, "title": "An English title"}, ensure_ascii=False))
    return fake.ok(request, number)


def test_the_sample_is_real_chinese_and_english_articles():
    articles = sample_articles()
    assert len(articles) == 10
    assert {language for language, _ in articles[:2]} == {"zh", "en"}
    assert all(len(article.text) > 500 for _, article in articles)


def test_two_models_side_by_side(monkeypatch):
    from jiandu.cli import console

    monkeypatch.setenv("COLUMNS", "200")
    # The console may have been made (and its width fixed) by an earlier test in this worker.
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setenv("JIANDU_LLM_PRICES", '{"careful": [0.15, 0.6]}')
    with LLMServer(by_model) as server:
        get_settings.cache_clear()
        result = runner.invoke(app, ["eval", "-m", "careful", "-m", "quirky", "-m", "english", "-m", "inventive",
                                     "--base-url", server.base_url, "--response-format", "json_object",
                                     "--limit", "4"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in result.output.splitlines() if line.count("│") >= 5}
    assert rows["valid first time"] == ["4/4", "4/4", "0/4", "0/4"]
    assert rows["valid after a repair"] == ["0/4", "0/4", "4/4", "0/4"]
    assert rows["held (unsupported claims)"] == ["0/4", "0/4", "0/4", "4/4"]
    assert rows["Chinese titles"] == ["4/4", "4/4", "0/4", "4/4"]
    assert rows["requests per item"][0] == rows["requests per item"][1]  # quirks cost no request
    assert rows["cost per item (USD)"][0].startswith("0.0") and "unknown" in rows["cost per item (USD)"][1]
    assert all("/" in cell for cell in rows["bullet 字 min/median/max"])


def test_eval_needs_an_endpoint(monkeypatch):
    monkeypatch.delenv("JIANDU_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(app, ["eval", "-m", "x"])
    assert result.exit_code != 0 and "--base-url" in str(result.exception)
