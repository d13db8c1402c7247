"""An LLM that lies about its citations: quotations no passage holds, a quotation cited to the wrong passage,
claims whose cited passage holds none of their words (answering/support.py), on tiny synthetic passages and
through answer() against the scripted loopback server."""

from __future__ import annotations

import re

from interp_rag import answer
from interp_rag.answering.extractive import sentences
from interp_rag.answering.llm import LLMClient
from interp_rag.answering.support import check_support, holds_quote, quotations, support
from interp_rag.types import Passage
from tests.support.fake_llm import fake_llm, sse

Q = "Are linear probes a reliable way to understand what a model computes?"

PROBE = (
    "Linear probes are cheap to train and recover board states from the residual stream with high accuracy. "
    "Intervening along the probe direction changed the moves the network made."
)
SAE = (
    "Sparse autoencoders split activations into many features, most of which read as monosemantic to raters. "
    "Reconstruction error remains large on held-out text."
)


def passage(text: str, n: int, title: str = "A study") -> Passage:
    return Passage(
        f"s{n}", f"s{n}:0", title, [], 2024, "", text, "neutral", 0.5, 1.0, headings=["Results"], start=0,
        end=len(text),
    )  # fmt: skip


PASSAGES = [passage(PROBE, 1), passage(SAE, 2, title="Towards Monosemantic Features in Toy Models")]


def test_a_quotation_in_the_cited_passage_passes_unchanged() -> None:
    text = 'Probes work: "Linear probes are cheap to train and recover board states" [1].'
    checked = check_support(text, PASSAGES)
    assert checked.text == text and not checked.notice()
    assert checked.sentences == 1 and not (checked.unsupported or checked.not_found or checked.recited)


def test_a_quotation_cited_to_the_wrong_passage_gets_the_right_marker() -> None:
    text = "Raters agree: “most of which read as monosemantic to raters” [1]. Probes find board states [1]."
    checked = check_support(text, PASSAGES)
    assert checked.recited == ["most of which read as monosemantic to raters"]
    assert checked.text.startswith("Raters agree: “most of which read as monosemantic to raters”[2] [1].")
    assert "cited to the wrong passage (corrected)" in checked.notice()


def test_a_quotation_no_passage_holds_is_marked_not_found() -> None:
    text = "The authors concede that “probes never find anything the model really uses” [1]."
    checked = check_support(text, PASSAGES)
    assert checked.not_found == ["probes never find anything the model really uses"]
    assert "“probes never find anything the model really uses” _(quotation not found in the passages)_" in (
        checked.text
    )
    assert "1 quotation found in none of the shown passages" in checked.notice()


def test_quotations_are_matched_as_a_reader_would() -> None:
    # case, punctuation, an ellipsis, a mended typo, a title: held
    assert holds_quote(PROBE, "linear probes are cheap to train … with high accuracy")
    assert holds_quote(PROBE, "Linear probes are cheap to train and recover board state from the residual")
    assert holds_quote("\n".join([PASSAGES[1].title, SAE]), "Towards Monosemantic Features in Toy Models")
    # two words changed, or other words on the same topic: not held
    assert not holds_quote(PROBE, "Linear probes are costly to train and recover chess states from the net")
    assert not holds_quote(PROBE, "probes recover the residual stream's board with accuracy")
    # a scare-quoted term is no quotation
    assert quotations('Their "features" are "monosemantic" to "most raters".') == []


def test_a_claim_its_passage_does_not_bear_out_is_marked() -> None:
    text = (
        "Linear probes recover board states from the residual stream [1]. "
        "Quantum annealers outperform gradient descent on protein folding benchmarks [2]."
    )
    checked = check_support(text, PASSAGES)
    assert checked.sentences == 2 and len(checked.unsupported) == 1
    assert "benchmarks [2] _(few of its words are in the passage it cites)_." in checked.text
    assert checked.text.startswith("Linear probes recover board states from the residual stream [1]. ")
    assert "1 of 2 cited sentences with few of their words" in checked.notice()


def test_support_is_rarity_weighted_and_lenient_with_short_sentences() -> None:
    claim = "Probes recover board states with high accuracy"
    assert support(claim, [PROBE]) == 1.0
    assert support(claim, [SAE]) < 0.2
    # a rare word weighs more than a common one
    other = "They recover states from the stream."
    assert support("Probes recover states", [other]) == 2 / 3
    assert support("Probes recover states", [other], {"probe": 5.0, "recov": 1.0, "state": 1.0}) == 2 / 7
    assert support("Probes mislead [1].", [SAE]) == 1.0  # two content words: too few to judge
    assert support("See [3].", []) == 1.0


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    text = "Quantum annealers beat gradient descent on protein folds. [2] Probes recover board states. [1]"
    checked = check_support(text, PASSAGES)
    assert checked.sentences == 2 and len(checked.unsupported) == 1
    assert checked.unsupported[0].startswith("Quantum annealers") and checked.unsupported[0].endswith("[2]")
    # sentences without a marker are not checked (a heading, a summary line)
    assert check_support("## Summary\n\nQuantum annealers fold proteins well.", PASSAGES).sentences == 0


def _first_sentence(p: Passage) -> str:
    return sentences(p.text)[0][0].rstrip(".")


def test_an_llm_quoting_the_wrong_passage_and_inventing_one_is_corrected_and_marked(
    mini_index, mini_settings
) -> None:
    shown = answer(Q, k=3, index=mini_index, llm=False, settings=mini_settings).passages
    right = _first_sentence(shown[1])
    reply = (
        f"One source says “{right}” [1]. Another claims “linear probes have been proven useless in every "
        "published study” [3]."
    )
    with fake_llm() as llm:
        llm.script(sse([reply]))
        a = answer(Q, k=3, index=mini_index, llm=LLMClient(llm.base_url, model="m"), settings=mini_settings)
    assert a.mode == "llm"
    assert f"“{right}”[2]" in a.text and "_(quotation not found in the passages)_" in a.text
    assert "found in none of the shown passages" in a.notice and "wrong passage (corrected)" in a.notice
    assert 2 in {c.number for c in a.citations}


def test_an_llm_answer_its_passages_do_not_bear_out_falls_back(mini_index, mini_settings) -> None:
    shown = answer(Q, k=3, index=mini_index, llm=False, settings=mini_settings).passages
    reply = (
        "Quantum annealers outperform gradient descent on protein folding [1]. "
        "Medieval monasteries brewed most of the beer consumed in Flanders [2]. "
        f"{_first_sentence(shown[2])} [3]."
    )
    with fake_llm() as llm:
        llm.script(sse([reply]))
        a = answer(Q, k=3, index=mini_index, llm=LLMClient(llm.base_url, model="m"), settings=mini_settings)
    assert a.mode == "extractive" and "Quantum" not in a.text
    assert re.search(r"2 of the LLM answer's 3 sentences have few of their words", a.notice)
    assert "Showing an extractive answer instead." in a.notice
