"""A hostile or broken LLM server, against the scripted loopback server: every reply is bounded in time and
bytes, malformed ones are LLMErrors (which the caller turns into the extractive answer), never tracebacks,
hangs or gigabytes."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from interp_rag import answer
from interp_rag.answering.citations import validate_citations
from interp_rag.answering.extractive import sentences
from interp_rag.answering.llm import LLMClient
from interp_rag.answering.llm_wire import sse_data
from interp_rag.answering.stance_pass import parse_labels
from interp_rag.answering.support import check_support
from interp_rag.errors import LLMError
from interp_rag.ingest.doc2query import parse_reply, usable
from interp_rag.text import strip_control
from interp_rag.types import Passage
from tests.support.fake_llm import Reply, completion, fake_llm, sse

Q = "Are linear probes a reliable way to understand what a model computes?"
MSG = [{"role": "user", "content": "hi"}]


def event(obj: object) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


def delta(text: str) -> bytes:
    return event({"choices": [{"index": 0, "delta": {"content": text}}]})


def client(url: str, **kw: object) -> LLMClient:
    return LLMClient(url, model="m", max_retries=0, **kw)  # type: ignore[arg-type]


def test_a_server_that_trickles_is_stopped_at_the_deadline() -> None:
    # each read is well within the read timeout; only the deadline for the whole call stops it
    with fake_llm() as llm:
        llm.script(Reply(pieces=[b": ping\n\n"] * 200, piece_delay=0.05))
        t = time.monotonic()
        with pytest.raises(LLMError, match=r"took more than 1 s in all \(INTERP_RAG_LLM__DEADLINE\)"):
            list(client(llm.base_url, read_timeout=5, deadline=1.0).stream(MSG))
    assert time.monotonic() - t < 3


def test_an_endless_stream_is_stopped_at_the_byte_limit() -> None:
    with fake_llm() as llm:
        llm.script(Reply(pieces=[delta("words " * 100)] * 200))
        got: list[str] = []
        with pytest.raises(LLMError, match=r"more than 20,000 bytes \(INTERP_RAG_LLM__MAX_REPLY_BYTES\)"):
            for piece in client(llm.base_url, max_reply_bytes=20_000).stream(MSG):
                got.append(piece)
    assert 0 < len("".join(got)) <= 20_000


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"x" * 50_000),  # a huge body
        Reply(body=gzip.compress(b"\0" * 20_000_000), headers={"Content-Encoding": "gzip"}),  # a gzip bomb
    ],
)
def test_a_huge_or_expanding_body_is_stopped_at_the_byte_limit(reply: Reply) -> None:
    with fake_llm() as llm:
        llm.script(reply)
        t = time.monotonic()
        with pytest.raises(LLMError, match="more than 20,000 bytes"):
            client(llm.base_url, max_reply_bytes=20_000).complete(MSG)
    assert time.monotonic() - t < 3


@pytest.mark.parametrize(
    "reply,says",
    [
        (Reply(pieces=[event({"choices": [5]}), event({"choices": "abc"})]), "empty answer"),
        (Reply(pieces=[b"data: " + b"[" * 100_000 + b"\n\n"]), "no readable stream events"),
        (Reply(body=b"not gzip", headers={"Content-Encoding": "gzip"}), "could not be decoded"),
        (
            Reply(body=json.dumps({"choices": [{"message": {"content": 42}}]}).encode()),
            "not a chat completion",
        ),
        (Reply(body=b"[" * 100_000), "not a chat completion"),
        (
            Reply(pieces=[delta("Probes are "), b"data: {not json: 'not '}\n\n", delta("reliable [1].")]),
            "unreadable",
        ),
    ],
)
def test_malformed_replies_are_llm_errors_not_tracebacks(reply: Reply, says: str) -> None:
    with fake_llm() as llm:
        llm.script(reply)
        c = client(llm.base_url)
        with pytest.raises(LLMError, match=says):
            list(c.stream(MSG)) if reply.pieces else c.complete(MSG)


def test_content_given_as_parts_and_a_whole_completion_for_a_stream_are_read() -> None:
    parts = {"choices": [{"message": {"content": [{"type": "text", "text": "Probes "}, {"text": "work."}]}}]}
    with fake_llm() as llm:
        llm.script(Reply(body=json.dumps(parts).encode()), completion("Probes work [1]."))
        c = client(llm.base_url)
        assert c.complete(MSG) == "Probes work."
        assert list(c.stream(MSG)) == ["Probes work [1]."]  # the server ignored stream=true


def test_redirects_are_named_not_followed() -> None:
    with fake_llm() as llm:
        llm.script(Reply(307, b"", headers={"Location": "http://user:pw@elsewhere.example/v1/chat"}))
        with pytest.raises(
            LLMError, match=r"redirects \(HTTP 307\) to http://elsewhere.example/v1/chat; set"
        ):
            client(llm.base_url).complete(MSG)
        assert len(llm.requests) == 1


def test_retry_after_junk_is_ignored_and_busy_servers_get_the_right_advice() -> None:
    with fake_llm() as llm:
        llm.script(
            Reply(429, b"{}", headers={"Retry-After": "nan"}),
            Reply(503, b"{}", headers={"Retry-After": "-1"}),
        )
        c = LLMClient(llm.base_url, max_retries=1, backoff=0.01)
        with pytest.raises(LLMError, match="HTTP 503: {}. The server is busy or limits requests; try again"):
            c.complete(MSG)
        assert len(llm.requests) == 2


def test_an_error_event_is_one_sentence() -> None:
    with fake_llm() as llm:
        llm.script(Reply(pieces=[event({"error": {"message": "rate limited"}})]))
        with pytest.raises(LLMError, match=r"reported an error: rate limited\.$"):
            list(client(llm.base_url).stream(MSG))


def test_replies_that_took_super_linear_time_to_read_are_read_in_linear_time() -> None:
    t = time.monotonic()
    validate_citations("See [1" + ",  1" * 40 + " x. [1].", 8)  # took minutes: backtracking in the marker
    validate_citations("Ok [1]." + " " * 200_000 + "x", 8)  # quadratic in a run of blanks
    list(sse_data(iter(["data: {"] * 20_000 + [""])))  # re-read the whole event at each line
    assert time.monotonic() - t < 2
    assert validate_citations("Yes [1][1][1] [1] and [2].", 3) == ("Yes [1] and [2].", [1, 2])


def test_deeply_nested_labels_and_questions_are_no_reply() -> None:
    assert parse_labels('{"1": ' + "[" * 100_000 + "}", 2) is None
    assert parse_reply('{"1": ' + "[" * 100_000 + "}", [1]) == {}


def test_question_length_and_bidi_controls() -> None:
    passage = "Linear probes read board states from the residual stream."
    assert usable("Do linear probes read board states?", passage)
    assert not usable("Do linear " + "probes" * 200 + " read board states?", passage)  # 1,000 characters
    assert strip_control("evil\u202etxt.exe \u2066x\u2069") == "eviltxt.exe x"


def test_an_answer_of_nothing_but_markers_falls_back(mini_index, mini_settings) -> None:
    with fake_llm() as llm:
        llm.script(sse(["[1]" * 5000]))
        a = answer(Q, k=3, index=mini_index, llm=client(llm.base_url), settings=mini_settings)
    assert a.mode == "extractive" and "returned no usable text" in a.notice


def test_uncited_inventions_and_blockquoted_or_single_quoted_fabrications_are_marked(
    mini_index, mini_settings
) -> None:
    shown = answer(Q, k=3, index=mini_index, llm=False, settings=mini_settings).passages
    true = " ".join(f"{sentences(p.text)[0][0]} [{n}]" for n, p in enumerate(shown, 1))  # borne out
    reply = (
        f"{true}\n\nAs one review puts it:\n\n> Linear probes were abandoned by every laboratory after the "
        "2019 scandal. [1]\n\nAnother says ‘quantum annealers replaced probes in every serious study’ [2]. "
        "The United Nations banned gradient descent on chess engines in 1987."
    )
    with fake_llm() as llm:
        llm.script(sse([reply]))
        a = answer(Q, k=3, index=mini_index, llm=client(llm.base_url), settings=mini_settings)
    assert a.mode == "llm", a.notice
    # the mark sits after the quotation, before its marker
    assert a.text.count("_(quotation not found in the passages)_") == 2
    assert "in 1987. _(not found in the shown passages)_" in a.text
    assert "2 quotations found in none" in a.notice and "1 sentence without a citation" in a.notice


def test_the_deadline_holds_while_waiting_for_the_status_line() -> None:
    # a slow status line or headers (a byte at a time, each within the read timeout) are one blocking read:
    # the deadline closes the connection under it
    with fake_llm() as llm:
        llm.script(Reply(delay=4.0, body=b"{}"))
        t = time.monotonic()
        with pytest.raises(LLMError, match=r"took more than 1 s in all"):
            client(llm.base_url, read_timeout=10, deadline=1.0).complete(MSG)
        assert time.monotonic() - t < 2.5


def test_replies_in_encodings_that_expand_without_bound_are_refused() -> None:
    zstd = Reply(body=b"\x28\xb5\x2f\xfd" + b"\0" * 20, headers={"Content-Encoding": "zstd"})
    stacked = Reply(
        body=gzip.compress(gzip.compress(b"\0" * 1000)), headers={"Content-Encoding": "gzip, gzip"}
    )
    with fake_llm() as llm:
        llm.script(zstd, stacked)
        c = client(llm.base_url)
        for _ in range(2):
            with pytest.raises(LLMError, match=r"encoded as (zstd|gzip, gzip), which is not read"):
                c.complete(MSG)
        assert llm.requests[0]["headers"]["Accept-Encoding"] == "gzip, deflate"


def test_a_lone_surrogate_or_a_bidi_override_in_a_reply_is_cleaned() -> None:
    event = b'data: {"choices": [{"delta": {"content": "Probes \\ud800 \\u202eread [1]."}}]}\n\n'
    with fake_llm() as llm:
        llm.script(Reply(pieces=[event, b"data: [DONE]\n\n"]))
        assert list(client(llm.base_url).stream(MSG)) == ["Probes ? read [1]."]


def passage(text: str) -> Passage:
    return Passage("s", "s:0", "T", [], 2024, "", text, "neutral", 0.5, 1.0)


def test_huge_numbers_are_no_citation_or_label_and_evidence_remarks_are_no_claim() -> None:
    assert validate_citations("Yes [" + "1" * 5000 + "] and [1].", 3) == ("Yes [1].", [1])
    assert parse_labels('{"' + "1" * 5000 + '": "skeptical", "²": "neutral"}', 2) is None
    assert parse_reply('{"' + "1" * 5000 + '": ["What?"]}', [1]) == {}
    p = passage("Probes read board states from the residual stream.")
    text = f"{p.text[:-1]} [1]. No skeptical source in these passages addresses this whole question."
    assert check_support(text, [p]).text == text


def test_the_checks_take_linear_time_on_blank_runs_code_and_many_quotations() -> None:
    p = passage("Probes read board states from the residual stream. " * 20)
    t = time.monotonic()
    check_support("“Probes read" + "\u00a0" * 20_000 + "board” [1].", [p] * 8)
    check_support(" ".join(f"“Probes read board states {i}” [1]." for i in range(3000)), [p] * 8)
    parse_reply("```json\n{}" + " " * 80_000 + "x", [1])
    assert time.monotonic() - t < 5
    # code is not a quotation, and marks never land inside it
    code = 'Run `print("probes never find anything real")` first [1].'
    assert check_support(code, [p]).not_found == []
    # a quotation cut into short pieces, or with a marker inside, is not called unfound
    cut = "They say “Probes read … board states” and “Probes read board [1] states from the residual” [1]."
    assert check_support(cut, [p]).not_found == []


def test_a_streamed_answer_that_is_set_aside_says_so_in_the_stream(mini_index, mini_settings) -> None:
    from interp_rag import answer_stream
    from interp_rag.answering.pipeline import SET_ASIDE

    with fake_llm() as llm:
        llm.script(sse(["Bananas fuel quantum cathedrals. ", "Giraffes invented gradient descent."]))
        items = list(
            answer_stream(Q, k=3, index=mini_index, llm=client(llm.base_url), settings=mini_settings)
        )
    streamed, final = "".join(items[:-1]), items[-1]
    assert streamed.startswith("Bananas") and final.mode == "extractive"
    # a reader who printed the deltas learns the text above is withdrawn, and why, before the new answer
    withdrawn = streamed.index(SET_ASIDE)
    assert "cited none of the shown passages" in streamed[withdrawn:]
    assert streamed.endswith(final.text) and "Bananas" not in final.text


def test_an_answer_cut_at_max_tokens_keeps_its_finished_sentences_and_says_so(
    mini_index, mini_settings
) -> None:
    shown = answer(Q, k=3, index=mini_index, llm=False, settings=mini_settings).passages
    first = f"{sentences(shown[0].text)[0][0]} [1]"
    cut = {"choices": [{"delta": {"content": " Empirical studies indicate that"}, "finish_reason": "length"}]}
    pieces = [*sse([first]).pieces[:-2], f"data: {json.dumps(cut)}\n\n".encode()]
    with fake_llm() as llm:
        llm.script(Reply(pieces=pieces, headers={"Content-Type": "text/event-stream"}))
        a = answer(Q, k=3, index=mini_index, llm=client(llm.base_url, max_tokens=50), settings=mini_settings)
    assert a.mode == "llm", a.notice
    assert "indicate that" not in a.text and a.text.startswith(first)
    assert "length limit (50 tokens, INTERP_RAG_LLM_MAX_TOKENS)" in a.notice


def test_citations_of_passages_not_shown_are_removed_and_named(mini_index, mini_settings) -> None:
    shown = answer(Q, k=3, index=mini_index, llm=False, settings=mini_settings).passages
    reply = f"{sentences(shown[0].text)[0][0]} [1]. Also see [9] and [0] and [1-11]."
    with fake_llm() as llm:
        llm.script(sse([reply]))
        a = answer(Q, k=3, index=mini_index, llm=client(llm.base_url), settings=mini_settings)
    assert a.mode == "llm" and "[9]" not in a.text
    assert "not shown ([9], [0], [1-11]); those markers were removed" in a.notice


def test_finished_part_rules() -> None:
    from interp_rag.answering.pipeline import finished_part

    assert finished_part('Yes [1]. "Quite so." [2][3] Studies indicate that') == 'Yes [1]. "Quite so." [2][3]'
    assert finished_part("Done! And then") == "Done!"
    with pytest.raises(LLMError, match="before it finished a sentence"):
        finished_part("Studies indicate that", 900)


def test_secrets_stay_out_of_reprs_and_a_client_no_call_could_use_is_refused() -> None:
    from interp_rag import Settings
    from interp_rag.errors import ConfigError

    s = Settings(llm_api_key="sk-SECRET-123", llm_base_url="http://u:pw@h/v1", auth="alice:pw")
    c = LLMClient.from_settings(s)
    for text in (repr(s), repr(c)):
        assert "sk-SECRET-123" not in text and "u:pw@" not in text and "alice:pw" not in text
    assert s.llm.api_key == "sk-SECRET-123" and c is not None and c.api_key == "sk-SECRET-123"  # still there
    for bad in ({"max_retries": -1}, {"read_timeout": float("nan")}, {"max_tokens": 0}, {"deadline": "9"}):
        with pytest.raises(ConfigError, match="LLMClient"):
            LLMClient("http://127.0.0.1:9/v1", **bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="base URL"):
        LLMClient(None)  # type: ignore[arg-type]


def test_a_refused_key_points_at_the_key() -> None:
    with fake_llm() as llm:
        llm.script(Reply(status=401, body=b'{"error": "bad key"}'))
        with pytest.raises(LLMError, match="Check INTERP_RAG_LLM_API_KEY"):
            client(llm.base_url).complete(MSG)


def test_a_callers_own_client_that_breaks_still_gets_an_answer(mini_index, mini_settings) -> None:
    class OnlyStream:  # resolve_llm takes anything with `stream`: no model, no where
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def stream(self, messages):
            if self.fail:
                raise ValueError("my client broke")
            yield "Nothing of use."

    broken = answer(Q, k=3, index=mini_index, llm=OnlyStream(True), settings=mini_settings)
    assert (
        broken.mode == "extractive" and "The LLM client failed (ValueError: my client broke)" in broken.notice
    )
    plain = answer(Q, k=3, index=mini_index, llm=OnlyStream(False), settings=mini_settings)
    assert plain.mode == "extractive" and "cited none of the shown passages" in plain.notice
