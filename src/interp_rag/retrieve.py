"""Hybrid retrieval (dense + BM25, fused), filters, and the stance-balanced, diverse choice of passages.

Scores are fused after per-question normalisation: each retriever's scores are scaled so that the
median candidate is 0 and the best is 1; the fused score weights dense against BM25.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .context import shown_in, to_passage
from .errors import ConfigError, QuestionError
from .types import Passage

SIDES = ("enthusiastic", "skeptical")


@dataclass(frozen=True)
class Tuning:
    """Constants chosen on the tuning questions (bench/tune_retrieval.py), not per-question options."""

    candidates: int = 120  # per retriever
    dense_weight: float = 0.4  # BM25 gets the rest
    question_weight: float = 1.0  # how far a close expansion question lifts its chunk's dense score
    min_cosine: float = 0.30  # below this dense similarity a passage does not address the question
    side_floor: float = 0.35  # a side counts as present with a passage at this share of the best score
    per_source: int = 5  # at most this many passages of one document among the k
    per_source_judgement: int = 2  # ... for yes/no questions of judgement, where more voices matter
    distinct_first: int = 7  # ... and the first this many from different documents,
    voice_chunks: int = 3  # ... the documents ranked by the sum of their best this many chunks
    summary_weight: float = 0.3  # ... plus this much of their summary's closeness (z-scored)
    per_side: int = 2  # when both sides are present, at least this many of each (when available)
    context_chars: int = 800  # whole sentences shown around a chunk, each side (context.py)


DEFAULT_TUNING = Tuning()


def tuning_for(settings: Any) -> Tuning:
    """The tuning constants with what settings may change (how much context a passage shows)."""
    chars = getattr(settings, "context_chars", DEFAULT_TUNING.context_chars)
    return replace(DEFAULT_TUNING, context_chars=chars)


@dataclass
class Retrieval:
    passages: list[Passage]
    missing_sides: list[str]
    candidates: list[int] = field(default_factory=list)  # chunk positions, best first
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Arrays:
    source_of: np.ndarray  # chunk -> source position
    stance_of: np.ndarray  # chunk -> stance code
    n_of: np.ndarray  # chunk -> ordinal within its document
    source_ids: list[str]
    years: np.ndarray
    types: np.ndarray


_STANCE_CODES = {"enthusiastic": 0, "skeptical": 1, "neutral": 2}


def _arrays(index: Any) -> _Arrays:
    cached = getattr(index, "_arrays", None)
    if cached is None:
        ids = list(index.sources)
        pos = {s: i for i, s in enumerate(ids)}
        cached = _Arrays(
            source_of=np.array([pos[c.source_id] for c in index.chunks], dtype=np.int32),
            stance_of=np.array([_STANCE_CODES.get(c.stance, 2) for c in index.chunks], dtype=np.int8),
            n_of=np.array([c.n for c in index.chunks], dtype=np.int32),
            source_ids=ids,
            years=np.array([index.sources[s].year or -1 for s in ids], dtype=np.int32),
            types=np.array([index.sources[s].type for s in ids], dtype=object),
        )
        index._arrays = cached
    return cached


def filter_mask(
    index: Any,
    *,
    stance: list[str] | str | None = None,
    years: tuple[int | None, int | None] | None = None,
    types: list[str] | str | None = None,
    sources: list[str] | str | None = None,
) -> np.ndarray | None:
    """Boolean mask over chunks, or None when nothing is filtered."""
    if not (stance or years or types or sources):
        return None
    a = _arrays(index)
    keep_src = np.ones(len(a.source_ids), dtype=bool)
    if years:
        lo, hi = years
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"Year range {lo}-{hi} is empty: the first year is after the last.")
        if lo is not None:
            keep_src &= a.years >= lo
        if hi is not None:
            keep_src &= (a.years <= hi) & (a.years >= 0)
    if types:
        keep_src &= np.isin(a.types, [types] if isinstance(types, str) else list(types))
    if sources:
        wanted = [sources] if isinstance(sources, str) else list(sources)
        unknown = [s for s in wanted if s not in index.sources]
        if unknown:
            raise ConfigError(
                f"Unknown source id(s): {', '.join(unknown)}. `interp-rag stats` lists sources."
            )
        keep_src &= np.isin(np.array(a.source_ids, dtype=object), wanted)
    mask = keep_src[a.source_of]
    if stance:
        wanted_st = [stance] if isinstance(stance, str) else list(stance)
        bad = [s for s in wanted_st if s not in _STANCE_CODES]
        if bad:
            raise ConfigError(f"Unknown stance {bad[0]!r}: use enthusiastic, skeptical or neutral.")
        mask &= np.isin(a.stance_of, [_STANCE_CODES[s] for s in wanted_st])
    return mask


def _normalise(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores
    mid, top = float(np.median(scores)), float(scores.max())
    if top - mid <= 1e-9:
        return np.zeros_like(scores)
    return np.clip((scores - mid) / (top - mid), 0.0, None)


@lru_cache(maxsize=2048)
def _query_vector_cached(question: str) -> bytes:
    from .embed import encode_query

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


def _dense_top(index: Any, q: np.ndarray, allowed: np.ndarray | None, m: int) -> np.ndarray:
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
    index: Any,
    question: str,
    *,
    mask: np.ndarray | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> Candidates:
    """Candidate chunks with fused relevance and dense cosine, best first."""
    from .index import bm25_tokens

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
        cos = cos + tuning.question_weight * np.maximum(q_best[pool] - cos, 0.0)
    dn = _normalise(cos)
    fused = tuning.dense_weight * dn
    if bm_all is not None:
        fused = fused + (1 - tuning.dense_weight) * _normalise(bm_all[pool])
    order = np.argsort(-fused, kind="stable")
    pool = pool[order]
    focus = np.full(pool.size, -1, dtype=np.int64)
    if q_cos is not None:  # the closest question of each candidate: its span is where the answer is
        ends = np.append(index.q_first[1:], len(q_cos))
        for i, c in enumerate(pool):
            lo, hi = index.q_first[c], ends[c]
            if hi > lo:
                focus[i] = lo + int(np.argmax(q_cos[lo:hi]))
    return Candidates(pool, fused[order], cos[order], focus)


def _makes_run(j: int, chosen: list[int], src: np.ndarray, nth: np.ndarray) -> bool:
    """Would j make three neighbouring chunks of one document? (Neighbours overlap; a third adds little.)"""
    near = {int(nth[i]) for i in chosen if src[i] == src[j] and abs(int(nth[i]) - int(nth[j])) <= 2}
    n = int(nth[j])
    return {n - 1, n - 2} <= near or {n - 1, n + 1} <= near or {n + 1, n + 2} <= near


_JUDGEMENT = re.compile(
    r"(^|[.;:,]\s+)(is|are|can|could|does|do|did|should|will|would|has|have|was|were)\s", re.IGNORECASE
)


def is_judgement(question: str) -> bool:
    """A yes/no question ("Are SAEs useful?", "..., is that explanation unique?"): a call for a verdict."""
    return bool(_JUDGEMENT.search(question.strip()))


def select(
    index: Any,
    question: str,
    cands: Candidates,
    k: int,
    tuning: Tuning = DEFAULT_TUNING,
) -> tuple[list[int], list[str]]:
    """k passages: relevant, varied (a cap per document, no runs of neighbours), both sides when both exist.

    Returns positions into `cands.pool` in display order and the sides with nothing to show."""
    pool, rel, cos = cands.pool, cands.rel, cands.cos
    if pool.size == 0:
        return [], list(SIDES)
    a = _arrays(index)
    top = float(rel[0]) if rel.size else 0.0
    relevant = (rel >= tuning.side_floor * top) & (cos >= tuning.min_cosine)
    stance = a.stance_of[pool]
    both_relevant = all(bool(np.any(relevant & (stance == _STANCE_CODES[s]))) for s in SIDES)

    # A yes/no question of judgement ("Is X reliable?") is where the two sides matter most: draw on more
    # documents (the first `distinct_first` passages from different ones). A question of fact may take
    # more passages from the one document that answers it.
    judgement = is_judgement(question)
    cap = tuning.per_source_judgement if judgement else tuning.per_source
    distinct = min(tuning.distinct_first, k) if judgement else 0
    # Best first, with a cap per document and nothing already on screen in another passage's context:
    # measured on the tuning questions, MMR-style novelty only cost relevance (bench/tune_retrieval.py).
    src = a.source_of[pool]
    nth = a.n_of[pool]
    chosen: list[int] = []
    per_src: dict[int, int] = {}

    def blockers(j: int) -> list[int]:
        """Chosen passages that already show most of candidate j."""
        covering = set(shown_in(index, int(pool[j]), [int(pool[i]) for i in chosen], tuning.context_chars))
        return [i for i in chosen if int(pool[i]) in covering]

    def fits(j: int, limit: int) -> bool:
        return (
            j not in chosen
            and per_src.get(int(src[j]), 0) < limit
            and not _makes_run(j, chosen, src, nth)
            and not blockers(j)
        )

    # The voices: documents that address the question at length (several relevant chunks) before one that
    # mentions it in passing; each shows its best passage.
    by_rel = list(range(pool.size))
    by_doc = by_rel
    if distinct and tuning.voice_chunks > 1:
        best: dict[int, list[float]] = {}
        for j in by_rel:
            best.setdefault(int(src[j]), []).append(float(rel[j]))
        weight = {d: sum(v[: tuning.voice_chunks]) for d, v in best.items()}
        sv = getattr(index, "source_vectors", None)
        if tuning.summary_weight and sv is not None and len(sv) > 1:
            # what the source is about and argues (title and stance note), against the question
            cs = sv @ query_vector(question)
            z = (cs - cs.mean()) / (cs.std() + 1e-9)
            weight = {d: w + tuning.summary_weight * float(z[d]) for d, w in weight.items()}
        by_doc = sorted(by_rel, key=lambda j: -weight[int(src[j])])
    for limit, want, seq in ((1, distinct, by_doc), (cap, k, by_rel)):
        for j in seq:
            if len(chosen) >= want:
                break
            if fits(j, limit):
                chosen.append(j)
                per_src[int(src[j])] = per_src.get(int(src[j]), 0) + 1

    # Both sides: when each side has relevant passages, show at least `per_side` of each. A passage of the
    # missing side replaces the weakest neutral or surplus passage (of its own document, if that one is full).
    if both_relevant:
        for s in SIDES:
            code = _STANCE_CODES[s]
            while sum(1 for j in chosen if stance[j] == code) < tuning.per_side:
                counts = {c: sum(1 for i in chosen if stance[i] == c) for c in (0, 1, 2)}
                spare = [
                    i
                    for i in reversed(chosen)
                    if stance[i] != code and (stance[i] == 2 or counts[int(stance[i])] > tuning.per_side)
                ]
                swap = None
                for j in range(pool.size):
                    if j in chosen or stance[j] != code or not relevant[j] or _makes_run(j, chosen, src, nth):
                        continue
                    # the victim must free what keeps j out: the passage already showing it, or a slot
                    # of j's document when that is full
                    block = blockers(j)
                    full = per_src.get(int(src[j]), 0) >= cap
                    ok = [i for i in spare if (not block or block == [i]) and (not full or src[i] == src[j])]
                    victim = ok[0] if ok else None
                    if victim is not None:
                        swap = (victim, j)
                        break
                if swap is None:
                    break
                chosen.remove(swap[0])
                chosen.append(swap[1])
                per_src[int(src[swap[0]])] -= 1
                per_src[int(src[swap[1]])] = per_src.get(int(src[swap[1]]), 0) + 1
        chosen.sort(key=lambda j: -rel[j])
        # each side's best passage near the top: within the first three
        for s in SIDES:
            code = _STANCE_CODES[s]
            first = next((p for p, j in enumerate(chosen) if stance[j] == code), None)
            if first is not None and first > 2:
                chosen.insert(2, chosen.pop(first))
    else:
        chosen.sort(key=lambda j: -rel[j])
    # A side is missing when none of its passages made it: nothing relevant (or nothing at all) to show.
    shown = {int(stance[j]) for j in chosen}
    return chosen, [s for s in SIDES if _STANCE_CODES[s] not in shown]


def retrieve(
    index: Any,
    question: str,
    *,
    k: int = 8,
    stance: list[str] | str | None = None,
    years: tuple[int | None, int | None] | None = None,
    types: list[str] | str | None = None,
    sources: list[str] | str | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> Retrieval:
    """The k passages to show for a question, in display order, and which side (if any) is missing."""
    import time

    question = (question or "").strip()
    if not question:
        raise QuestionError("The question is empty: type a question about interpretability.")
    if k < 1:
        raise ConfigError(f"k must be at least 1 (got {k}).")
    t = time.perf_counter()
    mask = filter_mask(index, stance=stance, years=years, types=types, sources=sources)
    cands = candidates(index, question, mask=mask, tuning=tuning)
    chosen, missing = select(index, question, cands, k, tuning)
    if stance:  # a stance filter asks for one side; the other being absent is the point, not a gap
        wanted = {stance} if isinstance(stance, str) else set(stance)
        missing = [s for s in missing if s in wanted]
    pool, rel, focus = cands.pool, cands.rel, cands.focus
    passages = [
        to_passage(index, int(pool[j]), float(rel[j]), int(focus[j]), tuning.context_chars) for j in chosen
    ]
    ms = round((time.perf_counter() - t) * 1000, 2)
    return Retrieval(passages, missing, [int(i) for i in cands.pool], {"retrieve_ms": ms})
