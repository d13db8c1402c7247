"""The build's label stage: the stance of the chunks of newly chunked sources (ingest/label.py's model, or a
hand label where one covers the chunk; a source without hand labels is also read by the stance reader)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..ingest.label import apply_hand_labels, classify_vectors
from ..text import clean_for_embedding
from ..types import Chunk


def label_chunks(
    chunks: list[Chunk],
    vectors: np.ndarray,
    doc_stances: dict[str, str],
    fresh: set[str],
    texts: dict[str, str],
    hand: dict[str, list[dict[str, Any]]],
    model: dict[str, Any] | None = None,
    read: list[str | None] | None = None,
    reader: Any = None,
) -> list[Chunk]:
    """`chunks` with those of the `fresh` sources labelled: each chunk's own stance from its vector, its text
    and its document's label (`doc_stances`); a chunk holding a hand-labelled passage (`hand`, located in
    its source's text in `texts`) shows that label instead (stance_by "label"). `model`: a prepared stance
    model (default: the shipped one; bench/loso.py passes one trained without the fresh sources' labels).
    `read`: what the encoder read for each chunk (the build's embed texts); with it, the chunks of a fresh
    source without hand labels (any source a user adds) are labelled by the logistic model and the stance
    reader together (ingest/reader.py; `reader`, default the shipped one), which reads documents nobody
    labelled better (docs/benchmarks.md).
    The shipped sources all have hand labels, and the logistic model was trained on them: a build of the
    shipped corpus pays no reader pass.

    The other chunks (unchanged, kept, or not read by `add`) keep the labels they have: the previous version
    was built with the same stance model (else it is not reused) and a change of a source's text, document
    stance or hand labels re-chunks it. Relabelling them cost an `add` seconds per thousand chunks and, for
    the sources whose text `add` does not read, lost their hand labels."""
    out = list(chunks)
    pos = [i for i, c in enumerate(out) if c.source_id in fresh]
    if not pos:
        return out
    labels, confs = classify_vectors(
        vectors[pos],
        [clean_for_embedding(out[i].text) for i in pos],
        [doc_stances[out[i].source_id] for i in pos],
        model=model,
        read=None if read is None else [None if out[i].source_id in hand else read[i] for i in pos],
        reader=reader,
    )
    for i, lab, conf in zip(pos, labels, confs, strict=True):
        out[i] = replace(out[i], stance=lab, stance_confidence=conf, stance_by="classifier")
    at: dict[str, list[int]] = {}
    for i in pos:
        at.setdefault(out[i].source_id, []).append(i)
    for sid, where in at.items():
        if sid in hand and sid in texts:
            labelled = apply_hand_labels([out[i] for i in where], texts[sid], hand[sid])
            for i, c in zip(where, labelled, strict=True):
                out[i] = c
    return out
