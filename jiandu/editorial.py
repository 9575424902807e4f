"""The editor's version of a summary (pure): overlay, validation, flags, and the $EDITOR file.

The model's summary is never changed by an editor: an item keeps only the fields the editor
changed (`items.edited`), and what an issue shows is the model's summary with those fields
laid over it. Edits are validated as a model's answer is (exactly three one-paragraph bullets,
1-3 emoji characters, a configured section), and edited bullets are checked against the
article like the model's: a claim the article lacks is flagged, never refused.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

import emoji as emoji_data

from jiandu.zi import count_zi

EDITABLE = ("title", "emoji", "section", "bullets")
BULLETS = 3
MIN_BULLET_ZI, MAX_BULLET_ZI = 15, 300  # as for a model's answer: far outside 60-150 字 is wrong
MAX_TITLE_CHARS = 200


@dataclass
class EffectiveSummary:
    """What the issue shows of one story: the model's summary with the editor's changes."""

    title: str
    emoji: str
    section: str
    importance: int
    bullets: list[str]
    unsupported: list[str]  # claims of the shown bullets the article lacks
    prompt_tokens: int = 0
    completion_tokens: int = 0
    edited_fields: list[str] = field(default_factory=list)


def effective_summary(summary, edited: dict[str, Any] | None) -> EffectiveSummary:
    """`summary` is a stored summary (or anything with its fields); `edited` the item's edits."""
    edited = edited or {}
    bullets = list(edited["bullets"]) if "bullets" in edited else list(summary.bullets)
    unsupported = list(edited.get("unsupported", [])) if "bullets" in edited else list(
        summary.unsupported or [])
    return EffectiveSummary(
        title=edited.get("title", summary.title),
        emoji=edited.get("emoji", summary.emoji),
        section=edited.get("section", summary.section),
        importance=summary.importance,
        bullets=bullets,
        unsupported=unsupported,
        prompt_tokens=summary.prompt_tokens,
        completion_tokens=summary.completion_tokens,
        edited_fields=[name for name in EDITABLE if name in edited],
    )


def merge_edit(edited: dict[str, Any] | None, changes: dict[str, Any], model_summary,
               unsupported: list[str] | None) -> dict[str, Any] | None:
    """The item's new edits: changes laid over the old ones; a field put back to the model's
    own value is no longer an edit. unsupported: flags of the bullets, when they changed."""
    merged = dict(edited or {})
    for name, value in changes.items():
        if value == getattr(model_summary, name):
            merged.pop(name, None)
        else:
            merged[name] = value
    if "bullets" in merged:
        if unsupported is not None:
            merged["unsupported"] = list(unsupported)
    else:
        merged.pop("unsupported", None)
    return merged or None


def one_line(text: str) -> str:
    return " ".join(text.split())


def validate_edit(fields: dict[str, Any], sections: list[str]) -> list[str]:
    """What is wrong with an editor's fields, in plain words (empty: fine)."""
    problems: list[str] = []
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    if "title" in fields:
        title = fields["title"]
        if not isinstance(title, str) or not title.strip():
            problems.append("the title is empty")
        elif "\n" in title.strip():
            problems.append("the title must be one line")
        elif len(title) > MAX_TITLE_CHARS:
            problems.append(f"the title is longer than {MAX_TITLE_CHARS} characters")
    if "emoji" in fields:
        problem = emoji_problem(fields["emoji"])
        if problem:
            problems.append(problem)
    if "section" in fields and fields["section"] not in sections:
        problems.append(f"section {fields['section']!r} is not one of: {', '.join(sections)}")
    if "bullets" in fields:
        bullets = fields["bullets"]
        if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
            problems.append("bullets must be a list of texts")
        elif len(bullets) != BULLETS:
            problems.append(f"exactly {BULLETS} bullets are needed, not {len(bullets)}")
        else:
            for number, bullet in enumerate(bullets, 1):
                zi = count_zi(bullet)
                if "\n" in bullet.strip():
                    problems.append(f"bullet {number} has more than one paragraph")
                elif not MIN_BULLET_ZI <= zi <= MAX_BULLET_ZI:
                    problems.append(f"bullet {number} has {zi} 字, far from 60-150")
    return problems


def emoji_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "the emoji is empty"
    text = "".join(value.split())
    if ":" in text and emoji_data.emojize(text, language="alias") != text:
        return f"emoji {value!r} is a :shortcode:, not emoji characters"
    if not emoji_data.purely_emoji(text):
        return f"emoji {value!r} holds characters that are not emoji"
    count = len(emoji_data.emoji_list(text))
    if not 1 <= count <= 3:
        return f"emoji {value!r} has {count} emoji, not 1 to 3"
    return None


def clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as stored: whitespace trimmed, bullets one paragraph each."""
    cleaned = dict(fields)
    if "title" in cleaned:
        cleaned["title"] = one_line(cleaned["title"])
    if "emoji" in cleaned:
        cleaned["emoji"] = "".join(cleaned["emoji"].split())
    if "section" in cleaned:
        cleaned["section"] = cleaned["section"].strip()
    if "bullets" in cleaned:
        cleaned["bullets"] = [bullet.strip() for bullet in cleaned["bullets"]]
    return cleaned


def flag_words(claim: str) -> str:
    """A faithfulness flag in plain words: 「987亿」 is not in the article."""
    if claim.startswith("title: "):  # a flag about the answer (summarising.answer.TITLE_FLAG)
        return claim
    quoted = claim if claim[:1] in "「『“\"《" else f"「{claim}」"
    return f"{quoted} is not in the article"


# The file `jiandu items edit` opens in $EDITOR --------------------------------------------------


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def edit_document(item_id: int, shown: EffectiveSummary, sections: list[str], title_hint: str) -> str:
    lines = [
        f"# jiandu items edit {item_id}: {one_line(title_hint)[:80]}",
        "# Save to keep your version; the model's own summary is kept beside it.",
        "# Checked as a model's answer is: a one-line title; 1-3 emoji characters; a section of",
        f"# {', '.join(sections)}; exactly three bullets, one paragraph each.",
        "# Numbers and names the article lacks are flagged, not refused.",
        f"title = {_toml_string(shown.title)}",
        f"emoji = {_toml_string(shown.emoji)}",
        f"section = {_toml_string(shown.section)}",
        "bullets = [",
        *[f"  {_toml_string(bullet)}," for bullet in shown.bullets],
        "]",
        "",
    ]
    return "\n".join(lines)


class EditDocumentError(ValueError):
    pass


def parse_edit_document(text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EditDocumentError(f"not valid TOML: {exc}") from None
    return data
