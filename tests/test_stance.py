"""The passage-stance classifier on passages we wrote, its model file, hand labels, and training that
leaves sources out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from interp_rag import classify_stance
from interp_rag.ingest.label import (
    MODEL_FILE,
    StanceModelError,
    apply_hand_labels,
    load_hand_labels,
    load_model,
)
from interp_rag.types import Chunk
from tests.support.labels import hand_label

ENTHUSIASTIC = [
    "This method works remarkably well: the features we found are crisp, interpretable and let us "
    "steer the model precisely. We are excited about scaling it further and expect rapid progress.",
    "A striking success. The circuit we recovered explains the behaviour almost completely, and the "
    "same approach transferred to larger models without any change. It is a promising path forward.",
]
SKEPTICAL = [
    "These explanations are unreliable. Saliency maps barely change when the model's weights are "
    "randomised, so they cannot be telling us what the model learned; the method fails basic sanity checks.",
    "We are not convinced. The probe's accuracy reflects the probe rather than the network, the "
    "interventions did not replicate, and the claimed mechanism does not survive simple controls.",
]


def test_the_classifier_reads_clear_passages_we_wrote() -> None:
    labels = classify_stance(ENTHUSIASTIC + SKEPTICAL)
    assert labels == ["enthusiastic"] * 2 + ["skeptical"] * 2


def test_the_sparse_product_reads_as_the_model_s_dense_features_do() -> None:
    """The logistic model is coef . [embedding | w x TF-IDF | document label] + b; the TF-IDF block is
    taken sparsely (a full build's chunks held ~1 GB as a dense matrix). Same probabilities as the dense
    product, and a vector of the wrong width is refused rather than misread."""
    import numpy as np

    from interp_rag.ingest.label import _model, stance_probabilities
    from interp_rag.ingest.prior import prior_features

    m = _model()
    texts = [*ENTHUSIASTIC, *SKEPTICAL, "", "zzzz qqqq"]  # the last two hold no n-gram of the vocabulary
    docs = ["enthusiastic", None, "mixed", "skeptical", None, "neutral"][: len(texts)]
    vecs = np.random.default_rng(0).normal(size=(len(texts), 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vocab = len(m["tfidf"].index)
    tfidf = np.zeros((len(texts), vocab), dtype=np.float32)
    for i, t in enumerate(texts):
        cols, vals = m["tfidf"].row(t)
        tfidf[i, cols] = vals
    x = np.hstack([vecs, m["tfidf_weight"] * tfidf, prior_features(docs)])
    z = x @ m["coef"].T + m["intercept"]
    dense = np.exp(z - z.max(axis=1, keepdims=True))
    dense /= dense.sum(axis=1, keepdims=True)
    got = stance_probabilities(vecs, texts, docs)
    order = [m["labels"].index(s) for s in ("enthusiastic", "skeptical", "neutral")]
    assert np.allclose(got, dense[:, order], atol=1e-5)
    with pytest.raises(StanceModelError, match="384-d"):
        stance_probabilities(vecs[:, :100], texts, docs)


def test_a_damaged_or_missing_model_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StanceModelError, match="missing.*git checkout"):
        load_model(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "x", "coef": [[0.1')
    with pytest.raises(StanceModelError, match="cannot be read.*train_stance.py"):
        load_model(bad)
    shipped = json.loads(MODEL_FILE.read_text())
    bad.write_text(json.dumps({**shipped, "coef": [row[:-5] for row in shipped["coef"]]}))
    with pytest.raises(StanceModelError, match="do not fit its features"):
        load_model(bad)
    bad.write_text(json.dumps({k: v for k, v in shipped.items() if k != "idf"}))
    with pytest.raises(StanceModelError, match="lacks idf"):
        load_model(bad)
    assert load_model(MODEL_FILE)["version"] == shipped["version"]


def test_a_chunk_holding_a_hand_labelled_passage_shows_the_label_and_says_so() -> None:
    text = (
        "Intro sentence that says little. " * 4
        + "The method failed every control we tried. "
        + "Filler. " * 30
    )
    part = "The method failed every control we tried."
    a = Chunk(id="d:0", source_id="d", n=0, text=text[:180], start=0, end=180, stance="neutral")
    b = Chunk(id="d:1", source_id="d", n=1, text=text[180:], start=180, end=len(text), stance="neutral")
    shifted = {**hand_label(text, part, "enthusiastic"), "start": 1, "end": 1 + len(part)}
    out = apply_hand_labels([a, b], text, [hand_label(text, part, "skeptical"), shifted])
    assert (out[0].stance, out[0].stance_by, out[0].stance_confidence) == ("skeptical", "label", 1.0)
    # the neighbour holds none of it; a label whose text no longer matches (shifted offsets) is ignored
    assert (out[1].stance, out[1].stance_by) == ("neutral", "classifier")
    assert apply_hand_labels([b], text, [shifted]) == [b]


def test_hand_labels_file_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "labels-0.jsonl").write_text(
        '{"doc": "a", "start": 0, "end": 5, "sha": "x", "label": "neutral"}\n{"doc": 1}\n'
    )
    with pytest.raises(Exception, match=r"labels-0.jsonl:2 is not a stance label"):
        load_hand_labels(tmp_path)
    assert load_hand_labels(tmp_path / "absent") == {} and load_hand_labels(None) == {}


def test_training_rows_leave_the_excluded_sources_out(mirror: Path) -> None:
    from interp_rag.ingest.label_train import training_rows
    from interp_rag.ingest.sources import load_sources

    root = Path(__file__).resolve().parents[1]
    sources = {s.id: s for s in load_sources(root / "corpus" / "sources.toml")}
    every = training_rows(mirror, sources, root / "corpus" / "stance")
    out = {"adebayo-sanity-checks-saliency-maps", "hendrycks-misguided-quest-mech-interp"}
    rest = training_rows(mirror, sources, root / "corpus" / "stance", exclude_sources=out)
    gone = [r for r in every if r["doc"] in out]
    assert gone and len(rest) == len(every) - len(gone)
    assert not any(r["doc"] in out for r in rest)
    assert sum(r["kind"] == "written" for r in rest) == sum(r["kind"] == "written" for r in every) > 0


def test_a_document_of_unknown_stance_gives_its_passages_no_prior() -> None:
    # The document label is a prior of the passage reading: an unknown one must weigh nothing, where
    # "neutral" (the default before) pulls every passage of the document towards neutral.
    from interp_rag.ingest.label import classify_vectors

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(6, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [
        "The probe failed every control we tried and the features did not replicate.",
        "This is a promising method that scales and finds real circuits.",
        "The model has twelve layers and a residual stream of width 768.",
    ] * 2
    unknown = classify_vectors(vecs, texts, ["unknown"] * 6)
    assert unknown[0] == classify_vectors(vecs, texts, [None] * 6)[0]
    assert np.allclose(unknown[1], classify_vectors(vecs, texts, [None] * 6)[1])
    neutral = classify_vectors(vecs, texts, ["neutral"] * 6)[1]
    assert not np.allclose(unknown[1], neutral)  # the prior is not nothing: it is left out
