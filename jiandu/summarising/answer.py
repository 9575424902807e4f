"""The answer a model must give for a summary: its schema, parsing and validation (pure)."""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, Field, ValidationError

from jiandu.cjk import has_han
from jiandu.summarising.repair import mend_answer, read_model_answer
from jiandu.summarising.simplified import simplified_answer
from jiandu.zi import count_zi

MIN_BULLET_ZI, MAX_BULLET_ZI = 15, 300  # far outside 60-150 字 is a wrong answer, not a style slip


class SummaryAnswer(BaseModel):
    """The JSON object the model must answer with."""

    title: str = Field(description="中文标题")
    emoji: str = Field(description="1-3 个 emoji 字符")
    section: str = Field(description="栏目，取自给定列表")
    importance: int = Field(ge=1, le=5, description="重要程度 1-5")
    bullets: list[str] = Field(min_length=3, max_length=3, description="恰好三条要点，每条 60-150 字")


def summary_schema(sections: list[str]) -> dict:
    """SummaryAnswer as a strict JSON Schema, with the section limited to the configured list."""
    schema = SummaryAnswer.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(SummaryAnswer.model_fields)
    schema["properties"]["section"]["enum"] = list(sections)
    return schema


_SHORTCODE = re.compile(r":[A-Za-z0-9_+\-]+:")
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


def _emoji_problem(emoji: str) -> str | None:
    if _SHORTCODE.search(emoji):
        return f"emoji {emoji!r} is a :shortcode:, not emoji characters"
    count, regional, after_joiner = 0, 0, False
    for ch in emoji.strip():
        if ch in _JOINERS or 0x1F3FB <= ord(ch) <= 0x1F3FF:  # joiners, variation selectors, skin tones
            after_joiner = ch == "\u200d"
            continue
        if 0x1F1E6 <= ord(ch) <= 0x1F1FF:
            regional += 1
        elif unicodedata.category(ch) == "So":
            count += 0 if after_joiner else 1
        elif not ch.isspace():
            return f"emoji {emoji!r} contains {ch!r}, which is not an emoji"
        after_joiner = False
    count += (regional + 1) // 2  # a flag is two regional indicators
    if not 1 <= count <= 3:
        return f"emoji {emoji!r} has {count} emoji, not 1 to 3"
    return None


TITLE_FLAG = "title: not in Chinese"  # stored with a kept summary whose title stayed foreign


def is_chinese(title: str) -> bool:
    return has_han(title)


def validate_answer(content: str | None, refusal: str | None, sections: list[str], *,
                    section_hint: str | None = None, title_hint: str = "",
                    foreign_title_ok: bool = False) -> tuple[SummaryAnswer | None, str | None]:
    """(answer, None) when the answer is usable, else (None, what is wrong) for a repair request.

    Forgiving where the reader loses nothing (jiandu.summarising.repair: near-JSON, emoji,
    bullet marks and line breaks, an unknown section -> section_hint); strict where the reader
    would be misled: three bullets of sane length, and a Chinese title unless foreign_title_ok."""
    data, problem = read_model_answer(content, refusal)
    if problem:
        return None, problem
    data = mend_answer(simplified_answer(data), sections, section_hint, title_hint)
    try:
        answer = SummaryAnswer.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors()[:3]:
            where = ".".join(str(part) for part in item["loc"]) or "JSON"
            problems.append(f"{where}: {item['msg']}")
        return None, "; ".join(problems)
    if not foreign_title_ok and not is_chinese(answer.title):
        return None, f"title {answer.title!r} is not in Chinese"
    if problem := _emoji_problem(answer.emoji):
        return None, problem
    if answer.section not in sections:
        return None, f"section {answer.section!r} is not one of {sections}"
    for number, bullet in enumerate(answer.bullets, 1):
        zi = count_zi(bullet)
        if not MIN_BULLET_ZI <= zi <= MAX_BULLET_ZI:
            return None, f"bullet {number} has {zi} 字, far from 60-150"
    return answer, None
