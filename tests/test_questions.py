"""Questions the corpus cannot answer (issue 11, item 11): punctuation, other scripts, emoji and everyday
topics get no quoted "What the sources say" over unrelated passages but a sentence saying so, and the
closest passages under a label that says they may not answer; real questions are unaffected."""

from __future__ import annotations

import html
import re

import pytest
from click.testing import CliRunner

from interp_rag import answer, answer_stream
from interp_rag.answering.llm import LLMClient
from interp_rag.answering.prompts import LOW_RELEVANCE_LABEL
from interp_rag.cli import main
from interp_rag.web.app import ask as ui_ask
from tests.support.fake_llm import fake_llm, sse

UNANSWERABLE = [
    "???",
    "稀疏自编码器有用吗？",
    "هل المشفرات التلقائية المتفرقة مفيدة؟",
    "🤔🤔🤔",
    "How do I file my taxes?",
]


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_unanswerable_questions_say_so_over_the_real_corpus(question, real_index, real_index_settings):
    a = answer(question, index=real_index, llm=False, settings=real_index_settings)
    assert a.low_relevance and a.mode == "extractive" and not a.citations
    assert a.text.startswith("Nothing in the corpus clearly addresses this question.")
    assert "What the sources say" not in a.text and "[1]" not in a.text
    assert len(a.passages) == 8  # the closest ones are still shown, labelled


def test_real_questions_clear_the_floor(real_index, real_index_settings) -> None:
    for q in ("Are sparse autoencoders actually useful?", "What is activation patching?", "SAE features?"):
        a = answer(q, index=real_index, llm=False, settings=real_index_settings)
        assert not a.low_relevance and a.citations and "Nothing in the corpus" not in a.text, q


def test_the_floor_is_a_setting(mini_index, mini_settings) -> None:
    q = "Are linear probes useful?"
    assert not answer(q, index=mini_index, llm=False, settings=mini_settings).low_relevance
    floor = mini_settings.retrieval.model_copy(update={"relevance_floor": 0.99})
    strict = mini_settings.model_copy(update={"retrieval": floor})
    assert answer(q, index=mini_index, llm=False, settings=strict).low_relevance


def test_the_llm_is_not_asked_to_answer_from_unrelated_passages(mini_index, mini_settings) -> None:
    with fake_llm() as llm:
        llm.script(sse(["Bake it at 180 degrees [1]."]))
        a = answer(
            "banana bread recipe", index=mini_index, llm=LLMClient(llm.base_url), settings=mini_settings
        )
        assert llm.requests == []
    assert a.low_relevance and a.mode == "extractive" and "Nothing in the corpus" in a.text


def test_filters_that_leave_nothing_relevant_say_so(mini_index, mini_settings) -> None:
    a = answer("What do saliency maps show?", sources=["probes-skeptic"], index=mini_index, llm=False,
               settings=mini_settings)  # fmt: skip
    assert a.low_relevance and "within these filters" in a.text


def test_the_ui_and_the_cli_label_the_closest_passages(mini_index, mini_settings) -> None:
    *_, view = ui_ask("banana bread recipe", index=mini_index, llm=False, settings=mini_settings)
    assert LOW_RELEVANCE_LABEL in view.balance and "Where the sources stand" not in view.balance
    assert "Nothing in the corpus clearly addresses" in view.answer and "closest passages" in view.answer
    assert '<article class="card' in view.enthusiastic + view.skeptical + view.neutral
    args = ["--index-dir", str(mini_settings.index_dir), "--sources", str(mini_settings.sources_file)]
    r = CliRunner().invoke(main, [*args, "ask", "banana bread recipe"], env={"INTERP_RAG_LLM_BASE_URL": ""})
    assert r.exit_code == 0 and LOW_RELEVANCE_LABEL in r.output and "\nSources" not in r.output, r.output
    r = CliRunner().invoke(
        main, [*args, "ask", "Are linear probes useful?"], env={"INTERP_RAG_LLM_BASE_URL": ""}
    )
    assert r.exit_code == 0 and "\nSources" in r.output and LOW_RELEVANCE_LABEL not in r.output


# ---------------------------------------------------------------- 10. wrong values through the public API

BAD = [
    ({"k": "abc"}, r"k \(the number of passages\) must be a whole number, not 'abc'"),
    ({"k": 2.5}, "must be a whole number, not 2.5"),
    ({"k": 10_000}, "must be from 1 to 20; got 10000"),
    ({"k": 0}, "must be from 1 to 20; got 0"),
    ({"years": ("a", "b")}, "A year must be a whole number, not 'a'"),
    ({"years": 2020}, r"years must be a pair \(first, last\)"),
    ({"years": (2025, 2020)}, "Year range 2025-2020 is empty"),
    ({"types": ["nonsense"]}, "Unknown source type 'nonsense'"),
    ({"types": 7}, "source type must be a name or a list of names"),
    ({"stance": "positive"}, "Unknown stance 'positive'"),
    # the ids are where it says (`stats` lists no ids: it was named here)
    (
        {"sources": ["no-such-source"]},
        r"Unknown source id.*`interp-rag sources` lists the sources. ids \(so does .* Sources tab\)\.$",
    ),
]


@pytest.mark.parametrize(("kw", "message"), BAD)
def test_answer_and_retrieve_refuse_bad_values_with_a_config_error(kw, message, mini_index, mini_settings):
    from interp_rag import retrieve
    from interp_rag.errors import ConfigError

    q = "Are linear probes useful?"
    with pytest.raises(ConfigError, match=message):
        answer(q, index=mini_index, llm=False, settings=mini_settings, **kw)
    with pytest.raises(ConfigError, match=message):
        list(answer_stream(q, index=mini_index, llm=False, settings=mini_settings, **kw))
    with pytest.raises(ConfigError, match=message):
        retrieve(mini_index, q, **kw)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--k", "abc"], "'abc' is not a valid integer"),
        (["--k", "2.5"], "'2.5' is not a valid integer"),
        (["--k", "10000"], "must be from 1 to 20; got 10000"),
        (["--year-from", "abc"], "'abc' is not a valid integer"),
        (["--year-from", "2025", "--year-to", "2020"], "Year range 2025-2020 is empty"),
        (["--type", "nonsense"], "Unknown source type 'nonsense'"),
        (["--stance", "positive"], "'positive' is not one of"),
        (["--source", "no-such-source"], "Unknown source id"),
    ],
)
def test_the_cli_refuses_bad_values_in_one_line(args, message, mini_settings) -> None:
    base = ["--index-dir", str(mini_settings.index_dir), "--sources", str(mini_settings.sources_file)]
    r = CliRunner().invoke(main, [*base, "ask", "Are linear probes useful?", *args])
    assert r.exit_code != 0 and re.search(message, r.output) and "Traceback" not in r.output, r.output


def test_the_ui_shows_bad_values_as_a_notice(mini_index, mini_settings) -> None:
    for kw, message in (
        ({"k": "abc"}, "must be a whole number"),
        ({"year_from": "abc"}, "A year must be a whole number, not 'abc'"),
        ({"types": ["nonsense"]}, "Unknown source type"),
    ):
        opts = {"index": mini_index, "llm": False, "settings": mini_settings, **kw}
        (view,) = ui_ask("Are linear probes useful?", **opts)
        assert "notice-error" in view.notice and message in html.unescape(view.notice), view.notice
    *_, view = ui_ask("Are linear probes useful?", year_from=" ", year_to="", index=mini_index, llm=False,
                      settings=mini_settings)  # fmt: skip
    assert not view.notice and view.balance  # empty year boxes: no limit
