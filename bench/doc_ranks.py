"""How far down the candidate documents each side's gold documents sit, for contested questions: the share
of questions whose gold documents for both sides are among the first n documents, with documents ranked by
their best candidate chunk ("top1") or by the sum of their best m chunks ("top3").

    python bench/doc_ranks.py --mirror ../shared/corpus [--dev ../shared/eval/dev.jsonl]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.questions import resolve_questions
from interp_rag.retrieval.search import candidates
from interp_rag.settings import get_settings
from interp_rag.store.index import load_index

DEPTHS = (4, 6, 7, 8, 10, 12)


def doc_orders(index, question: str) -> dict[str, list[str]]:
    c = candidates(index, question)
    scores: dict[str, list[float]] = defaultdict(list)
    for pos, rel in zip(c.pool, c.rel, strict=True):
        scores[index.chunks[int(pos)].source_id].append(float(rel))
    return {
        f"top{m}": sorted(scores, key=lambda d, m=m: -sum(sorted(scores[d], reverse=True)[:m]))
        for m in (1, 3)
    }


def report(index, qs: list[dict], label: str) -> None:
    depth: dict[str, list[int]] = defaultdict(list)
    for q in qs:
        if q["kind"] != "contested":
            continue
        sides: dict[str, set[str]] = defaultdict(set)
        for g in q["gold"]:
            sides[g["side"]].add(g["doc"])
        for name, docs in doc_orders(index, q["question"]).items():
            rank = {d: i + 1 for i, d in enumerate(docs)}
            depth[name].append(max(min((rank.get(d, 999) for d in ds), default=999) for ds in sides.values()))
    for name, need in depth.items():
        shares = " ".join(f"{n}:{sum(x <= n for x in need) / len(need):.2f}" for n in DEPTHS)
        print(f"{label:<6} [{len(need)} contested] {name}: both sides within the first n documents  {shares}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--index-dir", type=Path, default=None)
    ap.add_argument("--dev", type=Path, default=None)
    args = ap.parse_args()
    index = load_index(settings=get_settings(index_dir=args.index_dir))
    files = sorted(Path("bench/questions").glob("train-*.jsonl"))
    train = [q for p in files for q in resolve_questions(p, args.mirror)]
    report(index, train, "tuning")
    if args.dev:
        report(index, resolve_questions(args.dev, args.mirror), "dev")


if __name__ == "__main__":
    main()
