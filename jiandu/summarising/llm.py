"""LLMSummariser: the policy of a summary made by a chat model.

One request normally makes one summary (the transport, with its retries and limits, is
jiandu.connectors.llm.ChatClient). Around it:
- format: the answer must parse as SummaryAnswer and pass validate_answer(), which forgives
  what costs the reader nothing (near-JSON, emoji, bullet marks: summarising.repair); an invalid
  one gets ONE repair request naming the problem, then SummariseError, except a title still not
  in Chinese: that summary is kept and flagged for the editor (TITLE_FLAG).
- faithfulness: bullets with claims check_bullets() cannot find in the article get ONE
  regeneration naming them; if they remain, the Summary says faithful=False and lists them.
- length: an article whose prompt would exceed input_token_budget is summarised part by part
  (map.j2, the parts at once) and the parts' notes combined (combine.j2) the moment the last
  part returns; nothing is truncated.
- bounded answers: every request carries max_tokens for its task (summary, repair, part,
  combine). A streamed answer that repeats one short phrase over and over is stopped early.
  An answer cut either way ("answer cut at N tokens") gets one repair asking for brevity;
  cut notes of a part keep their complete lines.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from jiandu.connectors.llm import ChatClient, Usage
from jiandu.errors import SummariseError
from jiandu.faithfulness import check_bullets
from jiandu.summarising.simplified import to_simplified
from jiandu.records import ArticleInput, Summary
from jiandu.summarising.answer import TITLE_FLAG, SummaryAnswer, summary_schema, validate_answer
from jiandu.summarising.limits import max_output_tokens
from jiandu.summarising.prompts import fence, prompt_version, render_prompt
from jiandu.summarising.runaway import runaway_reason
from jiandu.tokens import count_tokens, split_for_budget

# Tokens kept free in every prompt for a repair or regeneration message appended to it.
FOLLOW_UP_RESERVE = 300
MESSAGE_OVERHEAD = 4  # tokens a chat format adds per message


CUT = ("length", "stopped")  # finish reasons of an answer that did not end by itself
CUT_PREFIX = "answer cut at"  # repair.j2 asks for brevity after a problem starting so


@dataclass
class _Tally(Usage):
    """Usage plus the follow-up requests (repairs, regenerations) among the requests."""

    repairs: int = 0

    def add(self, other: "_Tally") -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.requests += other.requests
        self.repairs += other.repairs


def complete_lines(notes: str) -> str:
    """Notes cut short: their complete lines, each said once (a runaway repeats lines)."""
    lines = notes.splitlines()[:-1] if "\n" in notes else []
    kept: list[str] = []
    for line in lines:
        if line.strip() and line.strip() not in (k.strip() for k in kept):
            kept.append(line)
    return "\n".join(kept).strip()


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
        max_output: dict[str, int] | None = None,
        verifier=None,
        request_deadline: float = 600.0,
        stream: bool = True,
    ):
        """response_format: "json_schema" (strict schema, OpenAI and most hosted APIs) or
        "json_object" (schema in the prompt, and as response_format["schema"] when schema_field,
        which llama.cpp enforces with a grammar). max_output: the longest answer per task
        (limits.DEFAULT_MAX_OUTPUT for any not given). The transport options are ChatClient's
        (timeout is the longest silence, request_deadline the longest request)."""
        if response_format not in ("json_schema", "json_object"):
            raise ValueError(f"response_format must be json_schema or json_object, got {response_format!r}")
        self.client = ChatClient(
            base_url=base_url, api_key=api_key, model=model, max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute, timeout=timeout, deadline=request_deadline,
            stream=stream, max_attempts=max_attempts,
            backoff_base=backoff_base, backoff_max=backoff_max, max_total_wait=max_total_wait,
        )
        self.base_url = base_url
        self.model = model
        self.response_format = response_format
        self.max_concurrency = max_concurrency
        self.input_token_budget = input_token_budget
        self.schema_field = schema_field
        self.max_output = max_output_tokens(max_output)
        self.prompt_version = prompt_version()
        self.verifier = verifier  # summarising.verify.LLMVerifier with JIANDU_VERIFY=llm
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
            error.spent(tally.prompt_tokens, tally.completion_tokens, tally.requests, tally.repairs)
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
        task = "summary"
        if self._fits(prompt):
            messages = [self._system_message(), _user(prompt)]
        else:
            notes = self._notes_of(article, context, tally)
            combine = render_prompt("combine.j2", text=fence(notes), **context)
            messages = [self._system_message(), _user(combine)]
            task = "combine"
        answer, unsupported, flags = self._final_answer(messages, sections, article, tally, task)
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
            flags=flags,
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
            combined = "\n".join(self._map(parts, article, tally))
            if self._fits(render_prompt("combine.j2", text=fence(combined), **context)):
                return combined
            if count_tokens(combined, self.model) >= count_tokens(text, self.model):
                raise SummariseError(f"notes of {article.url or article.title!r} do not get shorter than the text")
            text = combined  # reduce again over the notes

    def _map(self, parts: list[str], article: ArticleInput, tally: _Tally) -> list[str]:
        """Notes for every part, asked at once (the client's slots bound what is in flight)."""
        tallies = [_Tally() for _ in parts]  # one each: threads never add to the same counts

        def notes_of(number: int) -> str:
            prompt = render_prompt("map.j2", title=article.title, part=number, parts=len(parts),
                                   text=fence(parts[number - 1]))
            messages = [self._system_message(), _user(prompt)]
            for attempt in (1, 2):  # a part whose notes ran away with no complete line: once more
                completion = self.client.complete(messages, tallies[number - 1], max_tokens=self.max_output["part"],
                                                  stop_when=runaway_reason)
                content = (completion.content or "").strip()
                if completion.finish_reason not in CUT:
                    break
                content = complete_lines(content)
                if content:
                    break
                if attempt == 1:
                    tallies[number - 1].repairs += 1
                    why = f" ({completion.stop_reason})" if completion.stop_reason else ""
                    problem = f"{CUT_PREFIX} {completion.completion_tokens} tokens{why}"
                    messages = messages + [_user(render_prompt("repair_notes.j2", problem=problem))]
            if not content:
                raise SummariseError(f"empty notes for part {number} of {len(parts)} of {article.url or article.title!r}"
                                     + (f": {CUT_PREFIX} {completion.completion_tokens} tokens"
                                        if completion.finish_reason in CUT else ""))
            return content

        try:
            if len(parts) == 1:
                return [notes_of(1)]
            with ThreadPoolExecutor(max_workers=min(len(parts), self.max_concurrency),
                                    thread_name_prefix="llm-part") as pool:
                futures = [pool.submit(notes_of, number) for number in range(1, len(parts) + 1)]
                return [future.result() for future in futures]
        finally:
            for part_tally in tallies:
                tally.add(part_tally)

    # -- answers --

    def _final_answer(self, messages: list[dict], sections: list[str], article: ArticleInput,
                      tally: _Tally, task: str = "summary") -> tuple[SummaryAnswer, list[str], list[str]]:
        """(answer, unsupported claims, flags for the editor)."""
        article_text, flags = article.text, []
        answer, problem, first = self._ask(messages, sections, tally, article, task)
        if problem:
            tally.repairs += 1
            repair = _user(render_prompt("repair.j2", problem=problem))
            answer, second_problem, second = self._ask(messages + [repair], sections, tally, article, "repair")
            if second_problem:
                # A title still not in Chinese misleads nobody: kept, and flagged for the editor.
                answer = self._with_foreign_title(second, sections, article) or self._with_foreign_title(first, sections, article)
                if answer is None:
                    raise SummariseError(f"invalid answer from {self.model}: {problem}; after one repair: {second_problem}")
                flags.append(TITLE_FLAG)
        unsupported = check_bullets(answer.bullets, to_simplified(article_text))
        if unsupported:
            tally.repairs += 1
            follow_up = _user(render_prompt("regenerate.j2", claims=unsupported))
            retry, problem, _ = self._ask(messages + [follow_up], sections, tally, article, "repair")
            if retry is not None:
                still_unsupported = check_bullets(retry.bullets, to_simplified(article_text))
                if len(still_unsupported) <= len(unsupported):
                    answer, unsupported = retry, still_unsupported
        if self.verifier is not None and not unsupported:
            answer, unsupported = self._verified(answer, messages, sections, article, tally)
        return answer, unsupported, flags

    def _verified(self, answer: SummaryAnswer, messages: list[dict], sections: list[str],
                  article: ArticleInput, tally: _Tally) -> tuple[SummaryAnswer, list[str]]:
        """The verifier's statements get one regeneration; those it still lists hold the summary."""
        text = to_simplified(article.text)
        statements = self.verifier.unsupported(answer.bullets, text, tally)
        if not statements:
            return answer, []
        tally.repairs += 1
        follow_up = _user(render_prompt("regenerate.j2", claims=statements))
        retry, _, _ = self._ask(messages + [follow_up], sections, tally, article, "repair")
        if retry is None or check_bullets(retry.bullets, text):
            return answer, statements
        return retry, self.verifier.unsupported(retry.bullets, text, tally)

    def _ask(self, messages: list[dict], sections: list[str], tally: _Tally,
             article: ArticleInput, task: str = "summary") -> tuple[SummaryAnswer | None, str | None, object]:
        """(answer or None, problem or None, the completion). An answer cut short (max_tokens,
        or stopped repeating itself) that does not parse says so: the repair asks for brevity."""
        completion = self.client.complete(messages, tally, response_format=self._response_format(sections),
                                          max_tokens=self.max_output[task], stop_when=runaway_reason)
        answer, problem = validate_answer(completion.content, completion.refusal, sections,
                                          section_hint=article.section_hint, title_hint=article.title)
        if problem and completion.finish_reason in CUT:
            why = f" ({completion.stop_reason})" if completion.stop_reason else ""
            problem = f"{CUT_PREFIX} {completion.completion_tokens} tokens{why}"
        return answer, problem, completion

    @staticmethod
    def _with_foreign_title(completion, sections: list[str], article: ArticleInput) -> SummaryAnswer | None:
        """The answer if a foreign title is all that is wrong with it."""
        answer, problem = validate_answer(completion.content, completion.refusal, sections,
                                          section_hint=article.section_hint, title_hint=article.title,
                                          foreign_title_ok=True)
        return answer if problem is None else None

    def _response_format(self, sections: list[str]) -> dict:
        schema = summary_schema(sections)
        if self.response_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "summary", "strict": True, "schema": schema}}
        if self.schema_field:
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}


def from_settings(settings, endpoint=None) -> LLMSummariser:
    """The LLM summariser the settings describe (or one of their fallback endpoints, an
    LLMEndpoint). With a local base URL (loopback or private) the server is asked for its
    context and slots: the input budget follows its context, and the concurrency defaults to
    its slots (else 1), unless the settings say otherwise or the model is a hosted one (the
    URL is then a gateway)."""
    from jiandu.connectors.llm import is_local, probe_server
    from jiandu.summarising.limits import input_budget, is_hosted_model
    from jiandu.summarising.verify import verifier_for

    base_url = endpoint.base_url if endpoint else settings.llm_base_url
    model = endpoint.model if endpoint else settings.llm_model
    key = endpoint.api_key if endpoint else settings.llm_api_key
    response_format = (endpoint.response_format if endpoint else None) or settings.llm_response_format
    local = bool(base_url) and is_local(base_url)
    info = probe_server(base_url, model) if local else None
    max_output = max_output_tokens(settings.llm_max_output_tokens)
    concurrency = settings.llm_max_concurrency
    # A hosted model's name behind a loopback URL is a gateway: its concurrency is the service's.
    if local and not is_hosted_model(model) and "llm_max_concurrency" not in settings.model_fields_set:
        concurrency = info.slots if info and info.slots else 1
    budget = settings.llm_input_token_budget or input_budget(
        model, served_context=info.context_tokens if info else None, local=local,
        max_output=max_output["summary"])
    return LLMSummariser(
        base_url=base_url,
        api_key=key.get_secret_value() if key else "none",
        model=model,
        response_format=response_format,
        max_concurrency=concurrency,
        requests_per_minute=settings.llm_requests_per_minute,
        input_token_budget=budget,
        timeout=settings.llm_timeout,
        request_deadline=settings.llm_request_deadline,
        stream=settings.llm_stream == "true" or (settings.llm_stream == "auto" and local),
        max_attempts=settings.llm_max_attempts,
        max_output=max_output,
        verifier=verifier_for(settings, base_url=base_url, api_key=key.get_secret_value() if key else "none",
                              model=model),
    )
