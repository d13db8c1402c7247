"""The cost of history on a cited-answer round trip: extractive answers with and without storing them.

    python bench/history_overhead.py --index-dir index [--n 60]

Prints p50/p90 of answer() alone and of answer() + record_answer(), on the same questions, warm."""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search_latency import pct
from interp_rag.answering.history import record_answer, reopen
from interp_rag.answering.pipeline import answer
from interp_rag.settings import get_settings
from interp_rag.store.index import load_index

QUESTIONS = [
    "Are sparse autoencoders actually useful?",
    "Can interpretability detect a deceptive model?",
    "Is superposition a real phenomenon or an artifact?",
    "Does mechanistic interpretability scale to frontier models?",
    "What is activation patching?",
    "Are saliency maps reliable?",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    settings = get_settings(index_dir=args.index_dir)
    index = load_index(settings=settings)
    # history written to a scratch directory, so the measured index stays as it was
    hist = settings.model_copy(update={"index_dir": tmp})
    for q in QUESTIONS:  # warm: model, caches
        answer(q, llm=False, index=index, settings=settings)
    plain, stored, reopened = [], [], []
    for i in range(args.n):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        answer(q, llm=False, index=index, settings=settings)
        plain.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        a = answer(q, llm=False, index=index, settings=settings)
        hid = record_answer(hist, a, {}, 8)
        stored.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        reopen(hist, hid, index=index)
        reopened.append((time.perf_counter() - t) * 1000)
    for name, xs in (("answer", plain), ("answer+record", stored), ("reopen", reopened)):
        mean = statistics.mean(xs)
        print(f"{name:14s} p50 {pct(xs, 0.5):7.2f} ms  p90 {pct(xs, 0.9):7.2f} ms  mean {mean:.2f}")
    print(f"history overhead p50 {round(pct(stored, 0.5) - pct(plain, 0.5), 2)} ms")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
