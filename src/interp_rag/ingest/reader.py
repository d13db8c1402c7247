"""The stance reader: MiniLM itself, tuned (LoRA) to read a passage's stance, for documents nobody labelled.

The logistic stance model (label.py) reads a passage through its frozen sentence embedding and its words;
it was trained on the shipped sources' hand labels and reads their other passages well, but a document
it never saw much less so (leave-sources-out and unseen-dev, docs/benchmarks.md). The reader lets the
encoder itself learn what a verdict, a hedge or a concession looks like: low-rank adapters (rank 8) on the
attention and feed-forward weights of every layer, and a linear head over the mean-pooled tokens and the
document's stance. The same labelled and written passages train it (`scripts/train_stance_reader.py`);
~300k numbers ship in `data/stance_reader.npz` (under 1 MB), the base weights come from the embedding
model's package. Combined with the logistic model's probabilities (label.combine) it labels every chunk of
a source that has no hand labels (any source a user adds); label.py decides where.

A full pass of the encoder per passage (~30 ms on a CPU core) is paid when a source is added, never per
question.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StanceModelError
from ..types import DOC_STANCES, STANCES
from .prior import prior_features

READER_FILE = Path(__file__).parents[1] / "data" / "stance_reader.npz"
RETRAIN = (
    "Restore it from git (`git checkout src/interp_rag/data/stance_reader.npz`) or retrain it with "
    "`python scripts/train_stance_reader.py --mirror ../shared/corpus`."
)
# Which linear layers of each BERT block get adapters: attention query and value, and every `dense`
# (attention output, feed-forward in and out).
TARGETS = ("query", "value", "dense")
BATCH = 32


def _torch() -> Any:
    import torch

    return torch


@cache
def _lora_linear() -> type:
    """The adapter layer's class, made once torch is imported (it is not, merely by importing this module)."""
    torch = _torch()

    class LoRALinear(torch.nn.Module):
        """base(x) + (alpha / rank) * B A x, with the base frozen: B starts at zero, so an untrained
        adapter leaves the model as it was."""

        def __init__(self, base: Any, rank: int, alpha: float) -> None:
            super().__init__()
            self.base = base
            for p in base.parameters():
                p.requires_grad_(False)
            self.A = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.scale = alpha / rank

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    return LoRALinear


class StanceReader:
    """The tuned encoder and its head. `probabilities(inputs, doc_stances)` -> (n, 3) in STANCES order."""

    def __init__(self, rank: int = 8, alpha: float = 16.0, max_tokens: int = 160) -> None:
        torch = _torch()
        from .embed import get_model

        st = get_model()
        self.tokenizer = st.tokenizer
        self.encoder = copy.deepcopy(st[0].auto_model)  # the shared embedding model stays untouched
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        for module in list(self.encoder.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, torch.nn.Linear) and name in TARGETS:
                    setattr(module, name, _lora_linear()(child, rank, alpha))
        dims = self.encoder.config.hidden_size
        self.head = torch.nn.Linear(dims + len(DOC_STANCES), len(STANCES))
        self.config = {"rank": rank, "alpha": alpha, "max_tokens": max_tokens}
        self.version = ""
        self.encoder.eval()

    def logits(self, inputs: list[str], doc_stances: list[str | None]) -> Any:
        """Differentiable scores of a batch (training uses this; `probabilities` reads without gradients)."""
        torch = _torch()
        b = self.tokenizer(
            inputs, padding=True, truncation=True, max_length=self.config["max_tokens"], return_tensors="pt"
        )
        hidden = self.encoder(**b).last_hidden_state
        mask = b["attention_mask"].unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
        prior = torch.from_numpy(prior_features(doc_stances))
        # x5: unit-length pooled vectors against a one-hot prior, on comparable scales for the head
        return self.head(torch.cat([pooled * 5.0, prior], dim=1))

    def probabilities(self, inputs: list[str], doc_stances: list[str | None]) -> np.ndarray:
        """Stance probabilities of passages given as the model reads them (chunk.embed_input: 'title:
        text'), in STANCES order. Batched by length so short passages are not padded to long ones."""
        torch = _torch()
        out = np.zeros((len(inputs), len(STANCES)), dtype=np.float32)
        order = np.argsort([len(t) for t in inputs], kind="stable")
        with torch.inference_mode():
            for a in range(0, len(order), BATCH):
                at = order[a : a + BATCH]
                z = self.logits([inputs[i] for i in at], [doc_stances[i] for i in at])
                out[at] = torch.softmax(z, dim=1).numpy()
        return out

    def state(self) -> dict[str, np.ndarray]:
        """The trained numbers only (adapters and head), as float16/float32 arrays."""
        items = {
            k: v.detach().numpy() for k, v in self.encoder.state_dict().items() if k.endswith((".A", ".B"))
        }
        items = {k: v.astype(np.float16) for k, v in items.items()}
        items |= {
            f"head.{k}": v.detach().numpy().astype(np.float32) for k, v in self.head.state_dict().items()
        }
        return items

    def save(self, path: Path, trained: dict[str, Any]) -> str:
        items = self.state()
        blob = io.BytesIO()
        np.savez_compressed(blob, **items)
        version = hashlib.sha256(blob.getvalue()).hexdigest()[:12]
        meta = json.dumps(
            {"config": self.config, "trained": trained, "version": version, "labels": list(STANCES)}
        )
        np.savez_compressed(path, **items, meta=np.array(meta))
        self.version = version
        return version


def load_reader(path: Path = READER_FILE) -> StanceReader:
    """The reader saved in `path`; a missing or damaged file is a StanceModelError saying how to fix it."""
    torch = _torch()
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(str(data["meta"]))
        items = {k: data[k] for k in data.files if k != "meta"}
    except FileNotFoundError as e:
        raise StanceModelError(f"The stance reader {path} is missing. {RETRAIN}") from e
    except Exception as e:  # a truncated zip, garbage bytes, a wrong key: all say the same
        raise StanceModelError(f"The stance reader {path} cannot be read ({e}). {RETRAIN}") from e
    if meta.get("labels") != list(STANCES):
        raise StanceModelError(f"The stance reader {path} was trained for other labels. {RETRAIN}")
    reader = StanceReader(**meta["config"])
    enc = {k: torch.from_numpy(v.astype(np.float32)) for k, v in items.items() if not k.startswith("head.")}
    head = {k[5:]: torch.from_numpy(v.astype(np.float32)) for k, v in items.items() if k.startswith("head.")}
    expected = {k for k in reader.encoder.state_dict() if k.endswith((".A", ".B"))}
    try:
        if set(enc) != expected:
            raise ValueError(f"{len(set(enc) ^ expected)} adapter arrays differ from the encoder's layers")
        reader.encoder.load_state_dict(enc, strict=False)
        reader.head.load_state_dict(head)
    except (RuntimeError, ValueError) as e:
        raise StanceModelError(
            f"The stance reader {path} does not fit the embedding model ({e}). {RETRAIN}"
        ) from e
    reader.version = str(meta.get("version", ""))
    return reader


@cache
def shipped_reader() -> StanceReader:
    return load_reader(READER_FILE)


@cache
def reader_version() -> str:
    """The shipped reader's version without loading the encoder (index staleness checks call this)."""
    try:
        with np.load(READER_FILE, allow_pickle=False) as data:
            return str(json.loads(str(data["meta"])).get("version", ""))
    except Exception:  # a damaged file is reported where the reader is loaded
        return "unreadable"
