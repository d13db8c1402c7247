"""How the stance reader's and the logistic model's probabilities are best combined, chosen out of sample.

Reads the probabilities `bench/stance_reader.py --save FILE` kept (leave-sources-out folds over our labelled
passages and the dev passages, plus the unseen-dev quotes) and scores, for each reader weight w
(p = w x reader + (1 - w) x logistic) and each pair of class offsets added to the log-probabilities of
enthusiastic and skeptical (neutral fixed at 0), the accuracy on the pooled leave-sources-out passages. The
best setting is chosen there only; unseen-dev is reported beside it, never used to choose.

    python bench/stance_reader.py --mirror ../shared/corpus --save /tmp/stance-probs.npz
    python bench/stance_mix.py /tmp/stance-probs.npz
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from interp_rag.ingest.label import combine
from interp_rag.types import STANCES

WEIGHTS = [0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0]
OFFSETS = [-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6]


def accuracy(
    gold: np.ndarray, reader: np.ndarray, logistic: np.ndarray, w: float, offsets: dict[str, float]
) -> float:
    pred = combine(logistic, reader, weight=w, offsets=offsets).argmax(1)
    return float(np.mean(np.array(STANCES)[pred] == gold))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("probs", type=Path)
    a = ap.parse_args()
    z = np.load(a.probs)
    sets = {name: (z[f"{name}_gold"], z[f"{name}_reader"], z[f"{name}_logistic"]) for name in ("lab", "dev")}
    pooled = tuple(np.concatenate([sets[n][i] for n in sets]) for i in range(3))
    unseen = (z["unseen_gold"], z["unseen_reader"], z["unseen_logistic"]) if "unseen_gold" in z else None
    rows = []
    for w, e, s in itertools.product(WEIGHTS, OFFSETS, OFFSETS):
        off = {"enthusiastic": e, "skeptical": s}
        row = {"w": w, "enthusiastic": e, "skeptical": s, "loso": accuracy(*pooled, w, off)}
        row |= {name: accuracy(*sets[name], w, off) for name in sets}
        if unseen is not None:
            row["unseen"] = accuracy(*unseen, w, off)
        rows.append(row)

    def show(r: dict) -> str:
        settings = ("w", "enthusiastic", "skeptical")
        return " ".join(f"{k} {v}" if k in settings else f"{k} {v:.3f}" for k, v in r.items())

    def rank(r: dict) -> tuple[float, float]:  # ties go to the smaller offsets
        return r["loso"], -abs(r["enthusiastic"]) - abs(r["skeptical"])

    print("no offsets, by reader weight:")
    for r in rows:
        if r["enthusiastic"] == 0 and r["skeptical"] == 0:
            print("  " + show(r))
    best = max(rows, key=rank)
    print("best on leave-sources-out (pooled):\n  " + show(best))
    print("best offsets at each weight:")
    for w in WEIGHTS:
        r = max((r for r in rows if r["w"] == w), key=rank)
        print("  " + show(r))


if __name__ == "__main__":
    main()
