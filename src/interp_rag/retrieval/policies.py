"""Selection: which k of the candidates to show, in what order: relevant, varied, both sides.

Before selection, two re-orderings of the candidates (retrieve.py runs them after the reranker):
`neighbour_support` (a chunk of an added document between relevant neighbours rises) and `lift_sides`
(a document of a judgement question is shown by its verdict).

`select` runs small named policies over one `Selection` state, in this order:
  1. distinct voices: for a yes/no question of judgement, the first passages from different documents,
     documents that address the question at length (and whose summary is about it) first, none far
     below the best;
  2. fill by relevance: best first, up to k;
  while both fill steps respect the document cap, no runs of three neighbouring chunks, and nothing
  already on screen in another passage's context (`Selection.fits`);
  3. both-sides swap: when each side has relevant passages, at least `per_side` of each;
  4. each side's best in the first three;
  5. missing sides: the sides with nothing shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..settings import DEFAULT_RETRIEVAL, RetrievalSettings
from ..store.index import Arrays, Index
from ..types import SIDES
from .context import shown_in
from .search import Candidates, query_vector

NEUTRAL = Arrays.code("neutral")

_JUDGEMENT = re.compile(
    r"(^|[.;:,]\s+)(is|are|can|could|does|do|did|should|will|would|has|have|was|were)\s", re.IGNORECASE
)


def is_judgement(question: str) -> bool:
    """A yes/no question ("Are SAEs useful?", "..., is that explanation unique?"): a call for a verdict."""
    return bool(_JUDGEMENT.search(question.strip()))


@dataclass
class Selection:
    """What the policies share. Candidates are positions into `cands.pool` (best first); `chosen` holds the
    ones picked so far, in the order picked."""

    index: Index
    question: str
    k: int
    tuning: RetrievalSettings
    cands: Candidates
    src: np.ndarray  # candidate -> source position
    nth: np.ndarray  # candidate -> chunk ordinal within its document
    stance: np.ndarray  # candidate -> stance code (Arrays.code)
    relevant: np.ndarray  # candidate -> relevant enough to count for its side
    judgement: bool
    cap: int  # most passages of one document
    chosen: list[int] = field(default_factory=list)
    per_src: dict[int, int] = field(default_factory=dict)
    # chosen candidate -> the candidates whose text its passage also shows (both_sides: a passage of the
    # missing side took the place of the one whose window already held it)
    absorbed: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def start(
        cls, index: Index, question: str, cands: Candidates, k: int, tuning: RetrievalSettings
    ) -> Selection:
        a = index.arrays
        pool, rel, cos = cands.pool, cands.rel, cands.cos
        top = float(rel[0]) if rel.size else 0.0
        judgement = is_judgement(question)
        return cls(
            index=index,
            question=question,
            k=k,
            tuning=tuning,
            cands=cands,
            src=a.source_of[pool],
            nth=a.n_of[pool],
            stance=a.stance_of[pool],
            relevant=(rel >= tuning.side_floor * top) & (cos >= tuning.min_cosine),
            judgement=judgement,
            # A question of fact may take more passages from the one document that answers it.
            cap=tuning.per_source_judgement if judgement else tuning.per_source,
        )

    @property
    def size(self) -> int:
        return int(self.cands.pool.size)

    def count(self, code: int) -> int:
        return sum(1 for j in self.chosen if self.stance[j] == code)

    def add(self, j: int) -> None:
        self.chosen.append(j)
        self.per_src[int(self.src[j])] = self.per_src.get(int(self.src[j]), 0) + 1

    def remove(self, i: int) -> None:
        self.chosen.remove(i)
        self.per_src[int(self.src[i])] -= 1

    def blockers(self, j: int) -> list[int]:
        """Chosen passages that already show most of candidate j in their context."""
        pool = self.cands.pool
        shown = [int(pool[i]) for i in self.chosen]
        covering = set(shown_in(self.index, int(pool[j]), shown, self.tuning.context_chars))
        return [i for i in self.chosen if int(pool[i]) in covering]

    def makes_run(self, j: int) -> bool:
        """Would j make three neighbouring chunks of one document? (Neighbours overlap; a third adds
        little.)"""
        src, nth = self.src, self.nth
        near = {int(nth[i]) for i in self.chosen if src[i] == src[j] and abs(int(nth[i]) - int(nth[j])) <= 2}
        n = int(nth[j])
        return {n - 1, n - 2} <= near or {n - 1, n + 1} <= near or {n + 1, n + 2} <= near

    def fits(self, j: int, limit: int) -> bool:
        """Can j be added: not chosen, its document under `limit`, no run, not already on screen."""
        return (
            j not in self.chosen
            and self.per_src.get(int(self.src[j]), 0) < limit
            and not self.makes_run(j)
            and not self.blockers(j)
        )

    def sides_relevant(self) -> bool:
        return all(bool(np.any(self.relevant & (self.stance == Arrays.code(s)))) for s in SIDES)

    def score(self, j: int) -> float:
        return shown_relevance(self.cands.rel, j, self.absorbed)

    def by_relevance(self) -> None:
        self.chosen.sort(key=lambda j: -self.score(j))


def lift_sides(index: Index, question: str, cands: Candidates, tuning: RetrievalSettings) -> Candidates:
    """For a question of judgement, each document's side-taking passages before its neutral ones.

    Asked "Are SAEs useful?", a document answers in its verdicts, not in the neutral paragraphs that share
    the question's words. Within each document, candidates are re-ranked by relevance + `stance_lift` x
    stance confidence (0 for neutral), and take over the document's relevance scores in that order: which
    documents are shown, and where, does not change (measured: lifting across documents cost both sides
    under leave-sources-out). The stance is the classifier's, read from the passage itself, so a document
    nobody annotated is treated the same way. Questions of fact are unchanged."""
    if not tuning.stance_lift or cands.pool.size == 0 or not is_judgement(question):
        return cands
    chunks = index.chunks
    pool = cands.pool.tolist()
    lifted = cands.rel + tuning.stance_lift * np.array(
        [0.0 if chunks[p].stance == "neutral" else chunks[p].stance_confidence for p in pool]
    )
    slots: dict[str, list[int]] = {}  # document -> its candidates' places, best first
    for j, p in enumerate(pool):
        slots.setdefault(chunks[p].source_id, []).append(j)
    new = np.arange(len(pool))
    for places in slots.values():
        by_lift = sorted(places, key=lambda j: -lifted[j])
        new[places] = by_lift  # the document's best place goes to its most lifted candidate
    return Candidates(cands.pool[new], cands.rel, cands.cos[new], cands.focus[new])


def neighbour_support(index: Index, cands: Candidates, tuning: RetrievalSettings) -> Candidates:
    """Candidates of sources without expansion questions gain `neighbour_support` x the relevance of their
    best neighbouring candidate (the chunk before or after, same document), and the list is re-ordered.

    A shown passage holds its neighbours' sentences too (context.py), and an answer often runs across a
    chunk boundary, so a chunk between relevant chunks shows more of it than an isolated match. Annotated
    sources are left alone: their expansion questions already point at the passage (measured: supporting
    every source cost dev MRR 0.673 -> 0.618), while an added document has only its chunks' own scores."""
    w = tuning.neighbour_support
    pool = cands.pool
    if not w or pool.size == 0:
        return cands
    a = index.arrays
    bare = ~a.annotated[pool]
    if not bare.any():
        return cands
    n = len(index.chunks)
    place = np.full(n, -1, dtype=np.int64)
    place[pool] = np.arange(pool.size)
    best = np.zeros(pool.size)
    for step in (-1, 1):  # a build writes each document's chunks in order, one after the other
        inside = (pool + step >= 0) & (pool + step < n)
        nb = np.clip(pool + step, 0, n - 1)
        same = (a.source_of[nb] == a.source_of[pool]) & (a.n_of[nb] == a.n_of[pool] + step)
        ok = inside & same & (place[nb] >= 0)
        best = np.maximum(best, np.where(ok, cands.rel[place[nb]], 0.0))
    rel = cands.rel + w * np.where(bare, best, 0.0)
    order = np.argsort(-rel, kind="stable")
    return Candidates(pool[order], rel[order], cands.cos[order], cands.focus[order])


def voice_order(sel: Selection) -> list[int]:
    """Candidates ordered by their document's weight: the sum of its best `voice_chunks` relevances (a
    document that addresses the question at length before one that mentions it in passing), plus
    `summary_weight` of how close its summary (title and stance note) is to the question (z-scored)."""
    t, rel = sel.tuning, sel.cands.rel
    by_rel = list(range(sel.size))
    best: dict[int, list[float]] = {}
    for j in by_rel:
        best.setdefault(int(sel.src[j]), []).append(float(rel[j]))
    weight = {d: sum(v[: t.voice_chunks]) for d, v in best.items()}
    sv = sel.index.source_vectors
    if t.summary_weight and sv is not None and len(sv) > 1:
        cs = sv @ query_vector(sel.question)
        z = (cs - cs.mean()) / (cs.std() + 1e-9)
        weight = {d: w + t.summary_weight * float(z[d]) for d, w in weight.items()}
    return sorted(by_rel, key=lambda j: -weight[int(sel.src[j])])


def distinct_voices(sel: Selection) -> None:
    """For a question of judgement, where the two sides matter most: the first `distinct_first` passages
    from different documents, each document's best passage, in voice order. A document whose best passage
    is under `voice_floor` of the best relevance mentions the question rather than addresses it: it gets no
    voice, and the slot goes by relevance (a second passage of a document that does address it)."""
    want = min(sel.tuning.distinct_first, sel.k) if sel.judgement else 0
    if not want:
        return
    order = voice_order(sel) if sel.tuning.voice_chunks > 1 else list(range(sel.size))
    rel = sel.cands.rel
    floor = sel.tuning.voice_floor * float(rel[0]) if rel.size else 0.0
    for j in order:
        if len(sel.chosen) >= want:
            break
        if rel[j] >= floor and sel.fits(j, 1):
            sel.add(j)


def fill_by_relevance(sel: Selection) -> None:
    """Best first, up to k, within the document cap. (Measured on the tuning questions, MMR-style novelty
    only cost relevance: bench/tune_retrieval.py.)"""
    for j in range(sel.size):
        if len(sel.chosen) >= sel.k:
            break
        if sel.fits(j, sel.cap):
            sel.add(j)
    # Slots left empty mean every other candidate's document is full: the question was restricted to a few
    # sources (one source gave a question of judgement two passages of eight). Their passages fill them.
    for j in range(sel.size):
        if len(sel.chosen) >= sel.k:
            break
        if sel.fits(j, sel.k):
            sel.add(j)


def _swap_for(sel: Selection, code: int) -> tuple[int, int] | None:
    """(victim, candidate): a relevant passage of side `code` and the weakest neutral or surplus passage it
    can replace. The victim must free what keeps the candidate out: the passage already showing it, or a
    slot of its document when that document is full."""
    counts = {c: sel.count(c) for c in Arrays.CODE.values()}
    spare = [
        i
        for i in reversed(sel.chosen)
        if sel.stance[i] != code
        and (sel.stance[i] == NEUTRAL or counts[int(sel.stance[i])] > sel.tuning.per_side)
    ]
    for j in range(sel.size):
        if j in sel.chosen or sel.stance[j] != code or not sel.relevant[j] or sel.makes_run(j):
            continue
        block = sel.blockers(j)
        full = sel.per_src.get(int(sel.src[j]), 0) >= sel.cap
        ok = [i for i in spare if (not block or block == [i]) and (not full or sel.src[i] == sel.src[j])]
        if ok:
            return ok[0], j
    return None


def both_sides(sel: Selection) -> None:
    """When each side has relevant passages, show at least `per_side` of each (when available): a
    passage of the side short of them replaces the weakest neutral or surplus passage. When that passage
    is the one whose window already showed the newcomer (its blocker), the newcomer's passage is widened to
    hold the blocker's text as well (`absorb_blocker`): the blocker was often the more relevant of the two,
    and swapping it out lost the part of the document that answered."""
    for s in SIDES:
        code = Arrays.code(s)
        while sel.count(code) < sel.tuning.per_side:
            swap = _swap_for(sel, code)
            if swap is None:
                break
            victim, j = swap
            held = [victim, *sel.absorbed.pop(victim, [])]
            keep = sel.tuning.absorb_blocker and victim in sel.blockers(j)
            sel.remove(victim)
            sel.add(j)
            if keep:  # the victim's window held j: j's passage shows the victim's text too, not instead
                sel.absorbed[j] = held


def sides_near_top(sel: Selection) -> None:
    """Each side's best passage within the first three (the list is in relevance order)."""
    for s in SIDES:
        code = Arrays.code(s)
        first = next((p for p, j in enumerate(sel.chosen) if sel.stance[j] == code), None)
        if first is not None and first > 2:
            sel.chosen.insert(2, sel.chosen.pop(first))


def missing_sides(sel: Selection) -> list[str]:
    """The sides none of whose passages made it: nothing relevant (or nothing at all) to show."""
    shown = {int(sel.stance[j]) for j in sel.chosen}
    return [s for s in SIDES if Arrays.code(s) not in shown]


def sides_beyond_k(
    index: Index, relevant: np.ndarray, missing: list[str], shown: Sequence[tuple[str, int, int]] = ()
) -> list[str]:
    """Of the `missing` sides, those some `relevant` candidate (chunk positions) takes: at a small k (one or
    two passages) a side can be left out that the corpus has, and saying "no source addresses it" was
    false. A candidate whose text a shown passage's window already holds (`shown`: source id, start, end)
    is not beyond: a larger k would show nothing new ("beyond the passages shown" was said of a chunk
    inside one of them)."""
    chunks = index.chunks
    outside = [
        int(p)
        for p in np.asarray(relevant, dtype=np.int64)
        if not any(
            sid == chunks[p].source_id and a <= chunks[p].start and chunks[p].end <= b for sid, a, b in shown
        )
    ]
    codes = {int(c) for c in index.arrays.stance_of[np.asarray(outside, dtype=np.int64)]}
    return [s for s in missing if Arrays.code(s) in codes]


class Chosen(NamedTuple):
    """What `select` picked: positions into `cands.pool` in display order, the sides with nothing to show,
    and for a chosen position the positions whose text its passage also shows."""

    chosen: list[int]
    missing: list[str]
    absorbed: dict[int, list[int]]

    def parts(self, j: int) -> list[int]:
        """The candidates whose text chosen candidate j's passage shows: j, then those it absorbed."""
        return [j, *self.absorbed.get(j, [])]


def shown_relevance(rel: np.ndarray, j: int, absorbed: dict[int, list[int]]) -> float:
    """A chosen passage's relevance: its own, or that of a passage whose text it absorbed if higher."""
    return max(float(rel[i]) for i in [j, *absorbed.get(j, [])])


def select(
    index: Index,
    question: str,
    cands: Candidates,
    k: int,
    tuning: RetrievalSettings = DEFAULT_RETRIEVAL,
) -> Chosen:
    """k passages: relevant, varied (a cap per document, no runs of neighbours), both sides when both
    exist."""
    if cands.pool.size == 0:
        return Chosen([], list(SIDES), {})
    sel = Selection.start(index, question, cands, k, tuning)
    distinct_voices(sel)
    fill_by_relevance(sel)
    if sel.sides_relevant():
        both_sides(sel)
        sel.by_relevance()
        sides_near_top(sel)
    else:
        sel.by_relevance()
    absorbed = {j: v for j, v in sel.absorbed.items() if j in sel.chosen}
    return Chosen(sel.chosen, missing_sides(sel), absorbed)
