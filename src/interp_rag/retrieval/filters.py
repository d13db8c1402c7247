"""A query's filters (stance, years, source type, source ids) as one boolean mask over the index's chunks.
The values were validated by `Query`; what only the index knows (its source ids) is checked here."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..store.index import Arrays, Index
from .query import Query


def filter_mask(index: Index, query: Query) -> np.ndarray | None:
    """Boolean mask over chunks, or None when nothing is filtered."""
    if not query.filtered:
        return None
    a = index.arrays
    keep_src = np.ones(len(a.source_ids), dtype=bool)
    if query.years:
        lo, hi = query.years
        if lo is not None:
            keep_src &= a.years >= lo
        if hi is not None:
            keep_src &= (a.years <= hi) & (a.years >= 0)
    if query.types:
        keep_src &= np.isin(a.types, list(query.types))
    if query.sources:
        unknown = [s for s in query.sources if s not in index.sources]
        if unknown:
            raise ConfigError(
                f"Unknown source id(s): {', '.join(unknown)}. "
                "`interp-rag sources` lists the sources' ids (so does the web's Sources tab)."
            )
        keep_src &= np.isin(np.array(a.source_ids, dtype=object), list(query.sources))
    mask = keep_src[a.source_of]
    if query.stance:
        mask &= np.isin(a.stance_of, [Arrays.code(s) for s in query.stance])
    return mask
