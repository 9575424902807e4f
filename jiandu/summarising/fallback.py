"""A chain of endpoints (JIANDU_LLM_FALLBACKS): when the primary gives up on an item (its
retries spent, or 401/403/404: a wrong key, model or URL), the next endpoint in the list is
tried for that item, and so on. A summary records the model that actually wrote it, and the
chain keeps tokens and requests per model, so each is priced at its own rate.

A thin layer: each link is an ordinary LLMSummariser (policy in jiandu.summarising.llm, the
transport in jiandu.connectors.llm). An answer that stays invalid after its repair is the
model's fault, not the endpoint's, and is not passed down the chain.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from jiandu.errors import SummariseError
from jiandu.records import ArticleInput, Summary

# How the transport (connectors.llm.ChatClient) words an endpoint that gave up.
_GAVE_UP = re.compile(r"gave up after \d+ attempts|HTTP (?:401|403|404) from ")


def endpoint_gave_up(error: SummariseError) -> bool:
    return bool(_GAVE_UP.search(error.reason))


@dataclass
class ModelUsage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    summaries: int = 0


class FallbackSummariser:
    def __init__(self, chain: list) -> None:
        if not chain:
            raise ValueError("a fallback chain needs at least one summariser")
        self.chain = chain
        # The cache key and the report's name are the primary's; each summary names its writer.
        self.model = chain[0].model
        self.prompt_version = chain[0].prompt_version
        self.max_concurrency = getattr(chain[0], "max_concurrency", 8)
        self._usage: dict[str, ModelUsage] = {}
        self._lock = threading.Lock()

    def summarise(self, article: ArticleInput, sections: list[str]) -> Summary:
        reasons: list[str] = []
        spent = [0, 0, 0]  # what the failed links cost, for the run's totals
        for position, link in enumerate(self.chain):
            try:
                summary = link.summarise(article, sections)
            except SummariseError as error:
                self._count(link.model, error.requests, error.prompt_tokens, error.completion_tokens)
                spent = [spent[0] + error.prompt_tokens, spent[1] + error.completion_tokens,
                         spent[2] + error.requests]
                last = position == len(self.chain) - 1
                if last or not endpoint_gave_up(error):
                    if reasons:
                        error.reason = "; then ".join([*reasons, f"{link.model}: {error.reason}"])
                        error.args = (error.reason,)
                    repairs = getattr(error, "repairs", 0)
                    error.spent(*spent)
                    if hasattr(error, "repairs"):
                        error.repairs = repairs
                    raise
                reasons.append(f"{link.model}: {error.reason}")
                continue
            self._count(summary.model, summary.requests, summary.prompt_tokens,
                        summary.completion_tokens, summaries=1)
            summary.prompt_tokens += spent[0]
            summary.completion_tokens += spent[1]
            summary.requests += spent[2]
            return summary
        raise AssertionError("unreachable")

    def _count(self, model: str, requests: int, prompt: int, completion: int, summaries: int = 0) -> None:
        with self._lock:
            usage = self._usage.setdefault(model, ModelUsage())
            usage.requests += requests
            usage.prompt_tokens += prompt
            usage.completion_tokens += completion
            usage.summaries += summaries

    def usage_by_model(self) -> dict[str, dict]:
        with self._lock:
            return {model: dict(vars(usage)) for model, usage in self._usage.items()}
