"""Lower bounds of a run: what the network, the CPU and the LLM cannot do faster than."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import trafilatura

from bench.world import World

VARIANTS_PER_PAGE = 3


def extraction_seconds(world: World) -> list[float]:
    """Median seconds of plain trafilatura work for each base page (same options as jiandu),
    measured on a few served variants of it."""
    costs = []
    for index in range(len(world.base)):
        samples = []
        for variant in range(VARIANTS_PER_PAGE):
            html = world.page(index + variant * len(world.base)).decode("utf-8")
            began = time.perf_counter()
            trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                        include_tables=True)
            samples.append(time.perf_counter() - began)
        costs.append(statistics.median(samples))
    return costs


@dataclass
class Bounds:
    network: float
    cpu: float
    llm: float
    cores_used: int

    @property
    def largest(self) -> tuple[str, float]:
        return max((("network", self.network), ("cpu", self.cpu), ("llm", self.llm)),
                   key=lambda pair: pair[1])

    @property
    def stage_sum(self) -> float:
        """Ingest (network and CPU overlap) then summarise: the bound of stages run in order."""
        return max(self.network, self.cpu) + self.llm

    def as_dict(self) -> dict:
        name, value = self.largest
        return {"network_s": round(self.network, 2), "cpu_s": round(self.cpu, 2),
                "llm_s": round(self.llm, 2), "cores_used": self.cores_used,
                "largest": name, "largest_s": round(value, 2),
                "stage_sum_s": round(self.stage_sum, 2)}


def bounds(*, feeds: int, pages: int, llm_requests: int, world: World, page_costs: list[float],
           connections: int, per_host: int, sites: int, llm_latency: float,
           llm_concurrency: int, cores_used: int = 1) -> Bounds:
    """Network: every request's latency spread over the connections jiandu may hold at once;
    CPU: plain extraction of every page spread over the cores used; LLM: every request's
    latency spread over the allowed concurrency."""
    allowed = max(1, min(connections, sites * per_host))
    network = (feeds * world.feed_latency + pages * world.page_latency) / allowed
    cpu = sum(page_costs[n % len(page_costs)] for n in range(pages)) / cores_used
    llm = llm_requests * llm_latency / max(1, llm_concurrency)
    return Bounds(network=network, cpu=cpu, llm=llm, cores_used=cores_used)
