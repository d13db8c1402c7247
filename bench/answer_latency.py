"""What the extractive answer costs on top of retrieval.

    python bench/answer_latency.py [--index index] [--questions ../shared/eval/dev.jsonl] [--repeat 5]

For each question: `answer()` end to end (extractive, the question embedded cold) in wall time and in
CPU time of all the process's threads, and the extractive composition alone (`compose_extractive` over
the retrieved passages: sentence scoring, stance of the shortlist, choice, text) in the main thread's CPU
time, which another job on the machine does not inflate the way it inflates wall time.
Prints p50/p95 of each as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from interp_rag import answer, load_index
from interp_rag.answering.extractive import compose_extractive
from interp_rag.evaluation import load_jsonl
from interp_rag.retrieval.search import _query_vector_cached
from interp_rag.settings import get_settings

REPO = Path(__file__).resolve().parents[1]


def pct(xs: list[float], q: float) -> float:
    return round(sorted(xs)[int(q * (len(xs) - 1))], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=REPO / "index")
    ap.add_argument("--questions", type=Path, default=REPO.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--repeat", type=int, default=5, help="Compositions timed per question.")
    a = ap.parse_args()
    settings = get_settings(index_dir=a.index)
    index = load_index(a.index, settings=settings)
    qs = load_jsonl(a.questions)
    answer("warm-up question about interpretability", index=index, llm=False, settings=settings)
    wall, total_cpu, cpu = [], [], []
    for q in qs:
        _query_vector_cached.cache_clear()
        t, c = time.perf_counter(), time.process_time()
        ans = answer(q["question"], index=index, llm=False, settings=settings)
        wall.append((time.perf_counter() - t) * 1000)
        total_cpu.append((time.process_time() - c) * 1000)
        for _ in range(a.repeat):
            t = time.thread_time()
            compose_extractive(
                q["question"], ans.passages, ans.missing_sides, index=index, params=settings.answer
            )
            cpu.append((time.thread_time() - t) * 1000)
    print(
        json.dumps(
            {
                "questions": len(qs),
                "answer_wall_ms": {"p50": pct(wall, 0.5), "p95": pct(wall, 0.95)},
                "answer_cpu_ms": {"p50": pct(total_cpu, 0.5), "p95": pct(total_cpu, 0.95)},
                "compose_cpu_ms": {
                    "p50": pct(cpu, 0.5),
                    "p95": pct(cpu, 0.95),
                    "mean": round(statistics.mean(cpu), 2),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
