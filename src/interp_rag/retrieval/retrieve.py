"""retrieve(): the k passages to show for a question: filter, search, rerank, select, widen."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Unpack

from ..errors import ConfigError
from ..settings import RetrievalSettings, Settings, get_settings, given_settings
from ..store.index import Index, get_index, given_index
from ..types import Passage
from .context import to_passage, without_repeats
from .filters import filter_mask
from .policies import lift_sides, neighbour_support, select, shown_relevance, sides_beyond_k
from .query import Query, QueryOptions
from .rerank import get_reranker
from .search import candidates, query_vector


@dataclass
class Retrieval:
    passages: list[Passage]
    missing_sides: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    # chunk positions of the shown passages, then of every candidate that addresses the question (as
    # `select` judges relevance): the timeline counts these, more than the k shown
    relevant: list[int] = field(default_factory=list)
    # No candidate clears the relevance floor (settings.retrieval.relevance_floor): the passages are only
    # the closest there are.
    low_relevance: bool = False
    # Sides none of the k shown passages takes although relevant candidates of theirs exist (a small k):
    # not missing from the corpus, only from what k leaves room for.
    beyond_k: list[str] = field(default_factory=list)


def retrieve(
    index: Index | None,
    question: str | Query,
    *,
    tuning: RetrievalSettings | None = None,
    settings: Settings | None = None,
    **options: Unpack[QueryOptions],
) -> Retrieval:
    """The k passages to show for a question, in display order, and which side (if any) is missing.

    `question` is a question with `options` (k, stance, years, types, sources: see QueryOptions), or a
    `Query`. `settings` (None: from the environment, as answer() reads them) give the tuning, the limits
    on k and, when `index` is None, the index; `tuning` overrides their retrieval group."""
    if settings is not None:
        settings = given_settings(settings)
    if tuning is not None and not isinstance(tuning, RetrievalSettings):
        raise ConfigError(
            f"tuning must be a RetrievalSettings (settings.retrieval), not {type(tuning).__name__}."
        )
    given_index(index)
    if settings is None and (tuning is None or index is None or not isinstance(question, Query)):
        settings = get_settings()  # ~1 ms: not for the pipeline, which passes all three
    tuning = tuning or settings.retrieval  # type: ignore[union-attr]
    query = question if isinstance(question, Query) else Query.of(question, settings, **options)
    index = index if index is not None else get_index(settings)
    t = time.perf_counter()
    mask = filter_mask(index, query)
    cands = candidates(index, query.question, mask=mask, tuning=tuning)
    cands = get_reranker(tuning.reranker).rerank(query.question, query_vector(query.question), index, cands)
    cands = neighbour_support(index, cands, tuning)
    cands = lift_sides(index, query.question, cands, tuning)
    choice = select(index, query.question, cands, query.k, tuning)
    chosen, missing = choice.chosen, choice.missing
    if query.stance:  # a stance filter asks for one side; the other being absent is the point, not a gap
        missing = [s for s in missing if s in query.stance]
    pool, rel, focus = cands.pool, cands.rel, cands.focus
    passages = []
    for j in chosen:
        also = [int(pool[i]) for i in choice.absorbed.get(j, [])]
        score = shown_relevance(rel, j, choice.absorbed)
        passages.append(to_passage(index, int(pool[j]), score, int(focus[j]), tuning.context_chars, also))
    if tuning.trim_repeats:
        cores = [(c.start, c.end) for c in (index.chunks[int(pool[j])] for j in chosen)]
        without_repeats(passages, cores)
    top = float(rel[0]) if rel.size else 0.0
    is_rel = (rel >= tuning.side_floor * top) & (cands.cos >= tuning.min_cosine)
    shown = [int(pool[i]) for j in chosen for i in choice.parts(j)]
    relevant = list(dict.fromkeys(shown + [int(i) for i in pool[is_rel]]))
    beyond = sides_beyond_k(index, pool[is_rel], missing, [(p.source_id, p.start, p.end) for p in passages])
    missing = [s for s in missing if s not in beyond]
    ms = round((time.perf_counter() - t) * 1000, 2)
    low = not cands.cos.size or float(cands.cos.max()) < tuning.relevance_floor
    return Retrieval(passages, missing, {"retrieve_ms": ms}, relevant, low, beyond)
