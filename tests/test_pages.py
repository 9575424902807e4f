"""connectors.pages: real pages (mozilla/readability test pages) served from 127.0.0.1."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import lxml.html
import pytest

from jiandu.connectors.errors import BlockedAddress, ParseError, UnsupportedContent
from jiandu.connectors.http import make_client
from jiandu.connectors.pages import decode_html, extract_page, fetch_page
from jiandu.records import PageFetch
from tests.support.http_server import http_server  # noqa: F401  (fixture)

PAGES = Path(__file__).parent / "fixtures" / "pages"
CASES = ["qq", "gmw", "youth", "pixnet", "lemonde-1", "bbc-1", "nytimes-1", "heise"]
GBK_CASES = ["qq", "gmw", "youth"]  # simplified Chinese: re-encoded to GB18030 below


def source(case: str) -> bytes:
    return gzip.decompress((PAGES / case / "source.html.gz").read_bytes())


def expected_text(case: str) -> str:
    html = gzip.decompress((PAGES / case / "expected.html.gz").read_bytes()).decode("utf-8")
    return lxml.html.fromstring(html).text_content()


def share_found(expected: str, got: str, width: int = 12) -> float:
    """Share of the expected text's consecutive `width`-character pieces found in `got`."""
    want = "".join(expected.split())
    have = "".join(got.split())
    pieces = [want[i:i + width] for i in range(0, len(want) - width, width)]
    return sum(piece in have for piece in pieces) / len(pieces)


@pytest.fixture(scope="module")
def client():
    with make_client(connect_timeout=2, read_timeout=5) as c:
        yield c


@pytest.mark.parametrize("case", CASES)
def test_real_pages_yield_the_article(http_server, client, case):
    http_server.route(f"/{case}", body=source(case),
                      headers={"Content-Type": "text/html; charset=utf-8"})
    page = fetch_page(client, http_server.url(f"/{case}"), allow_private=True)
    assert (page.status, page.content_type, page.charset) == (200, "text/html", "utf-8")
    extracted = extract_page(page)
    assert share_found(expected_text(case), extracted.text) >= 0.8
    assert "\n\n" in extracted.text  # paragraphs kept
    metadata = json.loads((PAGES / case / "expected-metadata.json").read_text())
    assert extracted.title and (metadata["title"][:8] in extracted.title
                                or extracted.title[:8] in metadata["title"])


@pytest.mark.parametrize("case", GBK_CASES)
@pytest.mark.parametrize("content_type", [
    "text/html",  # no charset: the page's <meta> must decide
    "text/html; charset=iso-8859-1",  # wrong: would give mojibake
    "text/html; charset=utf-8",  # wrong: cannot even decode
])
def test_gbk_page_with_wrong_or_missing_charset_comes_out_right(http_server, client, case,
                                                                content_type):
    # The stored pages are UTF-8 copies that still declare gb2312; serve real GB18030 bytes.
    gbk = source(case).decode("utf-8").encode("gb18030")
    http_server.route(f"/{case}", body=gbk, headers={"Content-Type": content_type})
    extracted = extract_page(fetch_page(client, http_server.url(f"/{case}"), allow_private=True))
    assert share_found(expected_text(case), extracted.text) >= 0.8


def test_utf8_page_that_declares_gb2312_is_still_read_as_utf8():
    body = source("qq")  # UTF-8 bytes under <meta ... charset=gb2312>
    assert b"charset=gb2312" in body[:2000]
    assert "人工智能迈上新台阶" in decode_html(body, None)


def test_page_without_a_declared_charset_is_detected():
    body = "<html><body><p>这是一个没有声明字符集的中文页面，内容足够长以便检测编码。</p></body></html>"
    assert "没有声明字符集" in decode_html(body.encode("gb18030"), None)
    assert "没有声明字符集" in decode_html(body.encode("utf-8"), None)


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "video/mp4"])
def test_non_html_is_unsupported(http_server, client, content_type):
    http_server.route("/thing", body=b"\x00" * 100, headers={"Content-Type": content_type})
    with pytest.raises(UnsupportedContent) as info:
        fetch_page(client, http_server.url("/thing"), allow_private=True)
    assert info.value.content_type == content_type


def test_page_with_no_main_text_raises_parse_error():
    page = PageFetch(url="http://example.org/empty", status=200, content_type="text/html",
                     charset="utf-8", body=b"<html><head><title>x</title></head><body></body></html>")
    with pytest.raises(ParseError) as info:
        extract_page(page)
    assert "http://example.org/empty" in str(info.value)


def test_local_files_only_when_allowed(tmp_path):
    page_file = tmp_path / "saved.html"
    page_file.write_bytes(source("lemonde-1"))
    with pytest.raises(BlockedAddress):
        fetch_page(None, str(page_file))  # type: ignore[arg-type]
    page = fetch_page(None, str(page_file), allow_files=True)  # type: ignore[arg-type]
    assert (page.status, page.url, page.content_type) == (0, str(page_file), "text/html")
    assert share_found(expected_text("lemonde-1"), extract_page(page).text) >= 0.8
