"""Compare retrieval settings on the tuning questions (bench/questions/train-*.jsonl) and, separately, on
the held-out dev set. Tuning decisions are made on the tuning questions only.

    python bench/tune_retrieval.py --mirror ../shared/corpus [--index-dir index] \
        [--dev ../shared/eval/dev.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.questions import resolve_questions
from interp_rag.evaluation import score_run
from interp_rag.retrieval.retrieve import retrieve
from interp_rag.settings import DEFAULT_RETRIEVAL, get_settings
from interp_rag.store.index import load_index

KEYS = ("passage_recall", "mrr", "gold_coverage", "both_sides_on_contested")


def run(index, qs, tuning, k=8) -> dict:
    out = []
    lengths = []
    for q in qs:
        r = retrieve(index, q["question"], k=k, tuning=tuning)
        out.append({"id": q["id"], "passages": [{"doc": p.source_id, "text": p.text} for p in r.passages]})
        lengths += [len(p.text) for p in r.passages]
    s = score_run(qs, out, k)
    return {key: s[key] for key in KEYS} | {
        "by_kind": s["passage_recall_by_kind"],
        "chars_p50": int(np.median(lengths)) if lengths else 0,
    }


def fmt(s: dict) -> str:
    return " ".join(f"{k[:12]}={s[k]:.3f}" for k in KEYS if s[k] is not None) + f" chars_p50={s['chars_p50']}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--index-dir", type=Path, default=None)
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--grid", default="{}", help="JSON dict of Tuning field -> list of values")
    args = ap.parse_args()
    settings = get_settings(index_dir=args.index_dir)
    index = load_index(settings=settings)
    train = [
        q
        for p in sorted(Path("bench/questions").glob("train-*.jsonl"))
        for q in resolve_questions(p, args.mirror)
    ]
    dev = resolve_questions(args.dev, args.mirror) if args.dev else []
    grid = json.loads(args.grid)
    names = list(grid)
    for values in itertools.product(*[grid[n] for n in names]) if names else [()]:
        tuning = DEFAULT_RETRIEVAL.model_copy(update=dict(zip(names, values, strict=True)))
        label = " ".join(f"{n}={v}" for n, v in zip(names, values, strict=True)) or "default"
        s = run(index, train, tuning)
        line = f"{label:<40} train[{len(train)}] {fmt(s)}"
        if dev:
            line += f" | dev {fmt(run(index, dev, tuning))}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
