"""The issue context and its three editions: golden files, the FORMAT.md form, HTML safety.

Set JIANDU_UPDATE_GOLDEN=1 to rewrite tests/golden/ from the current templates, then read the diff.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from jiandu.issue_context import build_context, is_web_link
from jiandu.records import DigestItem
from jiandu.render import markdown_text, render
from jiandu.zi import count_zi, half_up
from tests.fixtures.issues.sample_issue import (
    ISSUE_DATE,
    ISSUE_NUMBER,
    sample_context,
    sample_items,
    sample_publication,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("JIANDU_UPDATE_GOLDEN") == "1"
UTC = datetime.timezone.utc

EDITIONS = [
    ("sectioned", "md", "issue_sectioned.md"),
    ("sectioned", "html", "issue_sectioned.html"),
    ("sectioned", "txt", "issue_sectioned.txt"),
    ("flat", "md", "issue_flat.md"),
]


# ---------------------------------------------------------------- golden files


@pytest.mark.parametrize(("variant", "fmt", "golden_name"), EDITIONS)
def test_edition_matches_golden_file(variant, fmt, golden_name):
    rendered = render(sample_context(variant), fmt)
    golden = GOLDEN / golden_name
    if UPDATE_GOLDEN:
        golden.write_bytes(rendered.encode("utf-8"))
    assert golden.exists(), f"{golden} missing: run with JIANDU_UPDATE_GOLDEN=1"
    assert rendered.encode("utf-8") == golden.read_bytes(), (
        f"{golden_name} differs; if the change is meant, rerun with JIANDU_UPDATE_GOLDEN=1 and read the diff"
    )


@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_rendering_twice_gives_the_same_bytes(fmt):
    first = render(sample_context(), fmt)
    second = render(sample_context(), fmt)
    assert first.encode("utf-8") == second.encode("utf-8")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="pdf"):
        render(sample_context(), "pdf")


# ---------------------------------------------------------------- Markdown form


def parse_markdown_items(text: str, heading: str) -> list[dict]:
    """Items of a Markdown edition: heading line, bullets, link line."""
    found = []
    for block in re.split(rf"\n(?={re.escape(heading)} )", text):
        if "> 要点解析:" not in block:
            continue
        lines = block.split("\n")
        body = block.split("> 要点解析:\n", 1)[1]
        found.append(
            {
                "heading": lines[0][len(heading) + 1 :],
                "bullets": [line[2:] for line in body.split("\n") if line.startswith("- ")],
                "link_line": next(
                    line for line in body.split("\n") if line.strip() and not line.startswith("- ")
                ),
                "body": body,
            }
        )
    return found


def stats_line(text: str) -> tuple[int, int, int, int]:
    match = re.search(
        r"^> 原文共计\*\*(\d+)\*\* 字,简读后为\*\*(\d+)\*\*字,阅读时间为(\d+)分钟,为您提高阅读效率为\*\*(\d+)%\*\*$",
        text,
        re.M,
    )
    assert match, "no stats line in the FORMAT.md form"
    return tuple(int(group) for group in match.groups())


def test_sectioned_markdown_has_the_seed_002_form():
    text = render(sample_context("sectioned"), "md")
    assert text.startswith("## 目的\n本系列文章主要是用于持续跟踪最新的AI产业情况，让你减少知识焦虑。\n## 看点\n> 原文共计**")
    assert re.findall(r"^## (.+)$", text, re.M) == ["目的", "看点", "产品介绍", "产业资讯", "技术教程", "其他"]

    items = parse_markdown_items(text, "###")
    assert len(items) == len(sample_items())
    for item in items:
        assert len(item["bullets"]) == 3
        assert all(count_zi(bullet) >= 10 for bullet in item["bullets"])
        # Three one-line bullets separated by blank lines, then the link line, as in seed 002.
        assert re.match(r"\n- [^\n]+\n\n- [^\n]+\n\n- [^\n]+\n\n原文链接:\[http", item["body"])

    source, digest, minutes, efficiency = stats_line(text)
    assert source == sum(item.source_chars for item in sample_items())
    assert digest == sum(count_zi(b) for item in items for b in item["bullets"])
    assert minutes == half_up(digest / 400)
    assert efficiency == half_up(source / digest) * 100

    highlights = re.search(r"## 看点\n.*?\n\n(.*?)\n\n## ", text, re.S).group(1).split("\n")
    assert highlights == ["- " + item["heading"] for item in items if ("- " + item["heading"]) in highlights]
    assert len(highlights) == 4


def test_story_with_two_links_lists_both_on_its_link_line():
    text = render(sample_context(), "md")
    line = next(l for l in text.split("\n") if "openai-preparedness" in l)
    assert line == (
        "原文链接:[https://example.com/tech/openai-preparedness?ref=rss&lang=zh]"
        "(https://example.com/tech/openai-preparedness?ref=rss&lang=zh)"
        " | [https://example.org/2023/12/18/openai-board-veto](https://example.org/2023/12/18/openai-board-veto)"
    )


def test_flat_markdown_has_the_seed_003_form():
    text = render(sample_context("flat"), "md")
    items = parse_markdown_items(text, "##")
    assert [item["heading"] for item in items][:2] == [
        "OpenAI更新安全框架，董事会可否决高风险模型发布 🛡️👥",
        "研究者用合成数据让Llama 2自我奖励、自我迭代 🔄📈",  # as important as 英特尔, and newer
    ]
    assert "### " not in text
    for item in items:
        assert len(item["bullets"]) == 3
        assert item["link_line"].startswith(" [http")  # the bare link line of seed 003


def test_markdown_keeps_html_and_link_syntax_in_text_literal():
    text = render(sample_context(), "md")
    assert "<script>" not in text.replace("\\<script>", "")
    assert "\\<script>alert('x')\\</script>测试" in text
    assert "\\[方括号\\](javascript:alert(1))" in text
    assert "](javascript:" not in text.replace("\\](javascript:", "")
    # A non-web link is shown as text, never as a Markdown link.
    assert "| javascript:alert(1)\n" in text
    # A link target must not end early on a parenthesis.
    assert "(https://example.net/a%20b/page%281%29.html)" in text


def test_markdown_text_escapes_only_what_could_become_markup():
    assert markdown_text("a<b>[c](d)`e`\\f **g** _h_ 字&") == "a\\<b>\\[c\\](d)\\`e\\`\\\\f **g** _h_ 字&"


# ---------------------------------------------------------------- HTML edition


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


def parsed_html(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def test_html_is_a_self_contained_chinese_utf8_document():
    html = render(sample_context(), "html")
    page = parsed_html(html)
    tags = {tag for tag, _ in page.tags}
    assert html.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "zh-CN"}) in page.tags
    assert ("meta", {"charset": "utf-8"}) in page.tags
    assert any(tag == "meta" and attrs.get("name") == "viewport" for tag, attrs in page.tags)
    assert not tags & {"script", "img", "link", "iframe", "object", "embed", "form"}
    assert not any("src" in attrs for _, attrs in page.tags)


def test_html_css_is_inlined_and_media_rules_kept():
    page = parsed_html(render(sample_context(), "html"))
    body = next(attrs for tag, attrs in page.tags if tag == "body")
    container = next(attrs for tag, attrs in page.tags if attrs.get("class") == "container")
    assert "font-family" in body["style"]
    assert "max-width: 680px" in container["style"] and "width: 100%" in container["style"]
    kept = "".join(page.styles)
    assert "@media (prefers-color-scheme: dark)" in kept
    assert "@media (max-width: 480px)" in kept
    # Plain rules were inlined and removed: only @media blocks (and comments) remain.
    without_comments = re.sub(r"/\*.*?\*/", "", kept, flags=re.S)
    assert re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", without_comments).strip() == ""


def test_html_shows_a_script_title_as_text():
    html = render(sample_context(), "html")
    page = parsed_html(html)
    assert "<script>" not in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt;测试" in html
    assert any("<script>alert('x')</script>测试：标题里的HTML必须按原文显示" in t for t in page.text)


def test_html_links_only_web_addresses():
    page = parsed_html(render(sample_context(), "html"))
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a" and not attrs["href"].startswith("#")]
    expected = [url for item in sample_items() for url in item.links if url.startswith("https://")]
    assert sorted(hrefs) == sorted(expected)
    assert any("javascript:alert(1)" in t for t in page.text)  # shown, not linked


def test_html_links_read_as_their_site_and_highlights_lead_to_their_stories():
    """Issue 13, item 12: no raw URLs split mid-word; 看点 entries link to their stories; an
    emoji never wraps onto a line alone."""
    import re

    html = render(sample_context(), "html")
    anchors = re.findall(r'<a href="(https?://[^"]+)" title="([^"]+)"[^>]*>([^<]+)</a>', html)
    assert anchors and all(href == title for href, title, _ in anchors)
    for href, _, text in anchors:
        host = re.match(r"https?://(?:www\.)?([^/:?#]+)", href.replace("&amp;", "&")).group(1)
        assert text == host, (href, text)
    assert "break-all" not in html
    context = sample_context()
    ids = set(re.findall(r'<div class="item" id="(item-\d+)"', html))
    targets = re.findall(r'<a href="#(item-\d+)"', html)
    assert len(targets) == len(context["highlights"]) and set(targets) <= ids
    for highlight in context["highlights"]:
        assert f'<a href="#{highlight["anchor"]}"' in html
    emoji_spans = re.findall(r'&nbsp;<span class="emoji" style="white-space: nowrap;">([^<]+)</span>', html)
    assert len(emoji_spans) == len(context["highlights"]) + context["item_count"]


# ---------------------------------------------------------------- text edition


def test_text_edition_carries_every_title_bullet_and_link():
    text = render(sample_context(), "txt")
    assert text.startswith(f"简读 第{ISSUE_NUMBER}期 · {ISSUE_DATE.isoformat()}\n")
    for item in sample_items():
        assert item.title in text
        for bullet in item.bullets:
            assert f"- {bullet}\n" in text
        for url in item.links:
            assert f"  {url}\n" in text
    assert "&lt;" not in text and "\\<" not in text


# ---------------------------------------------------------------- context


def make_item(name, section, importance, day, **changes) -> DigestItem:
    item = DigestItem(
        title=name,
        emoji="📰",
        section=section,
        importance=importance,
        bullets=[f"{name}的第一条要点。", f"{name}的第二条要点。", f"{name}的第三条要点。"],
        links=[f"https://example.com/{day}"],
        published=datetime.datetime(2024, 1, day, tzinfo=UTC),
        source_chars=1000,
    )
    return dataclasses.replace(item, **changes)


def titles_by_section(context: dict) -> list[tuple]:
    return [(s["name"], [i["title"] for i in s["items"]]) for s in context["sections"]]


def test_context_orders_sections_then_importance_then_newest_then_title():
    items = [
        make_item("乙", "产业资讯", 3, 5),
        make_item("甲", "产业资讯", 3, 5),
        make_item("丙", "产业资讯", 5, 1),
        make_item("丁", "产业资讯", 3, 9),
        make_item("戊", "产品介绍", 1, 2),
        make_item("己", "无此栏目", 5, 3),
    ]
    context = build_context(sample_publication(), items, number=1, date=ISSUE_DATE)
    assert titles_by_section(context) == [
        ("产品介绍", ["戊"]),
        ("产业资讯", ["丙", "丁", "乙", "甲"]),  # 乙 before 甲: equal rank falls back to title order "乙" < "甲"
        ("其他", ["己"]),  # not configured: the last configured section
    ]
    assert "技术教程" not in [s["name"] for s in context["sections"]]  # empty: left out
    assert [i["position"] for s in context["sections"] for i in s["items"]] == list(range(1, 7))


def test_context_ties_on_title_for_a_stable_order():
    items = [make_item(t, "其他", 3, 5) for t in ("b", "a", "c")]
    for order in (items, items[::-1]):
        context = build_context(sample_publication(), order, number=1, date=ISSUE_DATE)
        assert titles_by_section(context) == [("其他", ["a", "b", "c"])]


def test_flat_context_is_one_list_in_importance_and_time_order():
    items = [make_item("a", "产品介绍", 1, 2), make_item("b", "其他", 4, 1), make_item("c", "产业资讯", 4, 3)]
    context = build_context(sample_publication("flat"), items, number=1, date=ISSUE_DATE)
    assert titles_by_section(context) == [(None, ["c", "b", "a"])]


def test_highlights_are_the_highest_scores_in_issue_order():
    items = [make_item(str(n), "产品介绍" if n % 2 else "产业资讯", n % 5 + 1, n + 1) for n in range(12)]
    publication = dataclasses.replace(sample_publication(), highlights=10)
    context = build_context(publication, items, number=1, date=ISSUE_DATE)
    shown = [i for s in context["sections"] for i in s["items"]]
    ranked = sorted(shown, key=lambda i: (-i["score"], i["position"]))[:10]
    # Of the three importance-1 items, the freshest (day 11) is the one kept.
    assert "10" in {h["heading"].split(" ")[0] for h in context["highlights"]}
    assert [h["heading"] for h in context["highlights"]] == [
        i["heading"] for i in shown if i in ranked
    ]
    assert len(context["highlights"]) == 10
    dropped = {i["title"] for i in shown} - {h["heading"].split(" ")[0] for h in context["highlights"]}
    assert all(int(t) % 5 + 1 == 1 for t in dropped)  # only importance-1 items left out


def test_context_stats_come_from_every_bullet_and_source():
    context = sample_context()
    items = sample_items()
    assert context["stats"]["source_chars"] == sum(i.source_chars for i in items)
    assert context["stats"]["digest_chars"] == sum(count_zi(b) for i in items for b in i.bullets)


def test_context_makes_each_bullet_and_title_one_paragraph():
    item = make_item("标题", "其他", 3, 1, title="多行\n标题", bullets=["第一段\n\n第二段", " 前后空白 ", "正常"])
    context = build_context(sample_publication(), [item], number=1, date=ISSUE_DATE)
    shown = context["sections"][0]["items"][0]
    assert shown["title"] == "多行 标题"
    assert shown["bullets"] == ["第一段 第二段", "前后空白", "正常"]


def test_empty_issue_renders_without_items():
    context = build_context(sample_publication(), [], number=3, date=ISSUE_DATE)
    assert context["sections"] == [] and context["highlights"] == []
    assert context["stats"] == {"source_chars": 0, "digest_chars": 0, "minutes": 0, "efficiency": 0}
    for fmt in ("md", "html", "txt"):
        assert "简读" in render(context, fmt) or fmt == "md"


def test_unknown_variant_is_refused_with_the_publication_name():
    publication = dataclasses.replace(sample_publication(), variant="grid")
    with pytest.raises(ValueError, match="简读.*grid"):
        build_context(publication, sample_items(), number=1, date=ISSUE_DATE)


@pytest.mark.parametrize(
    ("url", "web"),
    [
        ("https://example.com/a", True),
        ("HTTP://EXAMPLE.COM", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("/home/user/notes/a.md", False),
        ("https://", False),
        ("https://exa mple.com/", False),
        ("ftp://example.com/f", False),
        ("http://[::1", False),
    ],
)
def test_is_web_link(url, web):
    assert is_web_link(url) is web
