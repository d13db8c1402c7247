"""The optional LLM pass that relabels the shown passages' stance relative to the question
(INTERP_RAG_LLM_STANCE), against the scripted loopback server: labels applied, bad replies ignored, an LLM
that is down still gives an answer."""

from __future__ import annotations

import json

from interp_rag import answer
from interp_rag.answering.llm import LLMClient
from interp_rag.answering.stance_pass import parse_labels
from interp_rag.web.render import render_card
from tests.support.fake_llm import Reply, completion, fake_llm, sse

Q = "Are linear probes a reliable way to understand what a model computes?"


def test_labels_from_the_llm_replace_the_index_labels(mini_index, mini_settings) -> None:
    settings = mini_settings.model_copy(update={"llm": mini_settings.llm.model_copy(update={"stance": True})})
    labels = {"1": "skeptical", "2": "skeptical", "3": "skeptical"}
    with fake_llm() as llm:
        llm.script(completion(f"Here you go: {json.dumps(labels)}"), sse(["Probes mislead [1]."]))
        a = answer(Q, k=3, index=mini_index, llm=LLMClient(llm.base_url, model="m"), settings=settings)
        first, second = (r["json"] for r in llm.requests)
    assert a.mode == "llm" and not a.notice
    assert [p.stance for p in a.passages] == ["skeptical"] * 3
    assert all(p.stance_by == "llm" for p in a.passages)
    assert a.missing_sides == ["enthusiastic"] and "No enthusiastic source" in a.text
    assert first["stream"] is False and "JSON" in first["messages"][0]["content"]
    assert first["messages"][1]["content"].count("<passage number=") == 3
    # the answer's prompt carries the new labels
    assert second["messages"][1]["content"].count('stance="skeptical"') == 3
    assert "· LLM" in render_card(a.passages[0], 1, frozenset())


def test_unreadable_labels_keep_the_index_labels(mini_index, mini_settings) -> None:
    settings = mini_settings.model_copy(update={"llm": mini_settings.llm.model_copy(update={"stance": True})})
    with fake_llm() as llm:
        llm.script(completion("I think they are mostly fine."), sse(["Answer [1]."]))
        plain = answer(Q, k=3, index=mini_index, llm=False, settings=mini_settings)
        a = answer(Q, k=3, index=mini_index, llm=LLMClient(llm.base_url, model="m"), settings=settings)
    assert a.mode == "llm" and "could not be read" in a.notice
    assert [p.stance for p in a.passages] == [p.stance for p in plain.passages]
    assert all(p.stance_by == "classifier" for p in a.passages)


def test_an_llm_that_fails_the_stance_call_still_gives_an_answer(mini_index, mini_settings) -> None:
    settings = mini_settings.model_copy(update={"llm": mini_settings.llm.model_copy(update={"stance": True})})
    with fake_llm() as llm:
        llm.script(Reply(500, b'{"error": "down"}'), Reply(500, b'{"error": "down"}'))
        client = LLMClient(llm.base_url, model="m", max_retries=1, backoff=0.01)
        a = answer(Q, k=3, index=mini_index, llm=client, settings=settings)
        calls = len(llm.requests)
    assert a.mode == "extractive" and "HTTP 500" in a.notice and a.citations
    assert calls == 2  # the stance call and its retry; no second round of retries for the answer


def test_off_by_default_and_with_a_stance_filter(mini_index, mini_settings) -> None:
    assert mini_settings.llm.stance is False
    with fake_llm() as llm:
        llm.script(sse(["Answer [1]."]))
        answer(Q, k=3, index=mini_index, llm=LLMClient(llm.base_url), settings=mini_settings)
        llm.script(sse(["Answer [1]."]))
        on = mini_settings.model_copy(update={"llm": mini_settings.llm.model_copy(update={"stance": True})})
        answer(Q, k=3, stance="skeptical", index=mini_index, llm=LLMClient(llm.base_url), settings=on)
        assert [r["json"]["stream"] for r in llm.requests] == [True, True]


def test_parse_labels() -> None:
    assert parse_labels('{"1": "Skeptical", "2": "neutral"}', 2) == {0: "skeptical", 1: "neutral"}
    assert parse_labels('<think>{"1": "x"}</think> {"2": "enthusiastic", "9": "skeptical"}', 3) == {
        1: "enthusiastic"
    }
    assert parse_labels('{"1": "maybe"}', 1) is None
    assert parse_labels("no json here", 2) is None
    assert parse_labels('["skeptical"]', 1) is None


def test_labels_for_only_some_passages_are_applied_and_said(mini_index, mini_settings) -> None:
    settings = mini_settings.model_copy(update={"llm": mini_settings.llm.model_copy(update={"stance": True})})
    with fake_llm() as llm:
        llm.script(completion('{"2": "skeptical"}'), sse(["Probes mislead [1]."]))
        a = answer(Q, k=3, index=mini_index, llm=LLMClient(llm.base_url, model="m"), settings=settings)
    assert a.mode == "llm" and [p.stance_by == "llm" for p in a.passages] == [False, True, False]
    assert "labelled the stance of 1 of the 3 passages; the others keep the index's labels" in a.notice
