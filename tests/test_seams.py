"""One definition each (issue 11): the error root, the Chinese-character class, Retry-After,
ISO dates, the section of last resort, the title/subject template, the User-Agent."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from jiandu.cjk import HAN, ONE_TOKEN_EACH, count_han, has_han, mostly_chinese
from jiandu.connectors import errors as fetch_errors
from jiandu.connectors.http import DEFAULT_USER_AGENT, parse_retry_after
from jiandu.dates import iso_to_utc
from jiandu.errors import JianduError
from jiandu.issue_context import TITLE_TEMPLATE, subject_for
from jiandu.records import Publication
from jiandu.sections import placed_section
from jiandu.settings import get_settings
from jiandu.zi import count_zi


def test_every_fetch_error_is_a_jiandu_error():
    for name in ("FetchError", "NetworkError", "Timeout", "HTTPStatusError", "TooLarge",
                 "BlockedAddress", "RedirectLoop", "TooManyRedirects", "UnsupportedContent",
                 "ParseError"):
        assert issubclass(getattr(fetch_errors, name), JianduError), name


def test_a_fetch_error_reaching_the_cli_is_one_line(monkeypatch, capsys):
    from jiandu import cli

    def fails() -> None:
        raise fetch_errors.Timeout("https://feeds.example/a.xml", "no answer within 30 s")

    monkeypatch.setattr(cli, "app", lambda **_: fails())
    monkeypatch.setattr("sys.argv", ["jiandu", "ingest"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "https://feeds.example/a.xml: no answer within 30 s" in err
    assert "Traceback" not in err


def test_one_chinese_character_class():
    assert count_han("简读 jiandu，兼容⾦") == 4  # the radical ⾦ (U+2FA6) is not an ideograph
    assert has_han("GPT-4 发布") and not has_han("GPT-4 release")
    assert count_zi("丽") == 1  # U+F9E2, a compatibility ideograph, as the checker counts
    # Kana, Hangul and full-width punctuation take about a token each, but are not 字.
    assert not HAN.search("かな한글，") and len(ONE_TOKEN_EACH.findall("かな한글，")) == 5


@pytest.mark.parametrize("text,chinese", [
    ("OpenAI 发布了新的模型，性能提升", True),
    ("OpenAI released a model 新", False),
    ("2024 — 100%", False),  # no letters at all
    ("半数 AI", True),  # 2 of 4 letters: half is enough
    ("半 AI", False),
])
def test_mostly_chinese(text, chinese):
    assert mostly_chinese(text) is chinese


def test_retry_after_in_every_form_a_server_sends():
    read = lambda **headers: parse_retry_after(httpx.Headers(headers))  # noqa: E731
    assert read(**{"Retry-After": "120"}) == 120
    assert read(**{"Retry-After": "1.5"}) == 1.5
    assert read(**{"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert read(**{"retry-after-ms": "soon", "Retry-After": "9"}) == 9
    assert read(**{"Retry-After": "-3"}) == 0
    later = format_datetime(datetime.now(timezone.utc) + timedelta(minutes=2), usegmt=True)
    assert 100 <= read(**{"Retry-After": later}) <= 121
    assert read(**{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert read(**{"Retry-After": "soon"}) is None
    assert read(**{"Retry-After": "nan"}) is None
    assert read() is None


@pytest.mark.parametrize("value,expected", [
    ("2024-01-22T08:30:00+08:00", datetime(2024, 1, 22, 0, 30, tzinfo=timezone.utc)),
    ("2024-01-22T08:30:00", datetime(2024, 1, 22, 8, 30, tzinfo=timezone.utc)),  # no zone: UTC
    ("2024-01-22", datetime(2024, 1, 22, tzinfo=timezone.utc)),
    ("2024-01-22 (updated)", datetime(2024, 1, 22, tzinfo=timezone.utc)),
    ("yesterday", None),
    ("", None),
    (None, None),
    (20240122, None),
])
def test_iso_dates_to_utc(value, expected):
    assert iso_to_utc(value) == expected


def test_an_unknown_section_goes_to_the_last():
    sections = ["科技", "财经", "其他"]
    assert placed_section("财经", sections) == "财经"
    assert placed_section("体育", sections) == "其他"
    assert placed_section(None, sections) == "其他"


def test_the_title_template_is_the_default_subject():
    publication = Publication(name="简读", purpose="", sections=["其他"])
    assert get_settings().mail_subject == TITLE_TEMPLATE
    assert subject_for(None, publication, 7, date(2024, 1, 22)) == "简读 第7期 · 2024-01-22"


def test_ingest_sends_the_one_versioned_user_agent(monkeypatch):
    from jiandu.runtime import open_runtime
    from jiandu.stages.ingest import ingest
    from jiandu.models import store
    from tests.support.http_server import LocalHTTPServer

    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            b"<item><title>a</title><link>http://127.0.0.1/x</link><description>d</description>"
            b"</item></channel></rss>")
    with LocalHTTPServer() as server:
        server.route("/feed.xml", body=feed, headers={"Content-Type": "application/rss+xml"})
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        monkeypatch.setenv("JIANDU_FETCH_PAGES", "0")
        get_settings.cache_clear()
        rt = open_runtime()
        try:
            with rt.sessions.begin() as session:
                store.add_source(session, kind="feed", url=server.url("/feed.xml"))
            ingest(rt)
        finally:
            rt.close()
        assert server.requests("/feed.xml")[0]["user-agent"] == DEFAULT_USER_AGENT
    assert "example.invalid" not in DEFAULT_USER_AGENT
