"""Search latency: the real index at corpus size (retrieve() end to end and the dense search alone), and
1M synthetic 384-d vectors, exact (IndexFlatIP) against approximate (IVF-Flat, as the index uses above
`approx_threshold`), with recall@10 of the approximate one against the exact answers.

    python bench/search_latency.py [--index-dir index] [--n 1000000] [--queries 200] [--noise 0.06]

Synthetic vectors are real chunk embeddings plus Gaussian noise, renormalised, so they cluster like real
text embeddings; queries are real question embeddings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_rag.ingest.embed import encode
from interp_rag.retrieval.retrieve import retrieve
from interp_rag.settings import get_settings
from interp_rag.store.format import make_dense
from interp_rag.store.index import load_index

QUESTIONS = [
    "Are sparse autoencoders actually useful?",
    "Can interpretability detect a deceptive model?",
    "What are induction heads?",
    "Is activation steering reliable?",
    "Why do saliency maps fail sanity checks?",
    "What is superposition?",
    "How do curve detectors work?",
    "Should we stop explaining black box models?",
    "What is the pragmatic vision for interpretability?",
    "How are circuits found in vision models?",
]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p * len(xs)))], 3)


def timed(fn, reps: int) -> list[float]:
    out = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=1_000_000, help="synthetic vectors; 0 skips that part")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--noise", type=float, default=0.03, help="per-dimension std of the synthetic noise")
    ap.add_argument("--nprobe", default="16,32,64,128", help="IVF cells probed per query, to measure")
    args = ap.parse_args()
    import faiss

    result: dict = {"threads": faiss.omp_get_max_threads()}
    index = load_index(settings=get_settings(index_dir=args.index_dir))
    for q in QUESTIONS:  # warm-up (and fills the query-vector cache, as repeated questions would)
        retrieve(index, q)
    # Cold queries: each question text is new to the process, so the embedding is computed every time.
    novel = [f"{q} (variant {i})" for i in range(args.queries // len(QUESTIONS) + 1) for q in QUESTIONS]
    ms = timed(lambda i: retrieve(index, novel[i]), args.queries)
    result["corpus"] = {
        "chunks": len(index.chunks),
        "retrieve_ms_p50": pct(ms, 0.5),
        "retrieve_ms_p95": pct(ms, 0.95),
    }
    qv = encode(QUESTIONS)
    ms = timed(lambda i: index.dense.search(qv[i % len(qv)][None, :], 100), args.queries)
    result["corpus"]["dense_search_ms_p50"] = pct(ms, 0.5)
    ms = timed(lambda i: encode([novel[i]]), args.queries)
    result["corpus"]["query_embedding_ms_p50"] = pct(ms, 0.5)

    n = args.n
    if n <= 0:  # --n 0: the corpus-size measurements only
        print(json.dumps(result, indent=1))
        return
    rng = np.random.default_rng(0)
    base = index.vectors
    synth = np.empty((n, base.shape[1]), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        synth[s:e] = base[rng.integers(0, len(base), e - s)] + rng.normal(
            0, args.noise, (e - s, base.shape[1])
        )
    synth /= np.linalg.norm(synth, axis=1, keepdims=True)
    queries = encode([f"{q} {w}" for q in QUESTIONS for w in ("", "in practice", "according to critics")])
    reps = max(args.queries // 4, 30)
    exact, _ = make_dense(synth, approx_threshold=n)
    t = time.perf_counter()
    approx, kind = make_dense(synth, approx_threshold=n - 1)
    build_s = time.perf_counter() - t
    _, truth = exact.search(queries, 10)
    ex_ms = timed(lambda i: exact.search(queries[i % len(queries)][None, :], 10), reps)
    result["synthetic"] = {
        "vectors": n,
        "noise_std": args.noise,
        "approx_index": kind,
        "approx_build_s": round(build_s, 1),
        "exact_ms_p50": pct(ex_ms, 0.5),
        "exact_ms_p95": pct(ex_ms, 0.95),
        "approx": {},
    }
    default_nprobe = approx.nprobe
    for nprobe in sorted({default_nprobe, *(int(x) for x in args.nprobe.split(","))}):
        approx.nprobe = nprobe
        _, found = approx.search(queries, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)]))
        ap_ms = timed(lambda i: approx.search(queries[i % len(queries)][None, :], 10), reps)
        result["synthetic"]["approx"][
            f"nprobe={nprobe}" + (" (default)" if nprobe == default_nprobe else "")
        ] = {
            "ms_p50": pct(ap_ms, 0.5),
            "ms_p95": pct(ap_ms, 0.95),
            "recall_at_10": round(recall, 4),
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
