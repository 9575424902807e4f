import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jiandu.errors import SummariseError
from jiandu.summarising.offline import OfflineSummariser, count_zi, importance_of, pick_emoji
from jiandu.records import ArticleInput

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]
NAMES = ["qq", "gmw", "youth", "bbc-1", "ars-1"]


def article(name: str, **extra) -> ArticleInput:
    data = json.loads((ARTICLES / f"{name}.json").read_text(encoding="utf-8"))
    return ArticleInput(title=data["title"], text=data["text"], **extra)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", NAMES)
def test_three_one_paragraph_bullets_drawn_from_the_text(name):
    source = article(name)
    summary = OfflineSummariser().summarise(source, SECTIONS)
    assert len(summary.bullets) == 3
    text = squeeze(source.text)
    positions = []
    for bullet in summary.bullets:
        assert "\n" not in bullet
        assert 10 <= count_zi(bullet) <= 151
        body = squeeze(bullet.removesuffix("…"))
        # A bullet is consecutive sentences of the text (maybe across a paragraph break).
        assert body in text, bullet
        positions.append(text.index(body))
    assert positions == sorted(positions)  # in text order
    assert summary.title == source.title
    assert (summary.model, summary.prompt_version, summary.requests) == ("offline-textrank", "offline-2", 0)


def test_most_bullets_reach_sixty_zi():
    lengths = [count_zi(b) for name in NAMES for b in OfflineSummariser().summarise(article(name), SECTIONS).bullets]
    assert sum(length >= 60 for length in lengths) >= len(lengths) - 2


def test_deterministic_and_thread_safe():
    summariser = OfflineSummariser()
    expected = [summariser.summarise(article(name), SECTIONS) for name in NAMES]
    with ThreadPoolExecutor(8) as pool:
        again = list(pool.map(lambda name: summariser.summarise(article(name), SECTIONS), NAMES * 2))
    assert again == expected * 2


def test_section_hint_used_only_when_configured():
    summariser = OfflineSummariser()
    assert summariser.summarise(article("qq", section_hint="产业资讯"), SECTIONS).section == "产业资讯"
    assert summariser.summarise(article("qq", section_hint="体育"), SECTIONS).section == "其他"


def test_emoji_from_keywords_with_fallback():
    summariser = OfflineSummariser()
    assert "🤖" in summariser.summarise(article("qq"), SECTIONS).emoji  # DeepMind, 人工智能
    assert "🔒" in summariser.summarise(article("ars-1"), SECTIONS).emoji  # exploit, vulnerability
    assert pick_emoji("今天天气晴朗") == "📰"
    assert 1 <= len(pick_emoji("AI 芯片 融资 游戏 安全")) <= 2


def test_importance_grows_with_length():
    assert [importance_of("字" * n) for n in (100, 800, 2000, 9000)] == [2, 3, 4, 5]


def test_long_sentence_is_cut_at_a_clause_boundary():
    long_sentence = "，".join(f"第{i}个分句说明了一件具体的事情" for i in range(30)) + "。"
    text = "\n".join([long_sentence, "短句一说明情况，内容足够长了吧。" * 3, "短句二也说明了情况，同样足够。" * 3])
    summary = OfflineSummariser().summarise(ArticleInput(title="测试", text=text), SECTIONS)
    cut = [b for b in summary.bullets if b.endswith("…")]
    assert cut and all(count_zi(b) <= 150 for b in cut)
    assert all(squeeze(b.removesuffix("…")) in squeeze(text) for b in cut)


@pytest.mark.parametrize("text", ["", "太短了。", "第一句话。第二句话。"])
def test_too_short_text_is_refused_for_good(text):
    with pytest.raises(SummariseError) as raised:
        OfflineSummariser().summarise(ArticleInput(title="短", text=text), SECTIONS)
    assert raised.value.retryable is False
    assert "too short" in raised.value.reason


def test_quiet_no_jieba_log_or_warning():
    code = (
        "from jiandu.summarising.offline import OfflineSummariser;"
        "from jiandu.records import ArticleInput;"
        f"OfflineSummariser().summarise(ArticleInput('t', {'人工智能公司发布新模型，性能大幅提升。' * 12!r}), ['其他'])"
    )
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_three_mid_length_sentences_still_make_three_bullets():
    text = ("世纪华通宣布拟以二百九十八亿元重组盛大游戏，交易完成后公司将成为国内领先的游戏企业之一。"
            "公司同时发布回购预案，计划在未来十二个月内以自有资金回购公司股份用于员工持股计划。"
            "分析人士认为此次回购显示管理层对公司长期发展的信心，也有助于稳定近期波动的股价。")
    summary = OfflineSummariser().summarise(ArticleInput(title="重组", text=text), ["其他"])
    assert len(summary.bullets) == 3
    assert all(bullet in text for bullet in summary.bullets)


# --- issue 13: short texts, headlines, list markers, URLs, bold (items 13 and 14) -------------

RUSSIAN = ("Компания представила новый процессор для центров обработки данных, который, по её словам, "
           "на треть быстрее предыдущего поколения при том же энергопотреблении. Первые поставки "
           "запланированы на весну, а крупные облачные провайдеры уже подписали предварительные "
           "соглашения. Аналитики отмечают, что цена пока не объявлена.")
GERMAN = ("Die Stadtverwaltung hat am Dienstag beschlossen, die Straßenbahnlinie bis zum neuen Wohngebiet "
          "im Osten zu verlängern, wobei die Bauarbeiten im kommenden Frühjahr beginnen und nach "
          "Schätzungen der Verkehrsbetriebe etwa drei Jahre dauern sollen, während der Busverkehr "
          "in dieser Zeit auf eine Umleitung über die Hauptstraße ausweichen muss.")


@pytest.mark.parametrize("text", [RUSSIAN, GERMAN], ids=["russian-paragraph", "german-sentence"])
def test_a_short_text_gets_three_shorter_bullets_not_a_failure(text):
    summary = OfflineSummariser().summarise(ArticleInput(title="Kurz", text=text), SECTIONS)
    assert len(summary.bullets) == 3
    assert squeeze("".join(summary.bullets)) == squeeze(text)  # the whole text, in order
    assert all(len(bullet.split()) >= 5 for bullet in summary.bullets)


def test_too_short_is_its_own_error_so_the_item_is_skipped_not_retried():
    from jiandu.errors import TooShortToSummarise

    with pytest.raises(TooShortToSummarise):
        OfflineSummariser().summarise(ArticleInput(title="短", text="第一句话。第二句话。"), SECTIONS)


def test_no_bullet_repeats_the_headline_or_is_glued_to_the_dateline():
    """The demo's lanxin page: a headline line, then "11月17日，国产 AI 芯片公司..."."""
    from jiandu.connectors.pages import extract_page
    from jiandu.records import PageFetch
    from jiandu.examples import __file__ as examples_init
    from pathlib import Path

    body = (Path(examples_init).parent / "feeds" / "pages" / "lanxin-t2-chip.html").read_bytes()
    page = extract_page(PageFetch(url="file:///lanxin", status=200, content_type="text/html",
                                  charset=None, body=body))
    summary = OfflineSummariser().summarise(ArticleInput(title=page.title, text=page.text), SECTIONS)
    for bullet in summary.bullets:
        assert "量产11月17日" not in squeeze(bullet)
        assert not squeeze(bullet).startswith(squeeze(page.title))


def test_bullets_carry_no_list_markers_urls_or_bold_markers():
    text = "\n".join([
        "**马斯克：**特斯拉将在明年推出一款面向普通家庭的人形机器人，售价预计低于两万美元。",
        "- 第一，这款机器人可以完成洗衣、整理房间等简单家务，并通过语音接受指令。",
        "- 第二，公司计划先在自己的工厂里部署一千台，用于搬运零件和质量检查等工作。",
        "原文：https://t.co/9NXaeqlybB 详细信息见发布会视频 https://x.com/tesla/status/1",
        "* 第三，分析人士认为量产成本和电池续航仍是这款产品能否普及的关键因素。",
    ])
    summary = OfflineSummariser().summarise(ArticleInput(title="特斯拉机器人", text=text), SECTIONS)
    for bullet in summary.bullets:
        assert "**" not in bullet and "http" not in bullet and "t.co" not in bullet
        assert not bullet.startswith(("- ", "* ", "-", "*"))
    assert any(bullet.startswith("马斯克：特斯拉") for bullet in summary.bullets)


def test_a_text_too_short_is_skipped_once_with_its_reason_not_retried(tmp_path, monkeypatch):
    """Issue 13, item 14, through the summarise stage: skipped, never 'failed' and rescheduled."""
    from datetime import timedelta

    from jiandu.models import store
    from jiandu.models.schema import Item, utcnow
    from jiandu.runtime import open_runtime
    from jiandu.settings import get_settings
    from jiandu.stages.ingest import ingest
    from jiandu.stages.summarise import summarise

    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    feed = tmp_path / "feed.xml"
    feed.write_text("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
                    "<item><guid>short</guid><title>短</title><description>第一句话。第二句话。</description></item>"
                    f"<item><guid>ru</guid><title>ru</title><description>{RUSSIAN}</description></item>"
                    "</channel></rss>", encoding="utf-8")
    get_settings.cache_clear()
    rt = open_runtime()
    with rt.sessions.begin() as session:
        store.add_source(session, kind="feed", url=str(feed))
    ingest(rt)
    report = summarise(rt)
    assert (report.summarised, report.too_short, report.failed) == (1, 1, 0)
    with rt.sessions() as session:
        short = session.query(Item).filter(Item.guid == "short").one()
        assert short.status == "skipped" and "too short" in short.error
        assert short.next_attempt_at is None and short.failed_stage is None
    again = summarise(rt, now=utcnow() + timedelta(days=3))
    assert (again.summarised, again.too_short, again.failed) == (0, 0, 0)
    rt.close()
