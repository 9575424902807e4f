"""Checks of the benchmark's own parts (run: .venv/bin/python -m pytest bench -q)."""

from __future__ import annotations

import httpx
import trafilatura

from bench.bounds import bounds
from bench.world import Sites, World
from jiandu import dedup


def test_every_url_carries_a_different_text_that_no_story_matcher_merges():
    world = World(feeds=1, entries_per_feed=1, page_latency=0, feed_latency=0)
    same_base = [world.page(n) for n in (0, len(world.base), 2 * len(world.base))]
    texts = [trafilatura.extract(page.decode("utf-8")) for page in same_base]
    assert len(set(texts)) == 3 and all(len(t) > 300 for t in texts)
    matcher = dedup.StoryMatcher()
    for story, text in enumerate(texts):
        assert matcher.match(dedup.signature(text)) is None
        matcher.add(story, dedup.signature(text))
    # The HTML around the text is the real page's: same length, same tags.
    assert abs(len(same_base[0]) - len(world.base[0].html.encode())) < len(same_base[0]) * 0.2


def test_sites_answer_feeds_conditionally_and_count_what_they_serve():
    world = World(feeds=2, entries_per_feed=3, page_latency=0, feed_latency=0)
    with Sites(world, 2) as sites, httpx.Client() as client:
        first = client.get(sites.feed_urls()[1])
        assert first.status_code == 200 and first.text.count("<item>") == 3
        assert sites.url(1, "/p/3.html") in first.text  # feed 1's first entry is item 3
        again = client.get(sites.feed_urls()[1], headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert client.get(sites.url(1, "/p/3.html")).status_code == 200
    counts = world.reset_counts()
    assert counts["feed_200"] == 1 and counts["feed_304"] == 1 and counts["pages"] == 1
    assert counts["feed_conditional"] == 1 and counts["pages_peak_in_flight"] == 1


def test_bounds_spread_latency_over_the_allowed_concurrency():
    world = World(feeds=1, entries_per_feed=1, page_latency=0.2, feed_latency=0.2)
    b = bounds(feeds=50, pages=1000, llm_requests=1000, world=world, page_costs=[0.01, 0.03],
               connections=16, per_host=2, sites=50, llm_latency=2.0, llm_concurrency=50)
    assert round(b.network, 3) == round((50 + 1000) * 0.2 / 16, 3)
    assert round(b.cpu, 3) == 20.0  # 500 pages at 10 ms and 500 at 30 ms, one core
    assert b.llm == 40.0 and b.largest == ("llm", 40.0) and round(b.stage_sum, 6) == 60.0
    few_hosts = bounds(feeds=2, pages=10, llm_requests=0, world=world, page_costs=[0.0],
                       connections=16, per_host=2, sites=2, llm_latency=2.0, llm_concurrency=1)
    assert round(few_hosts.network, 6) == round((2 + 10) * 0.2 / 4, 6)  # two hosts, two slots each
