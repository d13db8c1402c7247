"""Train the query adapter of retrieval/rerank/adapter.py from the question expansions.

The training pairs are the expansion questions (corpus/expansions/, passages referenced by offset and hash
into the mirror's texts) and the chunks they were attached to at build time; both come from an index built
with `interp-rag build --mirror ../shared/corpus`, whose vectors are the cached MiniLM embeddings, so no
text is embedded here. A question should land closest to its own chunk among every chunk of the corpus:
softmax cross-entropy over all chunks (the answering chunk's neighbours, which overlap it, are not counted
as negatives), W = I + D with D pulled towards 0.

    python scripts/train_adapter.py [--index-dir index] [--out src/interp_rag/data/query_adapter.npz]

`fit(index, same_doc=1.0)` adds a within-document loss (measured under LOSO, not adopted).
`fit(index, exclude=...)` leaves sources out (their questions and their chunks): bench/loso.py trains one
adapter per fold that way.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Chosen by leave-sources-out cross-validation (bench/loso.py), see docs/benchmarks.md.
EPOCHS = 2
LR = 2e-3
L2 = 1e-4
TAU = 0.05
WEIGHT = 0.3


def fit(
    index: Any,
    exclude: frozenset[str] | set[str] = frozenset(),
    *,
    epochs: int = EPOCHS,
    lr: float = LR,
    l2: float = L2,
    tau: float = TAU,
    seed: int = 0,
    same_doc: float = 0.0,
    log: bool = False,
) -> np.ndarray:
    """W (dims x dims) trained on the expansion questions of every source not in `exclude`."""
    import torch

    if index.q_vectors is None or index.q_owner is None or not len(index.q_owner):
        raise SystemExit("the index has no expansion questions: build it with corpus/expansions present")
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # a shared 2-core machine; the batches are small
    src = np.array([c.source_id for c in index.chunks], dtype=object)
    allowed = np.flatnonzero(~np.isin(src, list(exclude)))
    where = np.full(len(index.chunks), -1, dtype=np.int64)
    where[allowed] = np.arange(allowed.size)
    rows = np.flatnonzero(where[index.q_owner] >= 0)
    target = where[index.q_owner[rows]]
    # neighbours of each target (same document, n +- 1) overlap it and show in its passage: not negatives
    nb = np.full((rows.size, 2), -1, dtype=np.int64)
    for j, step in enumerate((-1, 1)):
        p = index.q_owner[rows] + step
        ok = (p >= 0) & (p < len(index.chunks))
        p = np.clip(p, 0, len(index.chunks) - 1)
        ok &= src[p] == src[index.q_owner[rows]]
        nb[:, j] = np.where(ok, where[p], -1)
    doc_codes = np.unique(src, return_inverse=True)[1]
    doc_of = torch.from_numpy(doc_codes[allowed])  # document of each allowed chunk
    C = torch.from_numpy(np.ascontiguousarray(index.vectors[allowed]))
    Q = torch.from_numpy(np.ascontiguousarray(index.q_vectors[rows]))
    y = torch.from_numpy(target)
    nbt = torch.from_numpy(nb)
    dims = C.shape[1]
    D = torch.zeros(dims, dims, requires_grad=True)
    opt = torch.optim.Adam([D], lr=lr)
    batch = 256
    for epoch in range(epochs):
        perm = torch.randperm(rows.size)
        total = 0.0
        for b in range(0, rows.size, batch):
            i = perm[b : b + batch]
            q = Q[i]
            qa = torch.nn.functional.normalize(q + q @ D.T, dim=1)
            logits = qa @ C.T / tau
            n = nbt[i]
            block = torch.zeros_like(logits, dtype=torch.bool)
            r = torch.arange(len(i))
            for j in range(2):
                ok = n[:, j] >= 0
                block[r[ok], n[ok, j]] = True
            logits = logits.masked_fill(block, float("-inf"))
            loss = torch.nn.functional.cross_entropy(logits, y[i]) + l2 * (D**2).sum()
            if same_doc:  # the passage within its own document: the other chunks of it as the only negatives
                other = doc_of[None, :] != doc_of[y[i]][:, None]
                within = logits.masked_fill(other, float("-inf"))
                loss = loss + same_doc * torch.nn.functional.cross_entropy(within, y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(i)
        if log:
            print(f"epoch {epoch + 1}: loss {total / rows.size:.4f}", file=sys.stderr)
    return (torch.eye(dims) + D.detach()).numpy().astype(np.float32)


def main() -> None:
    from interp_rag.settings import get_settings
    from interp_rag.store.index import load_index

    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=Path("index"))
    ap.add_argument("--out", type=Path, default=Path("src/interp_rag/data/query_adapter.npz"))
    args = ap.parse_args()
    index = load_index(settings=get_settings(index_dir=args.index_dir))
    t = time.perf_counter()
    W = fit(index, log=True)
    np.savez_compressed(args.out, matrix=W.astype(np.float32), weight=np.float32(WEIGHT))
    print(
        f"trained on {len(index.q_owner)} question-chunk pairs of {len(index.sources)} sources in "
        f"{time.perf_counter() - t:.0f} s -> {args.out} ({args.out.stat().st_size:,} bytes)"
    )


if __name__ == "__main__":
    main()
