"""The optional LLM verifier (JIANDU_VERIFY=llm): one more request per summary asks a model
(JIANDU_VERIFY_MODEL, else the summarising model) to list every statement of the bullets that
the article does not support. Listed statements get one regeneration, then the summary is held,
like claims the deterministic checker finds. Its requests and tokens count like every other.

The answer is read as forgivingly as a summary (jiandu.summarising.repair): {"unsupported":
["...", ...]}, a bare list, or an empty list when everything is supported.
"""

from __future__ import annotations


from collections.abc import Callable

from jiandu.connectors.llm import ChatClient, Usage
from jiandu.summarising.prompts import fence
from jiandu.summarising.repair import load_answer

MAX_STATEMENTS = 5
VERIFY_MAX_TOKENS = 400  # a short list; a longer answer is a runaway
# Kept out of templates/prompts/ on purpose: every file there is part of the summaries' prompt
# version, and turning the verifier on must not make every cached summary stale.
PROMPT = """下面是一篇文章和根据它写的三条中文要点。请逐条核对：要点中的每个数字、名称、引语和说法（谁说了什么、谁做了什么）是否都能在文章中找到依据。翻译、换算单位（如 5.6M = 560万）和概括都算有依据；文章没有说、说法不同或张冠李戴的算没有依据。

<article>
{article}
</article>

要点：
{bullets}

只回答一个 JSON 对象：{{"unsupported": ["没有依据的说法原文", ...]}}；全部有依据时回答 {{"unsupported": []}}。"""


def verification_messages(bullets: list[str], article_text: str) -> list[dict]:
    listed = "\n".join(f"{number}. {bullet}" for number, bullet in enumerate(bullets, 1))
    return [{"role": "user", "content": PROMPT.format(article=fence(article_text), bullets=listed)}]


def read_statements(content: str | None) -> list[str] | None:
    """The statements the verifier listed ([] for none), or None when its answer cannot be read."""
    if content is None:
        return None
    data, problem = load_answer(content)
    if problem:
        return [] if content.strip() in ("", "[]", "{}") else None
    listed = data.get("unsupported", data.get("bullets", []))
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list):
        return None
    return [str(item).strip() for item in listed if str(item).strip()][:MAX_STATEMENTS]


class LLMVerifier:
    """unsupported(bullets, article_text, usage) -> statements the model says the article lacks."""

    def __init__(self, client: ChatClient):
        self.client = client
        self.model = client.model

    def unsupported(self, bullets: list[str], article_text: str, usage: Usage) -> list[str]:
        completion = self.client.complete(verification_messages(bullets, article_text), usage,
                                          response_format={"type": "json_object"},
                                          max_tokens=VERIFY_MAX_TOKENS)
        statements = read_statements(completion.content)
        # An answer that cannot be read proves nothing either way; the checker's verdict stands.
        return statements or []


def verifier_for(settings, *, base_url: str, api_key: str, model: str) -> LLMVerifier | None:
    """The verifier the settings ask for (JIANDU_VERIFY=llm), on the summariser's endpoint."""
    if getattr(settings, "verify", "off") != "llm":
        return None
    client = ChatClient(base_url=base_url, api_key=api_key, model=settings.verify_model or model,
                        max_concurrency=settings.llm_max_concurrency, timeout=settings.llm_timeout,
                        deadline=settings.llm_request_deadline, stream=settings.llm_stream,
                        max_attempts=settings.llm_max_attempts)
    return LLMVerifier(client)


def verifier_from_settings() -> Callable[[list[str], str], list[str]] | None:
    """For `make eval`: a checker-shaped verifier when JIANDU_VERIFY_MODEL and an endpoint are
    set, else None."""
    from jiandu.settings import get_settings

    settings = get_settings()
    if not settings.verify_model or not settings.llm_configured or not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none"
    client = ChatClient(base_url=settings.llm_base_url, api_key=key, model=settings.verify_model,
                        max_concurrency=1, timeout=settings.llm_timeout, stream=settings.llm_stream)
    verifier = LLMVerifier(client)
    return lambda bullets, article: verifier.unsupported(bullets, article, Usage())



