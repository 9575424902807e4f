"""How long a prompt and an answer may be, by model and task (pure).

The input budget follows the model: its context window (from a local server that says it, else
this table, else a safe default) less the longest answer asked for, with a margin for
tokenizers that count differently from ours. JIANDU_LLM_INPUT_TOKEN_BUDGET overrides it.
"""

from __future__ import annotations

# The answers a summary may ask for, and the longest each may be by default: about twice a
# long valid answer (three bullets of 150 字 and a title run to 500-700 tokens).
# The triage's answer (relevant, score, a one-line reason) runs to 40-80 tokens.
OUTPUT_TASKS = ("summary", "repair", "part", "combine", "triage")
DEFAULT_MAX_OUTPUT = {"summary": 1200, "repair": 1200, "part": 1000, "combine": 1200, "triage": 200}

# Context windows in tokens, by model name prefix (the longest matching prefix wins). Hosted
# values are the providers' documented limits; where a model's window grew between versions
# the smaller is kept. Local names are what the model was trained for: a local server may run
# it with less, which probe_server() finds out.
CONTEXT_WINDOWS: dict[str, int] = {
    # OpenAI
    "gpt-4o-mini": 128_000,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    # Chinese hosted models
    "deepseek-chat": 64_000,
    "deepseek-reasoner": 64_000,
    "deepseek-v3": 64_000,
    "qwen-plus": 131_072,
    "qwen-turbo": 131_072,
    "qwen-max": 32_768,
    "qwen-long": 1_000_000,
    "glm-4": 128_000,
    "moonshot-v1-8k": 8_192,
    "moonshot-v1-32k": 32_768,
    "moonshot-v1-128k": 131_072,
    "kimi": 131_072,
    "doubao": 32_768,
    # Anthropic, through OpenAI-compatible gateways
    "claude": 200_000,
    # Open models, as local servers (Ollama, llama.cpp, LM Studio, vLLM) name them
    "llama3.1": 131_072,
    "llama3.2": 131_072,
    "llama3.3": 131_072,
    "llama3": 8_192,
    "llama-3.1": 131_072,
    "llama-3.2": 131_072,
    "llama-3.3": 131_072,
    "llama-3": 8_192,
    "llama2": 4_096,
    "qwen3": 32_768,
    "qwen2.5": 32_768,
    "qwen2": 32_768,
    "qwen": 8_192,
    "mistral": 32_768,
    "mixtral": 32_768,
    "gemma3": 131_072,
    "gemma2": 8_192,
    "gemma": 8_192,
    "phi4": 16_384,
    "phi3": 4_096,
    "deepseek-r1": 131_072,
    "yi": 4_096,
    "glm4": 131_072,
}
# Names only a hosted service serves: behind a loopback URL they mean a gateway (a LiteLLM
# proxy, say), whose context is the service's, not a small local server's.
HOSTED = ("gpt-", "o1", "o3", "o4-", "deepseek-chat", "deepseek-reasoner", "qwen-", "glm-4",
          "moonshot-", "kimi", "doubao", "claude")
DEFAULT_CONTEXT = 8_192  # an unknown model: small enough to be safe nearly everywhere
# A local server that did not say its context: LM Studio's and older Ollama's defaults are 2-4k.
LOCAL_DEFAULT_CONTEXT = 4_096
TOKENIZER_MARGIN = 0.9  # other tokenizers may count up to ~10% more than ours
SMALLEST_BUDGET = 500


def model_key(model: str) -> str:
    """The bare model name: no provider path ("openai/", "accounts/x/models/"), no tag (":7b")."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def context_window(model: str) -> int | None:
    """The table's context window for this model, or None when it is not known."""
    key = model_key(model)
    matches = [prefix for prefix in CONTEXT_WINDOWS if key.startswith(prefix)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else None


def is_hosted_model(model: str) -> bool:
    return model_key(model).startswith(HOSTED)


def max_output_tokens(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """The longest answer per task: the defaults, with any the settings give."""
    return {**DEFAULT_MAX_OUTPUT, **(overrides or {})}


def input_budget(model: str, *, served_context: int | None = None, local: bool = False,
                 max_output: int = DEFAULT_MAX_OUTPUT["summary"]) -> int:
    """Tokens a prompt may take: the context (what the server says, else the table, else a
    default) less the longest answer, with a margin; never below SMALLEST_BUDGET."""
    context = served_context or context_window(model)
    local = local and not is_hosted_model(model)
    if context is None:
        context = LOCAL_DEFAULT_CONTEXT if local else DEFAULT_CONTEXT
    elif local and served_context is None:
        context = min(context, LOCAL_DEFAULT_CONTEXT)
    return max(SMALLEST_BUDGET, int((context - max_output) * TOKENIZER_MARGIN))
