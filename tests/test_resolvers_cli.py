"""Resolvers through the real commands: `jiandu links add`, the ingest stage, `jiandu items export`.

Every route's upstream is pointed at one loopback server by its JIANDU_* setting; the links
keep their real addresses (arxiv.org, github.com, youtube.com, ...).
"""

from __future__ import annotations

import gzip
import json

import pytest
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.settings import get_settings
from tests.conftest import FIXTURES
from tests.support.http_server import http_server  # noqa: F401  (pytest fixture)

HERE = FIXTURES / "resolvers"
runner = CliRunner()


def jiandu(*args: str) -> str:
    get_settings.cache_clear()
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def ingest_now() -> None:
    from jiandu.runtime import open_runtime
    from jiandu.stages.ingest import ingest

    get_settings.cache_clear()
    rt = open_runtime()
    try:
        ingest(rt)
    finally:
        rt.close()


def exported() -> dict[str, dict]:
    lines = [line for line in jiandu("items", "export").splitlines() if line.startswith("{")]
    return {record["url"]: record for record in map(json.loads, lines)}


@pytest.fixture
def routes_here(http_server, monkeypatch):
    """Every route's upstream on the loopback server."""
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    for name, path in {"ARXIV_URL": "/arxiv", "ARXIV_API_URL": "/api/query",
                       "GITHUB_API_URL": "/gh", "HUGGINGFACE_URL": "/hf", "YOUTUBE_URL": "/yt",
                       "YOUTUBE_TIMEDTEXT_URL": "/api/timedtext", "X_OEMBED_URL": "/oembed",
                       "X_THREAD_API_URL": "/fx",
                       "TCO_URL": "/tco", "WECHAT_URL": "/wx", "SOGOU_URL": "/sogou"}.items():
        monkeypatch.setenv(f"JIANDU_{name}", http_server.url(path))
    return http_server


def serve(server, path: str, fixture: str, content_type: str) -> None:
    server.route(path, (HERE / fixture).read_bytes(), headers={"Content-Type": content_type})


def test_links_add_an_arxiv_paper_gives_an_item_with_the_papers_text(routes_here):
    serve(routes_here, "/api/query", "arxiv_api_1111.2011v2.xml", "application/atom+xml")
    serve(routes_here, "/arxiv/pdf/2401.00001", "arxiv_1111.2011v2.pdf", "application/pdf")
    assert "Saved 1 new link" in jiandu("links", "add", "https://arxiv.org/abs/2401.00001")
    ingest_now()
    item = exported()["https://arxiv.org/abs/2401.00001"]
    assert (item["status"], item["text_origin"]) == ("extracted", "arxiv")
    assert item["title"].startswith("Quantum Criticality for Extended Nodes on a Bethe Lattice")
    assert item["text"].startswith("Abstract\n\nTheoretical description of anisotropic systems")
    assert "CRITICAL POINT IN N" in item["text"]  # the body of the paper, from its PDF
    assert item["source_chars"] > 5000
    assert "full text from the PDF" in item["text_reason"]
    assert routes_here.hits("/arxiv/pdf/2401.00001") == 1


def test_seed_000_profile_links_are_skipped_with_the_reason(routes_here):
    profiles = [line.split("\t")[0] for line in
                (HERE / "seed_000_links.tsv").read_text(encoding="utf-8").splitlines()
                if "\tnot-story\t" in line]
    assert profiles == ["https://www.youtube.com/@banpie", "https://www.youtube.com/@jojojoy"]
    jiandu("links", "add", *profiles)
    ingest_now()
    records = exported()
    for url in profiles:
        assert records[url]["status"] == "skipped"
        handle = url.rsplit("/", 1)[1]
        assert records[url]["error"] == (f"{url}: a profile page, not a story; to follow the "
                                         f"account: jiandu source add rsshub:/youtube/user/{handle}")
        assert records[url]["text"] is None
    assert routes_here.hits("/yt/watch") == 0  # nothing was downloaded for them


def test_items_export_shows_the_route_of_each_text(routes_here):
    server = routes_here
    serve(server, "/api/query", "arxiv_api_1111.2011v2.xml", "application/atom+xml")
    serve(server, "/arxiv/pdf/1111.2011v2", "arxiv_1111.2011v2.pdf", "application/pdf")
    serve(server, "/docs/report.pdf", "arxiv_1111.2011v2.pdf", "application/pdf")
    serve(server, "/gh/repos/PyGithub/PyGithub", "github_repo_PyGithub.json", "application/json")
    serve(server, "/gh/repos/PyGithub/PyGithub/readme", "github_readme_PyGithub.json", "application/json")
    serve(server, "/hf/someone/my-cool-model/raw/main/README.md", "hf_model_card.md", "text/plain")
    serve(server, "/yt/watch", "youtube_watch_eF8Qqp7rjDg.html", "text/html; charset=utf-8")
    serve(server, "/api/timedtext", "youtube_timedtext_eF8Qqp7rjDg.xml", "text/xml")
    serve(server, "/oembed", "x_oembed_spf13_666616452582129664.json", "application/json")
    serve(server, "/wx/s/P33pj7ub2tVfwKHTufDZmw", "wechat_article.html", "text/html; charset=utf-8")
    server.route("/news/story.html", gzip.decompress(
        (FIXTURES / "pages" / "heise" / "source.html.gz").read_bytes()),
        headers={"Content-Type": "text/html; charset=utf-8"})
    links = {
        "https://arxiv.org/abs/1111.2011v2": "arxiv",
        server.url("/docs/report.pdf"): "pdf",
        "https://github.com/PyGithub/PyGithub": "github",
        "https://huggingface.co/someone/my-cool-model": "huggingface",
        "https://www.youtube.com/watch?v=eF8Qqp7rjDg": "youtube",
        "https://x.com/spf13/status/666616452582129664": "x",
        "https://mp.weixin.qq.com/s/P33pj7ub2tVfwKHTufDZmw": "wechat",
        server.url("/news/story.html"): "page",
    }
    jiandu("links", "add", *links)
    ingest_now()
    records = exported()
    assert {url: records[url]["text_origin"] for url in links} == links
    for url in links:
        assert records[url]["status"] in ("extracted", "merged"), records[url]["error"]
        assert records[url]["text"]
    assert records["https://x.com/spf13/status/666616452582129664"]["text_reason"].startswith(
        "X post via oEmbed")
    assert records["https://www.youtube.com/watch?v=eF8Qqp7rjDg"]["title"] == (
        "Halloween Infrastructure Update - 27th October 2023")


def test_a_wechat_verification_page_fails_the_item_for_a_later_retry(routes_here):
    serve(routes_here, "/wx/s/abc", "wechat_verification.html", "text/html; charset=utf-8")
    jiandu("links", "add", "https://mp.weixin.qq.com/s/abc")
    ingest_now()
    item = exported()["https://mp.weixin.qq.com/s/abc"]
    assert (item["status"], item["failed_stage"], item["attempts"]) == ("failed", "fetch", 1)
    assert "verification page (环境异常)" in item["error"]
    assert item["next_attempt"] is not None
