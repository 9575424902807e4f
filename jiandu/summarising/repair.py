"""Read what a model meant: forgiving fixes for answers that lose the reader nothing (pure).

Real models, above all small local ones in json_object mode, answer with near-JSON (a Markdown
fence, a raw line break inside a string, a trailing comma, single quotes, a bare list of
bullets), emoji as :shortcodes: or keycap digits, bullets with a leading "- " or "1." or a line
break inside, and sections that are not on the list. Each is fixed here, without another request:

- load_answer(): near-JSON -> a dict (json-repair), or why it cannot be read; an answer that
  stops before its JSON closes is cut, not near-JSON, and is not guessed at.
- mend_answer(): the dict made whole where nothing is at stake: emoji, bullet layout, section,
  importance; a bare list becomes the bullets.
- clean_emoji(), clean_bullet(), default_emoji(): the single fixes.

What would mislead a reader stays for the validator to refuse: not three bullets, bullets far
from 60-150 字, a title that is not Chinese, claims the article does not make.
"""

from __future__ import annotations

import json
import re
from typing import Any

import emoji as emoji_library
import json_repair

from jiandu.sections import placed_section

DEFAULT_EMOJI = {"产品介绍": "🚀", "产业资讯": "📰", "技术教程": "🛠️", "其他": "📌"}
FALLBACK_EMOJI = "📰"
MAX_EMOJI = 3

_FENCE = re.compile(r"```[a-zA-Z]*[ \t]*\n?(.*?)\n?\s*```", re.S)
_BULLET_MARK = re.compile(r"^\s*(?:[-*•·●▪‣–—]\s*|\d{1,2}\s*[.、)）:：]\s*|[(（]\d{1,2}[)）]\s*|#+\s+)")
_CJK_END = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]$")
_CJK_START = re.compile(r"^[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_KEYCAP = "\u20e3"


def _unfenced(content: str) -> str:
    match = _FENCE.search(content)
    return match.group(1).strip() if match else content.strip()


def _closes(body: str) -> bool:
    """Whether the JSON value starting body comes back to depth zero (strings skipped)."""
    depth, quote, escaped = 0, "", False
    for ch in body:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return True
    return False


def read_model_answer(content: str | None, refusal: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """A model's message as a dict, or (None, why not): a refusal, an empty answer, or text no
    forgiving reading makes JSON of. Summaries and triage answers start here alike."""
    if refusal:
        return None, f"the model refused: {refusal}"
    if not content or not content.strip():
        return None, "the answer was empty"
    return load_answer(content)


def load_answer(content: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the answer as a dict, None), or (None, why it cannot be read)."""
    body = _unfenced(content)
    try:
        data = json.loads(body, strict=False)  # strict=False: raw control characters in strings
    except ValueError:
        start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
        if start < 0:
            return None, "the answer has no JSON object"
        if not _closes(body[start:]):
            return None, "the answer stops before its JSON closes (cut off)"
        data = json_repair.loads(body[start:])
    if isinstance(data, list) and all(isinstance(bullet, str) for bullet in data):
        data = {"bullets": data}  # a bare list of bullets
    if not isinstance(data, dict) or not data:
        return None, "the answer is not a JSON object"
    return data, None


def default_emoji(section: str) -> str:
    return DEFAULT_EMOJI.get(section, FALLBACK_EMOJI)


def clean_emoji(value: Any, section: str) -> str:
    """1-3 real emoji: :shortcodes: converted, keycap digits, numbers and words dropped, and the
    section's default when nothing is left."""
    text = emoji_library.emojize(str(value or ""), language="alias")
    kept = [found["emoji"] for found in emoji_library.emoji_list(text)
            if _KEYCAP not in found["emoji"] and not found["emoji"][0].isascii()]
    return "".join(kept[:MAX_EMOJI]) or default_emoji(section)


def _join_lines(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = ""
    for line in lines:
        line = _BULLET_MARK.sub("", line, count=1) if joined else line
        if joined and not (_CJK_END.search(joined) or _CJK_START.match(line)):
            joined += " "
        joined += line
    return joined


def clean_bullet(value: Any) -> str:
    """One paragraph without list marks: a leading "- ", "1." or "（1）" stripped, line breaks joined."""
    if isinstance(value, dict):  # {"text": "..."} or {"content": "..."}
        value = next((v for v in value.values() if isinstance(v, str)), "")
    text = _BULLET_MARK.sub("", str(value).strip(), count=1)
    return _join_lines(text).strip()


def _bullets(value: Any) -> list[str]:
    if isinstance(value, str):  # one string: a list written as lines
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        return []
    return [bullet for bullet in (clean_bullet(item) for item in value) if bullet]


def _importance(value: Any) -> int:
    try:
        number = round(float(str(value).strip()))
    except ValueError:
        return 3
    return min(5, max(1, number))


def mend_answer(data: dict[str, Any], sections: list[str], section_hint: str | None,
                title_hint: str = "") -> dict[str, Any]:
    """The answer with every forgiving fix applied (a new dict). The title is left as written;
    a missing one (a bare list of bullets) is the article's own, title_hint."""
    mended = dict(data)
    if not mended.get("title") and title_hint:
        mended["title"] = title_hint
    section = str(mended.get("section") or "").strip()
    if section not in sections:
        section = placed_section(section_hint, sections)
    mended["section"] = section
    mended["emoji"] = clean_emoji(mended.get("emoji"), section)
    mended["importance"] = _importance(mended.get("importance", 3))
    mended["bullets"] = _bullets(mended.get("bullets"))
    if isinstance(mended.get("title"), str):
        mended["title"] = " ".join(mended["title"].split())
    return mended
