"""Passage-level stance: enthusiastic, skeptical or neutral toward interpretability research.

A passage's stance is its own (a limitations paragraph in an enthusiastic paper is skeptical). The model
is a logistic regression over three views of a passage: its sentence embedding (what it is about and how
it reads), TF-IDF word and bigram weights (the hedges and verdicts that carry stance: "fails", "promising",
"we were unable to"), and its document's label as a prior. `scripts/train_stance.py` fits it on passages
the team labelled (by reference to the corpus) or wrote; the weights ship in `data/stance_model.json`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, InterpRagError, StanceModelError
from ..settings import get_settings
from ..text import WORD, clean_for_embedding
from ..types import DOC_STANCES, SOURCE_STANCES, STANCES
from .chunk import embed_input
from .embed import encode
from .prior import prior_features
from .reader import reader_version, shipped_reader
from .sources import load_sources

# The weights ship with the package (interp_rag/data/), beside the UI's stylesheet.
MODEL_FILE = Path(__file__).parents[1] / "data" / "stance_model.json"


def ngrams(text: str) -> Counter[str]:
    words = WORD.findall(text.lower())
    return Counter(words + [f"{a} {b}" for a, b in itertools.pairwise(words)])


class TfIdf:
    """Sublinear-tf, smooth-idf, L2-normalised TF-IDF: the same as scikit-learn's TfidfVectorizer with
    ngram_range=(1, 2), sublinear_tf=True and its default token pattern, so weights trained there apply."""

    def __init__(self, vocab: list[str], idf: list[float]):
        self.index = {t: i for i, t in enumerate(vocab)}
        self.idf = np.asarray(idf, dtype=np.float32)

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's vector as (columns, values): a sentence holds a few dozen of the ~15,000 n-grams."""
        cols, vals = [], []
        for term, count in ngrams(text).items():
            j = self.index.get(term)
            if j is not None:
                cols.append(j)
                vals.append((1.0 + math.log(count)) * self.idf[j])
        v = np.asarray(vals, dtype=np.float32)
        norm = float(np.linalg.norm(v))
        return np.asarray(cols, dtype=np.int64), (v / norm if norm > 0 else v)

    def project(self, texts: list[str], weights: np.ndarray) -> np.ndarray:
        """Each text's vector times `weights` (k x vocabulary), (n, k), without the dense (n x vocabulary)
        matrix: labelling a full build's 8,125 chunks held ~1 GB for it."""
        out = np.zeros((len(texts), weights.shape[0]), dtype=np.float32)
        for i, text in enumerate(texts):
            cols, vals = self.row(text)
            if cols.size:
                out[i] = weights[:, cols] @ vals
        return out


_KEYS = ("version", "labels", "coef", "intercept", "vocab", "idf", "tfidf_weight")


def prepare_model(data: dict[str, Any]) -> dict[str, Any]:
    """A model as written by the trainer (`stance_train.py`), with its arrays ready to use. Raises
    StanceModelError when a part is missing or the shapes do not fit together."""
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise StanceModelError(f"The stance model lacks {', '.join(missing)}.")
    m = dict(data)
    m["coef"] = np.asarray(data["coef"], dtype=np.float32)
    m["intercept"] = np.asarray(data["intercept"], dtype=np.float32)
    m["tfidf"] = TfIdf(data["vocab"], data["idf"])
    width = 384 + len(data["vocab"]) + len(DOC_STANCES)
    if (
        m["coef"].ndim != 2
        or m["coef"].shape != (len(data["labels"]), width)
        or m["intercept"].shape != (len(data["labels"]),)
        or len(data["idf"]) != len(data["vocab"])
        or not set(data["labels"]) <= set(STANCES)
    ):
        raise StanceModelError(
            f"The stance model's weights do not fit its features (coef {m['coef'].shape})."
        )
    return m


@cache
def _model() -> dict[str, Any]:
    return load_model(MODEL_FILE)


def load_model(path: Path) -> dict[str, Any]:
    """The stance model in `path`, checked; a clear StanceModelError if it cannot be used."""
    fix = "Restore it from git (`git checkout src/interp_rag/data/stance_model.json`) or retrain it with "
    fix += "`python scripts/train_stance.py --mirror ../shared/corpus`."
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise StanceModelError(f"The stance model {path} is missing. {fix}") from e
    except (OSError, ValueError) as e:
        raise StanceModelError(f"The stance model {path} cannot be read ({e}). {fix}") from e
    if not isinstance(data, dict):
        raise StanceModelError(f"The stance model {path} is not a JSON object. {fix}")
    try:
        return prepare_model(data)
    except StanceModelError as e:
        raise StanceModelError(f"{path}: {e} {fix}") from e


# How the two models' probabilities are combined for a passage of a source nobody labelled: the reader's
# weight, and offsets added to the combination's log-probabilities (neutral: 0). Chosen by leave-sources-out
# cross-validation (bench/stance_reader.py --save, then bench/stance_mix.py): the best pooled stance accuracy
# over our labelled and the dev passages (0.734 -> 0.739; dev passages 0.813 -> 0.833) among the mixes that
# lowered no leave-sources-out retrieval or answer figure against the even mean (docs/benchmarks.md). Part
# of the stance model's version.
READER_WEIGHT = 0.5
CLASS_OFFSETS = {"enthusiastic": 0.0, "skeptical": -0.2}


def model_version() -> str:
    """The stance models' version: the logistic model's and the reader's (reader.py) and how they are
    combined, as an index records it; any of them changing relabels the chunks."""
    mix = ",".join(f"{v:g}" for v in (READER_WEIGHT, *CLASS_OFFSETS.values()))
    return f"{_model()['version']}+{reader_version()}+mix{mix}"


def combine(
    logistic: np.ndarray,
    by_reader: np.ndarray,
    *,
    weight: float | None = None,
    offsets: dict[str, float] | None = None,
) -> np.ndarray:
    """The probabilities of a passage read by both models: the weighted mean, shifted by the class offsets
    and normalised again, (n, 3) in STANCES order. `weight` and `offsets` default to READER_WEIGHT and
    CLASS_OFFSETS (bench/stance_mix.py tries others)."""
    w = READER_WEIGHT if weight is None else weight
    shift = CLASS_OFFSETS if offsets is None else offsets
    p = w * by_reader + (1 - w) * logistic
    z = np.log(np.maximum(p, 1e-9)) + np.array([shift.get(c, 0.0) for c in STANCES])
    z -= z.max(axis=1, keepdims=True)
    out = np.exp(z)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def stance_probabilities(
    vectors: np.ndarray,
    texts: list[str],
    doc_stances: list[str | None],
    *,
    model: dict[str, Any] | None = None,
) -> np.ndarray:
    """The logistic model's probabilities, (n, 3) in STANCES order."""
    m = model or _model()
    # The features are [embedding | tfidf_weight x TF-IDF | document label]; each block's product is
    # taken on its own, the TF-IDF one sparsely.
    coef, dims, vocab = m["coef"], np.shape(vectors)[1], len(m["tfidf"].index)
    if dims != coef.shape[1] - vocab - len(DOC_STANCES):
        raise StanceModelError(
            f"The stance model reads {coef.shape[1] - vocab - len(DOC_STANCES)}-d vectors, not {dims}-d."
        )
    z = np.asarray(vectors, dtype=np.float32) @ coef[:, :dims].T
    z += m["tfidf_weight"] * m["tfidf"].project(texts, coef[:, dims : dims + vocab])
    z += prior_features(doc_stances) @ coef[:, dims + vocab :].T + m["intercept"]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    out = np.zeros((len(p), len(STANCES)), dtype=np.float32)
    for j, lab in enumerate(m["labels"]):
        out[:, STANCES.index(lab)] = p[:, j]
    return out


def classify_vectors(
    vectors: np.ndarray,
    texts: list[str],
    doc_stances: list[str | None],
    *,
    model: dict[str, Any] | None = None,
    read: list[str | None] | None = None,
    reader: Any = None,
) -> tuple[list[str], list[float]]:
    """Labels and confidences (the winning class's probability) for embedded passages.

    `vectors` are the passages' embeddings (as built by `embed_input`), `texts` their cleaned text; `model`
    a prepared model (default: the shipped one). `read`, per passage, what the encoder reads of it
    (`embed_input`'s 'title: text') or None: for those given, the stance reader's probabilities (reader.py;
    `reader`, default the shipped one) are combined with the logistic model's (`combine`), which is how a
    passage of a source nobody labelled is read."""
    if len(vectors) == 0:
        return [], []
    p = stance_probabilities(vectors, texts, doc_stances, model=model)
    at = [i for i, r in enumerate(read or []) if r is not None]
    if at:
        by_reader = (reader or shipped_reader()).probabilities(
            [read[i] for i in at], [doc_stances[i] for i in at]
        )
        p[at] = combine(p[at], by_reader)
    best = p.argmax(axis=1)
    return [STANCES[i] for i in best], [round(float(p[i, j]), 3) for i, j in enumerate(best)]


def classify_stance(
    texts: list[str],
    *,
    source_ids: list[str | None] | None = None,
    doc_stances: list[str | None] | None = None,
    index: Any = None,
) -> list[str]:
    """Stance labels of passages: the same labels, by the same model, that the index stores for its chunks.

    Give `source_ids` (ids from the source list / index) so each passage is read, as in the index, with
    its document's title and stance; without them the text alone decides."""
    return classify_stance_with_confidence(
        texts, source_ids=source_ids, doc_stances=doc_stances, index=index
    )[0]


def classify_stance_with_confidence(
    texts: list[str],
    *,
    source_ids: list[str | None] | None = None,
    doc_stances: list[str | None] | None = None,
    index: Any = None,
) -> tuple[list[str], list[float]]:
    _check_inputs(texts, source_ids, doc_stances)
    if not texts:
        return [], []
    known = _sources(index) if source_ids is not None else {}
    ids = source_ids or [None] * len(texts)
    titles = [known[s].title if s in known else "" for s in ids]
    if doc_stances is None:
        doc_stances = [known[s].stance if s in known else None for s in ids]
    cleaned = [clean_for_embedding(t) for t in texts]
    inputs = [embed_input(c, t) for c, t in zip(cleaned, titles, strict=True)]
    vectors = encode(inputs)
    # Read as the index reads a chunk of the passage's source: a source with hand labels (the shipped
    # corpus) by the logistic model trained on them, any other (added, unknown) with the reader as well.
    hand = hand_labelled_sources()
    read = [None if s in hand else x for s, x in zip(ids, inputs, strict=True)]
    return classify_vectors(vectors, cleaned, list(doc_stances), read=read)


def _check_inputs(texts: Any, source_ids: Any, doc_stances: Any) -> None:
    """ConfigError for what would be misread: one string (read character by character), a passage that is
    not text, lists of other lengths than `texts`, a document stance that is none."""
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise ConfigError(f"texts must be a list of passages (for one, [text]), not {type(texts).__name__}.")
    if not all(isinstance(t, str) for t in texts):
        raise ConfigError("each passage in texts must be a string.")
    for name, values in (("source_ids", source_ids), ("doc_stances", doc_stances)):
        if values is not None and (isinstance(values, str) or len(values) != len(texts)):
            raise ConfigError(f"{name} must be a list as long as texts ({len(texts)}), not {values!r:.80}.")
    bad = [s for s in doc_stances or [] if s is not None and s not in SOURCE_STANCES]
    if bad:
        raise ConfigError(f"doc_stances: {bad[0]!r} is not one of {', '.join(SOURCE_STANCES)} (or None).")


@cache
def _hand_labelled(labels_dir: Path | None) -> frozenset[str]:
    return frozenset(load_hand_labels(labels_dir))


def hand_labelled_sources() -> frozenset[str]:
    """Ids of the sources with hand stance labels (settings.stance_labels_dir)."""
    return _hand_labelled(get_settings().stance_labels_dir)


def _sources(index: Any) -> dict[str, Any]:
    # `index`: a store.Index (a stage above this one), read only for its `.sources`
    if index is not None:
        return dict(index.sources)
    try:
        return {s.id: s for s in load_sources(get_settings().sources_file)}
    except Exception:  # no source list here: the text alone decides
        return {}


def load_hand_labels(labels_dir: Path | None) -> dict[str, list[dict[str, Any]]]:
    """{source id: [{start, end, sha, label}]} from `labels_dir`/labels-*.jsonl ({} when there is none)."""
    out: dict[str, list[dict[str, Any]]] = {}
    if labels_dir is None or not Path(labels_dir).is_dir():
        return out
    for f in sorted(Path(labels_dir).glob("labels-*.jsonl")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                out.setdefault(r["doc"], []).append(
                    {"start": int(r["start"]), "end": int(r["end"]), "sha": r["sha"], "label": r["label"]}
                )
            except (ValueError, KeyError, TypeError) as e:
                raise InterpRagError(
                    f"{f}:{n} is not a stance label {{doc, start, end, sha, label}}: {e}"
                ) from e
    return out


def hand_labels_hash(labels: list[dict[str, Any]]) -> str:
    """Changes when a source's hand labels change, so the build relabels its chunks."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16] if labels else ""


def apply_hand_labels(chunks: list[Any], text: str, labels: list[dict[str, Any]]) -> list[Any]:
    """The chunks of one source, those holding a hand-labelled passage relabelled with it (stance_by="label").

    A label counts only where its text hash matches this text (a source read from elsewhere than the mirror
    may be shifted). A chunk takes a label when the passage overlaps half of the passage or half of the
    chunk: the classifier was trained on that passage, so its guess there would only echo the label."""
    from dataclasses import replace

    spans = [
        (r["start"], r["end"], r["label"])
        for r in labels
        if r["label"] in STANCES
        and hashlib.sha1(text[r["start"] : r["end"]].encode()).hexdigest()[:12] == r["sha"]
    ]
    if not spans:
        return chunks
    out = []
    for c in chunks:
        best, label = 0, None
        for s, e, lab in spans:
            o = min(e, c.end) - max(s, c.start)
            if o > best and (2 * o >= e - s or 2 * o >= c.end - c.start):
                best, label = o, lab
        out.append(replace(c, stance=label, stance_confidence=1.0, stance_by="label") if label else c)
    return out
