"""The quiet-source alarm: rhythm, the quiet rule, the first-poll rule, clearing; then through
real feed files, `jiandu source list` and `jiandu status`."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.quiet import QuietState, assess, median_gap, quiet_after
from jiandu.runtime import open_runtime
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.settings import get_settings
from jiandu.status import collect_status

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
runner = CliRunner()


def days_ago(*days: float) -> list[datetime]:
    return [NOW - d * DAY for d in days]


def test_rhythm_is_the_median_gap_between_entry_dates():
    assert median_gap(days_ago(0, 1, 2, 10)) == DAY.total_seconds()
    assert median_gap(days_ago(3)) is None
    assert quiet_after(None) == timedelta(days=7)
    assert quiet_after(DAY.total_seconds()) == timedelta(days=7)  # 3 days < the 7-day floor
    assert quiet_after(5 * DAY.total_seconds()) == timedelta(days=15)


def test_a_daily_source_is_quiet_after_a_week_without_entries():
    state = assess(QuietState(), days_ago(1, 2, 3, 4), new_entries=4, now=NOW)
    assert state.quiet_since is None and state.rhythm_seconds == DAY.total_seconds()
    later = assess(state, [], new_entries=0, now=NOW + 6 * DAY)  # a 304 six days on
    assert later.quiet_since is None
    quiet = assess(later, days_ago(1, 2, 3, 4), new_entries=0, now=NOW + 7 * DAY)
    assert quiet.quiet_since == NOW - DAY  # since its newest entry


def test_a_weekly_source_waits_three_weeks():
    state = assess(QuietState(), days_ago(2, 9, 16, 23), new_entries=4, now=NOW)
    assert assess(state, [], new_entries=0, now=NOW + 18 * DAY).quiet_since is None
    assert assess(state, [], new_entries=0, now=NOW + 20 * DAY).quiet_since == NOW - 2 * DAY


def test_a_first_poll_whose_newest_entry_is_over_30_days_old_is_quiet():
    # A monthly rhythm would allow 90 days, but a first look at 40-day-old news is already quiet.
    state = assess(QuietState(), days_ago(40, 70, 100, 130), new_entries=4, now=NOW)
    assert state.quiet_since == NOW - 40 * DAY
    fresh = assess(QuietState(), days_ago(20, 50, 80), new_entries=3, now=NOW)
    assert fresh.quiet_since is None


def test_the_mark_stays_until_a_new_entry_clears_it():
    state = assess(QuietState(), days_ago(400, 401, 402), new_entries=3, now=NOW)
    assert state.quiet_since == NOW - 400 * DAY
    again = assess(state, days_ago(400, 401, 402), new_entries=0, now=NOW + DAY)
    assert again.quiet_since == NOW - 400 * DAY
    cleared = assess(again, [NOW + DAY, *days_ago(400, 401)], new_entries=1, now=NOW + 2 * DAY)
    assert cleared.quiet_since is None and cleared.newest_entry_at == NOW + DAY


def test_entries_without_dates_count_when_they_are_new():
    state = assess(QuietState(), [None, None], new_entries=2, now=NOW)
    assert state.newest_entry_at == NOW and state.quiet_since is None
    assert assess(state, [None, None], new_entries=0, now=NOW + 8 * DAY).quiet_since == NOW


def test_future_dates_are_ignored():
    state = assess(QuietState(), [NOW + 30 * DAY, *days_ago(100)], new_entries=2, now=NOW)
    assert state.newest_entry_at == NOW - 100 * DAY and state.quiet_since is not None


# Through the commands ---------------------------------------------------------------------------


def rss(entries: list[tuple[str, datetime]]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>https://example.com/{i}</link>"
        f"<guid>https://example.com/{i}</guid><pubDate>{format_datetime(date)}</pubDate>"
        f"<description>{title}的正文。第一句介绍背景和人物，说明事情的来龙去脉。"
        f"第二句给出时间和地点，描述事件的影响范围。第三句总结意义和后续安排，指出接下来的计划。</description></item>"
        for i, (title, date) in enumerate(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>旧闻</title><link>https://example.com/</link>{items}</channel></rss>")


def cli(*args: str) -> str:
    from jiandu import cli as cli_module

    saved = cli_module.console._width
    cli_module.console.width = 250
    try:
        result = runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        cli_module.console._width = saved
    assert result.exit_code == 0, result.output
    return result.output


def run(stage):
    rt = open_runtime()
    try:
        return stage(rt)
    finally:
        rt.close()


def test_a_feed_of_year_old_entries_is_quiet_in_source_list_and_status(tmp_path, monkeypatch):
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    get_settings.cache_clear()
    now = datetime.now(timezone.utc)
    old = [(f"旧条目{i}", now - timedelta(days=400 + 3 * i)) for i in range(4)]
    feed = tmp_path / "old.xml"
    feed.write_text(rss(old), encoding="utf-8")
    cli("source", "add", str(feed))

    run(ingest)

    quiet_day = (now - timedelta(days=400)).strftime("%Y-%m-%d")
    assert f"quiet since {quiet_day}" in cli("source", "list")
    assert run(collect_status)["sources quiet (no new entry for longer than their rhythm)"] == 1
    issue = run(publish)
    if issue.issue_number:  # the reader's edition never mentions it
        edition = (get_settings().out_dir / f"issue-{issue.issue_number:04d}.md").read_text()
        assert "quiet" not in edition and "安静" not in edition

    # Its first new entry clears the mark; the source was polled all along.
    feed.write_text(rss([("新条目", now - timedelta(hours=1)), *old]), encoding="utf-8")
    os.utime(feed, (now.timestamp() + 5, now.timestamp() + 5))
    run(ingest)
    assert "quiet since" not in cli("source", "list")
    assert run(collect_status)["sources quiet (no new entry for longer than their rhythm)"] == 0


def test_the_desk_lists_quiet_sources_for_the_editor(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from jiandu.desk.app import create_app
    from jiandu.desk.security import DeskSecurity

    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    monkeypatch.setenv("JIANDU_REVIEW", "true")
    get_settings.cache_clear()
    now = datetime.now(timezone.utc)
    quiet_feed, live_feed = tmp_path / "quiet.xml", tmp_path / "live.xml"
    quiet_feed.write_text(rss([(f"旧条目{i}", now - timedelta(days=400 + i)) for i in range(3)])
                          .replace("<title>旧闻</title>", "<title>安静的来源</title>"), encoding="utf-8")
    live_feed.write_text(rss([(f"新条目{i}", now - timedelta(hours=2 + i)) for i in range(3)])
                         .replace("<title>旧闻</title>", "<title>活跃的来源</title>"), encoding="utf-8")
    cli("source", "add", str(quiet_feed))
    cli("source", "add", str(live_feed))
    run(ingest)
    from jiandu.stages.summarise import summarise

    run(summarise)
    assert run(publish).issue_number == 1  # a draft, waiting for the editor
    rt = open_runtime()
    try:
        with TestClient(create_app(rt, DeskSecurity("127.0.0.1")), base_url="http://127.0.0.1") as client:
            page = client.get("/issues/1").text
    finally:
        rt.close()
    since = (now - timedelta(days=400)).strftime("%Y-%m-%d")
    assert "Quiet sources" in page and f"quiet since {since}" in page
    assert "安静的来源" in page and "活跃的来源" not in page.split("Quiet sources")[1].split("</section>")[0]
    edition = (get_settings().out_dir / "issue-0001.md").read_text(encoding="utf-8")
    assert "安静的来源" not in edition and "quiet" not in edition.lower()
