"""The real 61-piece corpus (from the mirror), built once per session: token bounds, offsets, stable ids,
stance labels, and retrieval that shows both sides of a contested question."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from interp_rag import answer, classify_stance
from interp_rag.evaluation import evaluate_stance
from interp_rag.ingest.chunk import CONTENT_MAX_TOKENS, Chunker
from interp_rag.ingest.embed import tokenizer_path
from interp_rag.ingest.sources import load_sources, resolve
from interp_rag.retrieval.retrieve import retrieve
from interp_rag.settings import DEFAULT_RETRIEVAL

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def chunker(real_index_settings) -> Chunker:
    s = real_index_settings
    return Chunker(tokenizer_path(), s.chunk_tokens, s.chunk_overlap)


def test_every_source_of_the_corpus_is_indexed(real_index, real_index_settings) -> None:
    ids = {s.id for s in load_sources(real_index_settings.sources_file)}
    assert len(ids) == 61 and set(real_index.sources) == ids
    assert {c.source_id for c in real_index.chunks} == ids
    assert real_index.dense.ntotal == len(real_index.chunks) > 3000


def test_no_chunk_exceeds_the_model_window(real_index, chunker) -> None:
    texts = [c.text for c in real_index.chunks]
    assert max(chunker.count_many(texts)) <= chunker.chunk_tokens
    titles = {sid: s.title for sid, s in real_index.sources.items()}
    inputs = [chunker.embed_text(c, titles[c.source_id]) for c in real_index.chunks]
    assert max(chunker.count_many(inputs)) <= CONTENT_MAX_TOKENS


def test_offsets_point_at_the_exact_passage(real_index, mirror) -> None:
    texts = {sid: (mirror / s.file).read_text() for sid, s in real_index.sources.items()}
    for c in real_index.chunks:
        assert texts[c.source_id][c.start : c.end] == c.text
    ids = [c.id for c in real_index.chunks]
    assert len(set(ids)) == len(ids)


def test_chunk_ids_are_stable(real_index, chunker, mirror) -> None:
    for sid in ("hendrycks-misguided-quest-mech-interp", "distill-zoom-in-circuits"):
        doc = resolve(real_index.sources[sid], mirror=mirror, cache_dir=None)
        again = [(c.id, c.start, c.end, c.hash) for c in chunker.chunk(doc)]
        stored = [(c.id, c.start, c.end, c.hash) for c in real_index.chunks if c.source_id == sid]
        assert again == stored


def test_passage_stance_is_stored_per_chunk_and_matches_classify_stance(real_index) -> None:
    counts = Counter(c.stance for c in real_index.chunks)
    assert set(counts) == {"enthusiastic", "skeptical", "neutral"} and min(counts.values()) > 300
    # a limitations passage inside an enthusiastic document is labelled on its own
    by_doc = Counter((real_index.sources[c.source_id].stance, c.stance) for c in real_index.chunks)
    assert by_doc[("enthusiastic", "skeptical")] > 50 and by_doc[("skeptical", "enthusiastic")] > 20
    sample = [c for c in real_index.chunks if c.stance_by == "classifier"][::97]
    got = classify_stance(
        [c.text for c in sample], source_ids=[c.source_id for c in sample], index=real_index
    )
    assert got == [c.stance for c in sample]


def test_a_hand_labelled_passage_shows_its_label_as_such(real_index, mirror) -> None:
    labels = [json.loads(x) for x in (ROOT / "corpus/stance/labels-0.jsonl").read_text().splitlines()]
    lab = next(r for r in labels if r["end"] - r["start"] > 300)
    chunks = [c for c in real_index.chunks if c.source_id == lab["doc"]]
    holder = max(chunks, key=lambda c: min(c.end, lab["end"]) - max(c.start, lab["start"]))
    assert (holder.stance, holder.stance_by, holder.stance_confidence) == (lab["label"], "label", 1.0)
    assert 0.1 < sum(c.stance_by == "label" for c in real_index.chunks) / len(real_index.chunks) < 0.3
    # eval: a passage held by a hand-labelled chunk is not counted as the classifier's accuracy
    text = (mirror / real_index.sources[lab["doc"]].file).read_text()
    free = next(c for c in chunks if c.stance_by == "classifier" and len(c.text) > 500)
    mid = len(free.text) // 2  # the middle: neighbouring chunks overlap only at the edges
    rows = [
        {"id": "a", "doc": lab["doc"], "quote": text[lab["start"] : lab["end"]], "label": lab["label"]},
        {"id": "b", "doc": lab["doc"], "quote": free.text[mid - 90 : mid + 90], "label": free.stance},
    ]
    result = evaluate_stance(rows, real_index)
    assert result["passages"] == 1 and result["hand_labelled"]["passages"] == 1
    assert result["hand_labelled"]["accuracy"] == 1.0


@pytest.mark.parametrize(
    "question",
    [
        "Are sparse autoencoders actually useful?",
        "Can interpretability detect a deceptive model?",
        "Is mechanistic interpretability a promising path to AI safety?",
    ],
)
def test_contested_questions_show_both_sides_near_the_top(real_index, question: str) -> None:
    r = retrieve(real_index, question, k=8)
    stances = [p.stance for p in r.passages]
    assert len(r.passages) == 8 and r.missing_sides == []
    assert stances.count("enthusiastic") >= 2 and stances.count("skeptical") >= 2
    assert "enthusiastic" in stances[:3] and "skeptical" in stances[:3]


def test_passages_are_diverse(real_index) -> None:
    for question in (
        "What are induction heads?",
        "How does SAELens train sparse autoencoders?",
        "What is superposition in neural networks?",
    ):
        r = retrieve(real_index, question, k=8)
        per_doc = Counter(p.source_id for p in r.passages)
        assert max(per_doc.values()) <= DEFAULT_RETRIEVAL.per_source
        shown = {(p.source_id, int(p.chunk_id.rsplit(":", 1)[1])) for p in r.passages}
        runs = [(sid, n) for sid, n in shown if (sid, n + 1) in shown and (sid, n + 2) in shown]
        assert not runs, f"three neighbouring chunks of one document for {question!r}: {runs}"


def test_missing_side_on_a_one_sided_question(real_index) -> None:
    a = answer("How do I load a pretrained SAE from disk with SAELens?", index=real_index, llm=False)
    assert a.passages[0].source_id.startswith("saelens")
    if a.missing_sides:
        side = a.missing_sides[0]
        assert f"No {side} source among those searched addresses this directly." in a.text


def test_filters_on_the_real_corpus(real_index) -> None:
    r = retrieve(real_index, "Are saliency maps reliable?", k=8, years=(2018, 2019), types=["paper"])
    assert r.passages and all(real_index.sources[p.source_id].year in (2018, 2019) for p in r.passages)
    assert all(p.type == "paper" for p in r.passages)
    r = retrieve(
        real_index, "Are saliency maps reliable?", k=5, sources=["adebayo-sanity-checks-saliency-maps"]
    )
    assert {p.source_id for p in r.passages} == {"adebayo-sanity-checks-saliency-maps"}


def test_site_template_tags_never_reach_a_reader(real_index) -> None:
    from interp_rag.text import clean_for_embedding
    from interp_rag.web.render import readable

    tagged = [c for c in real_index.chunks if "{% term" in c.text]
    assert tagged  # the corpus has Jekyll glossary macros ({% term superposition %})
    for c in tagged:
        for shown in (clean_for_embedding(c.text), readable(c.text)):
            assert "{%" not in shown and "%}" not in shown and "{{site." not in shown
    assert clean_for_embedding("a {% term feature directions %} b") == "a feature directions b"


def test_claim_cues_count_the_same_with_re2_as_with_re_on_every_sentence(real_index) -> None:
    from interp_rag.answering import evidence
    from interp_rag.answering.extractive import sentences

    slow = [
        re.compile("|".join(f"(?:{p})" for p in evidence._NOT_A_CLAIM_PARTS)),
        re.compile(evidence._CLAIM.pattern),
    ]
    fast = [evidence._NOT_A_CLAIM, evidence._CLAIM]
    texts = {s.lower() for c in real_index.chunks for s, _, _ in sentences(c.text)}
    assert len(texts) > 10_000
    for rx, ref in zip(fast, slow, strict=True):
        differ = [t for t in texts if len(rx.findall(t)) != len(ref.findall(t))]
        assert not differ, differ[:3]


def test_attribute_blocks_never_reach_a_reader(real_index) -> None:
    from interp_rag.text import clean_for_embedding
    from interp_rag.web.render import readable

    marked = [c for c in real_index.chunks if re.search(r"\{#[a-z]", c.text)]
    assert marked  # the corpus has bookdown chapters ("## Properties of explanations {#properties}")
    for c in marked:
        for shown in (clean_for_embedding(c.text), readable(c.text)):
            assert not re.search(r"\{#[a-z]", shown)
    assert not [h for c in real_index.chunks for h in c.headings if re.search(r"\{[#.][a-z]", h)]
