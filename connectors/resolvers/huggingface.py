"""Hugging Face model, dataset and space pages: the card (README.md) as text.

The card's YAML front matter gives a name and, for spaces, a short description; its Markdown
body is the text.
"""

from __future__ import annotations

import re

import yaml

from jiandu.connectors.errors import ParseError
from jiandu.connectors.resolvers.base import Context, Resolved
from jiandu.connectors.resolvers.github import markdown_text

_FRONT_MATTER = re.compile(r"\A\ufeff?---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def split_card(card: str) -> tuple[dict, str]:
    """(front matter as a dict, Markdown body) of a Hugging Face card."""
    match = _FRONT_MATTER.match(card)
    if not match:
        return {}, card
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        meta = {}
    return (meta if isinstance(meta, dict) else {}), card[match.end():]


def resolve_huggingface(ctx: Context, url: str, kind: str, id: str) -> Resolved:
    card_url = f"{ctx.bases.huggingface.rstrip('/')}/{_PREFIX[kind]}{id}/raw/main/README.md"
    result = ctx.get(card_url, accept="text/plain,text/markdown;q=0.9,*/*;q=0.5")
    meta, body = split_card(result.body.decode(result.charset or "utf-8", errors="replace"))
    text = markdown_text(body)
    summary = str(meta.get("short_description") or "").strip()
    if summary:
        text = f"{summary}\n\n{text}".strip()
    if not text:
        raise ParseError(url, f"the {kind} card is empty")
    heading = next((line.lstrip("# ").strip() for line in body.splitlines()
                    if line.startswith("# ")), None)
    title = str(meta.get("pretty_name") or meta.get("title") or heading or id)
    language = meta.get("language")
    if isinstance(language, list):
        language = language[0] if language else None
    return Resolved(text=text, title=title if title == id else f"{id}: {title}",
                    author=id.split("/")[0], sitename="Hugging Face",
                    language=str(language) if language else None, origin="huggingface",
                    reason=f"Hugging Face {kind} card (README.md)")
