"""字 counting and half-up rounding, on hand-counted examples."""

from fractions import Fraction

import pytest

from jiandu.zi import count_zi, half_up


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t", 0),
        ("，。！？、；：“”（）《》…—·,.!?;:'\"()[]-*#>", 0),
        ("简读", 2),
        ("人工智能会让我们失业吗？", 11),
        ("GPT-4", 2),  # GPT and 4
        ("OpenAI发布GPT-4.5模型", 1 + 2 + 1 + 1 + 1 + 2),  # OpenAI 发布 GPT 4 5 模型
        ("2024年1月26日发布", 3 + 3 + 2),  # 2024 1 26 年月日 发布
        ("62亿亿次，全球第二", 1 + 3 + 4),
        ("Hello, world! 你好 123", 2 + 2 + 1),
        ("Adobe终止200亿美元收购Figma计划", 1 + 2 + 1 + 3 + 2 + 1 + 2),
        ("llama_cpp v0.3.36", 5),  # llama, cpp, v0, 3, 36: underscore and dot split runs
        ("㐀㐁", 2),  # Extension A
        ("\uf900\ufa0e", 2),  # Compatibility Ideographs
        ("ひらがな カタカナ 한국어", 0),  # kana and hangul are not CJK ideographs
        ("🤖☕🌟 🇪🇺", 0),
        ("２０２４ＡＩ", 0),  # full-width forms: not ASCII letters or digits, as the checker counts
    ],
)
def test_count_zi(text, expected):
    assert count_zi(text) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (19.5, 20),
        (20.5, 21),
        (0.5, 1),
        (0.49, 0),
        (19.4999, 19),
        (Fraction(7945, 400), 20),
        (Fraction(9388, 400), 23),
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),  # round() would give 2
        (0, 0),
        (13, 13),
    ],
)
def test_half_up(x, expected):
    assert half_up(x) == expected


def test_half_up_differs_from_bankers_rounding():
    assert [half_up(x) for x in (0.5, 1.5, 2.5, 3.5)] == [1, 2, 3, 4]
    assert [round(x) for x in (0.5, 1.5, 2.5, 3.5)] == [0, 2, 2, 4]
