"""Ingest and summarise at once: summaries start as soon as the first texts are stored, so a
run takes about as long as its slowest stage instead of the sum of both."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from jiandu.runtime import Runtime
from jiandu.stages.ingest import IngestReport, ingest
from jiandu.stages.summarise import SummariseReport, summarise
from jiandu.models.schema import utcnow


def ingest_and_summarise(rt: Runtime, *, now: datetime | None = None,
                         summariser=None) -> tuple[IngestReport, SummariseReport]:
    now = now or utcnow()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jiandu-ingest") as pool:
        ingesting = pool.submit(ingest, rt, now=now)
        try:
            summarised = summarise(rt, summariser, now=now, follow=ingesting.done)
        finally:
            ingested = ingesting.result()  # re-raises what stopped the ingest, after summarising
    return ingested, summarised
