"""Resolvers (connectors/resolvers): each route on real saved responses, served on 127.0.0.1.

Every upstream (arXiv, its API, GitHub's API, Hugging Face, YouTube and its timedtext, X's
oEmbed, t.co, WeChat, Sogou) is a setting, pointed here at the loopback server; the links
themselves keep their real addresses, so the route table is what is under test.
tests/fixtures/README says where each fixture came from.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from jiandu.connectors.errors import FetchError, ParseError, TooLarge
from jiandu.connectors.http import make_client
from jiandu.connectors.resolvers import (
    Context,
    NotAStory,
    RouteBases,
    VerificationPage,
    resolve,
    route_for,
)
from jiandu.connectors.resolvers.youtube import caption_tracks, choose_track
from tests.conftest import FIXTURES
from tests.support.http_server import http_server  # noqa: F401  (pytest fixture)

HERE = FIXTURES / "resolvers"
PDF = {"Content-Type": "application/pdf"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json; charset=utf-8"}
XML = {"Content-Type": "text/xml; charset=utf-8"}


def fixture(name: str) -> bytes:
    return (HERE / name).read_bytes()


def bases_at(server) -> RouteBases:
    return RouteBases(arxiv=server.url("/arxiv"), arxiv_api=server.url("/api/query"),
                      github_api=server.url("/gh"), huggingface=server.url("/hf"),
                      youtube=server.url("/yt"), youtube_timedtext=server.url("/api/timedtext"),
                      x_oembed=server.url("/oembed"), x_thread_api=server.url("/fx"),
                      tco=server.url("/tco"),
                      wechat=server.url("/wx"), sogou=server.url("/sogou"))


@pytest.fixture
def ctx(http_server):
    with make_client() as client:
        yield Context(client=client, bases=bases_at(http_server), allow_private=True)


def link_table(name: str) -> list[tuple[str, str, str | None]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            url, route, *reason = line.split("\t")
            rows.append((url, route, reason[0] if reason else None))
    return rows


# The route table -------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["seed_000_links.tsv", "seed_004_links.tsv",
                                   "seed_other_links.tsv"])
def test_every_seed_link_takes_its_route(table):
    rows = link_table(table)
    assert rows
    for url, expected, reason in rows:
        route = route_for(url)
        assert route.name == expected, url
        if reason is not None:
            assert route.params["reason"] == reason, url


@pytest.mark.parametrize("url, video", [
    ("https://www.youtube.com/watch?v=tibiujxNTfE", "tibiujxNTfE"),
    ("https://youtu.be/tibiujxNTfE?t=3", "tibiujxNTfE"),
    ("https://www.youtube.com/shorts/tibiujxNTfE", "tibiujxNTfE"),
    ("https://m.youtube.com/watch?v=tibiujxNTfE&list=x", "tibiujxNTfE"),
])
def test_every_youtube_link_shape_names_its_video(url, video):
    assert route_for(url).params == {"id": video}


@pytest.mark.parametrize("url, paper, version", [
    ("https://arxiv.org/abs/2401.00001", "2401.00001", ""),
    ("https://arxiv.org/abs/2401.00001v3", "2401.00001", "v3"),
    ("https://arxiv.org/pdf/2401.00001v2.pdf", "2401.00001", "v2"),
    ("https://arxiv.org/html/2401.00001v1", "2401.00001", "v1"),
    ("http://export.arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001", "v2"),
    ("https://huggingface.co/papers/2401.00001", "2401.00001", ""),
])
def test_every_arxiv_link_shape_names_its_paper(url, paper, version):
    route = route_for(url)
    assert (route.name, route.params) == ("arxiv", {"id": paper, "version": version})


@pytest.mark.parametrize("url, reason", [
    ("https://x.com/op7418", "a profile page, not a story"),
    ("https://twitter.com/op7418/with_replies", "a profile page, not a story"),
    ("https://github.com/karpathy", "a profile page, not a story"),
    ("https://www.youtube.com/channel/UCVYamHliCI9rw1tHR1xbkfw", "a profile page, not a story"),
    ("https://huggingface.co/Qwen", "a profile page, not a story"),
    ("https://x.com/home", "a home page, not a story"),
    ("https://www.youtube.com/", "a home page, not a story"),
    ("https://x.com/search?q=llm", "a search page, not a story"),
    ("https://www.youtube.com/results?search_query=llm", "a search page, not a story"),
])
def test_profiles_homes_and_searches_are_not_stories(url, reason):
    assert route_for(url).params.get("reason") == reason


def test_a_not_story_is_skipped_without_a_request(ctx, http_server):
    with pytest.raises(NotAStory) as caught:
        resolve(ctx, "https://www.youtube.com/@banpie")
    assert caught.value.reason == ("a profile page, not a story; to follow the account: "
                                   "jiandu source add rsshub:/youtube/user/@banpie")
    assert caught.value.content_type is None
    assert http_server.hits("/yt/watch") == 0


# Papers ---------------------------------------------------------------------------------------

def serve_arxiv(server, paper="1111.2011v2"):
    server.route("/api/query", fixture("arxiv_api_1111.2011v2.xml"),
                 headers={"Content-Type": "application/atom+xml; charset=utf-8"})
    server.route(f"/arxiv/pdf/{paper}", fixture("arxiv_1111.2011v2.pdf"), headers=PDF)


@pytest.mark.parametrize("url", ["https://arxiv.org/abs/1111.2011v2",
                                 "https://arxiv.org/pdf/1111.2011v2",
                                 "https://arxiv.org/html/1111.2011v2"])
def test_arxiv_paper_gets_metadata_from_the_api_and_text_from_the_pdf(ctx, http_server, url):
    serve_arxiv(http_server)
    resolved, _ = resolve(ctx, url)
    assert resolved.origin == "arxiv"
    assert resolved.title == ("Quantum Criticality for Extended Nodes on a Bethe Lattice in the "
                              "Large Connectivity Limit")
    assert resolved.author == "James M. Murray, Adrian Del Maestro, Zlatko Tesanovic"
    assert resolved.date == datetime(2011, 11, 8, 18, 48, 36, tzinfo=timezone.utc)
    assert resolved.text.startswith("Abstract\n\nTheoretical description of anisotropic systems")
    assert "CRITICAL POINT IN N" in resolved.text  # page 5: the body, not just the abstract
    assert "metadata from the arXiv API" in resolved.reason
    assert "full text from the PDF (8 page(s))" in resolved.reason
    assert http_server.hits("/arxiv/pdf/1111.2011v2") == 1


def test_arxiv_falls_back_to_the_abs_page_and_says_when_the_pdf_is_missing(ctx, http_server):
    http_server.route("/api/query", status=503)
    http_server.route("/arxiv/abs/2106.09608", fixture("arxiv_abs_2106.09608.html"), headers=HTML)
    http_server.route("/arxiv/pdf/2106.09608", status=404)
    resolved, _ = resolve(ctx, "https://arxiv.org/abs/2106.09608")
    assert resolved.title == "Learning Knowledge Graph-based World Models of Textual Environments"
    assert resolved.author == "Ammanabrolu, Prithviraj, Riedl, Mark O."
    assert resolved.date == datetime(2021, 6, 17, tzinfo=timezone.utc)
    assert resolved.text.startswith("Abstract\n\nWorld models improve a learning agent's ability")
    assert "metadata from the abs page" in resolved.reason
    assert "abstract only: the PDF could not be read (HTTP 404)" in resolved.reason


def test_arxiv_with_nothing_to_read_fails_naming_both_reasons(ctx, http_server):
    http_server.route("/api/query", status=503)
    http_server.route("/arxiv/abs/2401.00001", status=404)
    http_server.route("/arxiv/pdf/2401.00001", status=404)
    with pytest.raises(FetchError) as caught:
        resolve(ctx, "https://arxiv.org/abs/2401.00001")
    assert "no metadata" in caught.value.reason and "no PDF (HTTP 404)" in caught.value.reason


def test_a_pdf_link_is_read_as_a_pdf(ctx, http_server):
    http_server.route("/paper.pdf", fixture("arxiv_1111.2011v2.pdf"), headers=PDF)
    resolved, _ = resolve(ctx, http_server.url("/paper.pdf"))
    assert resolved.origin == "pdf"
    assert resolved.reason == "text layer of the PDF, 8 page(s)"
    assert resolved.text.startswith("Quantum Criticality for Extended Nodes")
    assert resolved.date == datetime(2012, 4, 3, 1, 3, 11, tzinfo=timezone.utc)


def test_a_page_that_answers_with_a_pdf_is_read_as_one(ctx, http_server):
    http_server.route("/download", fixture("arxiv_1111.2011v2.pdf"),
                      headers={"Content-Type": "application/pdf"})
    resolved, _ = resolve(ctx, http_server.url("/download"))
    assert resolved.origin == "pdf"
    assert "Bethe Lattice" in resolved.text


def test_pdf_page_and_size_limits_hold(http_server):
    http_server.route("/paper.pdf", fixture("arxiv_1111.2011v2.pdf"), headers=PDF)
    with make_client() as client:
        few_pages = Context(client=client, allow_private=True, pdf_max_pages=2)
        resolved, _ = resolve(few_pages, http_server.url("/paper.pdf"))
        assert resolved.reason == "text layer of the PDF, the first 2 of 8 pages"
        assert "CRITICAL POINT IN N" not in resolved.text
        small = Context(client=client, allow_private=True, pdf_max_bytes=100_000)
        with pytest.raises(TooLarge):
            resolve(small, http_server.url("/paper.pdf"))


def test_a_scanned_pdf_says_it_has_no_text_layer(ctx, http_server):
    from pypdf import PdfWriter

    # Built here: pages with no text layer, as a scanner's PDF has (see tests/fixtures/README).
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    http_server.route("/scan.pdf", buffer.getvalue(), headers=PDF)
    with pytest.raises(ParseError) as caught:
        resolve(ctx, http_server.url("/scan.pdf"))
    assert "a scanned PDF: 3 page(s) but no text layer" in caught.value.reason


# Repositories ---------------------------------------------------------------------------------

def test_github_repository_gets_description_stars_and_readme(ctx, http_server):
    http_server.route("/gh/repos/PyGithub/PyGithub", fixture("github_repo_PyGithub.json"), headers=JSON)
    http_server.route("/gh/repos/PyGithub/PyGithub/readme", fixture("github_readme_PyGithub.json"),
                      headers=JSON)
    resolved, _ = resolve(ctx, "https://github.com/PyGithub/PyGithub")
    assert resolved.origin == "github"
    assert resolved.title == "PyGithub/PyGithub: Typed interactions with the GitHub API v3"
    assert resolved.text.startswith("Typed interactions with the GitHub API v3")
    assert "7,126 stars" in resolved.text and "7,126 stars" in resolved.reason
    assert "PyGitHub is a Python library to access the [GitHub REST API]." in resolved.text
    assert "shields.io" not in resolved.text  # badges are noise
    assert resolved.date == datetime(2025, 1, 7, 19, 22, 27, tzinfo=timezone.utc)
    assert http_server.requests("/gh/repos/PyGithub/PyGithub")[0]["accept"] == (
        "application/vnd.github+json")


def test_github_issue_pull_release_and_file_get_their_own_text(ctx, http_server):
    base = "/gh/repos/PyGithub/PyGithub"
    http_server.route(f"{base}/issues/28", fixture("github_issue_28.json"), headers=JSON)
    http_server.route(f"{base}/pulls/31", fixture("github_pull_31.json"), headers=JSON)
    http_server.route("/gh/repos/EnricoMi/PyGithub/releases/tags/v1.55",
                      fixture("github_release_v1.55.json"), headers=JSON)
    http_server.route(f"{base}/contents/doc/ReferenceOfClasses.md",
                      fixture("github_contents_ReferenceOfClasses.json"), headers=JSON)

    issue, _ = resolve(ctx, "https://github.com/PyGithub/PyGithub/issues/28")
    assert issue.title == "PyGithub/PyGithub#28: Issue created by PyGithub"
    assert (issue.author, issue.reason) == ("jacquev6", "GitHub issue #28: its title and description")
    assert "Body edited by PyGithub" in issue.text

    pull, _ = resolve(ctx, "https://github.com/PyGithub/PyGithub/pull/31")
    assert pull.title == "PyGithub/PyGithub#31: Title edited by PyGithub"
    assert pull.reason == "GitHub pull request #31: its title and description"

    release, _ = resolve(ctx, "https://github.com/EnricoMi/PyGithub/releases/tag/v1.55")
    assert release.title == "EnricoMi/PyGithub Test Release (v1.55)"
    assert "This is a test released used by PyGithub tests." in release.text
    assert release.date == datetime(2025, 1, 30, 11, 12, tzinfo=timezone.utc)

    document, _ = resolve(ctx, "https://github.com/PyGithub/PyGithub/blob/main/doc/ReferenceOfClasses.md")
    assert document.title == "PyGithub/PyGithub: doc/ReferenceOfClasses.md"
    assert document.reason == "GitHub file doc/ReferenceOfClasses.md at main"
    assert len(document.text) > 1000


def test_huggingface_model_and_dataset_cards(ctx, http_server):
    http_server.route("/hf/someone/my-cool-model/raw/main/README.md", fixture("hf_model_card.md"),
                      headers={"Content-Type": "text/plain; charset=utf-8"})
    http_server.route("/hf/datasets/someone/segments/raw/main/README.md",
                      fixture("hf_dataset_card.md"), headers={"Content-Type": "text/plain"})
    model, _ = resolve(ctx, "https://huggingface.co/someone/my-cool-model")
    assert (model.origin, model.title, model.author) == (
        "huggingface", "someone/my-cool-model: my-cool-model", "someone")
    assert "multiple evaluations across different (dataset, metric) configurations" in model.text
    assert "model-index" not in model.text  # the front matter is metadata, not text
    dataset, _ = resolve(ctx, "https://huggingface.co/datasets/someone/segments")
    assert dataset.title == "someone/segments: Sample Segmentation"
    assert dataset.reason == "Hugging Face dataset card (README.md)"


# Videos ---------------------------------------------------------------------------------------

def test_youtube_video_gets_its_transcript_and_description(ctx, http_server):
    http_server.route("/yt/watch", fixture("youtube_watch_eF8Qqp7rjDg.html"), headers=HTML)
    http_server.route("/api/timedtext", fixture("youtube_timedtext_eF8Qqp7rjDg.xml"), headers=XML)
    resolved, _ = resolve(ctx, "https://youtu.be/eF8Qqp7rjDg")
    assert resolved.origin == "youtube"
    assert resolved.title == "Halloween Infrastructure Update - 27th October 2023"
    assert resolved.author == "John Savill's Technical Training"
    assert resolved.date == datetime(2023, 10, 27, 13, 14, 30, tzinfo=timezone.utc)
    assert resolved.reason == "YouTube: auto-generated transcript (en) and the description"
    assert "Transcript (en, auto-generated)" in resolved.text
    assert "citizens of the world welcome to this Halloween Azure infrastructure" in resolved.text
    assert "videos on to what's new" in resolved.text  # captions are escaped twice
    assert resolved.text.startswith("Description\n\n")
    assert http_server.hits("/api/timedtext") == 1


def test_youtube_empty_transcript_gives_the_description_marked(ctx, http_server):
    http_server.route("/yt/watch", fixture("youtube_watch_eF8Qqp7rjDg.html"), headers=HTML)
    http_server.route("/api/timedtext", b"", headers=XML)
    resolved, _ = resolve(ctx, "https://www.youtube.com/watch?v=eF8Qqp7rjDg")
    assert resolved.reason == "YouTube: the transcript was empty; the description only"
    assert "Transcript" not in resolved.text and resolved.text.startswith("Description")


def test_youtube_without_captions_reads_the_description_and_says_so(ctx, http_server):
    http_server.route("/yt/watch", fixture("youtube_watch_no_captions_dsMFmonKDD4.html"),
                      headers=HTML)
    resolved, _ = resolve(ctx, "https://www.youtube.com/watch?v=dsMFmonKDD4")
    assert resolved.reason == "YouTube: no transcript published; the description only"
    assert resolved.title == "Angèle - Eels x Richard Cocciante | A Take Away Show"
    assert resolved.author == "Blogothèque"
    assert "Abonnez-vous" in resolved.text
    assert http_server.hits("/api/timedtext") == 0


def test_youtube_prefers_people_written_captions_in_the_spoken_language():
    import json

    player = json.loads(fixture("youtube_player_GJLlxj_dtq8.json"))
    tracks = caption_tracks(player)
    assert [t.language for t in tracks][:3] == ["zh", "cs", "en"]
    chosen = choose_track(tracks)
    assert (chosen.language, chosen.auto) == ("en", False)  # spoken English; zh is listed first
    only_auto = [t for t in tracks if t.auto]
    assert choose_track(only_auto).auto is True
    assert choose_track([]) is None


# Posts ----------------------------------------------------------------------------------------

def test_x_post_through_oembed(ctx, http_server):
    http_server.route("/oembed", fixture("x_oembed_spf13_666616452582129664.json"), headers=JSON)
    resolved, _ = resolve(ctx, "https://x.com/spf13/status/666616452582129664?s=20")
    assert resolved.origin == "x"
    assert resolved.text.startswith("Hugo 0.15 will have 30%+ faster render times")
    assert resolved.author == "Steve Francia (@spf13)"
    assert resolved.date == datetime(2015, 11, 17, 13, 58, 42, 87000, tzinfo=timezone.utc)
    assert resolved.language == "en"
    assert resolved.title.startswith("Steve Francia: Hugo 0.15")


def test_x_thread_gets_the_authors_earlier_posts_first(ctx, http_server):
    http_server.route("/oembed", fixture("x_oembed_spf13_666616452582129664.json"), headers=JSON)
    http_server.route("/fx/spf13/status/666616452582129664",
                      fixture("fxtwitter_spf13_666616452582129664.json"), headers=JSON)
    http_server.route("/fx/spf13/status/666600000000000000",
                      fixture("fxtwitter_spf13_666600000000000000.json"), headers=JSON)
    resolved, _ = resolve(ctx, "https://x.com/spf13/status/666616452582129664")
    assert resolved.text.split("\n\n") == [
        "A thread on what is coming in Hugo 0.15.",
        "Hugo 0.15 will have 30%+ faster render times thanks to this commit "
        "https://t.co/FfzhM8bNhT  #gohugo #golang https://t.co/ITbMNU2BUf"]
    assert resolved.reason.startswith("X thread of 2 posts by @spf13")
    assert resolved.title == "Steve Francia: A thread on what is coming in Hugo 0.15."
    # the thread starts with its first post: its date, from the id (a snowflake)
    assert resolved.date == datetime(2015, 11, 17, 12, 53, 19, 486000, tzinfo=timezone.utc)


def test_x_post_without_oembed_comes_from_the_mirror(ctx, http_server):
    http_server.route("/oembed", status=404)
    http_server.route("/fx/spf13/status/666600000000000000",
                      fixture("fxtwitter_spf13_666600000000000000.json"), headers=JSON)
    resolved, _ = resolve(ctx, "https://twitter.com/spf13/status/666600000000000000")
    assert resolved.text == "A thread on what is coming in Hugo 0.15."
    assert resolved.reason == ("X post via the FxTwitter API (no earlier posts of the author's "
                               "thread)")
    assert resolved.author == "Steve Francia (@spf13)"


def test_x_post_with_no_route_to_it_names_both_failures(ctx, http_server):
    http_server.route("/oembed", status=404)
    http_server.route("/fx/spf13/status/666600000000000000", status=500)
    with pytest.raises(FetchError) as caught:
        resolve(ctx, "https://x.com/spf13/status/666600000000000000")
    assert caught.value.reason == "oEmbed: HTTP 404; FxTwitter: HTTP 500"


def test_tco_link_leads_to_the_post(ctx, http_server):
    http_server.route("/oembed", fixture("x_oembed_spf13_666616452582129664.json"), headers=JSON)
    http_server.route("/tco/9NXaeqlybB", status=301,
                      redirect=http_server.url("/spf13/status/666616452582129664"))
    http_server.route("/spf13/status/666616452582129664", "<html>app shell</html>", headers=HTML)
    resolved, _ = resolve(ctx, "https://t.co/9NXaeqlybB")
    assert resolved.origin == "x"
    assert "Hugo 0.15" in resolved.text


# WeChat ---------------------------------------------------------------------------------------

def test_wechat_article_title_account_date_and_text(ctx, http_server):
    http_server.route("/wx/s/P33pj7ub2tVfwKHTufDZmw", fixture("wechat_article.html"), headers=HTML)
    resolved, _ = resolve(ctx, "https://mp.weixin.qq.com/s/P33pj7ub2tVfwKHTufDZmw")
    assert resolved.origin == "wechat"
    assert resolved.title == "4月6日周五【新闻速览一分钟】"
    assert resolved.author == "华商报"
    assert resolved.date == datetime(2018, 4, 5, 22, 56, 20, tzinfo=timezone.utc)
    assert "戊戌年清明公祭轩辕黄帝文" in resolved.text
    assert "\n\n" in resolved.text  # paragraphs kept apart
    assert "function" not in resolved.text  # no script text


def test_wechat_verification_page_is_a_retryable_failure(ctx, http_server):
    http_server.route("/wx/s/abc", fixture("wechat_verification.html"), headers=HTML)
    with pytest.raises(VerificationPage) as caught:
        resolve(ctx, "https://mp.weixin.qq.com/s/abc")
    assert caught.value.retryable
    assert "环境异常" in caught.value.reason


def test_wechat_message_page_names_the_message(ctx, http_server):
    http_server.route("/wx/s/old", fixture("wechat_expired.html"), headers=HTML)
    with pytest.raises(ParseError) as caught:
        resolve(ctx, "https://mp.weixin.qq.com/s/old")
    assert caught.value.reason == "WeChat shows a message instead of the article: 链接已过期"
    assert not caught.value.retryable


def test_sogou_link_leads_to_the_wechat_article(ctx, http_server):
    http_server.route("/sogou/link", fixture("sogou_link.html"), headers=HTML)
    http_server.route("/wx/s", fixture("wechat_article.html"), headers=HTML)
    resolved, _ = resolve(ctx, "https://weixin.sogou.com/link?url=dn9a_-gY295K0Rci_xozVXfdMkSQTLW6")
    assert resolved.origin == "wechat" and resolved.author == "华商报"
    assert resolved.url.startswith("https://mp.weixin.qq.com/s?src=11&timestamp=1522970000")
    assert "@" not in resolved.url
    assert http_server.hits("/wx/s") == 1


# The page path --------------------------------------------------------------------------------

def test_other_links_take_the_page_path(ctx, http_server):
    import gzip

    # A real news page the page tests already use (tests/fixtures/pages/PROVENANCE.md).
    http_server.route("/story.html", gzip.decompress((FIXTURES / "pages" / "heise" /
                                                      "source.html.gz").read_bytes()),
                      headers=HTML)
    resolved, signature = resolve(ctx, http_server.url("/story.html"))
    assert resolved.origin == "page"
    assert resolved.reason == "main text extracted from the page"
    assert resolved.text
    assert signature is None  # the default extractor computes none; ingest's does


def test_pdf_text_can_be_read_in_ingests_worker_processes(http_server):
    import os

    from jiandu.extraction import PROCESSES_FROM, Extractor

    http_server.route("/paper.pdf", fixture("arxiv_1111.2011v2.pdf"), headers=PDF)
    http_server.route("/empty.pdf", b"%PDF-1.4 broken", headers=PDF)
    with make_client() as client, Extractor(expected_pages=PROCESSES_FROM) as extractor:
        pooled = Context(client=client, allow_private=True, offload=extractor.run)
        resolved, _ = resolve(pooled, http_server.url("/paper.pdf"), extractor)
        with pytest.raises(ParseError):  # the error crosses the process boundary intact
            resolve(pooled, http_server.url("/empty.pdf"), extractor)
        used_processes = extractor._pool is not None
    assert used_processes == ((os.cpu_count() or 1) > 1)
    assert resolved.reason == "text layer of the PDF, 8 page(s)"
    assert "CRITICAL POINT IN N" in resolved.text
