"""Passage-level stance: enthusiastic, skeptical or neutral toward interpretability research.

A passage's stance is its own (a limitations paragraph in an enthusiastic paper is skeptical). The model
is a softmax regression over the passage's sentence embedding plus its document's label as a prior,
trained by `scripts/train_stance.py` on passages the team labelled (by reference to the corpus) or wrote;
its weights ship in `data/stance_model.json`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from .types import DOC_STANCES, STANCES

MODEL_FILE = Path(__file__).parent / "data" / "stance_model.json"


def features(vectors: np.ndarray, doc_stances: list[str | None]) -> np.ndarray:
    """Embedding ⊕ one-hot document label (all zeros when the document's label is unknown)."""
    prior = np.zeros((len(vectors), len(DOC_STANCES)), dtype=np.float32)
    for i, s in enumerate(doc_stances):
        if s in DOC_STANCES:
            prior[i, DOC_STANCES.index(s)] = 1.0
    return np.hstack([np.asarray(vectors, dtype=np.float32), prior])


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, steps: int = 600, lr: float = 0.1,
        weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, full-batch Adam; deterministic (zero init, no sampling)."""
    n, d = x.shape
    k = len(STANCES)
    w = np.zeros((d, k))
    b = np.zeros(k)
    onehot = np.eye(k)[y]
    sw = np.ones(n) if weights is None else weights
    sw = sw / sw.sum()
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    for t in range(1, steps + 1):
        p = softmax(x @ w + b)
        g = (p - onehot) * sw[:, None]
        grads = [x.T @ g + l2 * w, g.sum(axis=0)]
        for j, (param, grad) in enumerate(zip((w, b), grads, strict=True)):
            m[j] = 0.9 * m[j] + 0.1 * grad
            v[j] = 0.999 * v[j] + 0.001 * grad**2
            param -= lr * (m[j] / (1 - 0.9**t)) / (np.sqrt(v[j] / (1 - 0.999**t)) + 1e-8)
    return w.astype(np.float32), b.astype(np.float32)


@cache
def _model() -> tuple[np.ndarray, np.ndarray, str]:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    return np.asarray(data["w"], dtype=np.float32), np.asarray(data["b"], dtype=np.float32), data["version"]


def model_version() -> str:
    return _model()[2]


def classify_vectors(vectors: np.ndarray, doc_stances: list[str | None]) -> tuple[list[str], list[float]]:
    """Labels and confidences (the winning class's probability) for embedded passages."""
    if len(vectors) == 0:
        return [], []
    w, b, _ = _model()
    p = softmax(features(vectors, doc_stances) @ w + b)
    best = p.argmax(axis=1)
    return [STANCES[i] for i in best], [round(float(p[i, j]), 3) for i, j in enumerate(best)]


def classify_stance(
    texts: list[str], *, doc_stances: list[str | None] | None = None, source_ids: list[str] | None = None,
    index: object = None,
) -> list[str]:
    """Stance labels for passages, the same labels the index stores for its chunks.

    Without `doc_stances`, each passage's document label is taken from `source_ids` via the index's
    source list when given, else treated as unknown (the text alone decides)."""
    return classify_stance_with_confidence(texts, doc_stances=doc_stances, source_ids=source_ids,
                                           index=index)[0]


def classify_stance_with_confidence(
    texts: list[str], *, doc_stances: list[str | None] | None = None, source_ids: list[str] | None = None,
    index: object = None,
) -> tuple[list[str], list[float]]:
    from .chunk import clean_for_embedding
    from .embed import encode

    if doc_stances is None:
        doc_stances = [None] * len(texts)
        if source_ids is not None:
            known = _source_stances(index)
            doc_stances = [known.get(s) for s in source_ids]
    vectors = encode([clean_for_embedding(t) for t in texts])
    return classify_vectors(vectors, doc_stances)


def _source_stances(index: object) -> dict[str, str]:
    if index is not None:
        return {sid: s.stance for sid, s in index.sources.items()}  # type: ignore[attr-defined]
    from .settings import get_settings
    from .sources import load_sources

    settings = get_settings()
    try:
        return {s.id: s.stance for s in load_sources(settings.sources_file)}
    except Exception:  # no source list here: the text alone decides
        return {}
