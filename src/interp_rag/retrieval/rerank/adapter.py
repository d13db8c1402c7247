"""The `adapter` reranker: a learned query adapter that re-scores the candidates of any document.

The question expansions (corpus/expansions/) are ~12,000 questions written against passages of the shipped
sources. Indexed as extra vectors they help only the passages they were written for, and an added source
has none. Here they are training data instead: a linear map W (384 x 384) is trained so that the mapped
question, W q, lies closest to the chunk that answers it among all chunks of the corpus
(scripts/train_adapter.py, softmax over every chunk, neighbours of the answering chunk not counted as
negatives). At query time the adapted closeness of each candidate, normalised like the other retrievers'
scores, is added to its fused relevance with a weight; nothing about a document is looked up, so an added
source is scored exactly as a shipped one.

Interface (the reranker slot): rerank(question, qvec, index, cands) -> Candidates.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ...errors import ConfigError
from ...store.index import Index
from ..search import Candidates, _normalise

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "query_adapter.npz"
RETRAIN = (
    "restore it from git, or retrain it with `python scripts/train_adapter.py --mirror ../shared/corpus`"
)


class AdapterReranker:
    """Adds `weight` x the normalised adapted cosine to each candidate's fused relevance and re-orders."""

    def __init__(self, matrix: np.ndarray | None = None, weight: float = 0.3, version: str = "") -> None:
        """`matrix=None`: the shipped adapter (data/query_adapter.npz) with its weight, as the registry
        builds it."""
        if matrix is None:
            shipped = AdapterReranker.load(DEFAULT_PATH)
            matrix, weight, version = shipped.matrix, shipped.weight, shipped.version
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.weight = float(weight)
        self.version = version

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH, weight: float | None = None) -> AdapterReranker:
        """The adapter saved by scripts/train_adapter.py; a missing or damaged file is a ConfigError."""
        path = Path(path)
        try:
            data = np.load(path, allow_pickle=False)
            matrix = np.asarray(data["matrix"], dtype=np.float32)
            w = float(data["weight"]) if weight is None else weight
        except FileNotFoundError as e:
            raise ConfigError(f"The query adapter {path} is missing: {RETRAIN}.") from e
        except Exception as e:  # a truncated zip, a wrong key, garbage bytes: all say the same
            raise ConfigError(f"The query adapter {path} cannot be read ({e}): {RETRAIN}.") from e
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.isfinite(matrix).all():
            raise ConfigError(
                f"The query adapter {path} is damaged (a {matrix.shape} matrix, or one with non-finite "
                f"values, where a square one is expected): {RETRAIN}."
            )
        version = hashlib.sha256(matrix.tobytes()).hexdigest()[:12]
        return cls(matrix, w, version)

    def adapt(self, qvec: np.ndarray) -> np.ndarray:
        """The mapped question, unit length."""
        if qvec.shape[-1] != self.matrix.shape[1]:
            raise ConfigError(
                f"The query adapter expects {self.matrix.shape[1]}-d question vectors, got {qvec.shape[-1]}: "
                f"the embedding model changed; {RETRAIN}."
            )
        v = self.matrix @ qvec
        return v / (float(np.linalg.norm(v)) + 1e-9)

    def rerank(self, question: str, qvec: np.ndarray, index: Index, cands: Candidates) -> Candidates:
        if cands.pool.size == 0 or self.weight == 0:
            return cands
        adapted = index.vectors[cands.pool] @ self.adapt(qvec)
        rel = cands.rel + self.weight * _normalise(adapted)
        order = np.argsort(-rel, kind="stable")
        return Candidates(cands.pool[order], rel[order], cands.cos[order], cands.focus[order])
