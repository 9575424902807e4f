"""Saved material the user keeps: notes, Logseq, clippings, bookmark exports, URL lists."""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiandu.connectors.savedlinks import SavedFileError, SavedFormat, detect_format, read_saved_file
from jiandu.urls import canonicalize, is_profile_url

FIXTURES = Path(__file__).parent / "fixtures" / "saved"
EXAMPLES = Path(__file__).parent.parent / "examples"
DEMO_PAGES = ["openai-o1.html", "deepseek-v3.html", "qwen-coder.html", "llama-guard.html",
              "mistral-small.html"]

# Counting helpers: read the files' structure directly, independently of the parser.
URL_IN_TEXT = re.compile(r"https?://[^\s)\]<>，。：）]+")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def distinct_non_image_urls(text: str) -> set[str]:
    images = set(IMAGE.findall(text))
    return {canonicalize(url) for url in URL_IN_TEXT.findall(IMAGE.sub(" ", text))} - images


def clipping_sections(text: str) -> list[list[str]]:
    """Non-blank lines of every `### NN` section."""
    bodies = re.split(r"(?m)^### \d+\s*$", text)[1:]
    return [[line.strip() for line in body.splitlines() if line.strip()] for body in bodies]


# --- the user's seeds ------------------------------------------------------------------


def test_markdown_note_seed_gives_every_link_once():
    path = FIXTURES / "seed000_markdown_note.md"
    text = path.read_text(encoding="utf-8")
    records = read_saved_file(path)

    expected = distinct_non_image_urls(text)
    assert len(expected) == 12
    assert detect_format(text) is SavedFormat.MARKDOWN
    assert [canonicalize(r.url) for r in records].count(None) == 0
    assert {canonicalize(r.url) for r in records} == expected
    assert len(records) == len(expected)  # each once
    assert all(r.text is None and r.key == f"url:{canonicalize(r.url)}" for r in records)
    by_url = {r.url: r for r in records}
    assert by_url["https://github.com/nomic-ai/gpt4all"].title.startswith("开源，在桌面电脑就能跑的大模型")
    assert by_url["https://www.freedidi.com/11195.html"].title is None
    # A bare URL followed by more prose on the line ends where the URL ends.
    assert "https://99ai.teachable.com/courses/jojo-ai/lectures/46947010" in by_url


def test_logseq_seed_is_an_outline_whose_only_url_is_an_image():
    path = FIXTURES / "seed004_logseq.md"
    text = path.read_text(encoding="utf-8")
    assert detect_format(text) is SavedFormat.LOGSEQ
    assert distinct_non_image_urls(text) == set()
    assert IMAGE.findall(text)  # the seed does carry an image, which is not a link to read
    assert read_saved_file(path) == []


def test_clippings_seed_gives_one_record_per_post():
    path = FIXTURES / "seed001_clippings.md"
    text = path.read_text(encoding="utf-8")
    sections = clipping_sections(text)
    assert len(sections) == len(re.findall(r"(?m)^### \d+\s*$", text)) == 201
    # A post with words of its own is one clipping; a section holding only its date is empty.
    with_text = [lines for lines in sections if len(lines) > 3]
    only_links = [lines for lines in sections
                  if len(lines) > 1 and all(URL_IN_TEXT.fullmatch(line) for line in lines[3:])
                  and len(lines) > 3]
    assert len(with_text) == 116 and not only_links

    records = read_saved_file(path)
    assert detect_format(text) is SavedFormat.CLIPPINGS
    assert len(records) == len(with_text)
    assert len({r.key for r in records}) == len(records)
    for record, lines in zip(records, with_text, strict=True):
        date_line, name, handle = lines[0], lines[1], lines[2]
        assert record.published == datetime.fromisoformat(date_line).replace(tzinfo=timezone.utc)
        assert record.author == f"{name} {handle}"
        assert record.key.startswith("hash:")
        # The post as its reader saw it: Markdown escapes and bold markers are not its words.
        assert record.text.split("\n")[0].strip() == lines[3].replace("\\#", "#").replace("**", "")
        post_urls = {canonicalize(u) for u in URL_IN_TEXT.findall("\n".join(lines[3:]))}
        # A post with no link of its own shows its author's page, which is never its url:
        # the url is the first link to a story, and stories are merged by it.
        expected = post_urls or {canonicalize(f"https://x.com/{handle.lstrip('@')}")}
        assert {canonicalize(link) for link in record.links} == expected
        assert len(record.links) == len(expected)
        story_links = [link for link in record.links if not is_profile_url(link)]
        assert record.url == (story_links[0] if story_links else None)
        if not post_urls:
            assert record.url is None
    # A post citing its source keeps the links inside it, in order, not as separate records.
    github = next(r for r in records if "SourceForge" in r.text)
    assert github.links == [
        "https://baoyu.io/translations/github/how-github-replaced-sourceforge-as-the-dominant-code-hosting-platform",
        "https://graphite.dev/blog/github-monopoly-on-code-hosting",
    ]


def test_clipping_titles_are_whole_sentences_or_end_at_a_clause_and_markdown_is_gone():
    """Issue 13, item 13: no first sentence cut mid-word, no '\\#' or '**' in titles and texts."""
    records = read_saved_file(FIXTURES / "seed001_clippings.md")
    for record in records:
        assert "\\#" not in record.text and "**" not in record.text, record.text[:80]
        title = record.title
        assert len(title) <= 60 and not title.startswith("# ") and "\\" not in title
        first_line = next(line for line in record.text.split("\n") if line.strip()).strip()
        if title.endswith("…"):
            cut = title[:-1]
            assert first_line.replace("# ", "", 1).startswith(cut)
            following = first_line.replace("# ", "", 1)[len(cut):]
            # cut where a clause ends or between words, never inside a word
            assert following[:1] in "，、；：,;: " or not (cut[-1:].isalnum() and following[:1].isalnum()), title
    titles = {record.title for record in records}
    assert "# explaining llm.c in layman terms".removeprefix("# ") in titles
    assert "上海人工智能实验室发布了一套多模态 LLM 视觉评价体系MMStar。" in titles
    assert "MIT的十门免费课程，连怎么创业都教呀！" in titles
    double = next(r for r in records if "双语互动" in r.text)
    assert "1. 双语互动：" in double.text


def test_importing_the_same_clippings_twice_gives_the_same_keys(tmp_path):
    first = read_saved_file(FIXTURES / "seed001_clippings.md")
    copy = tmp_path / "again.txt"
    copy.write_text((FIXTURES / "seed001_clippings.md").read_text(encoding="utf-8") + "\n\n")
    assert [r.key for r in read_saved_file(copy)] == [r.key for r in first]


def test_clipping_without_words_of_its_own_becomes_its_links(tmp_path):
    path = tmp_path / "clips.md"
    path.write_text(
        "### 01\n\n2024-05-01\n\n某人\n@someone\n原文：https://example.org/a\nhttps://example.org/b\n\n"
        "### 02\n\n2024-05-02\n\n另一人\n@other\n这是一条有自己文字的收藏，说明了为什么值得读。"
        "https://example.org/a\n\n"
        "### 03\n\n2024-05-02\n\n\n",
        encoding="utf-8",
    )
    records = read_saved_file(path)
    assert [(r.url, bool(r.text)) for r in records] == [
        ("https://example.org/a", False),  # the bare links of post 01
        ("https://example.org/b", False),
        ("https://example.org/a", True),  # the clipping of post 02
    ]
    assert records[2].author == "另一人 @other"
    assert records[2].links == ["https://example.org/a"]
    assert records[2].key.startswith("hash:") and records[0].key == "url:https://example.org/a"


# --- bookmarks, encodings, wrong files --------------------------------------------------


def test_netscape_bookmarks_export():
    records = read_saved_file(FIXTURES / "bookmarks_export.html")
    assert [(r.url, r.title) for r in records] == [
        ("https://example.org/ai/llm-survey", "大模型综述 & 实践"),
        ("https://news.example.com/2024/04/agents", "Agents are coming"),
        ("http://blog.example.net/posts/minhash", "MinHash explained"),
        ("https://docs.example.com/guide/%E5%BF%AB%E9%80%9F%E5%BC%80%E5%A7%8B", "快速开始"),
    ]
    assert records[0].published == datetime(2024, 4, 1, tzinfo=timezone.utc)
    assert records[1].published == datetime(2024, 4, 2, tzinfo=timezone.utc)  # milliseconds
    assert records[2].published is None


def test_gbk_encoded_note():
    path = FIXTURES / "gbk_notes.md"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    records = read_saved_file(path)
    assert [(r.url, r.title) for r in records] == [
        ("https://example.org/ai/llm-survey", "大模型综述"),
        ("https://news.example.com/2024/04/agents", None),
        ("https://blog.example.net/posts/minhash", None),  # the full stop after it is not part
    ]


@pytest.mark.parametrize(
    ("name", "says"),
    [("not_bookmarks.html", "no bookmark list"), ("saved_page.html", "not a Netscape bookmarks")],
)
def test_html_that_is_not_a_bookmarks_export_is_refused(name, says):
    with pytest.raises(SavedFileError) as caught:
        read_saved_file(FIXTURES / name)
    message = str(caught.value)
    assert name in message and says in message and "\n" not in message


def test_markdown_named_html_is_refused(tmp_path):
    path = tmp_path / "bookmarks.html"
    path.write_text("# notes\nhttps://example.org/a\n", encoding="utf-8")
    with pytest.raises(SavedFileError, match="bookmarks.html"):
        read_saved_file(path)


def test_binary_and_missing_files_are_refused(tmp_path):
    png = tmp_path / "picture.md"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(SavedFileError, match="picture.md.*binary"):
        read_saved_file(png)
    with pytest.raises(SavedFileError, match="missing.md.*cannot read"):
        read_saved_file(tmp_path / "missing.md")


def test_url_list(tmp_path):
    path = tmp_path / "links.txt"
    path.write_text("https://example.org/a?utm_source=x\n\nexample.org/b\n"
                    "HTTPS://EXAMPLE.org/a\nwww.example.com/c\n", encoding="utf-8")
    assert detect_format(path.read_text()) is SavedFormat.URL_LIST
    assert [r.url for r in read_saved_file(path)] == [
        "https://example.org/a?utm_source=x", "https://example.org/b", "https://www.example.com/c"]


# --- local links in notes ---------------------------------------------------------------


def test_relative_links_resolve_to_existing_files_inside_the_notes_folder(tmp_path):
    notes = tmp_path / "notes"
    (notes / "pages").mkdir(parents=True)
    (notes / "pages" / "a.html").write_text("<p>a</p>")
    (notes / "pages" / "中文 页面.html").write_text("<p>b</p>")
    (tmp_path / "outside.html").write_text("<p>secret</p>")
    note = notes / "note.md"
    note.write_text(
        "# 本地\n\n[A](pages/a.html) [A again](./pages/a.html#top)\n\n"
        "[B](<pages/中文 页面.html>) [missing](pages/none.html) [up](../outside.html)\n\n"
        f"[abs]({tmp_path / 'outside.html'}) [file](file://{notes / 'pages' / 'a.html'})\n\n"
        "[mail](mailto:a@example.org) [js](javascript:alert(1)) ![img](pages/a.html)\n\n"
        "<https://example.org/auto> and **https://example.org/x_(y)_z**, (https://example.org/p).\n",
        encoding="utf-8",
    )
    records = read_saved_file(note)
    assert [(r.url, r.title) for r in records] == [
        (str(notes / "pages" / "a.html"), "A"),
        (str(notes / "pages" / "中文 页面.html"), "B"),
        ("https://example.org/auto", None),
        ("https://example.org/x_(y)_z", None),
        ("https://example.org/p", None),
    ]


DEMO_LINKS = {
    "notes.md": ["openai-o1.html", "deepseek-v3.html", "qwen-coder.html"],
    "logseq.md": ["llama-guard.html", "mistral-small.html", "deepseek-v3.html"],
}


@pytest.mark.parametrize("name", sorted(DEMO_LINKS))
def test_demo_notes_link_only_to_the_local_demo_pages(tmp_path, name):
    source = EXAMPLES / name
    text = source.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text  # the demo runs offline
    pages = tmp_path / "feeds" / "pages"  # the demo's pages sit inside its feeds' folder
    pages.mkdir(parents=True)
    for page in DEMO_PAGES:
        (pages / page).write_text("<html></html>")
    shutil.copy(source, tmp_path / name)
    records = read_saved_file(tmp_path / name)
    assert [Path(r.url).name for r in records] == DEMO_LINKS[name]
    assert all(Path(r.url).parent == pages and r.title for r in records)
    expected_kind = SavedFormat.LOGSEQ if name == "logseq.md" else SavedFormat.MARKDOWN
    assert detect_format(text) is expected_kind
    # Every pages/<name>.html the note mentions is one of the demo's pages.
    assert set(re.findall(r"pages/[\w.-]+", text)) <= {f"pages/{page}" for page in DEMO_PAGES}


def test_demo_notes_together_cover_every_demo_page():
    assert sorted({page for pages in DEMO_LINKS.values() for page in pages}) == sorted(DEMO_PAGES)


def test_demo_clippings_are_posts_with_their_own_text():
    path = EXAMPLES / "clippings.md"
    text = path.read_text(encoding="utf-8")
    sections = clipping_sections(text)
    records = read_saved_file(path)
    assert 4 <= len(records) == len(sections) <= 6
    for record in records:
        assert record.author and "@" in record.author and record.published
        own = re.sub(r"https?://\S+|\s", "", record.text)
        assert 150 <= len(own) <= 450


# --- any input: SavedFileError or sound records ------------------------------------------

SAVED_PIECES = st.sampled_from([
    "### 01\n", "2024-04-01\n", "名字\n", "@handle\n", "- ", "\t- ", "  ", "\n", "# 标题\n",
    "[t](", ")", "](", "![](", "https://", "http://", "example.org", "/a?b=1", "#x", "pages/a.html",
    "../up.html", "file:///etc/passwd", "mailto:x@y", "javascript:", "[[页面]]", "#tag ", "，", "。",
    "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n", "<DL><p>", "<DT><A HREF=\"", "\" ADD_DATE=\"",
    "99999999999999999999", "\">", "</A>", "<html>", "```\n", "[", "]", "(", "<", ">", "\x00", "\x1b",
])
SAVED_TEXT = st.one_of(st.text(max_size=200),
                       st.lists(st.one_of(SAVED_PIECES, st.text(max_size=5)), max_size=40).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SAVED_TEXT, st.sampled_from(["notes.md", "clips.txt", "bookmarks.html", "outline"]),
       st.sampled_from(["utf-8", "gb18030", "utf-16"]))
def test_any_text_gives_sound_records_or_saved_file_error(text, name, encoding):
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "pages").mkdir()
        (base / "pages" / "a.html").write_text("<p>a</p>")
        path = base / name
        path.write_bytes(text.encode(encoding, errors="surrogatepass"))
        try:
            records = read_saved_file(path)
        except SavedFileError as error:
            assert "\n" not in str(error) and str(path) in str(error)
            return
        keys = [r.key for r in records]
        assert len(keys) == len(set(keys))
        for record in records:
            for url in [record.url, *record.links]:
                if url is None:
                    assert record.text
                    continue
                parts = urlsplit(url)
                if parts.scheme in ("http", "https"):
                    assert parts.hostname
                else:
                    assert Path(url).is_absolute() and Path(url).is_file()
                    assert Path(url).resolve().is_relative_to(base.resolve())
