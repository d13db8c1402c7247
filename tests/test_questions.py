"""Questions the corpus cannot answer (issue 11, item 11): punctuation, other scripts, emoji and everyday
topics get no quoted "What the sources say" over unrelated passages but a sentence saying so, and the
closest passages under a label that says they may not answer; real questions are unaffected."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from interp_rag import answer
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
