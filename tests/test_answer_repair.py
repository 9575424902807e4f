"""The forgiving fixes for real models' answers (jiandu.summarising.repair), one quirk each."""

import json

from jiandu.summarising.repair import clean_bullet, clean_emoji, default_emoji, load_answer, mend_answer

SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]
ANSWER = {"title": "标题", "emoji": "🤖", "section": "产业资讯", "importance": 3,
          "bullets": ["第一条要点。", "第二条要点。", "第三条要点。"]}


def test_plain_json_is_read_as_is():
    assert load_answer(json.dumps(ANSWER, ensure_ascii=False)) == (ANSWER, None)


def test_fenced_json():
    data, problem = load_answer("```json\n" + json.dumps(ANSWER, ensure_ascii=False) + "\n```")
    assert problem is None and data == ANSWER
    data, _ = load_answer("```\n" + json.dumps(ANSWER) + "\n```")
    assert data == ANSWER


def test_raw_control_characters_inside_strings():
    raw = '{"title": "标题", "bullets": ["第一行\n第二行", "制表\t符", "三"]}'
    data, problem = load_answer(raw)
    assert problem is None and data["bullets"][0] == "第一行\n第二行" and data["bullets"][1] == "制表\t符"


def test_trailing_commas_and_single_quotes():
    data, problem = load_answer("{'title': '标题', 'bullets': ['一', '二', '三',], 'importance': 4,}")
    assert problem is None and data == {"title": "标题", "bullets": ["一", "二", "三"], "importance": 4}


def test_prose_around_the_json():
    data, problem = load_answer('Sure! Here is the summary:\n{"title": "标题", "bullets": []}\nHope it helps!')
    assert problem is None and data["title"] == "标题"
    data, problem = load_answer('以下是摘要：\n```json\n{"title": "标题"}\n```\n希望有帮助')
    assert problem is None and data == {"title": "标题"}


def test_a_cut_answer_is_told_apart_from_near_json():
    assert load_answer('{"title": "标题", "bullets": ["一", "二}')[1].endswith("(cut off)")
    assert load_answer("{'title': 'it\\'s [fine', 'bullets': ['a',],}")[1] is None


def test_a_bare_list_is_the_bullets():
    data, problem = load_answer('["一", "二", "三"]')
    assert problem is None and data == {"bullets": ["一", "二", "三"]}
    mended = mend_answer(data, SECTIONS, "技术教程", title_hint="原文标题")
    assert mended["title"] == "原文标题" and mended["section"] == "技术教程"


def test_what_cannot_be_read_says_why():
    assert load_answer("I cannot summarise this.") == (None, "the answer has no JSON object")
    half = json.dumps(ANSWER, ensure_ascii=False)[:60]
    assert load_answer(half) == (None, "the answer stops before its JSON closes (cut off)")
    assert load_answer("[1, 2]")[1] == "the answer is not a JSON object"


def test_emoji_shortcodes_become_emoji():
    assert clean_emoji(":robot_face:", "产业资讯") == "🤖"
    assert clean_emoji(":computer: :rocket:", "产业资讯") == "💻🚀"


def test_keycaps_numbers_words_and_unknown_shortcodes_are_dropped():
    assert clean_emoji("1️⃣🤖", "其他") == "🤖"
    assert clean_emoji("1️⃀️", "产品介绍") == default_emoji("产品介绍")  # the junk a real model wrote
    assert clean_emoji("1,3", "技术教程") == default_emoji("技术教程")
    assert clean_emoji(":smiling_face_with_smile:", "产业资讯") == default_emoji("产业资讯")
    assert clean_emoji(None, "unknown section") == "📰"


def test_at_most_three_emoji_and_flags_and_joined_sequences_kept_whole():
    assert clean_emoji("🤖🚀📱💡", "其他") == "🤖🚀📱"
    assert clean_emoji("🇨🇳👩‍💻", "其他") == "🇨🇳👩‍💻"


def test_bullet_marks_stripped_and_line_breaks_joined():
    assert clean_bullet("- 第一条") == "第一条"
    assert clean_bullet("1. 第一条") == "第一条"
    assert clean_bullet("（2）第二条") == "第二条"
    assert clean_bullet("第一行，\n第二行。") == "第一行，第二行。"
    assert clean_bullet("OpenAI released\nGPT-5 today") == "OpenAI released GPT-5 today"
    assert clean_bullet({"text": "- 要点"}) == "要点"
    # A number that starts a sentence is not a list mark.
    assert clean_bullet("2024年营收增长。") == "2024年营收增长。"


def test_mend_answer_fixes_section_emoji_importance_and_bullets():
    data = {"title": "  标题  ", "emoji": ":robot_face:", "section": "Tech", "importance": "9",
            "bullets": "- 一\n- 二\n- 三"}
    mended = mend_answer(data, SECTIONS, "技术教程")
    assert mended == {"title": "标题", "emoji": "🤖", "section": "技术教程", "importance": 5,
                      "bullets": ["一", "二", "三"]}
    assert mend_answer({**data, "section": "产品介绍"}, SECTIONS, None)["section"] == "产品介绍"
    assert mend_answer(data, SECTIONS, "not configured")["section"] == "其他"
    assert data["section"] == "Tech"  # the input is left alone


def test_mend_answer_keeps_what_is_strict_for_the_validator():
    # Two bullets stay two: the validator asks again; a title in English stays English.
    mended = mend_answer({"title": "English title", "bullets": ["一", "二"]}, SECTIONS, None)
    assert mended["bullets"] == ["一", "二"] and mended["title"] == "English title"
