"""retrieve(): the k passages to show for a question: filter, search, rerank, select, widen."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import ConfigError, QuestionError
from ..settings import DEFAULT_RETRIEVAL, RetrievalSettings
from ..store.index import Index
from ..types import Passage
from .context import to_passage
from .filters import filter_mask
from .policies import select
from .rerank import get_reranker
from .search import candidates, query_vector


@dataclass
class Retrieval:
    passages: list[Passage]
    missing_sides: list[str]
    candidates: list[int] = field(default_factory=list)  # chunk positions, best first
    timings: dict[str, float] = field(default_factory=dict)


def retrieve(
    index: Index,
    question: str,
    *,
    k: int = 8,
    stance: list[str] | str | None = None,
    years: tuple[int | None, int | None] | None = None,
    types: list[str] | str | None = None,
    sources: list[str] | str | None = None,
    tuning: RetrievalSettings = DEFAULT_RETRIEVAL,
) -> Retrieval:
    """The k passages to show for a question, in display order, and which side (if any) is missing."""
    question = (question or "").strip()
    if not question:
        raise QuestionError("The question is empty: type a question about interpretability.")
    if k < 1:
        raise ConfigError(f"k must be at least 1 (got {k}).")
    t = time.perf_counter()
    mask = filter_mask(index, stance=stance, years=years, types=types, sources=sources)
    cands = candidates(index, question, mask=mask, tuning=tuning)
    cands = get_reranker(tuning.reranker).rerank(question, query_vector(question), index, cands)
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
