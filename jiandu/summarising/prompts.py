"""The prompt templates (templates/prompts/*.j2) and the version that names them."""

from __future__ import annotations

import hashlib
import re

import jinja2

from jiandu.templates import PROMPTS_DIR

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PROMPTS_DIR),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,
)


def render_prompt(name: str, **context) -> str:
    return _environment.get_template(name).render(**context).strip()


def prompt_version() -> str:
    """Short hash of every prompt template: a summary records which prompts made it."""
    digest = hashlib.sha256()
    for path in sorted(PROMPTS_DIR.glob("*.j2")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def fence(text: str) -> str:
    """Article text for inside <article> tags; a closing tag in the text cannot end the fence."""
    return re.sub(r"</\s*article\s*>", "</ article>", text, flags=re.I)
