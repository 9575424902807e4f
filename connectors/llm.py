"""LLMSummariser: summaries from any OpenAI-compatible chat endpoint, through the openai SDK.

One request normally makes one summary. Around it:
- transport: 408/409/429/5xx, timeouts and connection errors are retried with exponential
  backoff and jitter, honouring Retry-After, until max_attempts or max_total_wait; other HTTP
  errors (400, 401, 404...) fail at once. The SDK's own retries are off so they do not stack.
- limits: a semaphore of max_concurrency around every request and an even-spacing
  requests_per_minute limiter, shared by every thread using this summariser.
- format: the answer must parse as SummaryAnswer and pass validate_answer(); an invalid one gets
  ONE repair request naming the problem, then SummariseError.
- faithfulness: bullets with claims check_bullets() cannot find in the article get ONE
  regeneration naming them; if they remain, the Summary says faithful=False and lists them.
- length: an article whose prompt would exceed input_token_budget is summarised part by part
  (map.j2) and the parts' notes combined (combine.j2); nothing is truncated.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jinja2
import openai
from pydantic import BaseModel, Field, ValidationError

from jiandu.templates import PROMPTS_DIR
from jiandu.errors import SummariseError
from jiandu.faithfulness import check_bullets
from jiandu.ratelimit import RateLimiter
from jiandu.records import ArticleInput, Summary
from jiandu.tokens import count_tokens, split_for_budget
from jiandu.zi import count_zi


RETRYABLE_STATUS = {408, 409, 429} | set(range(500, 600))
# Tokens kept free in every prompt for a repair or regeneration message appended to it.
FOLLOW_UP_RESERVE = 300
MESSAGE_OVERHEAD = 4  # tokens a chat format adds per message
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


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PROMPTS_DIR),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,
)


def render_prompt(name: str, **context) -> str:
    return _environment.get_template(name).render(**context).strip()


def prompt_version() -> str:
    """Short hash of every prompt template: a summary records which prompts made it."""
    digest = hashlib.sha256()
    for path in sorted(PROMPTS_DIR.glob("*.j2")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def fence(text: str) -> str:
    """Article text for inside <article> tags; a closing tag in the text cannot end the fence."""
    return re.sub(r"</\s*article\s*>", "</ article>", text, flags=re.I)


# ---- answer validation -------------------------------------------------------------------

_SHORTCODE = re.compile(r":[A-Za-z0-9_+\-]+:")
_CJK = re.compile(r"[\u3400-\u9fff]")
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


def _json_body(content: str) -> str:
    content = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", content, flags=re.S)
    return fenced.group(1) if fenced else content


def validate_answer(content: str | None, refusal: str | None, sections: list[str]) -> tuple[SummaryAnswer | None, str | None]:
    """(answer, None) when the answer is usable, else (None, what is wrong) for a repair request."""
    if refusal:
        return None, f"the model refused: {refusal}"
    if not content or not content.strip():
        return None, "the answer was empty"
    try:
        answer = SummaryAnswer.model_validate_json(_json_body(content))
    except ValidationError as error:
        problems = []
        for item in error.errors()[:3]:
            where = ".".join(str(part) for part in item["loc"]) or "JSON"
            problems.append(f"{where}: {item['msg']}")
        return None, "; ".join(problems)
    answer.bullets = [bullet.strip() for bullet in answer.bullets]
    if not _CJK.search(answer.title):
        return None, f"title {answer.title!r} is not in Chinese"
    if problem := _emoji_problem(answer.emoji):
        return None, problem
    if answer.section not in sections:
        return None, f"section {answer.section!r} is not one of {sections}"
    for number, bullet in enumerate(answer.bullets, 1):
        zi = count_zi(bullet)
        if "\n" in bullet:
            return None, f"bullet {number} has more than one paragraph"
        if not MIN_BULLET_ZI <= zi <= MAX_BULLET_ZI:
            return None, f"bullet {number} has {zi} 字, far from 60-150"
    return answer, None


# ---- the summariser ----------------------------------------------------------------------


@dataclass
class _Tally:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    repairs: int = 0


def _retry_after(headers) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, or Retry-After in seconds or a date)."""
    if value := headers.get("retry-after-ms"):
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when else None


def _user(content: str) -> dict:
    return {"role": "user", "content": content}


class LLMSummariser:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        response_format: str = "json_schema",
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        input_token_budget: int = 6000,
        timeout: float = 60,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        max_total_wait: float = 120.0,
        schema_field: bool = True,
    ):
        """response_format: "json_schema" (strict schema, OpenAI and most hosted APIs) or
        "json_object" (schema in the prompt, and as response_format["schema"] when schema_field,
        which llama.cpp enforces with a grammar). Backoff waits base*2^n seconds (times a jitter
        of 0.5-1.5, at most backoff_max), or what Retry-After says; a summary gives up when its
        waits would pass max_total_wait."""
        if response_format not in ("json_schema", "json_object"):
            raise ValueError(f"response_format must be json_schema or json_object, got {response_format!r}")
        if max_concurrency < 1 or max_attempts < 1:
            raise ValueError("max_concurrency and max_attempts must be at least 1")
        self.base_url = base_url
        self.model = model
        self.response_format = response_format
        self.max_concurrency = max_concurrency
        self.input_token_budget = input_token_budget
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_total_wait = max_total_wait
        self.schema_field = schema_field
        self.prompt_version = prompt_version()
        # One sync client for all threads; retries are ours, so the SDK's are off.
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._limiter = RateLimiter(requests_per_minute) if requests_per_minute else None
        self._system = render_prompt("system.j2")

    # -- public --

    def summarise(self, article: ArticleInput, sections: list[str]) -> Summary:
        if not sections:
            raise SummariseError("no sections configured", retryable=False)
        if not article.text.strip():
            raise SummariseError(f"no text to summarise for {article.url or article.title!r}", retryable=False)
        tally = _Tally()
        try:
            return self._summarise(article, sections, tally)
        except SummariseError as error:
            # A failure still cost what its requests cost: the run's accounts include it.
            error.spent(tally.prompt_tokens, tally.completion_tokens, tally.requests)
            raise

    def _summarise(self, article: ArticleInput, sections: list[str], tally: _Tally) -> Summary:
        schema_text = json.dumps(summary_schema(sections), ensure_ascii=False, separators=(",", ":")) if self.response_format == "json_object" else None
        context = {
            "title": article.title,
            "url": article.url,
            "section_hint": article.section_hint,
            "sections": sections,
            "schema": schema_text,
        }
        prompt = render_prompt("summarise.j2", text=fence(article.text), **context)
        if self._fits(prompt):
            messages = [self._system_message(), _user(prompt)]
        else:
            notes = self._notes_of(article, context, tally)
            combine = render_prompt("combine.j2", text=fence(notes), **context)
            messages = [self._system_message(), _user(combine)]
        answer, unsupported = self._final_answer(messages, sections, article.text, tally)
        return Summary(
            title=answer.title.strip(),
            emoji=answer.emoji.strip(),
            section=answer.section,
            importance=answer.importance,
            bullets=answer.bullets,
            model=self.model,
            prompt_version=self.prompt_version,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            requests=tally.requests,
            repairs=tally.repairs,
            faithful=not unsupported,
            unsupported=unsupported,
        )

    # -- prompts and budget --

    def _system_message(self) -> dict:
        return {"role": "system", "content": self._system}

    def _prompt_tokens(self, user_prompt: str) -> int:
        return count_tokens(self._system, self.model) + count_tokens(user_prompt, self.model) + 2 * MESSAGE_OVERHEAD

    def _fits(self, user_prompt: str) -> bool:
        return self._prompt_tokens(user_prompt) + FOLLOW_UP_RESERVE <= self.input_token_budget

    def _notes_of(self, article: ArticleInput, context: dict, tally: _Tally) -> str:
        """Map: fact notes for each part of a text too long for one prompt, until they fit."""
        text = article.text
        while True:
            empty = render_prompt("map.j2", title=article.title, part=999, parts=999, text="")
            part_budget = self.input_token_budget - FOLLOW_UP_RESERVE - self._prompt_tokens(empty) - 8
            if part_budget < 100:
                raise SummariseError(
                    f"input_token_budget {self.input_token_budget} leaves {part_budget} tokens for article text",
                    retryable=False,
                )
            parts = split_for_budget(text, part_budget, self.model)
            notes = []
            for number, part in enumerate(parts, 1):
                prompt = render_prompt("map.j2", title=article.title, part=number, parts=len(parts), text=fence(part))
                response = self._create([self._system_message(), _user(prompt)], None, tally)
                content = (response.choices[0].message.content or "").strip() if response.choices else ""
                if not content:
                    raise SummariseError(f"empty notes for part {number} of {len(parts)} of {article.url or article.title!r}")
                notes.append(content)
            combined = "\n".join(notes)
            if self._fits(render_prompt("combine.j2", text=fence(combined), **context)):
                return combined
            if count_tokens(combined, self.model) >= count_tokens(text, self.model):
                raise SummariseError(f"notes of {article.url or article.title!r} do not get shorter than the text")
            text = combined  # reduce again over the notes

    # -- answers --

    def _final_answer(self, messages: list[dict], sections: list[str], article_text: str, tally: _Tally) -> tuple[SummaryAnswer, list[str]]:
        answer, problem = self._ask(messages, sections, tally)
        if problem:
            tally.repairs += 1
            answer, second_problem = self._ask(messages + [_user(render_prompt("repair.j2", problem=problem))], sections, tally)
            if second_problem:
                raise SummariseError(f"invalid answer from {self.model}: {problem}; after one repair: {second_problem}")
        unsupported = check_bullets(answer.bullets, article_text)
        if unsupported:
            tally.repairs += 1
            follow_up = _user(render_prompt("regenerate.j2", claims=unsupported))
            retry, problem = self._ask(messages + [follow_up], sections, tally)
            if retry is not None:
                still_unsupported = check_bullets(retry.bullets, article_text)
                if len(still_unsupported) <= len(unsupported):
                    answer, unsupported = retry, still_unsupported
        return answer, unsupported

    def _ask(self, messages: list[dict], sections: list[str], tally: _Tally) -> tuple[SummaryAnswer | None, str | None]:
        response = self._create(messages, sections, tally)
        if not response.choices:
            return None, "the answer had no choices"
        message = response.choices[0].message
        return validate_answer(message.content, getattr(message, "refusal", None), sections)

    def _response_format(self, sections: list[str]) -> dict:
        schema = summary_schema(sections)
        if self.response_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "summary", "strict": True, "schema": schema}}
        if self.schema_field:
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}

    def _create(self, messages: list[dict], sections: list[str] | None, tally: _Tally):
        """One chat completion, retried on transient failures; sections=None asks for plain text."""
        request = {"model": self.model, "messages": messages}
        if sections is not None:
            request["response_format"] = self._response_format(sections)
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            if self._limiter:
                self._limiter.acquire()
            retry_after = None
            with self._slots:
                tally.requests += 1
                try:
                    response = self._client.chat.completions.create(**request)
                except openai.APIConnectionError as error:  # includes timeouts
                    failure = f"{type(error).__name__} from {self.base_url}"
                except openai.APIStatusError as error:
                    failure = f"HTTP {error.status_code} from {self.base_url}: {error.message}"
                    if error.status_code not in RETRYABLE_STATUS:
                        raise SummariseError(failure, retryable=False) from error
                    retry_after = _retry_after(error.response.headers)
                else:
                    if response.usage:
                        tally.prompt_tokens += response.usage.prompt_tokens or 0
                        tally.completion_tokens += response.usage.completion_tokens or 0
                    return response
            if attempt == self.max_attempts:
                break
            if retry_after is None:
                retry_after = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            if waited + retry_after > self.max_total_wait:
                raise SummariseError(
                    f"{failure}; gave up after {attempt} attempts, next wait {retry_after:.1f}s "
                    f"would pass {self.max_total_wait:.0f}s of waiting"
                )
            time.sleep(retry_after)
            waited += retry_after
        raise SummariseError(f"{failure}; gave up after {self.max_attempts} attempts")
