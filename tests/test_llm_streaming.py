"""Bounded answers and deadlines that tell slow from stuck (issue 21), through the real openai
SDK against jiandu.testing.llm_server on 127.0.0.1: streaming, slow writers, runaways, silent
and drip-feeding servers, endpoints without streaming, and local servers' context and slots."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jiandu.connectors.llm import NO_STREAM, STREAM_PLAIN, SSEDecoder, Usage, is_local, llama_cpp_info, ollama_info
from jiandu.errors import SummariseError
from jiandu.records import ArticleInput
from jiandu.settings import Settings
from jiandu.summarising.limits import DEFAULT_MAX_OUTPUT, context_window, input_budget, model_key
from jiandu.summarising.llm import LLMSummariser, complete_lines, from_settings
from jiandu.summarising.runaway import repeating_tail
from jiandu.testing import llm_server as fake
from jiandu.testing.llm_server import LLMServer, Reply

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]
MODEL = "gpt-4o-mini"


def article(name: str = "gmw") -> ArticleInput:
    data = json.loads((ARTICLES / f"{name}.json").read_text(encoding="utf-8"))
    return ArticleInput(title=data["title"], text=data["text"], url=f"https://example.org/{name}")


def summariser(server: LLMServer, **options) -> LLMSummariser:
    options = {"backoff_base": 0.001, "backoff_max": 0.01, "timeout": 5, **options}
    return LLMSummariser(base_url=server.base_url, api_key="test-key", model=MODEL, **options)


def wait_for(condition, seconds: float = 10.0) -> bool:
    """The server notices a hang-up on its own thread: give it a moment (not a timing check)."""
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


# ---- pure parts -------------------------------------------------------------------------


def test_sse_decoder_joins_events_split_anywhere():
    stream = 'data: {"a": 1}\r\n\r\n: comment\n\ndata: {"b":\ndata: 2}\n\nevent: x\ndata: [DONE]\n\n'.encode()
    decoder, events = SSEDecoder(), []
    for index in range(len(stream)):  # one byte at a time, as a drip-feed sends it
        events += decoder.feed(stream[index:index + 1])
    assert events == ['{"a": 1}', '{"b":\n2}', "[DONE]"]
    unfinished = SSEDecoder()
    assert unfinished.feed(b"data: tail") == [] and unfinished.close() == ["tail"]


def test_repeating_tail_finds_runaways_not_prose():
    text = article().text
    assert repeating_tail(text) is None
    assert repeating_tail('{"bullets": ["' + "并且该公司表示，" * 8) == "并且该公司表示，"
    assert repeating_tail("前言" + "并且该公司表示，" * 9 + "并且该") is not None  # cut part way through a repeat
    assert repeating_tail("\n" * 64) == "\n"
    assert repeating_tail("好" * 20) is None  # too short a span to call it a runaway
    assert repeating_tail("".join(f"第{n}条说明各不相同，" for n in range(200))) is None


def test_cut_notes_keep_complete_lines_once():
    assert complete_lines("- 甲\n- 乙\n- 乙\n- 丙被截") == "- 甲\n- 乙"
    assert complete_lines("没有换行") == ""


def test_context_table_and_budget():
    assert model_key("openai/gpt-4o-mini") == "gpt-4o-mini" and model_key("qwen2.5:0.5b") == "qwen2.5"
    assert context_window("gpt-4o-mini") == 128_000 and context_window("gpt-4.1-mini") == 1_047_576
    assert context_window("deepseek-chat") == 64_000 and context_window("qwen-plus-latest") == 131_072
    assert context_window("anthropic/claude-3-5-sonnet") == 200_000
    assert context_window("llama3.1:8b") == 131_072 and context_window("llama3:8b") == 8_192
    assert context_window("my-own-model") is None
    summary = DEFAULT_MAX_OUTPUT["summary"]
    assert input_budget("my-own-model") == int((8_192 - summary) * 0.9)  # the safe default
    assert input_budget("gpt-4o-mini") > 100_000
    # A local server that said nothing: its model's window is not trusted past 4,096.
    assert input_budget("qwen2.5:0.5b", local=True) == int((4_096 - summary) * 0.9)
    assert input_budget("qwen2.5:0.5b", served_context=16_384, local=True) == int((16_384 - summary) * 0.9)
    assert input_budget("tiny", served_context=1_000) == 500


def test_local_addresses():
    for url in ("http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://192.168.1.5:8080/v1",
                "http://10.0.0.2/v1", "http://[::1]:8080/v1", "http://gpu.local:8000/v1"):
        assert is_local(url), url
    for url in ("https://api.openai.com/v1", "https://api.deepseek.com", "http://8.8.8.8/v1"):
        assert not is_local(url), url


def test_server_self_descriptions():
    assert llama_cpp_info({"default_generation_settings": {"n_ctx": 8192}, "total_slots": 4}).slots == 4
    shown = {"parameters": "stop \"<|im_end|>\"\nnum_ctx 16384", "model_info": {"qwen2.context_length": 32768}}
    assert ollama_info(shown).context_tokens == 16_384
    assert ollama_info({"model_info": {"qwen2.context_length": 32768}}).context_tokens == 4_096
    assert ollama_info({"model_info": {"llama.context_length": 2048}}).context_tokens == 2_048


def test_output_tokens_setting(monkeypatch):
    monkeypatch.setenv("JIANDU_LLM_MAX_OUTPUT_TOKENS", "900")
    assert Settings().llm_max_output_tokens == {task: 900 for task in DEFAULT_MAX_OUTPUT}
    monkeypatch.setenv("JIANDU_LLM_MAX_OUTPUT_TOKENS", '{"part": 600}')
    assert Settings().llm_max_output_tokens == {"part": 600}
    monkeypatch.setenv("JIANDU_LLM_MAX_OUTPUT_TOKENS", '{"essay": 600}')
    with pytest.raises(Exception, match="essay"):
        Settings()


# ---- through the server -----------------------------------------------------------------


def test_requests_stream_with_usage_and_carry_max_tokens():
    with LLMServer() as server:
        summary = summariser(server).summarise(article(), SECTIONS)
    request = server.requests[0]
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert request["max_tokens"] == DEFAULT_MAX_OUTPUT["summary"]
    # The server's own usage counts, not an estimate: its completion tokens are what it wrote.
    assert summary.completion_tokens == server.completion_tokens[1]


def test_runaway_is_cut_at_max_tokens_repaired_with_brevity_and_counted():
    cap = 300
    with LLMServer(fake.sequence(lambda r, n: Reply(runaway=True, runaway_phrase=""))) as server:
        summary = summariser(server, max_output={"summary": cap}).summarise(article(), SECTIONS)
    assert (summary.requests, summary.repairs) == (2, 1)
    assert server.requests[0]["max_tokens"] == cap
    assert server.completion_tokens[1] == cap  # the server wrote up to the cap, no further
    repair = server.requests[1]["messages"][-1]["content"]
    assert f"answer cut at {cap} tokens" in repair and "简短" in repair
    # The cut answer's tokens are paid for like any others.
    assert summary.completion_tokens == server.completion_tokens[1] + server.completion_tokens[2]


def test_an_answer_that_runs_away_twice_fails_with_the_reason():
    with LLMServer(fake.runaway) as server:
        with pytest.raises(SummariseError) as failed:
            summariser(server).summarise(article(), SECTIONS)
    assert "answer cut at" in failed.value.reason and "after one repair" in failed.value.reason
    assert failed.value.requests == 2
    assert max(server.completion_tokens.values()) <= DEFAULT_MAX_OUTPUT["summary"]
    assert failed.value.completion_tokens > 0


def test_repetition_stops_the_answer_early_and_closes_the_connection():
    with LLMServer(fake.sequence(fake.runaway), tokens_per_second=2000) as server:
        summary = summariser(server).summarise(article(), SECTIONS)
        assert wait_for(lambda: server.hangups >= 1)
    assert summary.repairs == 1
    # Stopped long before max_tokens: the server stopped writing when the client hung up.
    assert server.completion_tokens[1] < DEFAULT_MAX_OUTPUT["summary"] // 4
    assert "repeated" in server.requests[1]["messages"][-1]["content"]


def test_slow_but_steady_model_is_never_abandoned():
    # About 200 tokens at 100 a second: two seconds an answer, four times the longest silence.
    with LLMServer(tokens_per_second=100) as server:
        summary = summariser(server, timeout=0.5, max_attempts=1).summarise(article(), SECTIONS)
    assert summary.requests == 1 and server.completion_tokens[1] > 100
    assert server.hangups == 0


def test_silent_server_is_abandoned_after_the_timeout_and_its_connection_closed():
    with LLMServer(fake.silent) as server:
        with pytest.raises(SummariseError, match=r"no answer from .* for 0.5s"):
            summariser(server, timeout=0.5, max_attempts=1).summarise(article(), SECTIONS)
        assert wait_for(lambda: server.hangups == 1)


def test_a_stream_that_stops_is_abandoned_and_its_tokens_counted():
    with LLMServer(lambda r, n: Reply(stall_after=10)) as server:
        with pytest.raises(SummariseError) as failed:
            summariser(server, timeout=0.5, max_attempts=2).summarise(article(), SECTIONS)
        assert wait_for(lambda: server.hangups == 2)
    assert "no answer from" in failed.value.reason and failed.value.requests == 2
    assert failed.value.completion_tokens > 0  # what arrived was counted


def test_drip_feed_is_bounded_by_the_request_deadline():
    with LLMServer(fake.drip(0.02)) as server:
        with pytest.raises(SummariseError, match="within the 1s deadline"):
            summariser(server, timeout=0.5, request_deadline=1, max_attempts=1).summarise(article(), SECTIONS)
        assert wait_for(lambda: server.hangups == 1)


@pytest.mark.parametrize("how, mode", [("reject_stream_options", STREAM_PLAIN), ("reject_stream", NO_STREAM)])
def test_endpoints_that_reject_streaming_are_asked_again_plainly(how, mode):
    with LLMServer(**{how: True}) as server:
        chosen = summariser(server)
        first = chosen.summarise(article(), SECTIONS)
        second = chosen.summarise(article("bbc-1"), SECTIONS)
    assert chosen.client.stream_mode == mode
    assert first.requests == 2 and second.requests == 1  # the client remembers
    assert first.completion_tokens > 0 and second.completion_tokens > 0


def test_endpoints_that_ignore_streaming_and_the_setting_that_turns_it_off():
    with LLMServer(streaming=False) as server:
        assert summariser(server).summarise(article(), SECTIONS).requests == 1
    with LLMServer() as server:
        summariser(server, stream=False).summarise(article(), SECTIONS)
    assert "stream" not in server.requests[0]


def test_split_parts_run_at_once_and_combine_comes_last():
    base = article()
    text = "\n".join([base.text] * 4)
    with LLMServer(latency=0.3) as server:
        summary = summariser(server, input_token_budget=2000).summarise(
            ArticleInput(title=base.title, text=text), SECTIONS)
    parts = [r for r in server.requests if "response_format" not in r]
    assert len(parts) >= 3 and server.peak_in_flight >= 2
    assert all(r["max_tokens"] == DEFAULT_MAX_OUTPUT["part"] for r in parts)
    assert "response_format" in server.requests[-1]
    assert server.requests[-1]["max_tokens"] == DEFAULT_MAX_OUTPUT["combine"]
    assert summary.requests == len(server.requests)


def test_local_server_sets_budget_and_concurrency(monkeypatch):
    props = {"default_generation_settings": {"n_ctx": 3000}, "total_slots": 3}
    with LLMServer(llama_cpp_props=props) as server:
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("JIANDU_LLM_MODEL", "qwen2.5:0.5b")
        chosen = from_settings(Settings())
        assert (chosen.max_concurrency, chosen.input_token_budget) == (3, int((3000 - 1200) * 0.9))
        monkeypatch.setenv("JIANDU_LLM_MAX_CONCURRENCY", "5")
        monkeypatch.setenv("JIANDU_LLM_INPUT_TOKEN_BUDGET", "2500")
        chosen = from_settings(Settings())
        assert (chosen.max_concurrency, chosen.input_token_budget) == (5, 2500)
    show = {"parameters": "num_ctx 8192", "model_info": {"qwen2.context_length": 32768}}
    monkeypatch.delenv("JIANDU_LLM_MAX_CONCURRENCY")
    monkeypatch.delenv("JIANDU_LLM_INPUT_TOKEN_BUDGET")
    with LLMServer(ollama_show=show) as server:
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", server.base_url)
        chosen = from_settings(Settings())
        assert (chosen.max_concurrency, chosen.input_token_budget) == (1, int((8192 - 1200) * 0.9))
    with LLMServer() as server:  # says nothing about itself
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", server.base_url)
        chosen = from_settings(Settings())
        assert (chosen.max_concurrency, chosen.input_token_budget) == (1, int((4096 - 1200) * 0.9))
    monkeypatch.setenv("JIANDU_LLM_BASE_URL", "https://api.example.com/v1")
    monkeypatch.setenv("JIANDU_LLM_MODEL", "deepseek-chat")
    chosen = from_settings(Settings())
    assert (chosen.max_concurrency, chosen.input_token_budget) == (8, int((64_000 - 1200) * 0.9))


def test_a_part_whose_notes_run_away_is_asked_once_more():
    base = article()
    text = "\n".join([base.text] * 4)
    with LLMServer(fake.sequence(fake.runaway)) as server:
        summary = summariser(server, input_token_budget=2000).summarise(
            ArticleInput(title=base.title, text=text), SECTIONS)
    parts = [r for r in server.requests if "response_format" not in r]
    again = [r for r in parts if len(r["messages"]) == 3]
    assert len(again) == 1 and "answer cut at" in again[0]["messages"][-1]["content"]
    assert summary.repairs == 1 and summary.requests == len(server.requests)


def test_a_hosted_model_behind_a_loopback_url_is_a_gateway(monkeypatch):
    with LLMServer() as server:  # a LiteLLM-style proxy: says nothing about itself
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("JIANDU_LLM_MODEL", "gpt-4o-mini")
        chosen = from_settings(Settings())
    assert (chosen.max_concurrency, chosen.input_token_budget) == (8, int((128_000 - 1200) * 0.9))


def test_streaming_by_default_from_local_servers_only(monkeypatch):
    from jiandu.connectors.llm import STREAM_WITH_USAGE

    monkeypatch.setenv("JIANDU_LLM_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("JIANDU_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: no probe answer
    assert from_settings(Settings()).client.stream_mode == STREAM_WITH_USAGE
    monkeypatch.setenv("JIANDU_LLM_STREAM", "off")
    assert from_settings(Settings()).client.stream_mode == NO_STREAM
    monkeypatch.setenv("JIANDU_LLM_BASE_URL", "https://api.example.com/v1")
    monkeypatch.delenv("JIANDU_LLM_STREAM")
    assert from_settings(Settings()).client.stream_mode == NO_STREAM
    monkeypatch.setenv("JIANDU_LLM_STREAM", "true")
    assert from_settings(Settings()).client.stream_mode == STREAM_WITH_USAGE
