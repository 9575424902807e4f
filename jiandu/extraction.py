"""Main-text extraction off the GIL: trafilatura is CPU work, so many pages go to worker
processes (one per core); a handful are extracted in the calling thread, where starting
processes would cost more than it saves."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from jiandu.connectors.pages import extract_page
from jiandu import dedup
from jiandu.records import Extracted, PageFetch

PROCESSES_FROM = 40  # pages in a batch before worker processes pay for their start-up


def extract_with_signature(page: PageFetch) -> tuple[Extracted, bytes]:
    extracted = extract_page(page)
    return extracted, dedup.signature(extracted.text)


class Extractor:
    """Extract pages from any number of threads; processes are started on first need."""

    def __init__(self, expected_pages: int):
        self._use_processes = expected_pages >= PROCESSES_FROM and (os.cpu_count() or 1) > 1
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def __call__(self, page: PageFetch) -> tuple[Extracted, bytes]:
        return self.run(extract_with_signature, page)

    def run(self, function, *args, **kwargs):
        """`function(*args, **kwargs)`, in a worker process when this batch uses them (other
        CPU work of the fetch step goes here too: reading a PDF's text takes ~0.5 s a page)."""
        if not self._use_processes:
            return function(*args, **kwargs)
        with self._lock:
            if self._pool is None:
                # spawn, not fork: this process has threads, and a forked copy of their locks
                # can deadlock.
                self._pool = ProcessPoolExecutor(max_workers=os.cpu_count(),
                                                 mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(function, *args, **kwargs).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
