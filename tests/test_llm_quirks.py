"""Answers written the way real models write them publish without another request (issue 14).

Each quirk is taught to the loopback OpenAI-compatible server (jiandu.testing.llm_server) and
goes through the real summariser (openai SDK, json_object mode as llama.cpp and Ollama use) and,
for the mix of all of them, through `jiandu run` into an issue.
"""

import json
from pathlib import Path

import pytest

from jiandu.summarising.answer import TITLE_FLAG, validate_answer
from jiandu.summarising.llm import LLMSummariser
from jiandu.errors import SummariseError
from jiandu.records import ArticleInput
from jiandu.testing import llm_server as fake
from jiandu.testing.llm_server import LLMServer

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]


def big_numbers_first() -> ArticleInput:
    """The gmw article with its paragraph of large figures first, so answers quote it."""
    data = json.loads((ARTICLES / "gmw.json").read_text(encoding="utf-8"))
    lines = data["text"].splitlines()
    figures = next(line for line in lines if "1500亿美元" in line and "27680" in line)
    return ArticleInput(title=data["title"], text="\n".join([figures, *lines]), url="https://example.org/gmw",
                        section_hint="技术教程")


def summarise(behaviour, article: ArticleInput | None = None):
    with LLMServer(behaviour) as server:
        summariser = LLMSummariser(base_url=server.base_url, api_key="k", model="qwen2.5:0.5b",
                                   response_format="json_object", backoff_base=0.001, timeout=5)
        summary = summariser.summarise(article or big_numbers_first(), SECTIONS)
        return summary, server.requests


@pytest.mark.parametrize("quirk", sorted(fake.QUIRKS))
def test_each_quirk_publishes_with_one_request(quirk):
    summary, requests = summarise(fake.QUIRKS[quirk])
    assert (len(requests), summary.requests, summary.repairs) == (1, 1, 0), quirk
    assert summary.faithful is True and summary.unsupported == [] and summary.flags == []
    assert len(summary.bullets) == 3 and all("\n" not in bullet for bullet in summary.bullets)
    assert not summary.emoji.isascii() and ":" not in summary.emoji and "\u20e3" not in summary.emoji


def test_shortcode_becomes_the_emoji_and_keycaps_become_the_sections_default():
    assert summarise(fake.robot_face_emoji)[0].emoji == "🤖"
    summary = summarise(fake.keycap_emoji)[0]
    assert summary.emoji == "🚀"  # the default for 产品介绍, the section the answer names


def test_restated_numbers_are_checked_not_refused():
    summary, _ = summarise(fake.restated_numbers)
    assert "1500亿美元" in summary.bullets[0] and "2.768万公里" in summary.bullets[0]
    assert summary.faithful is True


def test_a_raw_line_break_is_joined_into_one_paragraph():
    summary, _ = summarise(fake.raw_newline)
    original = fake.bullets_from(big_numbers_first().text)[0]
    assert summary.bullets[0] == original


def test_all_quirks_at_once():
    summary, requests = summarise(fake.real_model)
    assert len(requests) == 1 and summary.faithful and summary.emoji == "🤖"


def test_unknown_section_goes_to_the_sources_section():
    def answer(request, number):
        data = json.loads(fake.default_answer(request))
        return fake.Reply(content=json.dumps({**data, "section": "Technology"}, ensure_ascii=False))

    summary, requests = summarise(answer)
    assert summary.section == "技术教程" and len(requests) == 1


def english_title(request, number):
    data = json.loads(fake.default_answer(request))
    return fake.Reply(content=json.dumps({**data, "title": "Astronauts and alcohol"}, ensure_ascii=False))


def test_a_foreign_title_gets_one_repair_then_is_kept_and_flagged():
    summary, requests = summarise(english_title)
    assert len(requests) == 2 and summary.repairs == 1
    assert summary.title == "Astronauts and alcohol" and summary.flags == [TITLE_FLAG]
    assert summary.faithful is True  # flagged for the editor, not held
    assert "not in Chinese" in requests[1]["messages"][-1]["content"]


def test_a_foreign_title_repaired_into_chinese_is_not_flagged():
    summary, requests = summarise(fake.sequence(english_title))
    assert len(requests) == 2 and summary.flags == [] and summary.title.startswith("简读")


def test_strict_where_the_reader_would_be_misled():
    # Two bullets after one repair, or bullets of 400 字: still failed, as before.
    with pytest.raises(SummariseError, match="at least 3"):
        summarise(fake.bullet_count(2))
    def long_bullets(request, number):  # the article's own words, far past 300 字 a bullet
        text = fake.article_text(request).replace("\n", "")
        return fake.Reply(content=fake._with_bullets(request, lambda b: [text[:450], *b[1:]]))

    with pytest.raises(SummariseError, match=r"bullet 1 has \d{3} 字"):
        summarise(long_bullets)


def test_a_cut_answer_is_repaired_not_guessed():
    summary, requests = summarise(fake.sequence(fake.truncated_json))
    assert len(requests) == 2 and summary.repairs == 1
    assert "cut off" in requests[1]["messages"][-1]["content"]


def test_validate_answer_with_hints_directly():
    content = '```json\n{"title": "标题", "emoji": ":rocket:", "section": "?", "importance": "4", "bullets": ["- ' + "要点" * 20 + '", "2. ' + "要点" * 20 + '", "' + "要点" * 20 + '",],}\n```'
    answer, problem = validate_answer(content, None, SECTIONS, section_hint="产品介绍")
    assert problem is None
    assert (answer.emoji, answer.section, answer.importance) == ("🚀", "产品介绍", 4)
    assert answer.bullets == ["要点" * 20] * 3
