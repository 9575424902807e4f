"""Near-duplicate detection, so one story appears once however many outlets carry it (pure).

A text's signature is a MinHash (datasketch) of the character shingles of its normalised
text: characters, not words, so Chinese needs no segmenter, and normalising width, case,
whitespace and punctuation first means "，" vs "," or a reflowed paragraph changes nothing.
Signatures are bytes, to be kept in a database column and loaded into a StoryMatcher, whose
LSH index finds a matching story without comparing against every stored one.
"""

from __future__ import annotations

import functools
import struct
import unicodedata
import zlib
from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import LeanMinHash

NUM_PERM = 128
SEED = 20240401  # fixed: signatures stored by one run must compare with the next run's
SHINGLE_CHARS = 3
# Below this many normalised characters a text (a title, a one-line post) is too little
# evidence: two different stories could share most of their shingles.
MIN_CHARS = 50
# The opening of a story identifies it; hashing more only costs time on long articles.
MAX_CHARS = 4000
_BYTE_ORDER = "<"  # signatures are portable between machines
NO_SIGNATURE = b""  # the signature of a text too short to match anything



@functools.cache
def _template():
    """Built once, on first use (datasketch pulls in scipy: about 2 s that a run with nothing new
    should not pay): every MinHash shares the same permutations, which depend only on the seed."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=zlib.crc32)


def normalise(text: str) -> str:
    """Text reduced to what identifies a story: NFKC (full/half width), case folded, and
    without whitespace, punctuation or symbols."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _shingles(normalised: str) -> set[bytes]:
    return {normalised[i : i + SHINGLE_CHARS].encode("utf-8")
            for i in range(len(normalised) - SHINGLE_CHARS + 1)}


def signature(text: str) -> bytes:
    """A compact, storable MinHash of the text; NO_SIGNATURE (b"") when the text is too short."""
    normalised = normalise(text)[:MAX_CHARS]
    if len(normalised) < MIN_CHARS:
        return NO_SIGNATURE
    from datasketch import LeanMinHash

    minhash = _template().copy()
    # crc32 is enough as the input hash: datasketch mixes it (murmur finalizer) before permuting.
    minhash.update_batch(_shingles(normalised))
    lean = LeanMinHash(minhash)
    buffer = bytearray(lean.bytesize(_BYTE_ORDER))
    lean.serialize(buffer, _BYTE_ORDER)
    return bytes(buffer)


def _load(sig: bytes) -> LeanMinHash | None:
    if not sig:
        return None
    from datasketch import LeanMinHash

    try:
        loaded = LeanMinHash.deserialize(sig, _BYTE_ORDER)
    except (ValueError, struct.error) as exc:
        raise ValueError(f"not a dedup signature ({len(sig)} bytes): {exc}") from exc
    if loaded.seed != SEED or len(loaded) != NUM_PERM:
        raise ValueError(f"signature from another configuration (seed {loaded.seed}, "
                         f"{len(loaded)} permutations)")
    return loaded


def similarity(first: bytes, second: bytes) -> float:
    """Estimated Jaccard similarity of two texts' shingles; 0.0 when either is too short."""
    a, b = _load(first), _load(second)
    if a is None or b is None:
        return 0.0
    return float(a.jaccard(b))


class StoryMatcher:
    """Finds the story a text belongs to among the texts added so far."""

    def __init__(self, threshold: float = 0.8):
        self.threshold = threshold
        self._index = None  # made on the first add: an empty matcher costs no datasketch import
        # The LSH keys are insertion numbers, so one story can hold several texts (outlets)
        # and ties are broken by the order texts were added, whatever the ids' hashes.
        self._entries: list[tuple[Hashable, LeanMinHash]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, story_id: Hashable, sig: bytes) -> None:
        """Index one text of a story; a too-short text (empty signature) is not indexed."""
        minhash = _load(sig)
        if minhash is None:
            return
        if self._index is None:
            from datasketch import MinHashLSH

            self._index = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
        self._index.insert(len(self._entries), minhash)
        self._entries.append((story_id, minhash))

    def match(self, sig: bytes) -> Hashable | None:
        """The story of the most similar indexed text at or above the threshold, else None."""
        minhash = _load(sig)
        if minhash is None or self._index is None:
            return None
        best_id, best_score = None, -1.0
        # LSH candidates are probable matches; the estimated Jaccard confirms them.
        for number in sorted(self._index.query(minhash)):
            story_id, indexed = self._entries[number]
            score = minhash.jaccard(indexed)
            if score >= self.threshold and score > best_score:
                best_id, best_score = story_id, score
        return best_id
