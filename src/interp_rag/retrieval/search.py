"""Candidates for a question: dense (with question expansions) and BM25 retrieval, fused.

Scores are fused after per-question normalisation: each retriever's scores are scaled so that the
median candidate is 0 and the best is 1; the fused score weights dense against BM25.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..ingest.embed import encode_query
from ..settings import DEFAULT_RETRIEVAL, RetrievalSettings
from ..store.index import Index
from ..text import bm25_tokens


def _normalise(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores
    mid, top = float(np.median(scores)), float(scores.max())
    if top - mid <= 1e-9:
        return np.zeros_like(scores)
    return np.clip((scores - mid) / (top - mid), 0.0, None)


@lru_cache(maxsize=2048)
def _query_vector_cached(question: str) -> bytes:
    return encode_query(question).tobytes()


def query_vector(question: str) -> np.ndarray:
    return np.frombuffer(_query_vector_cached(question), dtype=np.float32)


class Candidates(NamedTuple):
    pool: np.ndarray  # chunk positions, best first
    rel: np.ndarray  # fused relevance
    cos: np.ndarray  # dense similarity (lifted by the closest expansion question)
    focus: np.ndarray  # row of the chunk's closest expansion question, -1 if none


_EMPTY = Candidates(np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0, int))


def _top(scores: np.ndarray, m: int) -> np.ndarray:
    """Positions of the m highest scores, in no order."""
    return np.argpartition(-scores, m - 1)[:m] if m < scores.size else np.arange(scores.size)


def _dense_top(index: Index, q: np.ndarray, allowed: np.ndarray | None, m: int) -> np.ndarray:
    """Chunk positions of the m nearest chunks among `allowed` (None: all): exact scores when the index is
    exact, else the IVF index's answer through an id selector."""
    if type(index.dense).__name__ == "IndexFlatIP":
        if allowed is None:
            return _top(index.vectors @ q, m)
        return allowed[_top(index.vectors[allowed] @ q, m)]
    import faiss

    params = None
    if allowed is not None:
        params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(allowed), nprobe=index.dense.nprobe)
    _, ids = index.dense.search(q[None, :], m, params=params)
    return ids[0][ids[0] >= 0]


def candidates(
    index: Index,
    question: str,
    *,
    mask: np.ndarray | None = None,
    tuning: RetrievalSettings = DEFAULT_RETRIEVAL,
) -> Candidates:
    """Candidate chunks with fused relevance and dense cosine, best first."""
    n = len(index.chunks)
    if n == 0:
        return _EMPTY
    q = query_vector(question)
    allowed = np.flatnonzero(mask) if mask is not None else None
    if allowed is not None and allowed.size == 0:
        return _EMPTY
    m = min(tuning.candidates, n if allowed is None else allowed.size)
    dense_ids = _dense_top(index, q, allowed, m)

    # BM25 over the same chunks.
    tokens = [t for t in bm25_tokens(question) if t in index.bm25.vocab_dict]
    bm_all = None
    bm_ids = np.zeros(0, int)
    if tokens:
        bm_all = index.bm25.get_scores(tokens)
        if mask is not None:
            bm_all = np.where(mask, bm_all, 0.0)
        bm_ids = _top(bm_all, m)
        bm_ids = bm_ids[bm_all[bm_ids] > 0]

    # Question expansions: a chunk is as close as its closest question (weighted), see expansions.py.
    q_best = q_cos = None
    if index.q_vectors is not None and tuning.question_weight > 0:
        q_cos = index.q_vectors @ q
        q_best = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(q_best, index.q_owner, q_cos)
        if mask is not None:
            q_best = np.where(mask, q_best, -1.0)
        q_ids = _top(q_best, m)
        dense_ids = np.union1d(dense_ids, q_ids[q_best[q_ids] > 0])

    pool = np.union1d(dense_ids, bm_ids)
    cos = index.vectors[pool] @ q
    if q_best is not None:
        bare = ~index.arrays.annotated[pool]
        cos = cos + expansion_lift(cos, q_best[pool], bare, tuning.question_weight, tuning.bare_lift)
    dn = _normalise(cos)
    fused = tuning.dense_weight * dn
    if bm_all is not None:
        fused = fused + (1 - tuning.dense_weight) * _normalise(bm_all[pool])
    order = np.argsort(-fused, kind="stable")
    pool = pool[order]
    focus = np.full(pool.size, -1, dtype=np.int64)
    if q_cos is not None:  # the closest question of each candidate: its span is where the answer is
        focus = closest_rows(index.q_first, len(q_cos), q_cos, pool)
    return Candidates(pool, fused[order], cos[order], focus)


def expansion_lift(
    cos: np.ndarray, q_best: np.ndarray, bare: np.ndarray, weight: float, bare_quantile: float
) -> np.ndarray:
    """How far each candidate's dense score is lifted by its closest expansion question: `weight` times
    the margin by which that question is closer to the asked one than the passage itself.

    A candidate whose source has no expansion questions (`bare`: every source a user adds) has no
    question to be lifted by, yet competes with candidates that do: it takes the `bare_quantile` quantile of
    the lifts the annotated candidates get for this same question, so an added source ranks as an annotated
    one of its standing would, not below it for lack of annotations (issue 9; the quantile was chosen by
    leave-sources-out cross-validation, docs/benchmarks.md)."""
    lift = weight * np.maximum(q_best - cos, 0.0)
    known = ~bare
    if bare_quantile > 0 and bare.any() and known.any():
        lift[bare] = np.quantile(lift[known], bare_quantile)
    return lift


def closest_rows(first: np.ndarray, total: int, scores: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """For each chunk, the row of its best-scored question (rows of chunk c: first[c] up to first[c + 1]),
    -1 for a chunk without questions; ties go to the first row. One vectorised pass: a Python loop over
    the ~250 candidates cost half a millisecond a question."""
    lo = first[chunks]
    hi = np.append(first[1:], total)[chunks]
    lens = hi - lo
    out = np.full(chunks.size, -1, dtype=np.int64)
    if not lens.sum():
        return out
    seg = np.repeat(np.arange(chunks.size), lens)
    starts = np.cumsum(lens) - lens
    rows = np.arange(lens.sum()) - np.repeat(starts, lens) + np.repeat(lo, lens)
    order = np.lexsort((-scores[rows], seg))  # by chunk, best first; stable, so ties keep row order
    has = lens > 0
    out[has] = rows[order[starts[has]]]
    return out
