"""Traditional Chinese sources: a real Taiwanese news page (tests/fixtures/traditional/, from
virus-warnning/twnews's test samples), summarised by a model that answers in Traditional
characters, comes out in Simplified in the issue (OpenCC t2s, before validation)."""

from __future__ import annotations

from opencc import OpenCC
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.summarising.answer import validate_answer
from jiandu.summarising.simplified import simplified_answer, to_simplified
from jiandu.testing.llm_server import LLMServer
from jiandu.models.schema import Item
from tests.conftest import FIXTURES
from tests.support.http_server import LocalHTTPServer

PAGE = FIXTURES / "traditional" / "cna-201603190029.html"
TO_TRADITIONAL = OpenCC("s2t")


def traditional_only(text: str) -> set[str]:
    """Characters that Simplified writes differently."""
    return {ch for ch in text if to_simplified(ch) != ch}


def test_the_model_answers_in_traditional_and_the_issue_is_in_simplified(monkeypatch):
    page = PAGE.read_bytes()
    assert traditional_only(page.decode("utf-8"))  # the fixture really is Traditional
    with LocalHTTPServer() as site, LLMServer() as model:
        site.route("/news/asoc/201603190029.aspx", body=page,
                   headers={"Content-Type": "text/html; charset=utf-8"})
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("JIANDU_LLM_RESPONSE_FORMAT", "json_object")
        get_settings.cache_clear()
        added = CliRunner().invoke(app, ["links", "add", site.url("/news/asoc/201603190029.aspx")],
                                   catch_exceptions=False)
        assert added.exit_code == 0, added.output
        rt = open_runtime()
        try:
            ingest(rt)
            report = summarise(rt)
            issue = publish(rt)
            with rt.sessions() as session:
                item = session.query(Item).one()
                text, summary = item.text.content, item.summary
                title, bullets = summary.title, list(summary.bullets)
        finally:
            rt.close()
    assert traditional_only(text), "the article was stored as it is, in Traditional"
    assert report.summarised == 1 and issue.issue_number == 1
    assert not traditional_only(title + "".join(bullets))
    assert "平镇" in "".join(bullets) or "平镇" in title  # 平鎮 (Pingzhen), converted
    markdown = (get_settings().out_dir / "issue-0001.md").read_text(encoding="utf-8")
    assert not traditional_only(markdown.split("原文链接")[0])


def test_conversion_happens_before_validation():
    answer = ('{"title": "桃園輪胎行大火", "emoji": "🔥", "section": "產業資訊", "importance": 3, '
              '"bullets": ["' + "桃園市平鎮區一家輪胎行今天清晨發生大火，七人從火場中疏散。" * 3 + '", "'
              + "由於火勢延燒猛烈，一名六十二歲女子逃生不及，命喪火窟，消防局到場搶救。" * 3 + '", "'
              + "中央社記者邱俊欽報導，警方與消防單位正在調查起火原因，現場已經封鎖。" * 3 + '"]}')
    parsed, problem = validate_answer(answer, None, ["产业资讯", "其他"])
    assert problem is None
    assert parsed.title == "桃园轮胎行大火" and parsed.section == "产业资讯"
    assert parsed.bullets[0].startswith("桃园市平镇区")
    assert parsed.emoji == "🔥"


def test_simplified_text_is_left_alone():
    text = "人工智能模型发布，数据显示著名的软件公司 ChatGPT 4.0 版本 1,000 亿"
    assert to_simplified(text) == text
    assert simplified_answer({"emoji": "🔥", "bullets": ["發布"]}) == {"emoji": "🔥", "bullets": ["发布"]}
    assert to_simplified(TO_TRADITIONAL.convert("发布")) == "发布"
