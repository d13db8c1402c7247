"""Training the passage-stance model (a development tool: needs scikit-learn from the `dev` extra).

Training data lives in corpus/stance/ and holds no third-party text:
  labels-*.jsonl  passages of the corpus by reference {doc, start, end, sha, label}, read from a mirror
  written.jsonl   passages the team wrote {text, label, topic}

`train(mirror, exclude_sources=...)` fits a model without the labels of some sources, so leave-sources-out
cross-validation (bench/stance_eval.py, bench/loso.py) can score passages whose labels the model never saw.
The recipe (feature weights, regularisation, vocabulary rule) travels inside the model file, so a
cross-validation retrains exactly what ships.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..text import clean_for_embedding, digest
from ..types import STANCES, Source
from .chunk import embed_input
from .label import prepare_model, prior_features


@dataclass(frozen=True)
class Recipe:
    """How a model is fitted. `min_groups`: an n-gram is a feature only if it occurs in passages of at least
    this many documents (written passages: topics), so words that mark one document's subject and not a
    stance cannot be learned as stance cues."""

    tfidf_weight: float = 2.0  # the words' block against the embedding's (both unit length)
    C: float = 1.0  # inverse regularisation of the logistic regression
    min_df: int = 2
    min_groups: int = 1
    ngram_max: int = 2
    # the document stance the user gives (a fair input at `add`) as a feature, scaled
    prior_weight: float = 1.0
    balanced: bool = False  # class weights inverse to frequency (measured flat out of sample)
    written_weight: float = 1.0  # sample weight of the passages we wrote against the labelled ones

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


DEFAULT_RECIPE = Recipe()


def load_labelled(stance_dir: Path, mirror: Path, sources: dict[str, Source]) -> list[dict[str, Any]]:
    """Corpus passages labelled by reference, resolved from the mirror and checked against their hash."""
    rows = []
    texts: dict[str, str] = {}
    for f in sorted(Path(stance_dir).glob("labels-*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            src = sources[r["doc"]]
            if src.id not in texts:
                texts[src.id] = (mirror / src.file).read_text(encoding="utf-8")
            text = texts[src.id][r["start"] : r["end"]]
            if hashlib.sha1(text.encode()).hexdigest()[:12] != r["sha"]:
                raise ValueError(f"{f.name}: {r['doc']}@{r['start']} does not match the mirror's text")
            rows.append(
                {
                    "text": text,
                    "title": src.title,
                    "prior": src.stance,
                    "label": r["label"],
                    "doc": src.id,
                    "group": src.id,
                    "start": r["start"],
                    "end": r["end"],
                    "kind": "label",
                }
            )
    return rows


def load_written(stance_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for f in sorted(Path(stance_dir).glob("written*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append(
                    {
                        "text": r["text"],
                        "title": "",
                        "prior": r.get("prior"),
                        "label": r["label"],
                        "doc": None,
                        "group": f"written:{r.get('topic', '')}",
                        "kind": "written",
                    }
                )
    return rows


def row_inputs(rows: list[dict[str, Any]]) -> list[str]:
    """What the encoder reads of each row, as the index reads a chunk: 'title: cleaned text' (the
    embedding for the logistic model, the stance reader's input)."""
    return [embed_input(clean_for_embedding(r["text"]), r["title"]) for r in rows]


def embed_rows(rows: list[dict[str, Any]], cache_path: Path | None = None) -> np.ndarray:
    """Each row's embedding, read as the index reads a chunk ('title: cleaned text'); `cache_path` an
    embedding cache (SQLite) to reuse vectors across runs."""
    from .embed import EmbeddingCache, embed_with_cache, encode, model_id

    inputs = row_inputs(rows)
    if cache_path is None:
        return encode(inputs)
    cache = EmbeddingCache(Path(cache_path), model_id())
    try:
        return embed_with_cache([digest(t, 24) for t in inputs], inputs, cache)[0]
    finally:
        cache.close()


def _vectorizer(recipe: Recipe, texts: list[str], groups: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, recipe.ngram_max), min_df=recipe.min_df, sublinear_tf=True)
    vec.fit(texts)
    if recipe.min_groups > 1:
        counts = (vec.transform(texts) > 0).astype(np.int8).tocsc()
        g = np.unique(groups, return_inverse=True)[1]
        onehot = np.zeros((len(groups), g.max() + 1), dtype=np.int8)
        onehot[np.arange(len(groups)), g] = 1
        per_group = (counts.T @ onehot) > 0
        keep = np.asarray(per_group.sum(axis=1)).ravel() >= recipe.min_groups
        terms = vec.get_feature_names_out()[keep]
        idf = vec.idf_[keep]
        vec = TfidfVectorizer(
            ngram_range=(1, recipe.ngram_max),
            sublinear_tf=True,
            vocabulary={t: i for i, t in enumerate(terms)},
        )
        vec.fit(texts[:1])
        vec.idf_ = idf
    return vec


def fit(rows: list[dict[str, Any]], vectors: np.ndarray, recipe: Recipe) -> dict[str, Any]:
    """A model (the JSON-ready dict that ships as stance_model.json) fitted on `rows`."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    clean = [clean_for_embedding(r["text"]) for r in rows]
    vec = _vectorizer(recipe, clean, [r["group"] for r in rows])
    x = sparse.hstack(
        [
            sparse.csr_matrix(vectors),
            recipe.tfidf_weight * vec.transform(clean),
            sparse.csr_matrix(recipe.prior_weight * prior_features([r["prior"] for r in rows])),
        ]
    ).tocsr()
    y = np.array([STANCES.index(r["label"]) for r in rows])
    weight = np.array([recipe.written_weight if r["kind"] == "written" else 1.0 for r in rows])
    clf = LogisticRegression(C=recipe.C, max_iter=5000, class_weight="balanced" if recipe.balanced else None)
    clf.fit(x, y, sample_weight=weight)
    vocab = vec.get_feature_names_out().tolist()
    coef = np.asarray(clf.coef_, dtype=np.float64)
    # The prior's weights are learned on the scaled one-hot: fold the scale into them so the classifier
    # reads a plain one-hot.
    coef[:, -4:] *= recipe.prior_weight
    coef = np.round(coef, 5).tolist()
    blob = json.dumps({"vocab": vocab, "coef": coef, "recipe": asdict(recipe)}, sort_keys=True)
    return {
        "version": hashlib.sha256(blob.encode()).hexdigest()[:12],
        "labels": [STANCES[i] for i in clf.classes_],
        "features": "embedding of 'title: passage' (384) + tfidf_weight * TF-IDF n-grams + document stance",
        "recipe": asdict(recipe),
        "trained": {"passages": len(rows)},
        "tfidf_weight": recipe.tfidf_weight,
        "vocab": vocab,
        "idf": np.round(vec.idf_, 5).tolist(),
        "coef": coef,
        "intercept": np.round(clf.intercept_, 5).tolist(),
    }


def training_rows(
    mirror: Path, sources: dict[str, Source], stance_dir: Path, exclude_sources: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Labelled corpus passages (minus those of `exclude_sources`) and the passages we wrote."""
    skip = set(exclude_sources)
    labelled = [r for r in load_labelled(stance_dir, mirror, sources) if r["doc"] not in skip]
    return labelled + load_written(stance_dir)


def train(
    mirror: Path,
    *,
    exclude_sources: Iterable[str] = (),
    sources_file: Path = Path("corpus/sources.toml"),
    stance_dir: Path = Path("corpus/stance"),
    recipe: Recipe | None = None,
    cache_path: Path | None = None,
) -> dict[str, Any]:
    """A prepared stance model (pass it to `classify_vectors(..., model=)`) trained without the hand labels
    of `exclude_sources`. The recipe defaults to the shipped model's."""
    from .label import MODEL_FILE
    from .sources import load_sources

    if recipe is None:
        recipe = Recipe.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")).get("recipe", {}))
    sources = {s.id: s for s in load_sources(sources_file)}
    rows = training_rows(mirror, sources, stance_dir, exclude_sources)
    return prepare_model(fit(rows, embed_rows(rows, cache_path), recipe))
