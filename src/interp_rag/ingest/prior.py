"""The document's stance as a feature of a passage: what a user gives at `add` time, read by both passage
stance models (label.py's logistic model and reader.py's tuned encoder)."""

from __future__ import annotations

import numpy as np

from ..types import DOC_STANCES


def prior_features(doc_stances: list[str | None]) -> np.ndarray:
    """One-hot document label (all zeros when unknown)."""
    prior = np.zeros((len(doc_stances), len(DOC_STANCES)), dtype=np.float32)
    for i, s in enumerate(doc_stances):
        if s in DOC_STANCES:
            prior[i, DOC_STANCES.index(s)] = 1.0
    return prior
