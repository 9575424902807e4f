"""`jiandu eval --model M [--model M2] [--base-url U]`: a report card for choosing a model.
Registered on import by jiandu.cli."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from jiandu.cli import app, console, err, settings
from jiandu.errors import InputError


@app.command("eval")
def eval_models(
    model: list[str] = typer.Option(..., "--model", "-m", metavar="MODEL",
                                    help="Model name at the endpoint; give it twice to compare two side by side."),
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL",
                                           help="OpenAI-compatible endpoint (default JIANDU_LLM_BASE_URL)."),
    api_key: Optional[str] = typer.Option(None, "--api-key", metavar="KEY", envvar="JIANDU_EVAL_API_KEY",
                                          help="Key for that endpoint (default JIANDU_LLM_API_KEY).", show_envvar=False),
    response_format: Optional[str] = typer.Option(None, "--response-format", metavar="FORMAT",
                                                  help="json_schema or json_object (default JIANDU_LLM_RESPONSE_FORMAT)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N sample articles (10 bundled)."),
) -> None:
    """Summarise a bundled sample of real articles (Chinese and English) with each model and
    print a report card: valid first time, after a repair, held, failed; Chinese titles; bullet
    length spread; latency, tokens and cost per item. Nothing is stored."""
    from jiandu.model_eval import run_card, sample_articles
    from jiandu.settings import LLMEndpoint
    from jiandu.summarising.llm import from_settings

    config = settings()
    url = base_url or config.llm_base_url
    if not url:
        raise InputError("no endpoint: give --base-url URL or set JIANDU_LLM_BASE_URL")
    if response_format not in (None, "json_schema", "json_object"):
        raise InputError(f"--response-format: {response_format!r} is neither json_schema nor json_object")
    key = api_key or (config.llm_api_key.get_secret_value() if config.llm_api_key else None)
    articles = sample_articles(limit)
    cards = []
    for name in model:
        endpoint = LLMEndpoint(base_url=url, model=name, api_key=key, response_format=response_format)
        summariser = from_settings(config, endpoint)
        err.print(f"{name}: {len(articles)} articles from {url}")

        def progress(outcome, name=name):
            err.print(f"  {name} {outcome.article}: {outcome.kind} in {outcome.seconds:.1f}s"
                      + (f" ({outcome.reason[:120]})" if outcome.reason else ""))

        cards.append(run_card(summariser, list(config.sections), articles,
                              config.llm_prices.get(name), on_done=progress))
    table = Table(title=f"jiandu eval: {len(articles)} real articles", title_justify="left")
    table.add_column("", style="cyan")
    for card in cards:
        table.add_column(escape(card.model), justify="right")
    rows = [card.rows() for card in cards]
    for label in rows[0]:
        table.add_row(label, *(escape(row[label]) for row in rows))
    console.print(table)
