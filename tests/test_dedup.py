"""One story, once: near-duplicate detection over character shingles."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jiandu.dedup import (
    MIN_CHARS,
    NO_SIGNATURE,
    StoryMatcher,
    normalise,
    signature,
    similarity,
)

CLIPPINGS = Path(__file__).parent / "fixtures" / "saved" / "seed001_clippings.md"

SAFETY = (
    "OpenAI周二公布了新的安全框架，称将在模型训练和部署的每个阶段评估灾难性风险。"
    "该框架由新成立的准备团队负责执行，团队会定期向董事会提交风险报告，"
    "董事会有权推翻管理层作出的发布决定。OpenAI表示，这一框架目前仍处于测试阶段，"
    "后续将根据外部专家和用户的反馈持续更新。"
)
LAPTOP = (
    "某电脑厂商本周发布了新一代轻薄笔记本，搭载自研处理器，官方称续航最长可达二十小时。"
    "新机起售价与上一代持平，提供三种配色，将于下月初在国内上市。"
    "分析人士认为，这将进一步巩固该厂商在高端市场的地位，并对其他品牌形成压力。"
)
WEATHER = (
    "气象部门预计，本周末北方地区将迎来大范围降温，部分地区气温降幅超过十度，"
    "并伴有大风和雨雪天气。专家提醒市民及时添衣，出行注意交通安全，"
    "农业生产单位要提前做好设施大棚的防风保暖工作，防止作物受冻。"
)


def lightly_edited(text: str) -> str:
    """The same story as another outlet prints it: punctuation swapped, one sentence added."""
    swapped = text.replace("，", ",").replace("。", ". ").replace("“", '"').replace("”", '"')
    return swapped + "记者了解到，相关细节将在近期公布。"


def reworded(text: str) -> str:
    """A third outlet: a lead-in, full-width letters and digits, paragraphs reflowed."""
    full_width = "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch
                         for ch in text)
    return "据报道，" + full_width.replace("。", "。\n\n")


def test_normalise_folds_width_case_whitespace_and_punctuation():
    assert normalise("ＡＢＣ，ａｂｃ 1２3。\n「Hello」!") == "abcabc123hello"


def test_lightly_edited_chinese_story_matches():
    matcher = StoryMatcher()
    matcher.add("safety", signature(SAFETY))
    assert similarity(signature(SAFETY), signature(lightly_edited(SAFETY))) >= 0.8
    assert matcher.match(signature(lightly_edited(SAFETY))) == "safety"
    assert matcher.match(signature(reworded(SAFETY))) == "safety"


def test_different_stories_do_not_match():
    matcher = StoryMatcher()
    stories = {"safety": SAFETY, "laptop": LAPTOP, "weather": WEATHER}
    for name, text in stories.items():
        assert matcher.match(signature(text)) is None, name
        matcher.add(name, signature(text))
    for name, text in stories.items():
        assert matcher.match(signature(text)) == name
    assert similarity(signature(SAFETY), signature(LAPTOP)) < 0.3


def test_short_texts_never_match():
    short = "OpenAI发布新模型。"
    assert len(normalise(short)) < MIN_CHARS
    assert signature(short) == NO_SIGNATURE
    matcher = StoryMatcher()
    matcher.add("short", signature(short))
    assert len(matcher) == 0
    assert matcher.match(signature(short)) is None


def test_signature_is_compact_and_the_same_in_every_process():
    sig = signature(SAFETY)
    assert isinstance(sig, bytes) and 0 < len(sig) <= 600
    code = ("import sys; from jiandu.dedup import signature; "
            "sys.stdout.write(signature(sys.stdin.read()).hex())")
    for hash_seed in ("1", "12345"):
        other = subprocess.run(
            [sys.executable, "-c", code], input=SAFETY, capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        assert bytes.fromhex(other) == sig


def test_a_damaged_signature_is_reported():
    with pytest.raises(ValueError, match="not a dedup signature"):
        StoryMatcher().match(b"\x01\x02\x03")


def real_stories(count: int) -> list[str]:
    """Distinct long posts from the user's clippings seed, as stand-ins for news stories."""
    text = CLIPPINGS.read_text(encoding="utf-8")
    posts = [body.strip() for body in re.split(r"(?m)^### \d+\s*$", text)[1:]]
    long_posts = [post for post in posts if 300 <= len(normalise(post)) <= 3000]
    assert len(long_posts) >= count
    return long_posts[:count]


def test_twenty_stories_from_three_outlets_make_twenty_groups():
    stories = real_stories(20)
    copies = [(story_no, outlet(text)) for story_no, text in enumerate(stories)
              for outlet in (str, lightly_edited, reworded)]
    random.Random(7).shuffle(copies)

    matcher = StoryMatcher()
    group_of_copy: list[int] = []
    groups = 0
    for _, text in copies:
        sig = signature(text)
        group = matcher.match(sig)
        if group is None:
            group, groups = groups, groups + 1
        matcher.add(group, sig)
        group_of_copy.append(group)

    assert groups == 20
    members: dict[int, set[int]] = {}
    for (story_no, _), group in zip(copies, group_of_copy, strict=True):
        members.setdefault(group, set()).add(story_no)
    assert all(len(stories_in_group) == 1 for stories_in_group in members.values())


@pytest.mark.slow
def test_ten_thousand_distinct_texts_stay_ten_thousand_stories():
    # How long this takes is the benchmark's business (bench/), not an assertion here.
    rng = random.Random(2024)
    alphabet = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]
    texts = ["".join(rng.choices(alphabet, k=300)) for _ in range(10_000)]
    matcher = StoryMatcher()
    for number, text in enumerate(texts):
        sig = signature(text)
        if matcher.match(sig) is None:
            matcher.add(number, sig)
    assert len(matcher) == 10_000  # random texts share no story
