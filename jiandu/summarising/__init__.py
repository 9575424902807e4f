"""Summarising policy: what a summary is asked for and what answer is accepted.

Two summarisers live here, both meeting the `Summariser` protocol:
- `jiandu.summarising.llm.LLMSummariser`: prompts an OpenAI-compatible endpoint (the transport,
  retries and deadlines are `jiandu.connectors.llm`), validates and repairs the answer, splits
  long articles;
- `jiandu.summarising.offline.OfflineSummariser`: extractive, for running without a key.

`answer.py` parses and validates a model's answer; `prompts.py` renders the prompt templates.
Nothing is imported here eagerly, so `import jiandu.summarising` stays cheap.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from jiandu.records import ArticleInput, Summary


@runtime_checkable
class Summariser(Protocol):
    """Turns one article into one Summary, or raises jiandu.errors.SummariseError(reason)."""

    model: str  # recorded with every summary; part of the cache key
    prompt_version: str  # likewise: a change of prompts asks again

    def summarise(self, article: ArticleInput, sections: list[str]) -> Summary: ...
