"""Topic triage: before a full summary, one short request asks whether an item is about the
publication's topic (JIANDU_PUBLICATION_TOPIC, else its purpose line).

The request carries the title and the article's opening (about its first paragraph, a few
hundred tokens) and asks for {"relevant": bool, "score": 0-1, "reason": one line}
(templates/prompts/triage*.j2). It goes through the summariser's own transport
(jiandu.connectors.llm.ChatClient: its retries, concurrency and rate limits), its answer is read
by the summaries' forgiving JSON reader (summarising.repair.load_answer), and it is bounded by
max_tokens for the "triage" task (summarising.limits).

- An off-topic verdict skips the item before any summary is asked ("triage: ..." reason).
- An answer that cannot be read is taken as relevant: a broken triage never drops a story.
- A request that fails (the endpoint gave up) raises SummariseError: the item waits and is
  tried again, like a summary that failed.
- Verdicts are kept in this process per (text, model, triage prompts, topic), so a text is
  judged once however often it comes back; a text that already has a summary is not judged.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict

from pydantic import BaseModel, Field, ValidationError

from jiandu.connectors.llm import ChatClient, Usage
from jiandu.errors import SummariseError
from jiandu.records import ArticleInput
from jiandu.summarising.prompts import TRIAGE_PREFIX, fence, prompt_version, render_prompt
from jiandu.summarising.repair import read_model_answer
from jiandu.topic import Verdict
from jiandu.zi import count_zi

OPENING_ZI = 150  # the opening: paragraphs until this many 字 (a first paragraph, or two short ones)
OPENING_CHARS = 900  # and never longer than this
REASON_CHARS = 120
CACHE_SIZE = 20_000
_PARAGRAPHS = re.compile(r"\n\s*\n|\n")


class TriageAnswer(BaseModel):
    relevant: bool = Field(description="是否属于刊物主题")
    score: float = Field(ge=0, le=1, description="相关程度 0-1")
    reason: str = Field(description="一句话理由")


def triage_schema() -> dict:
    schema = TriageAnswer.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(TriageAnswer.model_fields)
    return schema


def opening(text: str) -> str:
    """The article's first paragraph (with the next ones while it is short), within limits."""
    kept, zi = [], 0
    for paragraph in _PARAGRAPHS.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        kept.append(paragraph)
        zi += count_zi(paragraph)
        if zi >= OPENING_ZI or sum(map(len, kept)) >= OPENING_CHARS:
            break
    joined = "\n".join(kept)
    return joined if len(joined) <= OPENING_CHARS else joined[:OPENING_CHARS] + "…"


def read_answer(content: str | None, refusal: str | None) -> tuple[TriageAnswer | None, str | None]:
    """(answer, None), or (None, why it cannot be read)."""
    data, problem = read_model_answer(content, refusal)
    if problem:
        return None, problem
    if isinstance(data.get("relevant"), str):  # "yes"/"no", "true"/"false", "是"/"否"
        word = data["relevant"].strip().lower()
        if word in ("true", "yes", "是", "相关"):
            data["relevant"] = True
        elif word in ("false", "no", "否", "不相关"):
            data["relevant"] = False
    try:
        answer = TriageAnswer.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "JSON"
        return None, f"{where}: {first['msg']}"
    return answer, None


class _Memory:
    """Verdicts by key, the oldest forgotten first; shared by every run in this process."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._verdicts: OrderedDict[tuple, Verdict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Verdict | None:
        with self._lock:
            verdict = self._verdicts.get(key)
            if verdict is not None:
                self._verdicts.move_to_end(key)
            return verdict

    def put(self, key: tuple, verdict: Verdict) -> None:
        with self._lock:
            self._verdicts[key] = verdict
            while len(self._verdicts) > self.size:
                self._verdicts.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._verdicts.clear()


MEMORY = _Memory()


class LLMTriage:
    """Triage through an LLMSummariser's endpoint (its client, model and answer format)."""

    def __init__(self, client: ChatClient, *, model: str, topic: str, response_format: str = "json_schema",
                 schema_field: bool = True, max_tokens: int = 200):
        if not topic.strip():
            raise ValueError("triage needs a topic (JIANDU_PUBLICATION_TOPIC or the purpose line)")
        self.client, self.model, self.topic = client, model, topic
        self.response_format, self.schema_field, self.max_tokens = response_format, schema_field, max_tokens
        topic_hash = hashlib.sha256(topic.encode()).hexdigest()[:8]
        self.version = f"{prompt_version(TRIAGE_PREFIX)}-{topic_hash}"
        self._system = render_prompt("triage_system.j2")

    @classmethod
    def of(cls, summariser, topic: str) -> "LLMTriage | None":
        """The triage for a summariser (a fallback chain: its primary), or None when it has no
        LLM endpoint (the offline summariser, a stand-in)."""
        primary = (getattr(summariser, "chain", None) or [summariser])[0]
        client = getattr(primary, "client", None)
        if not isinstance(client, ChatClient):
            return None
        return cls(client, model=primary.model, topic=topic, response_format=primary.response_format,
                   schema_field=getattr(primary, "schema_field", True),
                   max_tokens=primary.max_output.get("triage", 200))

    def judge(self, sha: str, article: ArticleInput) -> Verdict:
        key = (sha, self.model, self.version)
        known = MEMORY.get(key)
        if known is not None:
            return Verdict(known.relevant, known.score, known.reason, known.invalid, remembered=True)
        usage = Usage()
        try:
            verdict = self._ask(article, usage)
        except SummariseError as error:
            error.reason = f"triage request failed: {error.reason}"
            error.args = (error.reason,)
            error.spent(usage.prompt_tokens, usage.completion_tokens, usage.requests)
            raise
        verdict.requests, verdict.prompt_tokens = usage.requests, usage.prompt_tokens
        verdict.completion_tokens = usage.completion_tokens
        if verdict.invalid is None:  # an unreadable answer may read better next time
            MEMORY.put(key, verdict)
        return verdict

    def _ask(self, article: ArticleInput, usage: Usage) -> Verdict:
        schema = json.dumps(triage_schema(), ensure_ascii=False, separators=(",", ":")) \
            if self.response_format == "json_object" else None
        prompt = render_prompt("triage.j2", topic=self.topic, title=fence(" ".join(article.title.split())),
                               text=fence(opening(article.text)), schema=schema)
        messages = [{"role": "system", "content": self._system}, {"role": "user", "content": prompt}]
        completion = self.client.complete(messages, usage, response_format=self._response_format(),
                                          max_tokens=self.max_tokens)
        answer, problem = read_answer(completion.content, completion.refusal)
        if answer is None:
            return Verdict(True, None, f"triage answer not understood ({problem}); summarised anyway",
                           invalid=problem)
        reason = " ".join(answer.reason.split())[:REASON_CHARS] or ("on topic" if answer.relevant else "off topic")
        return Verdict(answer.relevant, round(answer.score, 2), reason)

    def _response_format(self) -> dict:
        schema = triage_schema()
        if self.response_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "triage", "strict": True, "schema": schema}}
        if self.schema_field:
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}
