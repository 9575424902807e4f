"""Traditional -> Simplified Chinese for the model's answers (FORMAT.md: titles and bullets are
Simplified). Articles from Taiwan or Hong Kong are in Traditional, and a model often answers in
the article's script; OpenCC's t2s tables (phrases first, then characters) convert the answer
before it is validated, and the article the bullets are checked against, so a quoted term
compares in one script."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, tables included

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    if not text or text.isascii():
        return text
    return _converter().convert(text)


def simplified_answer(data: Any) -> Any:
    """The parsed answer with every string in it (title, bullets, ...) in Simplified."""
    if isinstance(data, str):
        return to_simplified(data)
    if isinstance(data, list):
        return [simplified_answer(value) for value in data]
    if isinstance(data, dict):
        return {key: value if key == "emoji" else simplified_answer(value)
                for key, value in data.items()}
    return data
