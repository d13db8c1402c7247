"""Train the passage-stance model shipped in src/interp_rag/data/stance_model.json.

The training data (corpus/stance/, no third-party text) and the recipe are described in
src/interp_rag/ingest/label_train.py. The recipe was chosen by leave-sources-out cross-validation
(`python bench/stance_eval.py`), never on the dev or unseen-dev passages; the dev set is only scored here.

    python scripts/train_stance.py --mirror ../shared/corpus [--recipe '{"C": 0.3}'] \
        [--dev ../shared/eval/passage_stance_dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from interp_rag.ingest.label import MODEL_FILE, classify_vectors, prepare_model
from interp_rag.ingest.label_train import DEFAULT_RECIPE, Recipe, embed_rows, fit, training_rows
from interp_rag.ingest.sources import load_sources
from interp_rag.text import clean_for_embedding


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--sources", type=Path, default=Path("corpus/sources.toml"))
    ap.add_argument("--data", type=Path, default=Path("corpus/stance"))
    ap.add_argument("--recipe", type=json.loads, default=None, help="JSON overriding the default recipe")
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="an embedding cache (SQLite) to reuse")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args()
    recipe = Recipe.from_dict({**asdict(DEFAULT_RECIPE), **(args.recipe or {})})
    sources = {s.id: s for s in load_sources(args.sources)}
    rows = training_rows(args.mirror, sources, args.data)
    data = fit(rows, embed_rows(rows, args.cache), recipe)
    print(f"training passages: {len(rows)}; recipe {asdict(recipe)}")
    if args.dev:
        dev = [json.loads(x) for x in args.dev.read_text().splitlines() if x.strip()]
        drows = [
            {
                "text": r["quote"],
                "title": sources[r["doc"]].title if r["doc"] in sources else "",
                "label": r["label"],
            }
            for r in dev
        ]
        priors = [sources[r["doc"]].stance if r["doc"] in sources else None for r in dev]
        labels, _ = classify_vectors(
            embed_rows(drows, args.cache),
            [clean_for_embedding(r["text"]) for r in drows],
            priors,
            model=prepare_model(data),
        )
        acc = float(np.mean([a == r["label"] for a, r in zip(labels, drows, strict=True)]))
        data["trained"]["dev_accuracy"] = round(acc, 3)
        print(f"held-out dev accuracy ({len(drows)} passages, never fitted on): {acc:.3f}")
    args.out.write_text(json.dumps(data, separators=(",", ":")))
    print(f"wrote {args.out} (version {data['version']}, {len(data['vocab'])} terms)")


if __name__ == "__main__":
    main()
