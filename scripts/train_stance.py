"""Train the passage-stance model shipped in src/interp_rag/data/stance_model.json.

Training data lives in corpus/stance/ and holds no third-party text:
  labels-*.jsonl  passages of the corpus by reference {doc, start, end, sha, label}, read from a mirror
  written.jsonl   passages the team wrote {text, label, topic}
The held-out check is ../shared/eval/passage_stance_dev.jsonl (never fitted on).

    python scripts/train_stance.py --mirror ../shared/corpus [--dev ../shared/eval/passage_stance_dev.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from interp_rag.chunk import clean_for_embedding
from interp_rag.embed import encode
from interp_rag.sources import load_sources
from interp_rag.stance import MODEL_FILE, features, fit, softmax
from interp_rag.types import STANCES

L2 = 3e-4
STEPS = 800


def load_training(stance_dir: Path, mirror: Path, sources: dict) -> tuple[list[str], list[str | None], list[int]]:
    texts: list[str] = []
    priors: list[str | None] = []
    labels: list[int] = []
    for f in sorted(stance_dir.glob("labels-*.jsonl")):
        for line in f.read_text().splitlines():
            r = json.loads(line)
            src = sources[r["doc"]]
            text = (mirror / src.file).read_text()[r["start"] : r["end"]]
            if hashlib.sha1(text.encode()).hexdigest()[:12] != r["sha"]:
                raise SystemExit(f"{f.name}: {r['doc']}@{r['start']} does not match the mirror's text")
            texts.append(text)
            priors.append(src.stance)
            labels.append(STANCES.index(r["label"]))
    for line in (stance_dir / "written.jsonl").read_text().splitlines():
        r = json.loads(line)
        texts.append(r["text"])
        priors.append(None)
        labels.append(STANCES.index(r["label"]))
    return texts, priors, labels


def accuracy(w: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float((softmax(x @ w + b).argmax(axis=1) == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--sources", type=Path, default=Path("corpus/sources.toml"))
    ap.add_argument("--data", type=Path, default=Path("corpus/stance"))
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args()
    sources = {s.id: s for s in load_sources(args.sources)}
    texts, priors, labels = load_training(args.data, args.mirror, sources)
    y = np.array(labels)
    x = features(encode([clean_for_embedding(t) for t in texts]), priors)
    print(f"training passages: {len(y)}", {s: int((y == i).sum()) for i, s in enumerate(STANCES)})

    # 5-fold cross-validation on the training data (deterministic folds)
    folds = np.arange(len(y)) % 5
    rng = np.random.default_rng(0)
    rng.shuffle(folds)
    cv = []
    for k in range(5):
        w, b = fit(x[folds != k], y[folds != k], l2=L2, steps=STEPS)
        cv.append(accuracy(w, b, x[folds == k], y[folds == k]))
    print(f"5-fold CV accuracy: {np.mean(cv):.3f}")

    w, b = fit(x, y, l2=L2, steps=STEPS)
    version = hashlib.sha256(w.tobytes() + b.tobytes()).hexdigest()[:12]
    report = {"training_passages": len(y), "cv_accuracy": round(float(np.mean(cv)), 3)}
    if args.dev:
        rows = [json.loads(line) for line in args.dev.read_text().splitlines() if line.strip()]
        xd = features(encode([clean_for_embedding(r["quote"]) for r in rows]),
                      [sources[r["doc"]].stance if r["doc"] in sources else None for r in rows])
        yd = np.array([STANCES.index(r["label"]) for r in rows])
        report["dev_accuracy"] = round(accuracy(w, b, xd, yd), 3)
        print(f"held-out dev accuracy ({len(yd)} passages): {report['dev_accuracy']:.3f}")
    args.out.write_text(json.dumps({
        "version": version,
        "labels": list(STANCES),
        "features": "all-MiniLM-L6-v2 embedding (384) + one-hot document stance (enthusiastic, skeptical, "
                    "mixed, neutral)",
        "trained_on": report,
        "w": np.round(w, 5).tolist(),
        "b": np.round(b, 5).tolist(),
    }))
    print(f"wrote {args.out} (version {version})")


if __name__ == "__main__":
    main()
