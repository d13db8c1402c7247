"""Fit the sentence weights of answering/evidence.py (WEIGHTS) on our own tuning questions.

The tuning questions (bench/questions/train-*.jsonl) store their gold passages by reference
({doc, start, end, sha}); they are resolved against the mirror as bench/questions.py does. Each question
goes through the current retrieval (`answer(..., llm=False)` on the index of `--index-dir`, as
`interp-rag eval` runs it), and every whole sentence of the shown passages gets its features from
answering/extractive.candidates, the code path the answer itself uses. A sentence is a positive when it
holds at least half of some gold quote's word 4-grams. A logistic regression on those features gives the
weights (no intercept is kept: only the order of the sentences of one answer matters).

The shared dev and unseen-dev questions are refused: they are for measuring only.

    python scripts/fit_evidence.py --index-dir index [--mirror ../shared/corpus] [--C 1.0]

Prints the weights in WEIGHTS form and the tuning set's answer_evidence (fitted on) with the current
weights and with the new ones.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

FEATURES = ("coverage", "density", "bigrams", "focus", "core", "passage", "rank", "first", "claim", "words")
WORDS_CAP = 40  # evidence.score counts length up to 40 words; fitted the same way


def tuning_questions(paths: list[Path], mirror: Path) -> list[dict[str, Any]]:
    from bench.questions import resolve_questions

    for p in paths:
        if "unseen" in p.parts or "eval" in p.parts:
            raise SystemExit(f"{p}: the shared dev and unseen-dev questions are for measuring, not fitting")
    return [q for p in paths for q in resolve_questions(p, mirror, ROOT / "corpus" / "sources.toml")]


def shown(questions: list[dict[str, Any]], index: Any, settings: Any, k: int, cache: Path | None) -> dict:
    """Each question's shown passages and missing sides, as `interp-rag eval` gets them."""
    from interp_rag import answer

    if cache and cache.exists():
        return pickle.loads(cache.read_bytes())
    got = {}
    for i, q in enumerate(questions, 1):
        a = answer(q["question"], k=k, index=index, llm=False, settings=settings)
        got[q["id"]] = (a.passages, a.missing_sides)
        if i % 20 == 0:
            print(f"  {i}/{len(questions)} questions retrieved", file=sys.stderr)
    if cache:
        cache.write_bytes(pickle.dumps(got))
    return got


def rows(
    questions: list[dict[str, Any]], got: dict, index: Any, settings: Any
) -> tuple[np.ndarray, np.ndarray]:
    from interp_rag.answering.extractive import candidates
    from interp_rag.evaluation import grams

    x, y = [], []
    for q in questions:
        gold = [g for g in (grams(g["quote"]) for g in q["gold"]) if g]
        for s in candidates(q["question"], got[q["id"]][0], index, settings.answer):
            held = max((len(grams(s.text) & g) / len(g) for g in gold), default=0.0)
            f = dict(s.features, words=min(s.features["words"], WORDS_CAP))
            x.append([f[name] for name in FEATURES])
            y.append(held >= 0.5)
    return np.array(x, float), np.array(y, bool)


def answer_evidence(questions: list[dict[str, Any]], got: dict, index: Any, settings: Any) -> dict:
    from interp_rag.answering.extractive import compose_extractive
    from interp_rag.evaluation import score_answers

    texts = {
        q["id"]: compose_extractive(q["question"], *got[q["id"]], index=index, params=settings.answer)[0]
        for q in questions
    }
    return score_answers(questions, texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument(
        "--questions", type=Path, nargs="*", default=sorted((ROOT / "bench/questions").glob("train-*.jsonl"))
    )
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--C", type=float, default=1.0, help="Inverse regularisation of the logistic regression.")
    ap.add_argument("--cache", type=Path, help="Keep the shown passages here (re-fits skip the retrieval).")
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegression

    from interp_rag.answering import evidence
    from interp_rag.settings import get_settings
    from interp_rag.store.index import load_index

    settings = get_settings()
    index = load_index(args.index_dir, settings=settings)
    questions = tuning_questions(args.questions, args.mirror)
    got = shown(questions, index, settings, args.k, args.cache)
    x, y = rows(questions, got, index, settings)
    print(f"{len(questions)} tuning questions, {len(y)} sentences, {int(y.sum())} positives", file=sys.stderr)
    clf = LogisticRegression(C=args.C, max_iter=5000).fit(x, y)
    weights = {name: round(float(w), 3) for name, w in zip(FEATURES, clf.coef_[0], strict=True)}

    before = answer_evidence(questions, got, index, settings)
    old = dict(evidence.WEIGHTS)
    evidence.WEIGHTS.update(weights)  # score() reads the module's dict
    after = answer_evidence(questions, got, index, settings)
    evidence.WEIGHTS.update(old)
    print(
        f"tuning set (fitted on): answer_evidence {before['answer_evidence']} with the current weights, "
        f"{after['answer_evidence']} with the new ones; new: {after}",
        file=sys.stderr,
    )
    print("WEIGHTS = {")
    for name, w in weights.items():
        print(f'    "{name}": {w},')
    print("}")


if __name__ == "__main__":
    main()
