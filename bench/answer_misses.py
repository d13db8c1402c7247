"""Why an extractive answer misses its gold quote (issue 10's answer_evidence): is no gold passage shown, or
is one shown and another of its sentences quoted, and where does the gold sentence rank among the candidates?

    python bench/answer_misses.py --index-dir index ../shared/eval/dev.jsonl
    python bench/answer_misses.py --index-dir /tmp/unseen/index ../shared/unseen-dev/questions.jsonl

(the second after `python bench/unseen.py --index-dir index --keep /tmp/unseen`). Prints counts and ranks as
JSON, never the questions' or passages' text. A quote is held when at least half of its word 4-grams are
(score.py's rule); a candidate is a sentence the answer could quote (answering/extractive.candidates).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.questions import question_run
from interp_rag.answering.extractive import candidates, compose_extractive
from interp_rag.evaluation import grams
from interp_rag.retrieval.retrieve import retrieve


def held(text: str, quote: str) -> float:
    g = grams(quote)
    return len(g & grams(text)) / max(1, len(g))


def main() -> None:
    args, settings, index, questions = question_run(__doc__)
    counts = {"answer holds a gold quote": 0, "no gold passage shown": 0, "shown, not quoted": 0}
    ranks: list[tuple[int, int]] = []
    for q in questions:
        r = retrieve(index, q["question"], k=args.k)
        text, _ = compose_extractive(
            q["question"], r.passages, r.missing_sides, index=index, params=settings.answer
        )
        if any(held(text, g["quote"]) >= 0.5 for g in q["gold"]):
            counts["answer holds a gold quote"] += 1
            continue
        shown = [
            g
            for g in q["gold"]
            if any(p.source_id == g["doc"] and held(p.text, g["quote"]) >= 0.5 for p in r.passages)
        ]
        if not shown:
            counts["no gold passage shown"] += 1
            continue
        counts["shown, not quoted"] += 1
        cands = sorted(candidates(q["question"], r.passages, index, settings.answer), key=lambda c: -c.score)
        best = min(
            (i for i, c in enumerate(cands, 1) for g in shown if held(c.text, g["quote"]) >= 0.5),
            default=0,
        )
        ranks.append((best, len(cands)))  # 0: no single candidate sentence holds the quote
    found = sorted(b for b, _ in ranks if b)
    print(json.dumps({
        **counts,
        "gold sentence's rank among candidates (shown, not quoted)": found,
        "candidates per question": sorted(n for _, n in ranks),
        "no single sentence holds the quote": sum(1 for b, _ in ranks if not b),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
