"""Property and fuzz tests: the 字 counter, the stats line, and feed parsing over mutated real
feeds (which may fail only with a FetchError subclass, never with anything else)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiandu.connectors.errors import FetchError
from jiandu.connectors.feeds import parse_feed
from jiandu.stats_line import READING_SPEED_ZI_PER_MINUTE, digest_stats
from jiandu.zi import count_zi, half_up

FEEDS = Path(__file__).parent / "fixtures" / "feeds"

# Text as feeds give it: CJK, ASCII letters and digits, full/half-width punctuation, emoji,
# accented Latin, whitespace of every kind.
SEPARATORS = list(" \t\n\u3000,.;:!?()[]-—–·、，。；：！？「」『』（）《》…“”‘’\"'") + ["\u00a0"]
ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),
    st.sampled_from("abcXYZ0123456789"),
    st.sampled_from(SEPARATORS),
    st.sampled_from("éüßñ😀🤖ｱＡ１"),
)
TEXT = st.text(ALPHABET, max_size=80)
SEPARATOR = st.sampled_from(SEPARATORS)


def is_ascii_alnum(character: str) -> bool:
    return character.isascii() and character.isalnum()


@given(TEXT, TEXT, SEPARATOR)
def test_zi_is_additive_over_a_separated_concatenation(a, b, separator):
    assert count_zi(a + separator + b) == count_zi(a) + count_zi(b)


@given(TEXT, st.data())
def test_punctuation_or_space_between_words_changes_nothing(text, data):
    position = data.draw(st.integers(0, len(text)))
    inside_a_word = 0 < position < len(text) and is_ascii_alnum(text[position - 1]) and is_ascii_alnum(text[position])
    separator = data.draw(SEPARATOR)
    changed = text[:position] + separator + text[position:]
    # Between two letters of one Latin word, a separator makes it two words: one 字 more.
    assert count_zi(changed) == count_zi(text) + (1 if inside_a_word else 0)


@given(TEXT)
def test_zi_never_counts_more_than_characters_and_ignores_separators(text):
    assert 0 <= count_zi(text) <= len(text)
    assert count_zi("".join(ch for ch in text if ch in SEPARATORS)) == 0


@given(st.integers(0, 10**7), st.lists(TEXT, max_size=12))
def test_stats_follow_their_formulas_with_halves_rounded_up(source_chars, bullets):
    stats = digest_stats(source_chars, bullets)
    digest = sum(count_zi(b) for b in bullets)
    assert stats.digest_chars == digest and stats.source_chars == source_chars
    # Half up in integers: floor(x / y + 1/2) == (2x + y) // 2y.
    assert stats.minutes == (2 * digest + READING_SPEED_ZI_PER_MINUTE) // (2 * READING_SPEED_ZI_PER_MINUTE)
    if digest:
        assert stats.efficiency == (2 * source_chars + digest) // (2 * digest) * 100
    else:
        assert stats.efficiency == 0
    assert stats.efficiency % 100 == 0 and stats.minutes >= 0


@given(st.integers(0, 10**6), st.integers(1, 10**4))
def test_half_up_rounds_halves_up_and_the_rest_to_nearest(numerator, denominator):
    value = Fraction(numerator, denominator)
    rounded = half_up(value)
    assert abs(value - rounded) <= Fraction(1, 2)
    if value - int(value) == Fraction(1, 2):
        assert rounded == int(value) + 1


def test_stats_on_exact_halves():
    assert digest_stats(0, ["字" * 200]).minutes == 1  # 0.5 min -> 1
    assert digest_stats(0, ["字" * 600]).minutes == 2  # 1.5 -> 2, where round() gives 2 too
    assert digest_stats(0, ["字" * 1000]).minutes == 3  # 2.5 -> 3, where round() gives 2
    assert digest_stats(250, ["字" * 100]).efficiency == 300  # 2.5 -> 3
    assert digest_stats(0, []).efficiency == 0


# --- feeds over mutations -----------------------------------------------------------------

FEED_FILES = sorted(p for p in FEEDS.rglob("*") if p.suffix in (".xml", ".json", ".rdf", ".atom")
                    and p.stat().st_size < 200_000)


@st.composite
def mutated_feed(draw):
    body = bytearray(draw(st.sampled_from(FEED_FILES)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if kind == "flip" and body:
            body[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del body[at:]
        elif kind == "insert":
            body[at:at] = draw(st.sampled_from([b"<", b">", b"&", b"]]>", b"<![CDATA[", b"\x00", b"\xff\xfe",
                                                b"<?xml version='1.0' encoding='x-bogus'?>", b"&#0;",
                                                b"<!ENTITY x SYSTEM 'file:///etc/passwd'>", b"&x;",
                                                b'{"version": "https://jsonfeed.org/version/1.1"',
                                                draw(st.binary(max_size=16))]))
        elif kind == "delete":
            del body[at:at + draw(st.integers(1, 64))]
    return bytes(body)


def test_there_are_real_feeds_to_mutate():
    assert len(FEED_FILES) > 50


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_feed(), st.sampled_from([None, "utf-8", "gb2312", "x-bogus", "utf-16"]),
       st.sampled_from([None, "application/rss+xml", "application/json", "text/html"]))
def test_mutated_real_feeds_never_raise_anything_but_a_fetch_error(body, charset, content_type):
    try:
        result = parse_feed(body, url="https://example.com/feed.xml", content_type=content_type, charset=charset)
    except FetchError as error:
        assert error.url == "https://example.com/feed.xml" and error.reason
        return
    for entry in result.entries:
        assert entry.key and isinstance(entry.title, str) and isinstance(entry.content, str)
        assert entry.url is None or entry.url.startswith(("http://", "https://"))


@pytest.mark.parametrize("body", [b"", b"\x00" * 100, b"<", b"{", b"<?xml", b"\xef\xbb\xbf", b"[]", b"null"])
def test_degenerate_bodies_fail_with_a_fetch_error(body):
    with pytest.raises(FetchError):
        parse_feed(body, url="https://example.com/feed.xml")
