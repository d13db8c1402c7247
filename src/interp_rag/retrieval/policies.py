"""Selection: which k of the candidates to show, in what order (relevant, varied, both sides)."""

from __future__ import annotations

import re

import numpy as np

from ..settings import DEFAULT_RETRIEVAL, RetrievalSettings
from ..store.index import Arrays, Index
from ..types import SIDES
from .context import shown_in
from .search import Candidates, query_vector


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
    index: Index,
    question: str,
    cands: Candidates,
    k: int,
    tuning: RetrievalSettings = DEFAULT_RETRIEVAL,
) -> tuple[list[int], list[str]]:
    """k passages: relevant, varied (a cap per document, no runs of neighbours), both sides when both exist.

    Returns positions into `cands.pool` in display order and the sides with nothing to show."""
    pool, rel, cos = cands.pool, cands.rel, cands.cos
    if pool.size == 0:
        return [], list(SIDES)
    a = index.arrays
    top = float(rel[0]) if rel.size else 0.0
    relevant = (rel >= tuning.side_floor * top) & (cos >= tuning.min_cosine)
    stance = a.stance_of[pool]
    both_relevant = all(bool(np.any(relevant & (stance == Arrays.code(s)))) for s in SIDES)

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
            code, neutral = Arrays.code(s), Arrays.code("neutral")
            while sum(1 for j in chosen if stance[j] == code) < tuning.per_side:
                counts = {c: sum(1 for i in chosen if stance[i] == c) for c in Arrays.CODE.values()}
                spare = [
                    i
                    for i in reversed(chosen)
                    if stance[i] != code
                    and (stance[i] == neutral or counts[int(stance[i])] > tuning.per_side)
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
            code = Arrays.code(s)
            first = next((p for p, j in enumerate(chosen) if stance[j] == code), None)
            if first is not None and first > 2:
                chosen.insert(2, chosen.pop(first))
    else:
        chosen.sort(key=lambda j: -rel[j])
    # A side is missing when none of its passages made it: nothing relevant (or nothing at all) to show.
    shown = {int(stance[j]) for j in chosen}
    return chosen, [s for s in SIDES if Arrays.code(s) not in shown]
