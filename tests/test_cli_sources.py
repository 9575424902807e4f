"""Managing many sources and reading lists (issue 13, items 3 and 8), through the installed
command: source list --failing / --format json, disable, enable, remove; tables at 80 columns
and in a pipe; issue list and status count stories and items apart."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from jiandu.cli_tables import Column, emit
from tests.support.http_server import LocalHTTPServer

JIANDU = Path(sys.executable).with_name("jiandu")
SENTENCES = ["新型固态电池的能量密度比现有产品提升了百分之四十，厂商计划明年开始小批量生产。",
             "研究团队在实验室里完成了超过一千次充放电循环测试，容量保持率仍在百分之九十以上。",
             "业内人士认为，这项技术如果顺利量产，将明显降低电动汽车的成本并延长续航里程。",
             "不过也有专家提醒，新材料的供应链尚不成熟，大规模应用仍需要至少三到五年时间。"]


def jiandu(*args: str, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(JIANDU), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)
    return proc


def feed_file(path: Path, title: str, stories: list[str], *, link: str | None = None) -> Path:
    entries = "".join(
        f"<item><guid>{title}-{n}</guid><title>{title} {n}</title>"
        + (f"<link>{link}</link>" if link else "")
        + f"<description>{story}</description></item>" for n, story in enumerate(stories))
    path.write_text("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                    f"<title>{title}</title>{entries}</channel></rss>", encoding="utf-8")
    return path


@pytest.mark.slow
def test_source_list_failing_json_disable_enable_remove(tmp_path):
    good = feed_file(tmp_path / "good.xml", "Good news", ["".join(SENTENCES)])
    with LocalHTTPServer() as server:
        server.route("/broken.xml", status=500, body=b"oops")
        broken = server.url("/broken.xml")
        assert jiandu("source", "add", str(good)).returncode == 0
        assert jiandu("source", "add", broken).returncode == 0
        ingested = jiandu("ingest", JIANDU_ALLOW_PRIVATE_HOSTS="1", JIANDU_FETCH_PAGES="0")
        assert ingested.returncode == 0, ingested.stderr

    listed = jiandu("source", "list")
    lines = listed.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "name", "url", "state", "last error"]
    assert len(lines) == 3  # a header and one line per source, nothing folded, in a pipe
    rows = {line.split("\t")[2]: line.split("\t") for line in lines[1:]}
    assert rows[str(good)][1] == "Good news" and rows[str(good)][3] == "ok"
    assert rows[broken][3] == "failing x1" and "HTTP 500" in rows[broken][4]
    assert broken not in rows[broken][4]  # the error does not repeat the URL

    failing = json.loads(jiandu("source", "list", "--failing", "--format", "json").stdout)
    assert [row["url"] for row in failing] == [broken]
    assert failing[0]["errors"] == 1 and "HTTP 500" in failing[0]["last_error"]
    broken_id = failing[0]["id"]

    assert "Disabled source" in jiandu("source", "disable", str(broken_id)).stdout
    assert [r["url"] for r in json.loads(jiandu("source", "list", "--disabled", "--format", "json").stdout)] == [broken]
    assert "Enabled source" in jiandu("source", "enable", broken).stdout
    assert json.loads(jiandu("source", "list", "--disabled", "--format", "json").stdout) == []

    removed = jiandu("source", "remove", str(good))
    assert removed.returncode == 0 and "and 1 item(s)" in removed.stdout
    assert [r["url"] for r in json.loads(jiandu("source", "list", "--format", "json").stdout)] == [broken]
    missing = jiandu("source", "remove", "999")
    assert missing.returncode == 1 and "no source '999'" in missing.stderr
    bad_format = jiandu("source", "list", "--format", "xml")
    assert bad_format.returncode == 1 and "--format" in bad_format.stderr


def test_tables_fit_80_columns_on_a_terminal_one_line_per_row():
    rows = [{"id": n, "date": "2026-12-01", "name": f"一个相当长的订阅源名称 number {n} " * 3,
             "url": f"https://example.org/{'very-long-path/' * 8}{n}.xml", "error": "x" * 200}
            for n in range(1, 13)]
    columns = [Column("id", "id", justify="right"), Column("date", "date"),
               Column("name", "name", fixed=False, share=2), Column("url", "url", fixed=False, share=3),
               Column("error", "last error", fixed=False, share=3)]
    out = io.StringIO()
    emit(Console(file=out, force_terminal=True, width=80, color_system=None), rows, columns, "table",
         title="Sources")
    lines = out.getvalue().splitlines()
    assert all(Console(width=200).measure(line).maximum <= 80 for line in lines)
    body = [line for line in lines if "2026-12-01" in line]
    assert len(body) == 12  # one line per row: nothing folded, the date whole
    assert all("…" in line for line in body)


@pytest.mark.slow
def test_issue_list_and_status_count_stories_and_items_apart(tmp_path):
    """Two outlets run the same story (same link): one story from two items."""
    story = "".join(SENTENCES)
    for outlet in ("daily", "wire"):
        feed = feed_file(tmp_path / f"{outlet}.xml", outlet, [story], link="https://news.example.org/battery/1")
        assert jiandu("source", "add", str(feed)).returncode == 0
    other = feed_file(tmp_path / "weekly.xml", "weekly", [
        "城市地铁十二号线今天正式开通运营，全长四十二公里，共设二十八座车站。"
        "新线路连接了城市东部的两个大型居住区和中心商务区，预计日均客流超过三十万人次。"
        "运营公司表示，开通初期早高峰发车间隔为三分钟，之后将根据客流情况逐步缩短。"
        "沿线居民普遍认为，新线路将使他们的通勤时间平均缩短二十分钟左右。"],
                      link="https://weekly.example.org/other/2")
    assert jiandu("source", "add", str(other)).returncode == 0
    ran = jiandu("run", JIANDU_FETCH_PAGES="0")
    assert ran.returncode == 0, ran.stderr
    issues = json.loads(jiandu("issue", "list", "--format", "json").stdout)
    assert [(i["number"], i["stories"], i["items"]) for i in issues] == [(1, 2, 3)]
    status = jiandu("status", COLUMNS="200").stdout
    assert "2 stories from 3 items" in status
    table = jiandu("issue", "list").stdout.splitlines()
    assert table[0].split("\t")[:5] == ["#", "status", "date", "stories", "items"]
    assert table[1].split("\t")[3:5] == ["2", "3"]


def test_small_things_a_newcomer_meets(tmp_path):
    """Issue 13, item 10: a missing feed file is "no such file"; a page that is no feed is refused
    at add time; a file name keeps its underscores; an import that finds nothing says why."""
    missing = jiandu("source", "add", str(tmp_path / "nope.xml"))
    assert missing.returncode == 1 and "nope.xml: no such file" in missing.stderr
    page = tmp_path / "notafeed.html"
    page.write_text("<html><head><title>x</title></head><body><p>hello</p></body></html>", encoding="utf-8")
    refused = jiandu("source", "add", str(page))
    assert refused.returncode == 1 and "notafeed.html" in refused.stderr and "not a feed" in refused.stderr
    assert json.loads(jiandu("source", "list", "--format", "json").stdout) == []
    assert jiandu("source", "add", "--no-check", str(page)).returncode == 0

    logseq = tmp_path / "004_8784da2637a6b130.txt"
    logseq.write_text("- 一个想法 #ai\n\t- ![](https://example.org/x.png)\n\t- [[LLM]] 也会这样\n", encoding="utf-8")
    notes = tmp_path / "000_6d701c43eb09b0c7.txt"
    notes.write_text("# 笔记\n\nhttps://example.org/a\n", encoding="utf-8")
    imported = jiandu("links", "import", str(notes), str(logseq), COLUMNS="200")
    assert imported.returncode == 0, imported.stderr
    rows = [line.split("\t") for line in imported.stdout.splitlines()]
    assert rows[0] == ["file", "new", "found", "note"]
    assert rows[1][:3] == [notes.name, "1", "1"]  # underscores kept, not shown as spaces
    assert rows[2][:3] == [logseq.name, "0", "0"] and "no links" in rows[2][3]
