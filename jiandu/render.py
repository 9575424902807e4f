"""The issue in three editions: Markdown (FORMAT.md), HTML for email, plain text.

One Jinja2 environment renders them all from the context of jiandu.issue_context. HTML is
autoescaped and its CSS is inlined with css-inline, because most mail clients drop <style>;
the @media rules (narrow screens, dark mode) cannot be inlined and stay in a <style> block.
"""

from __future__ import annotations

import functools
import re

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from jiandu.templates import TEMPLATES_DIR

FORMATS = {"md": "issue.md.j2", "html": "issue.html.j2", "txt": "issue.txt.j2"}

# Backslash-escaping these keeps raw HTML ("<script>"), link syntax and code spans in a
# title or bullet literal when the Markdown edition is itself rendered; **bold** survives.
_MARKDOWN_SPECIAL = re.compile(r"([\\`<\[\]])")


def markdown_text(text: str) -> str:
    """Text as literal Markdown inline content."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_url(url: str) -> str:
    """A URL fit for the (target) of a Markdown link: no spaces or parentheses to end it early."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _autoescape(template_name: str | None) -> bool:
    return bool(template_name) and template_name.endswith((".html.j2", ".html"))


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment of the issue templates."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = markdown_text
    env.filters["md_url"] = markdown_url
    return env


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(load_remote_stylesheets=False)


def render(context: dict, fmt: str) -> str:
    """The issue of `context` as fmt: "md", "html" or "txt"."""
    try:
        template_name = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown issue format {fmt!r}; choose one of {sorted(FORMATS)}") from None
    text = environment().get_template(template_name).render(context)
    if fmt == "html":
        text = _inliner().inline(text)
        if not text.endswith("\n"):
            text += "\n"
    return text


def render_body_html(context: dict) -> str:
    """The issue's HTML without the document around it and with classes, not inline styles.

    For pages that bring their own stylesheet (the static site).
    """
    return environment().get_template("issue_body.html.j2").render(context)
