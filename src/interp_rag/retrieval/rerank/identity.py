"""Keeps the fused order: the `none` reranker (the default is `adapter`, see adapter.py)."""

from __future__ import annotations

import numpy as np

from ...store.index import Index
from ..search import Candidates


class Identity:
    def rerank(self, question: str, qvec: np.ndarray, index: Index, cands: Candidates) -> Candidates:
        return cands
