"""Each selection policy on a tiny synthetic index (no corpus, no model): documents of numbered chunks
that tile their text, candidates with chosen relevances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interp_rag.answering.prompts import beyond_k_sentence
from interp_rag.retrieval.context import to_passage
from interp_rag.retrieval.policies import (
    Selection,
    both_sides,
    distinct_voices,
    fill_by_relevance,
    lift_sides,
    missing_sides,
    select,
    sides_beyond_k,
    sides_near_top,
    voice_order,
)
from interp_rag.retrieval.search import Candidates
from interp_rag.settings import RetrievalSettings
from interp_rag.store.index import Index
from interp_rag.types import Chunk, Source

FACT = "What is a linear probe?"  # a question of fact
JUDGEMENT = "Are linear probes useful?"  # a yes/no question of judgement
SENTENCE = "Probes read what a layer holds. "  # 32 characters: a chunk is three sentences


def make_index(docs: dict[str, list[str]]) -> Index:
    """docs: source id -> the stance of each of its chunks, in order."""
    chunks, sources = [], {}
    for sid, stances in docs.items():
        sources[sid] = Source(id=sid, title=sid, url=f"https://example.org/{sid}", year=2024)
        for n, stance in enumerate(stances):
            start = n * 3 * len(SENTENCE)
            text = SENTENCE * 3
            chunks.append(
                Chunk(
                    f"{sid}:{n}", sid, n, text, start, start + len(text), stance=stance, stance_confidence=0.9
                )
            )
    vectors = np.zeros((len(chunks), 4), dtype=np.float32)
    return Index(Path("synthetic"), {}, chunks, sources, None, None, vectors)


def cands(index: Index, ranked: list[str], rel: list[float] | None = None, cos: float = 0.9) -> Candidates:
    """Candidates in the given order of chunk ids, relevance falling from 1 unless given."""
    pool = np.array([index.by_id[c] for c in ranked])
    r = np.array(rel if rel is not None else np.linspace(1.0, 0.5, len(ranked)))
    return Candidates(pool, r, np.full(len(ranked), cos), np.full(len(ranked), -1))


def chosen_ids(index: Index, c: Candidates, chosen: list[int]) -> list[str]:
    return [index.chunks[int(c.pool[j])].id for j in chosen]


TUNING = RetrievalSettings(context_chars=0, per_source=2, per_source_judgement=1, distinct_first=3)


def test_document_cap() -> None:
    index = make_index({"a": ["neutral"] * 6, "b": ["neutral"] * 2})
    c = cands(index, ["a:0", "a:2", "a:4", "b:0", "b:1"])
    sel = Selection.start(index, FACT, c, 4, TUNING)
    fill_by_relevance(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "a:2", "b:0", "b:1"]  # a:4 would be a's third


def test_no_runs_of_three_neighbouring_chunks() -> None:
    index = make_index({"a": ["neutral"] * 4, "b": ["neutral"]})
    c = cands(index, ["a:0", "a:1", "a:2", "a:3", "b:0"])
    sel = Selection.start(index, FACT, c, 4, TUNING.model_copy(update={"per_source": 5}))
    fill_by_relevance(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "a:1", "a:3", "b:0"]  # a:2 would make 0-1-2


def test_nothing_already_on_screen_in_another_passages_context() -> None:
    index = make_index({"a": ["neutral"] * 4, "b": ["neutral"]})
    c = cands(index, ["a:0", "a:1", "b:0"])
    wide = TUNING.model_copy(update={"context_chars": 200, "per_source": 5})
    sel = Selection.start(index, FACT, c, 3, wide)
    fill_by_relevance(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "b:0"]  # a:0's passage already shows a:1
    narrow = Selection.start(index, FACT, c, 3, TUNING.model_copy(update={"per_source": 5}))
    fill_by_relevance(narrow)
    assert chosen_ids(index, c, narrow.chosen) == ["a:0", "a:1", "b:0"]


def test_distinct_voices_for_judgement_questions_only() -> None:
    index = make_index({"a": ["neutral"] * 6, "b": ["neutral"] * 6, "c": ["neutral"]})
    # a ranks first; b addresses the question at length (three relevant chunks); c once, in passing
    c = cands(index, ["a:0", "c:0", "b:0", "b:2", "b:4", "a:2"], [1.0, 0.95, 0.9, 0.85, 0.8, 0.3])
    sel = Selection.start(index, JUDGEMENT, c, 8, TUNING)
    assert chosen_ids(index, c, voice_order(sel))[:2] == ["b:0", "b:2"]  # b's weight 2.55 > a's 1.3
    distinct_voices(sel)
    assert chosen_ids(index, c, sel.chosen) == ["b:0", "a:0", "c:0"]  # one per document, by voice
    fact = Selection.start(index, FACT, c, 8, TUNING)
    distinct_voices(fact)
    assert fact.chosen == []


def test_a_document_far_below_the_best_gets_no_voice_and_its_slot_goes_by_relevance() -> None:
    index = make_index({"a": ["neutral"] * 6, "b": ["neutral"] * 6, "c": ["neutral"]})
    # c's one passage is at a fifth of the best: it mentions the question, it does not address it
    c = cands(index, ["a:0", "b:0", "a:2", "b:2", "c:0"], [1.0, 0.9, 0.8, 0.7, 0.2])
    tuning = TUNING.model_copy(update={"per_source_judgement": 2, "voice_floor": 0.4})
    sel = Selection.start(index, JUDGEMENT, c, 3, tuning)
    distinct_voices(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "b:0"]  # no voice for c
    fill_by_relevance(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "b:0", "a:2"]  # a's second passage, not c's
    every = Selection.start(index, JUDGEMENT, c, 3, tuning.model_copy(update={"voice_floor": 0.0}))
    distinct_voices(every)
    assert chosen_ids(index, c, every.chosen) == ["a:0", "b:0", "c:0"]  # without a floor c is a voice


def test_both_sides_swap_replaces_the_weakest_surplus_passage() -> None:
    index = make_index(
        {d: [s] for d, s in zip("abcdef", ["enthusiastic"] * 4 + ["skeptical"] * 2, strict=True)}
    )
    c = cands(index, ["a:0", "b:0", "c:0", "d:0", "e:0", "f:0"], [1.0, 0.95, 0.9, 0.85, 0.8, 0.75])
    sel = Selection.start(index, FACT, c, 4, TUNING)
    fill_by_relevance(sel)
    assert sel.sides_relevant()
    both_sides(sel)
    assert sorted(chosen_ids(index, c, sel.chosen)) == ["a:0", "b:0", "e:0", "f:0"]
    # a skeptical passage below the relevance floor (side_floor x the best) does not count
    low = cands(index, ["a:0", "b:0", "c:0", "d:0", "e:0", "f:0"], [1.0, 0.95, 0.9, 0.85, 0.3, 0.2])
    sel = Selection.start(index, FACT, low, 4, TUNING)
    fill_by_relevance(sel)
    assert not sel.sides_relevant()


def test_a_side_that_was_on_screen_takes_its_blockers_place_and_keeps_its_text() -> None:
    # a:0's window shows most of a:1, the only skeptical passage: a:1 replaces a:0 (the weakest neutral
    # passage it could, since a:0 is what kept it out), and a:1's passage also shows a:0's text
    index = make_index({"a": ["neutral", "skeptical", "neutral"], "b": ["enthusiastic"], "c": ["neutral"]})
    c = cands(index, ["a:0", "a:1", "b:0", "c:0"], [1.0, 0.9, 0.8, 0.7])
    tuning = TUNING.model_copy(update={"context_chars": 200, "per_source": 5, "per_side": 1})
    chosen, missing, absorbed = select(index, FACT, c, 3, tuning)
    assert chosen_ids(index, c, chosen) == ["a:1", "b:0", "c:0"] and not missing
    assert {chosen_ids(index, c, [j])[0]: chosen_ids(index, c, v) for j, v in absorbed.items()} == {
        "a:1": ["a:0"]
    }
    # ranked by the better of the two relevances: a:0's 1.0 still heads the list
    sel = Selection.start(index, FACT, c, 3, tuning)
    sel.chosen, sel.absorbed = [2, 1], {1: [0]}
    sel.by_relevance()
    assert chosen_ids(index, c, sel.chosen) == ["a:1", "b:0"] and sel.score(1) == 1.0
    # without it, a:0 is swapped out and nothing of it is kept
    off = select(index, FACT, c, 3, tuning.model_copy(update={"absorb_blocker": False}))
    assert chosen_ids(index, c, off.chosen) == ["a:1", "b:0", "c:0"] and off.absorbed == {}


def test_a_passage_that_absorbed_another_shows_both_texts_with_offsets_intact() -> None:
    # a:0 is a long chunk (ten sentences), a:1 a short one: a:0's window reaches over most of a:1, a:1's
    # window back over only the end of a:0
    long_text, short = SENTENCE * 10, SENTENCE * 3
    chunks = [
        Chunk("a:0", "a", 0, long_text, 0, len(long_text)),
        Chunk("a:1", "a", 1, short, len(long_text), len(long_text) + len(short), stance="skeptical"),
        Chunk("b:0", "b", 0, short, 0, len(short)),
    ]
    sources = {s: Source(id=s, title=s, url="", year=2024) for s in "ab"}
    index = Index(Path("synthetic"), {}, chunks, sources, None, None, np.zeros((3, 4), dtype=np.float32))
    alone = to_passage(index, 1, 0.9, chars=64)
    assert alone.start == len(long_text) - 64  # two sentences of a:0
    joined = to_passage(index, 1, 1.0, chars=64, also=[0])
    assert (joined.start, joined.end) == (0, len(long_text) + len(short))
    assert joined.text == long_text + short and joined.chunk_id == "a:1" and joined.stance == "skeptical"
    # a chunk of another document, or one that does not touch the window, is not joined on
    assert to_passage(index, 1, 0.9, chars=64, also=[2]).text == alone.text


def test_each_sides_best_within_the_first_three() -> None:
    index = make_index({d: [s] for d, s in zip("abcde", ["enthusiastic"] * 4 + ["skeptical"], strict=True)})
    c = cands(index, ["a:0", "b:0", "c:0", "d:0", "e:0"])
    sel = Selection.start(index, FACT, c, 5, TUNING.model_copy(update={"per_side": 1}))
    sel.chosen = [0, 1, 2, 3, 4]
    sides_near_top(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "b:0", "e:0", "c:0", "d:0"]


def test_missing_sides() -> None:
    index = make_index({"a": ["enthusiastic"], "b": ["neutral"]})
    c = cands(index, ["a:0", "b:0"])
    assert select(index, FACT, c, 4, TUNING)[1] == ["skeptical"]
    sel = Selection.start(index, FACT, c, 4, TUNING)
    assert missing_sides(sel) == ["enthusiastic", "skeptical"]  # nothing chosen yet
    assert select(index, FACT, cands(index, []), 4, TUNING) == ([], ["enthusiastic", "skeptical"], {})


def test_a_side_left_out_by_a_small_k_is_beyond_k_not_missing() -> None:
    index = make_index({"a": ["skeptical"], "b": ["enthusiastic"], "c": ["neutral"]})
    c = cands(index, ["a:0", "b:0", "c:0"])
    chosen, missing, _ = select(index, FACT, c, 1, TUNING)
    assert chosen_ids(index, c, chosen) == ["a:0"] and missing == ["enthusiastic"]
    assert sides_beyond_k(index, c.pool, missing) == ["enthusiastic"]  # the corpus has it: only k is short
    assert sides_beyond_k(index, c.pool[[0, 2]], missing) == []  # nothing relevant takes it: missing
    said = beyond_k_sentence(["enthusiastic"], 1)
    assert said.startswith("The enthusiastic side has relevant passages too, beyond the passage shown")
    assert "beyond the 2 passages shown" in beyond_k_sentence(["enthusiastic", "skeptical"], 2)
    assert beyond_k_sentence([], 8) == ""
    b = index.chunks[int(c.pool[1])]  # the enthusiastic chunk, inside a shown passage's window
    assert sides_beyond_k(index, c.pool, missing, [("b", b.start - 10, b.end + 10)]) == []
    assert sides_beyond_k(index, c.pool, missing, [("a", b.start - 10, b.end + 10)]) == ["enthusiastic"]


def test_a_question_restricted_to_one_document_gets_k_passages_past_the_document_cap() -> None:
    index = make_index({"a": ["neutral"] * 8})
    c = cands(index, ["a:0", "a:2", "a:4", "a:6"])
    sel = Selection.start(index, JUDGEMENT, c, 4, TUNING)  # one passage a document for judgement
    fill_by_relevance(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "a:2", "a:4", "a:6"]  # was a:0 alone
    # with other documents to fill from, the cap holds
    index = make_index({"a": ["neutral"] * 8, "b": ["neutral"] * 2, "c": ["neutral"] * 2})
    c = cands(index, ["a:0", "a:2", "b:0", "c:0"])
    sel = Selection.start(index, JUDGEMENT, c, 3, TUNING)
    fill_by_relevance(sel)
    assert chosen_ids(index, c, sel.chosen) == ["a:0", "b:0", "c:0"]


@pytest.mark.parametrize("k", [1, 3, 8])
def test_select_returns_at_most_k_in_display_order(k: int) -> None:
    stances = ["enthusiastic", "skeptical", "neutral"]
    index = make_index({f"d{i}": [stances[i % 3]] * 3 for i in range(6)})
    ranked = [f"d{i}:{n}" for n in range(3) for i in range(6)]
    c = cands(index, ranked)
    chosen, missing, absorbed = select(index, JUDGEMENT, c, k, TUNING)
    assert len(chosen) == k and len(set(chosen)) == len(chosen)
    # one passage a document (per_source_judgement is 1) until the six documents have one each; then the
    # slots left take their next passages rather than stay empty
    docs = [index.chunks[int(c.pool[j])].source_id for j in chosen]
    assert len(set(docs)) == min(k, 6)
    assert missing == ([] if k > 1 else ["skeptical"]) and absorbed == {}


def test_lift_sides_puts_a_documents_verdict_in_its_best_place_and_leaves_documents_where_they_are() -> None:
    index = make_index({"a": ["neutral", "skeptical", "neutral"], "b": ["enthusiastic", "neutral"]})
    c = cands(index, ["a:0", "b:1", "a:1", "b:0", "a:2"], rel=[1.0, 0.9, 0.8, 0.7, 0.6])
    tuning = RetrievalSettings(stance_lift=1.0)
    out = lift_sides(index, JUDGEMENT, c, tuning)
    # a's verdict takes a's best place, b's takes b's; the relevances (and so the documents' order) stay
    assert chosen_ids(index, out, list(range(5))) == ["a:1", "b:0", "a:0", "b:1", "a:2"]
    assert out.rel.tolist() == c.rel.tolist()
    # a question of fact, or no lift: unchanged
    assert chosen_ids(index, lift_sides(index, FACT, c, tuning), list(range(5)))[0] == "a:0"
    none = lift_sides(index, JUDGEMENT, c, RetrievalSettings(stance_lift=0))
    assert chosen_ids(index, none, list(range(5)))[0] == "a:0"


def test_lift_sides_keeps_a_much_more_relevant_neutral_passage_first() -> None:
    """The lift weighs stance against relevance: a weakly relevant verdict does not displace the passage
    that is about the question."""
    index = make_index({"a": ["neutral", "skeptical"]})
    c = cands(index, ["a:0", "a:1"], rel=[1.0, 0.2])
    out = lift_sides(index, JUDGEMENT, c, RetrievalSettings(stance_lift=0.5))  # 0.2 + 0.5 * 0.9 < 1.0
    assert chosen_ids(index, out, [0, 1]) == ["a:0", "a:1"]


def test_closest_rows_is_each_chunks_best_question_with_ties_to_the_first() -> None:
    from interp_rag.retrieval.search import closest_rows

    first = np.array([0, 2, 2, 5])  # chunk 0: rows 0-1, chunk 1: none, chunk 2: rows 2-4, chunk 3: rows 5-6
    scores = np.array([0.1, 0.3, 0.5, 0.9, 0.9, 0.2, 0.1])
    assert closest_rows(first, 7, scores, np.array([2, 0, 1, 3])).tolist() == [3, 1, -1, 5]
    assert closest_rows(first, 7, scores, np.array([1])).tolist() == [-1]


def test_expansion_lift_gives_a_bare_source_the_lift_annotated_candidates_of_the_question_get() -> None:
    from interp_rag.retrieval.search import expansion_lift

    cos = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.6])
    q_best = np.array([0.9, 0.7, 0.6, 0.5, -1.0, -1.0])  # -1: no question (the last two: a bare source)
    bare = np.array([False, False, False, False, True, True])
    lift = expansion_lift(cos, q_best, bare, 1.0, 0.75)
    # annotated: the question's margin over the passage, never negative
    assert lift[:4] == pytest.approx([0.4, 0.2, 0.1, 0.0])
    # bare: the 0.75 quantile of those four lifts, whatever their own cosine
    assert lift[4:] == pytest.approx([np.quantile([0.4, 0.2, 0.1, 0.0], 0.75)] * 2)
    # quantile 0 switches it off; a question where nothing is annotated lifts nothing
    assert expansion_lift(cos, q_best, bare, 1.0, 0.0)[4:].tolist() == [0.0, 0.0]
    everything_bare = np.ones(6, dtype=bool)
    assert expansion_lift(cos, np.full(6, -1.0), everything_bare, 1.0, 0.75).tolist() == [0.0] * 6


def test_a_source_annotated_in_part_does_not_count_as_bare() -> None:
    index = make_index({"a": ["neutral"] * 3, "b": ["neutral"] * 2})
    index.q_owner = np.array([1], dtype=np.int32)  # one question, on a's second chunk
    assert index.arrays.annotated.tolist() == [True, True, True, False, False]


def test_neighbour_support_lifts_a_chunk_of_an_added_document_between_relevant_neighbours() -> None:
    from interp_rag.retrieval.policies import neighbour_support

    def make() -> Index:
        return make_index({"a": ["neutral"] * 4, "b": ["neutral"] * 2})  # a:3 and b:0 are adjacent rows

    index = make()  # no expansion questions anywhere: every source is as a user added it
    c = cands(index, ["a:0", "b:0", "a:2", "a:3", "b:1"], rel=[1.0, 0.9, 0.85, 0.8, 0.1])
    out = neighbour_support(index, c, RetrievalSettings(neighbour_support=0.25))
    # a:2 and a:3 support each other; a:0's neighbour is no candidate; b:0 gains from b:1 only, not from
    # a:3, the row before it in another document
    assert chosen_ids(index, out, list(range(5))) == ["a:2", "a:3", "a:0", "b:0", "b:1"]
    assert out.rel.tolist() == pytest.approx([0.85 + 0.25 * 0.8, 0.8 + 0.25 * 0.85, 1.0, 0.925, 0.325])
    # a source with expansion questions is left alone: they already point at its passage
    annotated = make()
    annotated.q_owner = np.array([1], dtype=np.int32)  # one question, on a's second chunk
    kept = neighbour_support(annotated, c, RetrievalSettings(neighbour_support=0.25))
    assert chosen_ids(annotated, kept, list(range(5))) == ["a:0", "b:0", "a:2", "a:3", "b:1"]
    assert kept.rel.tolist() == pytest.approx([1.0, 0.925, 0.85, 0.8, 0.325])
    off = neighbour_support(index, c, RetrievalSettings(neighbour_support=0.0))
    assert off is c
