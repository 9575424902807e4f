"""URL canonicaliser, item identity and URLs typed by the user."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiandu.errors import InputError
from jiandu.urls import TRACKING_PARAMS, canonicalize, content_hash, item_key, normalize_user_url

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
HOST = st.lists(LABEL, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "com"]))
SEGMENT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                  max_size=8)
PARAM_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name not in TRACKING_PARAMS and not name.startswith("utm_"))
PARAM_VALUE = st.text(max_size=8, alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)))
QUERY = st.lists(st.tuples(PARAM_NAME, PARAM_VALUE), max_size=5)
TRACKING = st.lists(
    st.tuples(st.sampled_from(sorted(TRACKING_PARAMS) + ["utm_source", "utm_medium", "UTM_Campaign"]),
              PARAM_VALUE),
    min_size=1, max_size=3)


def build(scheme: str, host: str, port: int | None, segments: list[str], query, fragment: str) -> str:
    from urllib.parse import quote

    netloc = host if port is None else f"{host}:{port}"
    path = "".join(f"/{quote(segment, safe='')}" for segment in segments)
    url = f"{scheme}://{netloc}{path}"
    if query:
        url += "?" + urlencode(query)
    if fragment:
        url += "#" + quote(fragment, safe="")
    return url


URL_PARTS = st.tuples(
    st.sampled_from(["http", "https", "HTTPS"]),
    HOST,
    st.one_of(st.none(), st.integers(1, 65535)),
    st.lists(SEGMENT, max_size=4),
    QUERY,
    st.text(max_size=6),
)


@given(URL_PARTS)
def test_canonical_form_is_idempotent(parts):
    url = build(*parts)
    once = canonicalize(url)
    assert canonicalize(once) == once


@given(st.text(max_size=60))
def test_any_string_canonicalises_without_error_and_idempotently(text):
    once = canonicalize(text)
    assert canonicalize(once) == once


@given(URL_PARTS, TRACKING, st.text(min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_tracking_parameters_and_fragment_never_change_the_result(parts, tracking, fragment, rnd):
    scheme, host, port, segments, query, _ = parts
    plain = build(scheme, host, port, segments, query, "")
    mixed = list(query)
    for pair in tracking:
        mixed.insert(rnd.randint(0, len(mixed)), pair)
    tracked = build(scheme, host, port, segments, mixed, fragment)
    assert canonicalize(tracked) == canonicalize(plain)


@given(URL_PARTS, st.randoms(use_true_random=False))
def test_query_order_never_matters(parts, rnd):
    scheme, host, port, segments, query, fragment = parts
    shuffled = list(query)
    rnd.shuffle(shuffled)
    assert canonicalize(build(scheme, host, port, segments, shuffled, fragment)) == canonicalize(
        build(*parts))


@given(URL_PARTS, st.randoms(use_true_random=False))
def test_host_case_never_matters(parts, rnd):
    scheme, host, *rest = parts
    mixed_case = "".join(ch.upper() if rnd.random() < 0.5 else ch for ch in host)
    assert canonicalize(build(scheme, mixed_case, *rest)) == canonicalize(build(*parts))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM:443/a?b=2&a=1&utm_source=x#top", "https://example.com/a?a=1&b=2"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("https://mp.weixin.qq.com/s?__biz=M&mid=1&scene=21&chksm=ab", "https://mp.weixin.qq.com/s?__biz=M&mid=1"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("  /home/user/notes/page.html ", "/home/user/notes/page.html"),
        ("http://[::1", "http://[::1"),  # malformed: returned as is, never an exception
    ],
)
def test_canonical_examples(url, expected):
    assert canonicalize(url) == expected


def test_item_key_prefers_guid_then_url_then_content():
    assert item_key(guid=" g1 ", url="https://a.com/x") == "guid:g1"
    assert item_key(url="https://A.com/x?utm_medium=m") == "url:https://a.com/x"
    assert item_key(title="t", content="c") == f"hash:{content_hash('t', 'c')}"
    assert item_key(title="t", content="c") != item_key(title="tc", content="")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("  example.com/a?b=1 ", "https://example.com/a?b=1"),
        ("HTTP://Example.com/x", "http://Example.com/x"),
        ("www.sina.com.cn", "https://www.sina.com.cn"),
        ("localhost:8000/feed.xml", "https://localhost:8000/feed.xml"),
        ("127.0.0.1:8080", "https://127.0.0.1:8080"),
        ("例子.中国/路径", "https://例子.中国/路径"),
        ("https://a.com/x#frag", "https://a.com/x#frag"),
    ],
)
def test_normalize_user_url_accepts_hosts_and_http_urls(typed, expected):
    assert normalize_user_url(typed) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("https://a.com/x y", "spaces"),
        ("mailto:someone@example.com", "not http(s)"),
        ("ftp://files.example.com/a", "not http(s)"),
        ("javascript:alert(1)", "not http(s)"),
        ("hello", "not a URL"),
        ("https://", "no host"),
        ("http:///path", "no host"),
        ("https://a.com:99999/", "port"),
        ("   ", "empty"),
    ],
)
def test_normalize_user_url_rejects_with_the_input_named(typed, says):
    with pytest.raises(InputError) as caught:
        normalize_user_url(typed)
    assert says in str(caught.value)
    if typed.strip():
        assert typed.strip() in str(caught.value)


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_normalize_user_url_returns_http_or_raises_input_error(text):
    from urllib.parse import urlsplit

    try:
        url = normalize_user_url(text)
    except InputError:
        return
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert not any(ch.isspace() for ch in url)
