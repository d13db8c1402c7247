"""How close the best passage comes to a real question and to a question the corpus cannot answer, to choose
the relevance floor (INTERP_RAG_RELEVANCE_FLOOR).

For each question: the best candidate's dense cosine (lifted by its closest expansion question, as
retrieval scores it) and whether any question word is in the BM25 vocabulary. Real questions: the shared dev
questions and our tuning questions. Questions the corpus cannot answer: ones we wrote here (punctuation,
other scripts, emoji, everyday topics).

    python bench/relevance_floor.py --index-dir index --dev ../shared/eval/dev.jsonl \
        --questions bench/questions/train-a.jsonl bench/questions/train-b.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

# Written for this benchmark: none of these is answered by writing on interpretability.
UNANSWERABLE = {
    "punctuation": ["???", "?!?!", "...", "!!!", "-- -- --", "* * *", "()[]{}", "#$%^&*"],
    "chinese": [
        "稀疏自编码器有用吗？",
        "什么是激活修补？",
        "机械可解释性能扩展到前沿模型吗？",
        "今天天气怎么样？",
    ],
    "arabic": ["هل المشفرات التلقائية المتفرقة مفيدة؟", "ما هو التصحيح التنشيطي؟", "كيف حالك اليوم؟"],
    "emoji": ["🤔🤔🤔", "🧠➡️🔍❓", "😀", "🍕🍕🍕?"],
    "off-topic": [
        "What is a good recipe for banana bread?",
        "Who won the football world cup in 1998?",
        "How do I fix a flat bicycle tyre?",
        "What will the weather be in Paris tomorrow?",
        "What is the capital of Australia?",
        "How tall is Mount Everest?",
        "Recommend a good science fiction novel.",
        "How do I file my taxes?",
        "What time does the train to Berlin leave?",
        "Is coffee bad for your heart?",
        "asdf qwer zxcv",
        "lorem ipsum dolor sit amet",
    ],
}


def best_scores(index, question: str) -> tuple[float, float, bool]:
    """The best candidate's cosine as retrieval scores it (lifted by expansion questions), the best chunk's
    own cosine (what a source added without expansions gets), whether BM25 knows a word of it."""
    from interp_rag.retrieval.search import candidates, query_vector
    from interp_rag.text import bm25_tokens

    cands = candidates(index, question)
    top_cos = float(cands.cos.max()) if cands.cos.size else 0.0
    raw = float((index.vectors @ query_vector(question)).max())
    known = any(t in index.bm25.vocab_dict for t in bm25_tokens(question))
    return top_cos, raw, known


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=Path("index"))
    ap.add_argument("--dev", type=Path, required=True)
    ap.add_argument("--questions", type=Path, nargs="*", default=[])
    args = ap.parse_args()

    from interp_rag.settings import get_settings
    from interp_rag.store.index import load_index

    index = load_index(settings=get_settings(index_dir=args.index_dir))
    groups: dict[str, list[str]] = {"dev": [json.loads(x)["question"] for x in args.dev.open()]}
    tuning = [json.loads(x)["question"] for f in args.questions for x in f.open() if x.strip()]
    if tuning:
        groups["tuning"] = tuning
    groups.update(UNANSWERABLE)
    rows = {}
    for name, qs in groups.items():
        scores = [best_scores(index, q) for q in qs]
        row: dict[str, float] = {"n": len(qs), "bm25_known": sum(k for *_, k in scores)}
        for i, kind in enumerate(("lifted", "raw")):
            cos = np.array([s[i] for s in scores])
            row |= {
                f"{kind}_min": round(float(cos.min()), 3),
                f"{kind}_median": round(float(np.median(cos)), 3),
            }
            row[f"{kind}_max"] = round(float(cos.max()), 3)
        rows[name] = row
        print(f"{name:12} {json.dumps(row)}", flush=True)
        if name not in ("dev", "tuning"):
            for q, (s, r, k) in zip(qs, scores, strict=True):
                print(f"    {s:.3f} {r:.3f} {'bm25' if k else '    '} {q}")


if __name__ == "__main__":
    main()
