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


TRIAGE_PREFIX = "triage"  # the triage's templates: no part of a summary's prompts


def prompt_version(prefix: str | None = None) -> str:
    """Short hash of the prompt templates: a summary records which prompts made it. Without a
    prefix, every template a summary uses (the triage's are left out, so changing them asks
    for no summary again); with one, the templates whose names start so."""
    digest = hashlib.sha256()
    for path in sorted(PROMPTS_DIR.glob("*.j2")):
        wanted = path.name.startswith(prefix) if prefix else not path.name.startswith(TRIAGE_PREFIX)
        if not wanted:
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def fence(text: str) -> str:
    """Article text for inside <article> tags; a closing tag in the text cannot end the fence."""
    return re.sub(r"</\s*article\s*>", "</ article>", text, flags=re.I)
