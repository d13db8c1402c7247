"""Shared parts of the generalisation benchmarks (bench/unseen.py, bench/loso.py): an index with some
sources' annotations withheld, question runs through the real retrieval, and the scores of score.py.

Withholding a source's annotations in memory gives the index a build would give with that source's
expansion file absent: chunking, embedding and stance do not read expansions (build.py attaches them
after chunking), so only the expansion questions' vectors and the chunks' BM25 text change.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_rag.answering.extractive import compose_extractive
from interp_rag.evaluation import score_answers, score_run
from interp_rag.ingest.chunk import embed_input
from interp_rag.retrieval import retrieve as retrieve_module
from interp_rag.retrieval.rerank import get_reranker
from interp_rag.settings import DEFAULT_RETRIEVAL, RetrievalSettings
from interp_rag.store.format import BM25_B, BM25_K1, bm25_text
from interp_rag.store.index import Index
from interp_rag.store.labelling import label_chunks
from interp_rag.text import bm25_tokens, clean_for_embedding

KEYS = ("passage_recall", "mrr", "gold_coverage", "both_sides_on_contested")


def without_annotations(
    index: Index,
    source_ids: set[str] | frozenset[str],
    stance_model: dict[str, Any] | None = None,
    reader: Any = None,
) -> Index:
    """A copy of `index` in which the chunks of `source_ids` carry no expansion questions, and, with
    `stance_model` (a stance model trained without those sources' hand labels), the stance that model
    reads from each of their chunks instead of the shipped model's or a hand label."""
    import bm25s

    chunks = [
        replace(c, questions=[], question_spans=[]) if c.source_id in source_ids else c for c in index.chunks
    ]
    if stance_model is not None:  # labelled as a build labels a source it chunks anew, with no hand labels
        stances = {sid: s.stance for sid, s in index.sources.items()}
        read = None
        if reader is not None:  # as `add` reads a source without hand labels: with the stance reader too
            read = [
                embed_input(clean_for_embedding(c.text), index.sources[c.source_id].title)
                if c.source_id in source_ids
                else None  # not relabelled
                for c in chunks
            ]
        chunks = label_chunks(
            chunks, index.vectors, stances, set(source_ids), {}, {}, stance_model, read=read, reader=reader
        )
    q_vectors = q_owner = None
    if index.q_owner is not None and index.q_vectors is not None:
        owner_src = np.array([index.chunks[int(i)].source_id for i in index.q_owner], dtype=object)
        keep = ~np.isin(owner_src, list(source_ids))
        q_vectors, q_owner = index.q_vectors[keep], index.q_owner[keep]
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index(
        [bm25_tokens(bm25_text(c, index.sources[c.source_id])) or ["_"] for c in chunks], show_progress=False
    )
    out = Index(
        index.path,
        index.meta,
        chunks,
        index.sources,
        index.dense,
        bm25,
        index.vectors,
        q_vectors,
        q_owner,
        source_vectors=index.source_vectors,
    )
    return out


def tuning_with(overrides: dict) -> RetrievalSettings:
    return DEFAULT_RETRIEVAL.model_copy(update=overrides)


def use_reranker(name: str, model: Any) -> None:
    """Make retrieve() use `model` for reranker `name` (a model trained without a fold's sources); the
    registry builds the shipped one, which has seen every source."""
    retrieve_module.get_reranker = lambda n: model if n == name else get_reranker(n)


def run_questions(
    index: Any,
    questions: list[dict],
    k: int = 8,
    tuning: Any = None,
    answer_params: Any = None,
    stance_model: dict | None = None,
    answer_variants: dict[str, Any] | None = None,
) -> list[dict]:
    """The passages retrieve() shows for each question (what answer() shows); with `answer_params`
    (settings.answer) also the extractive answer's text over them, under "answer", its sentences' stance
    read by `stance_model` (default: the shipped one); with `answer_variants` (name -> settings.answer)
    also each variant's text over the same passages, under "answers"."""
    tuning = tuning or DEFAULT_RETRIEVAL
    out = []
    for q in questions:
        r = retrieve_module.retrieve(index, q["question"], k=k, tuning=tuning)
        row = {
            "id": q["id"],
            "passages": [
                {"doc": p.source_id, "text": p.text, "stance": p.stance, "chunk_id": p.chunk_id}
                for p in r.passages
            ],
        }

        def compose(params: Any, q: dict = q, r: Any = r) -> str:
            return compose_extractive(
                q["question"],
                r.passages,
                r.missing_sides,
                index=index,
                params=params,
                stance_model=stance_model,
            )[0]

        if answer_params is not None:
            row["answer"] = compose(answer_params)
        if answer_variants:
            row["answers"] = {name: compose(params) for name, params in answer_variants.items()}
        out.append(row)
    return out


def scores(questions: list[dict], run: list[dict], k: int = 8) -> dict:
    s = score_run(questions, run, k)
    out = {key: s[key] for key in KEYS} | {
        "questions": s["questions"],
        "by_kind": s["passage_recall_by_kind"],
    }
    texts = {r["id"]: r["answer"] for r in run if "answer" in r}  # run_questions with answer_params
    asked = [q for q in questions if q["id"] in texts]
    if asked:
        out["answer_evidence"] = score_answers(asked, texts)["answer_evidence"]
    return out


def variant_scores(questions: list[dict], run: list[dict]) -> dict[str, dict]:
    """The answer's own figures (score_answers) of each answer variant of a run (run_questions with
    `answer_variants`), over the questions it answered."""
    names = next((list(r["answers"]) for r in run if "answers" in r), [])
    asked = [q for q in questions if any(r["id"] == q["id"] and "answers" in r for r in run)]
    return {
        name: score_answers(asked, {r["id"]: r["answers"][name] for r in run if "answers" in r})
        for name in names
    }


def fmt(s: dict) -> str:
    vals = " ".join(f"{k}={s[k]:.3f}" for k in (*KEYS, "answer_evidence") if s.get(k) is not None)
    return f"n={s['questions']} {vals}"


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
