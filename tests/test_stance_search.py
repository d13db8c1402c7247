"""bench/stance_search.py's sentence-by-sentence reading of a chunk, on a tiny model fitted here."""

from __future__ import annotations

import numpy as np

from bench.stance_search import predict, sentences
from interp_rag.ingest.label import prepare_model
from interp_rag.ingest.label_train import Recipe, fit

WORDS = {
    "skeptical": ["the method fails on every test", "these results fail to replicate at all"],
    "enthusiastic": ["a promising and striking success", "the results are promising and exciting"],
    "neutral": ["the data set has ten rows", "the table lists the settings used"],
}


def tiny_model() -> dict:
    rows = [
        {"text": t, "label": lab, "prior": None, "group": f"g{i % 3}", "kind": "written"}
        for lab, texts in WORDS.items()
        for i, t in enumerate(texts * 3)
    ]
    # Zero vectors: only the words (TF-IDF) carry stance, so the test reads the words' effect alone.
    return prepare_model(fit(rows, np.zeros((len(rows), 384), dtype=np.float32), Recipe(C=10.0)))


def test_sentences_drops_fragments_and_splits_blocks() -> None:
    text = "Results.\n\nThe method fails on every test. The table lists the settings used."
    assert sentences(text) == ["The method fails on every test.", "The table lists the settings used."]


def test_one_confident_sentence_decides_a_chunk_read_by_sentences() -> None:
    model = tiny_model()
    chunk = (
        "The table lists the settings used. The data set has ten rows. The table lists the settings used "
        "for each run. The data set has ten rows per run. The method fails on every test."
    )
    vec = np.zeros((1, 384), dtype=np.float32)
    whole = predict(model, vec, [chunk], [None], {})
    by_sentence = predict(model, vec, [chunk], [None], {"read": "sentences", "tau": 0.5})
    assert whole == ["neutral"]
    assert by_sentence == ["skeptical"]
    # A threshold no sentence reaches leaves the whole chunk's label.
    assert predict(model, vec, [chunk], [None], {"read": "sentences", "tau": 1.01}) == ["neutral"]
