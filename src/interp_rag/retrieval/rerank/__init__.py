"""The reranker slot: after fusion, before selection, a reranker may re-score and re-order the candidates.

A reranker is one module in this package with a class implementing `Reranker`, plus one line in
`RERANKERS` below; `settings.retrieval.reranker` (INTERP_RAG_RERANKER) picks it by name. Modules load on
first use, so a reranker with a heavy model costs nothing until it is selected.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Protocol

import numpy as np

from ...errors import ConfigError
from ...store.index import Index
from ..search import Candidates

# name -> "module:Class" (module relative to this package). One line per reranker.
RERANKERS: dict[str, str] = {
    "none": "identity:Identity",
    "adapter": "adapter:AdapterReranker",
}


class Reranker(Protocol):
    def rerank(self, question: str, qvec: np.ndarray, index: Index, cands: Candidates) -> Candidates:
        """The candidates re-scored (rel, and cos where it changes) and re-ordered, best first."""
        ...


@cache
def get_reranker(name: str) -> Reranker:
    """The reranker registered under `name` (one instance per process)."""
    target = RERANKERS.get(name)
    if target is None:
        raise ConfigError(
            f"Unknown reranker {name!r}: set INTERP_RAG_RERANKER to one of {', '.join(sorted(RERANKERS))}."
        )
    module, cls = target.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
