"""The OpenAI-compatible client against a scripted loopback server: every failure mode a local model or a
hosted API produces, plus SSE framing quirks."""

from __future__ import annotations

import json
import socket
import time

import pytest

from interp_rag.answering.llm import LLMClient, ThinkFilter, strip_reasoning
from interp_rag.errors import LLMError
from tests.support.fake_llm import Reply, completion, fake_llm, sse

MESSAGES = [{"role": "user", "content": "Are SAEs useful?"}]


def client(base_url: str, **kw: object) -> LLMClient:
    return LLMClient(base_url=base_url, model="m", backoff=0.01, **kw)


def test_non_streamed_answer_and_request_shape() -> None:
    with fake_llm() as llm:
        llm.script(completion("Yes, with caveats [1]."))
        text = client(llm.base_url, api_key="sk-test", max_tokens=77).complete(MESSAGES)
        req = llm.requests[0]
    assert text == "Yes, with caveats [1]."
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["model"] == "m" and req["json"]["max_tokens"] == 77 and req["json"]["stream"] is False
    assert req["headers"]["Authorization"] == "Bearer sk-test"


def test_stream_with_null_content_and_reasoning_deltas() -> None:
    with fake_llm() as llm:
        llm.script(sse(["Sparse ", None, "autoencoders ", "help [1]."], reasoning=["let me think"]))
        assert "".join(client(llm.base_url).stream(MESSAGES)) == "Sparse autoencoders help [1]."


def test_stream_ends_at_finish_reason_and_a_cut_stream_is_an_error() -> None:
    with fake_llm() as llm:
        llm.script(sse(["One ", "two."], done=False))  # transformers serve sends no [DONE]
        reply = client(llm.base_url).stream(MESSAGES)
        assert "".join(reply) == "One two." and reply.finish_reason == "stop"
        # no finish_reason and no [DONE]: the server stopped mid-answer (it cannot say where), not an end
        events = [json.dumps({"choices": [{"delta": {"content": w}}]}) for w in ("Three ", "four")]
        llm.script(Reply(pieces=[f"data: {e}\n\n".encode() for e in events]))
        with pytest.raises(LLMError, match="may be cut off"):
            "".join(client(llm.base_url).stream(MESSAGES))
        # at max_tokens: the reply says so
        cut = {"choices": [{"delta": {"content": "Five six"}, "finish_reason": "length"}]}
        llm.script(Reply(pieces=[f"data: {json.dumps(cut)}\n\n".encode()]))
        reply = client(llm.base_url).stream(MESSAGES)
        assert "".join(reply) == "Five six" and reply.finish_reason == "length"


def test_events_split_and_merged_across_reads() -> None:
    e1 = json.dumps({"choices": [{"delta": {"content": "Split "}}]})
    e2 = json.dumps({"choices": [{"delta": {"content": "and merged "}}]})
    e3 = json.dumps({"choices": [{"delta": {"content": "events."}}]})
    raw = f"data: {e1}\n\ndata: {e2}\n\ndata: {e3}\n\ndata: [DONE]\n\n".encode()
    pieces = [raw[:7], raw[7:23], raw[23:90], raw[90:91], raw[91:]]  # cuts inside "data:", JSON and "\n\n"
    with fake_llm() as llm:
        llm.script(Reply(pieces=pieces, piece_delay=0.02))
        assert "".join(client(llm.base_url).stream(MESSAGES)) == "Split and merged events."
        # two events with no blank line between them, and CRLF line ends
        llm.script(Reply(pieces=[f"data: {e1}\r\ndata: {e3}\r\n\r\ndata: [DONE]\r\n\r\n".encode()]))
        assert "".join(client(llm.base_url).stream(MESSAGES)) == "Split events."


def test_think_blocks_are_stripped_streamed_and_not() -> None:
    with fake_llm() as llm:
        llm.script(sse(["<thi", "nk>I should cite [9].</th", "ink>", "The answer ", "[1]."]))
        assert "".join(client(llm.base_url).stream(MESSAGES)) == "The answer [1]."
        llm.script(completion("<think>\nhidden reasoning\n</think>\n\nVisible [2]."))
        assert client(llm.base_url).complete(MESSAGES) == "Visible [2]."
    assert strip_reasoning("reasoning whose opening tag was in the prompt</think>Answer.") == "Answer."
    f = ThinkFilter()
    assert "".join(f.feed(c) for c in "a<b and <think>x</think> c") + f.flush() == "a<b and  c"


def test_connection_refused_is_an_llm_error_after_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = client(f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(LLMError, match="(?i)could not connect"):
        c.complete(MESSAGES)
    with pytest.raises(LLMError, match="(?i)could not connect"):
        list(c.stream(MESSAGES))


def test_slow_server_times_out() -> None:
    with fake_llm() as llm:
        llm.script(Reply(delay=2.0, body=b"{}"))
        t = time.perf_counter()
        with pytest.raises(LLMError, match="did not answer within 0.5 s"):
            client(llm.base_url, read_timeout=0.5).complete(MESSAGES)
        assert time.perf_counter() - t < 1.8


def test_stream_that_stalls_mid_answer_times_out() -> None:
    first = json.dumps({"choices": [{"delta": {"content": "Partial "}}]})
    with fake_llm() as llm:
        llm.script(Reply(pieces=[f"data: {first}\n\n".encode(), b": keep-alive\n\n"], piece_delay=2.0))
        got: list[str] = []
        with pytest.raises(LLMError, match="stopped streaming"):
            for d in client(llm.base_url, read_timeout=0.5).stream(MESSAGES):
                got.append(d)
        assert got == ["Partial "]


def test_500_is_retried_then_reported() -> None:
    with fake_llm() as llm:
        llm.script(*[Reply(500, b'{"error": "boom"}')] * 3)
        with pytest.raises(LLMError, match="HTTP 500"):
            client(llm.base_url, max_retries=2).complete(MESSAGES)
        assert len(llm.requests) == 3


def test_429_then_success_with_retry_after() -> None:
    with fake_llm() as llm:
        llm.script(Reply(429, b'{"error": "slow down"}', headers={"Retry-After": "0.2"}), sse(["Fine [1]."]))
        t = time.perf_counter()
        assert "".join(client(llm.base_url).stream(MESSAGES)) == "Fine [1]."
        assert time.perf_counter() - t >= 0.2 and len(llm.requests) == 2


def test_client_errors_are_not_retried() -> None:
    with fake_llm() as llm:
        llm.script(Reply(401, b'{"error": "bad key"}'), completion("never reached"))
        with pytest.raises(LLMError, match="HTTP 401.*bad key"):
            client(llm.base_url).complete(MESSAGES)
        assert len(llm.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"choices": []}',
        b'{"object": "x"}',
        b'{"choices": [{"message": {"content": ""}}]}',
    ],
)
def test_garbage_non_streamed_answers(body: bytes) -> None:
    with fake_llm() as llm:
        llm.script(Reply(body=body))
        with pytest.raises(LLMError):
            client(llm.base_url).complete(MESSAGES)


def test_malformed_stream_is_an_error() -> None:
    with fake_llm() as llm:
        llm.script(Reply(pieces=[b"data: {not json\n\n", b"data: also not json\n\n"]))
        with pytest.raises(LLMError, match="no readable stream events"):
            list(client(llm.base_url).stream(MESSAGES))
        llm.script(Reply(pieces=[b'data: {"error": {"message": "model not loaded"}}\n\n']))
        with pytest.raises(LLMError, match="model not loaded"):
            list(client(llm.base_url).stream(MESSAGES))
        llm.script(sse([]))
        with pytest.raises(LLMError, match="empty answer"):
            list(client(llm.base_url).stream(MESSAGES))


def test_from_settings_without_base_url_means_no_llm() -> None:
    from interp_rag.settings import Settings

    assert LLMClient.from_settings(Settings(llm_base_url="")) is None
    c = LLMClient.from_settings(Settings(llm_base_url="http://localhost:11434/v1", llm_model="llama3"))
    assert c is not None and c.url == "http://localhost:11434/v1/chat/completions"
    assert c.connect_timeout == 10 and c.read_timeout == 120
