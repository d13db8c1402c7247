"""The stance reader (ingest/reader.py): the shipped weights load and read, a damaged file says what to do,
training saves what loading reads back, and the reader labels exactly the sources without hand labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from interp_rag.ingest.chunk import embed_input
from interp_rag.ingest.embed import encode
from interp_rag.ingest.label import StanceModelError, classify_stance_with_confidence, classify_vectors
from interp_rag.ingest.reader import READER_FILE, load_reader, shipped_reader
from interp_rag.ingest.reader_train import fit_reader
from interp_rag.store.labelling import label_chunks
from interp_rag.text import clean_for_embedding
from interp_rag.types import Chunk
from tests.test_stance import ENTHUSIASTIC, SKEPTICAL


def test_the_shipped_reader_reads_clear_passages_as_their_side() -> None:
    reader = shipped_reader()
    p = reader.probabilities(ENTHUSIASTIC + SKEPTICAL, ["mixed"] * 4)
    assert p.shape == (4, 3)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # STANCES order: enthusiastic, skeptical, neutral
    assert p.argmax(axis=1).tolist() == [0, 0, 1, 1]
    assert np.array_equal(p, reader.probabilities(ENTHUSIASTIC + SKEPTICAL, ["mixed"] * 4))


def test_a_missing_or_damaged_reader_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StanceModelError, match="missing.*train_stance_reader.py"):
        load_reader(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(READER_FILE.read_bytes()[:5000])
    with pytest.raises(StanceModelError, match="cannot be read.*git checkout"):
        load_reader(bad)
    with np.load(READER_FILE) as data:
        items = {k: data[k] for k in data.files}
    first = next(k for k in items if k.endswith(".A"))
    np.savez(bad, **{k: v for k, v in items.items() if k != first})
    with pytest.raises(StanceModelError, match="does not fit the embedding model"):
        load_reader(bad)


def test_a_trained_reader_is_read_back_as_it_was_saved(tmp_path: Path) -> None:
    rows = [
        {"text": t, "title": "", "prior": None, "label": lab, "kind": "written"}
        for t, lab in zip(ENTHUSIASTIC + SKEPTICAL, ["enthusiastic"] * 2 + ["skeptical"] * 2, strict=True)
    ]
    reader = fit_reader(rows, epochs=1)
    version = reader.save(tmp_path / "r.npz", {"passages": len(rows)})
    again = load_reader(tmp_path / "r.npz")
    assert again.version == version
    texts = [embed_input(clean_for_embedding(r["text"]), "") for r in rows]
    # float16 adapters: equal up to their rounding
    assert np.allclose(
        reader.probabilities(texts, [None] * 4), again.probabilities(texts, [None] * 4), atol=2e-3
    )
    assert (tmp_path / "r.npz").stat().st_size < 2_000_000
    assert READER_FILE.stat().st_size < 2_000_000


def _chunks(source: str, texts: list[str]) -> list[Chunk]:
    out, at = [], 0
    for n, t in enumerate(texts):
        out.append(Chunk(f"{source}:{n}", source, n, t, at, at + len(t)))
        at += len(t) + 1
    return out


def test_only_chunks_of_sources_without_hand_labels_are_read_by_the_reader() -> None:
    texts = ENTHUSIASTIC + SKEPTICAL
    chunks = _chunks("labelled", texts[:2]) + _chunks("added", texts[2:])
    read = [embed_input(clean_for_embedding(c.text), "A title") for c in chunks]
    vectors = encode(read)
    stances = {"labelled": "mixed", "added": "mixed"}
    hand = {"labelled": []}  # a source with a hand-label file, none of whose labels lies in these chunks
    out = label_chunks(chunks, vectors, stances, {"labelled", "added"}, {}, hand, read=read)
    cleaned = [clean_for_embedding(t) for t in texts]
    alone = classify_vectors(vectors[:2], cleaned[:2], ["mixed"] * 2)
    both = classify_vectors(vectors[2:], cleaned[2:], ["mixed"] * 2, read=read[2:])
    assert [c.stance_confidence for c in out[:2]] == alone[1]
    assert [c.stance_confidence for c in out[2:]] == both[1]
    assert both[1] != classify_vectors(vectors[2:], cleaned[2:], ["mixed"] * 2)[1]  # the reader counted
    # without `read` (bench/loso.py's folds): the logistic model alone, as before
    plain = label_chunks(chunks, vectors, stances, {"added"}, {}, {}, read=None)
    assert [c.stance_confidence for c in plain[2:]] == classify_vectors(
        vectors[2:], cleaned[2:], ["mixed"] * 2
    )[1]


def test_classify_stance_reads_a_passage_as_the_index_reads_its_source() -> None:
    labels, conf = classify_stance_with_confidence(
        SKEPTICAL, source_ids=[None, None], doc_stances=[None, None]
    )
    cleaned = [clean_for_embedding(t) for t in SKEPTICAL]
    assert conf == classify_vectors(encode(cleaned), cleaned, [None, None], read=cleaned)[1]
    assert labels == ["skeptical", "skeptical"]


def test_an_unusable_shipped_reader_is_reported_when_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import interp_rag.ingest.reader as reader_module

    broken = tmp_path / "stance_reader.npz"
    shutil.copy(READER_FILE, broken)
    broken.write_bytes(b"not a zip")
    monkeypatch.setattr(reader_module, "READER_FILE", broken)
    reader_module.shipped_reader.cache_clear()
    try:
        with pytest.raises(StanceModelError, match="stance reader"):
            classify_vectors(encode(SKEPTICAL[:1]), SKEPTICAL[:1], [None], read=SKEPTICAL[:1])
    finally:
        monkeypatch.undo()
        reader_module.shipped_reader.cache_clear()


class CertainReader:
    """A reader (the interface label.py uses) that is sure every passage is neutral."""

    def probabilities(self, inputs: list[str], doc_stances: list[str | None]) -> np.ndarray:
        return np.tile(np.array([0.0, 0.0, 1.0], dtype=np.float32), (len(inputs), 1))


def test_label_chunks_takes_the_reader_it_is_given() -> None:
    chunks = _chunks("added", SKEPTICAL)
    read = [clean_for_embedding(c.text) for c in chunks]
    vectors = encode(read)
    out = label_chunks(chunks, vectors, {"added": None}, {"added"}, {}, {}, read=read, reader=CertainReader())
    from interp_rag.ingest.label import combine, stance_probabilities

    logistic = stance_probabilities(vectors, read, [None, None])
    certain = CertainReader().probabilities(read, [None, None])
    # the logistic model's reading combined with a certain "neutral": neutral, at the combination's confidence
    assert [c.stance for c in out] == ["neutral", "neutral"]
    expected = combine(logistic, certain)[:, 2]
    assert [c.stance_confidence for c in out] == [round(float(x), 3) for x in expected]
    assert [c.stance for c in label_chunks(chunks, vectors, {"added": None}, {"added"}, {}, {})] == [
        "skeptical",
        "skeptical",
    ]


def test_combine_weighs_the_reader_and_shifts_classes_by_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    from interp_rag.ingest import label

    logistic = np.array([[0.6, 0.1, 0.3], [0.2, 0.2, 0.6]], dtype=np.float32)  # STANCES order
    by_reader = np.array([[0.2, 0.1, 0.7], [0.2, 0.2, 0.6]], dtype=np.float32)
    monkeypatch.setattr(label, "CLASS_OFFSETS", {})
    monkeypatch.setattr(label, "READER_WEIGHT", 0.75)
    p = label.combine(logistic, by_reader)
    assert np.allclose(p, 0.75 * by_reader + 0.25 * logistic, atol=1e-6)  # no offsets: the weighted mean
    monkeypatch.setattr(label, "READER_WEIGHT", 0.0)
    assert label.combine(logistic, by_reader).argmax(axis=1).tolist() == [0, 2]  # the logistic model alone
    # an offset against enthusiastic turns a narrow enthusiastic call neutral, and the rows still sum to 1
    before = label.model_version()
    monkeypatch.setattr(label, "CLASS_OFFSETS", {"enthusiastic": -0.8})
    shifted = label.combine(logistic, by_reader)
    assert shifted.argmax(axis=1).tolist() == [2, 2]
    assert np.allclose(shifted.sum(axis=1), 1.0, atol=1e-6)
    assert label.model_version() != before  # the mix is part of the version: a changed one relabels
