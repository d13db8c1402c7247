"""Training of the stance reader (reader.py) on the labelled and written passages label_train.py reads.

Chosen by leave-sources-out over the labelled sources (bench/stance_reader.py, docs/benchmarks.md): two
epochs, one-cycle learning rate 4e-4 for the adapters and ten times that for the head, batches of 16
passages of similar length, written passages at half the weight of labelled ones (they are ours, short and
plain).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from ..types import STANCES
from .label_train import row_inputs
from .reader import StanceReader

EPOCHS = 2
LR = 4e-4
HEAD_LR = 10.0  # times LR
BATCH = 16
WRITTEN_WEIGHT = 0.5
WEIGHT_DECAY = 0.01


def _batches(lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of passages of similar length (sorted within groups of eight batches)."""
    perm = rng.permutation(len(lengths))
    groups = [perm[a : a + BATCH * 8] for a in range(0, len(perm), BATCH * 8)]
    order = np.concatenate([g[np.argsort(lengths[g], kind="stable")] for g in groups])
    out = [order[a : a + BATCH] for a in range(0, len(order), BATCH)]
    rng.shuffle(out)
    return out


def fit_reader(
    rows: list[dict[str, Any]], *, epochs: int = EPOCHS, lr: float = LR, seed: int = 0, log: bool = False
) -> StanceReader:
    """A reader trained on `rows` (label_train.training_rows: text, title, prior, label, kind)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    reader = StanceReader()
    reader.encoder.train()
    inputs = row_inputs(rows)
    priors = [r["prior"] for r in rows]
    y = torch.tensor([STANCES.index(r["label"]) for r in rows])
    w = torch.tensor([WRITTEN_WEIGHT if r.get("kind") == "written" else 1.0 for r in rows])
    adapters = [p for p in reader.encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": adapters, "lr": lr}, {"params": reader.head.parameters(), "lr": lr * HEAD_LR}],
        weight_decay=WEIGHT_DECAY,
    )
    lengths = np.array([len(t) for t in inputs])
    steps = epochs * len(_batches(lengths, np.random.default_rng(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[lr, lr * HEAD_LR], total_steps=steps, pct_start=0.1
    )
    t0 = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for at in _batches(lengths, rng):
            z = reader.logits([inputs[i] for i in at], [priors[i] for i in at])
            loss = (torch.nn.functional.cross_entropy(z, y[at], reduction="none") * w[at]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(at)
        if log:
            print(
                f"epoch {epoch + 1}: loss {total / len(rows):.4f} ({time.perf_counter() - t0:.0f} s)",
                file=sys.stderr,
            )
    reader.encoder.eval()
    return reader
