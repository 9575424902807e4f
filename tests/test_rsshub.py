"""RSSHub routes as sources, against a real RSSHub 1.0.0 on loopback (tests/support/rsshub/),
plus the pure parts (route parsing, the access code, profile URL -> route)."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.connectors import rsshub
from jiandu.models.schema import Item, Source
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from tests.support.rsshub.server import rsshub_server  # noqa: F401  (pytest fixture)

runner = CliRunner()
# One RSSHub (about 200 MB) per test run: every test here goes to the same xdist worker.
pytestmark = pytest.mark.xdist_group("rsshub")


def cli(*args: str):
    from jiandu import cli as cli_module

    saved = cli_module.console._width
    cli_module.console.width = 250  # the table folds long cells at the terminal's width
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        cli_module.console._width = saved


# Pure parts ------------------------------------------------------------------------------------


def test_the_access_code_is_md5_of_the_route_path_and_the_key():
    assert rsshub.access_code("/test/1", "k") == hashlib.md5(b"/test/1k").hexdigest()
    url = rsshub.feed_url("rsshub:/test/1?limit=3", "http://127.0.0.1:1200/", "k")
    assert url == f"http://127.0.0.1:1200/test/1?limit=3&code={hashlib.md5(b'/test/1k').hexdigest()}"
    assert rsshub.feed_url("rsshub:/test/1", "http://h:1200", None) == "http://h:1200/test/1"


@pytest.mark.parametrize("value, limit, stored", [
    ("rsshub:/twitter/user/op7418", None, "rsshub:/twitter/user/op7418"),
    ("rsshub:/test/1", 5, "rsshub:/test/1?limit=5"),
    ("rsshub:/test/1?limit=9&filter_title=AI", 2, "rsshub:/test/1?filter_title=AI&limit=2"),
    ("rsshub:/test/1?code=0123&key=secret", None, "rsshub:/test/1"),  # a pasted secret is dropped
    ("rsshub:/qbitai/category/资讯", None, "rsshub:/qbitai/category/%E8%B5%84%E8%AE%AF"),
])
def test_routes_are_stored_without_secrets_and_with_the_limit(value, limit, stored):
    assert rsshub.parse_source(value, limit=limit) == stored


@pytest.mark.parametrize("value", ["rsshub:twitter/user/x", "rsshub:", "rsshub://host/x",
                                   "rsshub:/a b", "rsshub:/x#frag"])
def test_a_bad_route_is_refused_naming_it(value):
    with pytest.raises(ValueError, match="rsshub:"):
        rsshub.parse_source(value)


@pytest.mark.parametrize("url, route", [
    ("https://x.com/op7418", "rsshub:/twitter/user/op7418"),
    ("https://twitter.com/OpenAI", "rsshub:/twitter/user/OpenAI"),
    ("https://www.youtube.com/@banpie", "rsshub:/youtube/user/@banpie"),
    ("https://www.youtube.com/channel/UCabc123", "rsshub:/youtube/channel/UCabc123"),
    ("https://space.bilibili.com/946974", "rsshub:/bilibili/user/video/946974"),
    ("https://weibo.com/u/1234567", "rsshub:/weibo/user/1234567"),
    ("https://github.com/DIYgod", "rsshub:/github/repos/DIYgod"),
    ("https://huggingface.co/papers", "rsshub:/huggingface/daily-papers"),
    ("https://x.com/op7418/status/1", None),
    ("https://x.com/home", None),
    ("https://www.youtube.com/watch?v=abc", None),
    ("https://github.com/DIYgod/RSSHub", None),
    ("https://example.com/op7418", None),
])
def test_profile_urls_map_to_the_route_that_follows_them(url, route):
    assert rsshub.rsshub_route_for(url) == route


def test_without_the_server_setting_add_names_it(monkeypatch):
    result = runner.invoke(app, ["source", "add", "rsshub:/test/1"])
    assert result.exit_code != 0
    assert "JIANDU_RSSHUB_URL" in str(result.exception)


def test_without_the_server_setting_the_installed_command_says_so_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "jiandu", "source", "add", "rsshub:/test/1"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "JIANDU_RSSHUB_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_limit_is_only_for_rsshub_sources(monkeypatch):
    monkeypatch.setenv("JIANDU_RSSHUB_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    result = runner.invoke(app, ["source", "add", "https://example.com/feed.xml", "--limit", "3"])
    assert result.exit_code != 0
    assert "--limit" in str(result.exception)


# A real RSSHub ---------------------------------------------------------------------------------


@pytest.fixture
def hub(rsshub_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("JIANDU_RSSHUB_URL", rsshub_server.url)
    monkeypatch.setenv("JIANDU_RSSHUB_ACCESS_KEY", rsshub_server.access_key)
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")  # its items link to github.com: no internet
    get_settings.cache_clear()
    return rsshub_server


def run_ingest():
    rt = open_runtime()
    try:
        return ingest(rt)
    finally:
        rt.close()


def sources_and_items():
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            sources = [(s.url, s.last_status, s.last_error) for s in session.scalars(select(Source))]
            items = [(i.title, i.url) for i in session.scalars(select(Item).order_by(Item.id))]
            return sources, items
    finally:
        rt.close()


@pytest.mark.slow
def test_a_route_is_followed_with_the_access_key_and_no_secret_is_kept(hub, jiandu_env, caplog):
    code = rsshub.access_code("/test/1", hub.access_key)
    caplog.set_level(logging.DEBUG)
    added = cli("source", "add", "rsshub:/test/1", "--section", "产业资讯")
    assert added.exit_code == 0, added.output

    report = run_ingest()

    assert report.new_items == 5 and report.source_errors == 0
    (url, status, error), = sources_and_items()[0]
    assert (url, status, error) == ("rsshub:/test/1", 200, None)
    titles = [title for title, _ in sources_and_items()[1]]
    assert titles == ["Title1", "Title2", "Title3", "Title4", "Title5"]
    listed = cli("source", "list").output
    assert "rsshub:/test/1" in listed
    # /test/1 answers 200 with items dated 2018: the alarm such routes need.
    assert "quiet since 2018-12-31" in listed
    database = (jiandu_env / "jiandu.db").read_bytes()
    for secret in (hub.access_key, code):
        assert secret not in listed
        assert secret.encode() not in database
        assert secret not in caplog.text
    exported = cli("items", "export").output
    assert hub.access_key not in exported and code not in exported


@pytest.mark.slow
def test_limit_is_passed_to_rsshub(hub):
    assert cli("source", "add", "rsshub:/test/1", "--limit", "2").exit_code == 0
    assert run_ingest().new_items == 2
    assert sources_and_items()[0][0][0] == "rsshub:/test/1?limit=2"


@pytest.mark.slow
@pytest.mark.parametrize("key", [None, "not-the-key"])
def test_a_wrong_or_missing_key_is_named_as_the_reason(hub, monkeypatch, key):
    if key is None:
        monkeypatch.delenv("JIANDU_RSSHUB_ACCESS_KEY")
    else:
        monkeypatch.setenv("JIANDU_RSSHUB_ACCESS_KEY", key)
    get_settings.cache_clear()
    cli("source", "add", "rsshub:/test/1")

    report = run_ingest()

    assert report.source_errors == 1 and report.new_items == 0
    (url, status, error), = sources_and_items()[0]
    assert status == 403
    assert error.startswith("rsshub:/test/1: RSSHub refused access")
    assert "access key is wrong or missing" in error and "JIANDU_RSSHUB_ACCESS_KEY" in error
    assert "code=" not in error and (key or hub.access_key) not in error


@pytest.mark.slow
@pytest.mark.parametrize("route", ["/no/such/route", "/test/error"])
def test_a_wrong_or_broken_route_is_named_as_the_reason(hub, route):
    cli("source", "add", f"rsshub:{route}")

    run_ingest()

    (url, status, error), = sources_and_items()[0]
    assert status == 404
    assert error.startswith(f"rsshub:{route}: RSSHub answered HTTP 404")
    assert "the route is wrong" in error and "broken upstream" in error
    assert rsshub.access_code(route, hub.access_key) not in error


def test_503_and_other_statuses_get_their_reasons():
    assert "broken upstream" in rsshub.explain_status(503)
    assert rsshub.explain_status(500) == "RSSHub answered HTTP 500"


def test_a_server_that_refuses_connections_is_reported_without_the_code(monkeypatch):
    import httpx

    with httpx.Client() as client, pytest.raises(rsshub.FetchError) as caught:
        rsshub.fetch_route(client, "rsshub:/test/1", base_url="http://127.0.0.1:9",
                           access_key="secret-key")
    assert caught.value.url == "rsshub:/test/1"
    assert "secret-key" not in str(caught.value)
    assert rsshub.access_code("/test/1", "secret-key") not in str(caught.value)
