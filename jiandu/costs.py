"""What a model's tokens cost at the prices in JIANDU_LLM_PRICES (USD per million tokens).

Pure arithmetic in a module of its own, so `jiandu status` can price past runs without
importing the summarise stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jiandu.settings import Settings


def cost_of(settings: Settings, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    prompt_price, completion_price = settings.llm_prices.get(model, (0.0, 0.0))
    return (prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000
