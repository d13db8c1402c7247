"""Train the passage-stance model shipped in src/interp_rag/data/stance_model.json.

Training data lives in corpus/stance/ and holds no third-party text:
  labels-*.jsonl  passages of the corpus by reference {doc, start, end, sha, label}, read from a mirror
  written.jsonl   passages the team wrote {text, label, topic}
Hyper-parameters are chosen by 5-fold cross-validation on that data; the held-out dev set
(../shared/eval/passage_stance_dev.jsonl) is only scored, never fitted on.

    python scripts/train_stance.py --mirror ../shared/corpus --dev ../shared/eval/passage_stance_dev.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from interp_rag.ingest.chunk import embed_input
from interp_rag.ingest.embed import encode
from interp_rag.ingest.label import MODEL_FILE, prior_features
from interp_rag.ingest.sources import load_sources
from interp_rag.text import clean_for_embedding
from interp_rag.types import STANCES

GRID = {"tfidf_weight": [1.0, 2.0, 3.0], "C": [0.3, 1.0, 3.0]}
MIN_DF = 2


def load_training(stance_dir: Path, mirror: Path, sources: dict) -> list[dict]:
    rows = []
    for f in sorted(stance_dir.glob("labels-*.jsonl")):
        for line in f.read_text().splitlines():
            r = json.loads(line)
            src = sources[r["doc"]]
            text = (mirror / src.file).read_text()[r["start"] : r["end"]]
            if hashlib.sha1(text.encode()).hexdigest()[:12] != r["sha"]:
                raise SystemExit(f"{f.name}: {r['doc']}@{r['start']} does not match the mirror's text")
            rows.append({"text": text, "title": src.title, "prior": src.stance, "label": r["label"]})
    for line in (stance_dir / "written.jsonl").read_text().splitlines():
        r = json.loads(line)
        rows.append({"text": r["text"], "title": "", "prior": None, "label": r["label"]})
    return rows


class Featurizer:
    def __init__(self, rows: list[dict]):
        self.clean = [clean_for_embedding(r["text"]) for r in rows]
        self.emb = encode([embed_input(c, r["title"]) for c, r in zip(self.clean, rows, strict=True)])
        self.prior = prior_features([r["prior"] for r in rows])
        self.y = np.array([STANCES.index(r["label"]) for r in rows])

    def matrix(self, idx: np.ndarray, vec: TfidfVectorizer, weight: float) -> np.ndarray:
        tf = vec.transform([self.clean[i] for i in idx]).toarray()
        return np.hstack([self.emb[idx], weight * tf, self.prior[idx]])


def fit(
    f: Featurizer, idx: np.ndarray, weight: float, c: float
) -> tuple[TfidfVectorizer, LogisticRegression]:
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=MIN_DF, sublinear_tf=True, lowercase=True)
    vec.fit([f.clean[i] for i in idx])
    clf = LogisticRegression(C=c, max_iter=5000)
    clf.fit(f.matrix(idx, vec, weight), f.y[idx])
    return vec, clf


def accuracy(
    f: Featurizer, idx: np.ndarray, vec: TfidfVectorizer, clf: LogisticRegression, w: float
) -> float:
    return float((clf.predict(f.matrix(idx, vec, w)) == f.y[idx]).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--sources", type=Path, default=Path("corpus/sources.toml"))
    ap.add_argument("--data", type=Path, default=Path("corpus/stance"))
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args()
    sources = {s.id: s for s in load_sources(args.sources)}
    rows = load_training(args.data, args.mirror, sources)
    f = Featurizer(rows)
    n = len(rows)
    print(f"training passages: {n}", {s: int((f.y == i).sum()) for i, s in enumerate(STANCES)})

    folds = np.arange(n) % 5
    np.random.default_rng(0).shuffle(folds)
    best = None
    for weight, c in itertools.product(GRID["tfidf_weight"], GRID["C"]):
        accs = []
        for k in range(5):
            tr, te = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            vec, clf = fit(f, tr, weight, c)
            accs.append(accuracy(f, te, vec, clf, weight))
        cv = float(np.mean(accs))
        print(f"  tfidf_weight={weight} C={c}: 5-fold CV accuracy {cv:.3f}")
        if best is None or cv > best[0]:
            best = (cv, weight, c)
    assert best is not None
    cv, weight, c = best
    vec, clf = fit(f, np.arange(n), weight, c)
    report: dict = {"training_passages": n, "cv_accuracy": round(cv, 3), "tfidf_weight": weight, "C": c}
    print(f"chosen: tfidf_weight={weight} C={c} (CV {cv:.3f})")
    vocab = vec.get_feature_names_out().tolist()
    coef = clf.coef_
    labels = [STANCES[i] for i in clf.classes_]
    if args.dev:
        dev = [json.loads(line) for line in args.dev.read_text().splitlines() if line.strip()]
        drows = [
            {
                "text": r["quote"],
                "title": sources[r["doc"]].title if r["doc"] in sources else "",
                "prior": sources[r["doc"]].stance if r["doc"] in sources else None,
                "label": r["label"],
            }
            for r in dev
        ]
        fd = Featurizer(drows)
        report["dev_accuracy"] = round(accuracy(fd, np.arange(len(drows)), vec, clf, weight), 3)
        print(f"held-out dev accuracy ({len(drows)} passages, never fitted on): {report['dev_accuracy']:.3f}")
    blob = json.dumps({"vocab": vocab, "coef": np.round(coef, 5).tolist()}, sort_keys=True)
    version = hashlib.sha256(blob.encode()).hexdigest()[:12]
    args.out.write_text(
        json.dumps(
            {
                "version": version,
                "labels": labels,
                "features": "embedding of 'title: passage' (384) + tfidf_weight * TF-IDF (1-2 grams) "
                "+ document stance",
                "trained": report,
                "tfidf_weight": weight,
                "vocab": vocab,
                "idf": np.round(vec.idf_, 5).tolist(),
                "coef": np.round(coef, 5).tolist(),
                "intercept": np.round(clf.intercept_, 5).tolist(),
            },
            separators=(",", ":"),
        )
    )
    print(f"wrote {args.out} (version {version}, {len(vocab)} terms)")


if __name__ == "__main__":
    main()
