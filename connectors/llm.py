"""Transport to any OpenAI-compatible chat endpoint, through the openai SDK.

This module sends requests and counts what they cost; what to ask and which answers to accept is
summarising policy (jiandu.summarising.llm).
- retries: 408/409/429/5xx, timeouts and connection errors are retried with exponential backoff
  and jitter, honouring Retry-After, until max_attempts or max_total_wait; other HTTP errors
  (400, 401, 404...) fail at once. The SDK's own retries are off so they do not stack.
- limits: a semaphore of max_concurrency around every request and an even-spacing
  requests_per_minute limiter, shared by every thread using this client.
- usage: every request sent, and the tokens it reports, are added to the caller's Usage, also
  when the request fails, so a failure costs what it cost.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from dataclasses import dataclass

import openai

from jiandu.errors import SummariseError
from jiandu.ratelimit import RateLimiter

RETRYABLE_STATUS = {408, 409, 429} | set(range(500, 600))


@dataclass
class Usage:
    """What a caller's requests cost so far."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0


@dataclass
class Completion:
    """One answer: its text (None when there was none), refusal and why it ended."""

    content: str | None
    refusal: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


def retry_after(headers) -> float | None:
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
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time()) if when else None


class ChatClient:
    """Chat completions against one endpoint, shared by every thread of a run."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        timeout: float = 60,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        max_total_wait: float = 120.0,
    ):
        """Backoff waits base*2^n seconds (times a jitter of 0.5-1.5, at most backoff_max), or
        what Retry-After says; a request gives up when its waits would pass max_total_wait."""
        if max_concurrency < 1 or max_attempts < 1:
            raise ValueError("max_concurrency and max_attempts must be at least 1")
        self.base_url = base_url
        self.model = model
        self.max_concurrency = max_concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_total_wait = max_total_wait
        # One sync client for all threads; retries are ours, so the SDK's are off.
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._limiter = RateLimiter(requests_per_minute) if requests_per_minute else None

    def complete(self, messages: list[dict], usage: Usage, *, response_format: dict | None = None) -> Completion:
        """One chat completion, retried on transient failures; no response_format asks for text."""
        request = {"model": self.model, "messages": messages}
        if response_format is not None:
            request["response_format"] = response_format
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            if self._limiter:
                self._limiter.acquire()
            wait = None
            with self._slots:
                usage.requests += 1
                try:
                    response = self._client.chat.completions.create(**request)
                except openai.APIConnectionError as error:  # includes timeouts
                    failure = f"{type(error).__name__} from {self.base_url}"
                except openai.APIStatusError as error:
                    failure = f"HTTP {error.status_code} from {self.base_url}: {error.message}"
                    if error.status_code not in RETRYABLE_STATUS:
                        raise SummariseError(failure, retryable=False) from error
                    wait = retry_after(error.response.headers)
                else:
                    return _completion(response, usage, self.base_url)
            if attempt == self.max_attempts:
                break
            if wait is None:
                wait = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            if waited + wait > self.max_total_wait:
                raise SummariseError(
                    f"{failure}; gave up after {attempt} attempts, next wait {wait:.1f}s "
                    f"would pass {self.max_total_wait:.0f}s of waiting"
                )
            time.sleep(wait)
            waited += wait
        raise SummariseError(f"{failure}; gave up after {self.max_attempts} attempts")


def _completion(response, usage: Usage, base_url: str) -> Completion:
    """A Completion from the SDK's ChatCompletion, its tokens added to usage."""
    if not hasattr(response, "choices"):  # the SDK hands back a str for a non-JSON body
        raise SummariseError(f"the answer from {base_url} is not a chat completion (not JSON)")
    prompt_tokens = completion_tokens = 0
    if response.usage:
        prompt_tokens = response.usage.prompt_tokens or 0
        completion_tokens = response.usage.completion_tokens or 0
        usage.prompt_tokens += prompt_tokens
        usage.completion_tokens += completion_tokens
    if not response.choices:
        return Completion(None, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    choice = response.choices[0]
    return Completion(
        content=choice.message.content,
        refusal=getattr(choice.message, "refusal", None),
        finish_reason=choice.finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
