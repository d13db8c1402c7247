"""Filters (stance, years, source type, source ids) as one boolean mask over the index's chunks."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..store.index import Arrays, Index
from ..types import STANCES


def filter_mask(
    index: Index,
    *,
    stance: list[str] | str | None = None,
    years: tuple[int | None, int | None] | None = None,
    types: list[str] | str | None = None,
    sources: list[str] | str | None = None,
) -> np.ndarray | None:
    """Boolean mask over chunks, or None when nothing is filtered."""
    if not (stance or years or types or sources):
        return None
    a = index.arrays
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
        bad = [s for s in wanted_st if s not in STANCES]
        if bad:
            raise ConfigError(f"Unknown stance {bad[0]!r}: use enthusiastic, skeptical or neutral.")
        mask &= np.isin(a.stance_of, [Arrays.code(s) for s in wanted_st])
    return mask
