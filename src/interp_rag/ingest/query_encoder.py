"""A question's vector without loading sentence-transformers, or torch when the process has not loaded it:
the same MiniLM forward pass written once over an array namespace, read from the model's own files.

Why: `interp-rag ask` spent ~6 s before its first vector importing sentence-transformers and transformers
(on 2 cores), and importing torch alone takes ~1.9 s of the ~3 s such a one-shot command needed. So the
pass runs in numpy (weights from safetensors, the tokenizer from `tokenizers`: 0.4 s from a new process to
a first vector) in a process that has not loaded torch, and in torch once it has: a server or an evaluation
loads it at start (embed.expect_many_questions), because torch's one-thread products hold their speed when
another process holds a core and numpy's do not (dev's questions, p50: 7.9-8.5 ms torch, 8.7-9.8 numpy on
a quiet machine; 10.1-12.3 against 22.3-23.8 with a core busy; docs/benchmarks.md, Eleventh pass). Both
give the library's vector to ~2e-7. Chunks are still embedded by sentence-transformers (`embed.encode`,
batched, in builds); tests/test_query_encoder.py checks both ways against it for texts short, long
(truncated at the model's token limit) and odd.

The model's files say what it is: config.json a BERT encoder, modules.json a Transformer, mean Pooling and
Normalize, sentence_bert_config.json its token limit. A model of any other shape is refused
(`UnsupportedModel`), and embed.encode_query falls back to sentence-transformers for it.
"""

from __future__ import annotations

import json
import math
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]
Backend = Literal["numpy", "torch"]


class UnsupportedModel(ValueError):
    """The model directory holds something other than a mean-pooled, normalised BERT encoder."""


def _read(path: Path, name: str) -> Any:
    try:
        return json.loads((path / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UnsupportedModel(f"{name} cannot be read in {path}: {e}") from e


def model_shape(path: Path) -> tuple[dict[str, Any], int, bool]:
    """(config.json, token limit, lowercase first?) of a model this module can run; UnsupportedModel
    otherwise."""
    cfg = _read(path, "config.json")
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
        raise UnsupportedModel(f"not a BERT encoder with GELU: {cfg.get('model_type')}")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedModel("positions are not absolute embeddings")
    if [m.get("type") for m in _read(path, "modules.json")] != _MODULES:
        raise UnsupportedModel("modules are not Transformer, Pooling, Normalize")
    pooling = _read(path, "1_Pooling/config.json")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise UnsupportedModel(f"pooling is not the mean of the tokens: {sorted(modes)}")
    st = _read(path, "sentence_bert_config.json")
    max_tokens = min(int(st.get("max_seq_length", 512)), int(cfg.get("max_position_embeddings", 512)))
    return cfg, max_tokens, bool(st.get("do_lower_case", False))


def erf(x: np.ndarray) -> np.ndarray:
    """erf to within 1.5e-7 (Abramowitz and Stegun 7.1.26), float32 in and out. numpy has no erf, and
    scipy's takes ~4x as long as this over a question's 1,536 x n activations (measured: 566 vs 145 us)."""
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return np.copysign(1.0 - poly * np.exp(-a * a), x)


def backend_now() -> Backend:
    """torch once the process has loaded it (a server, a build); numpy otherwise (a one-shot question)."""
    return "torch" if "torch" in sys.modules else "numpy"


class QueryEncoder:
    """One normalised vector for one text, as SentenceTransformer(path).encode would give it."""

    def __init__(self, path: Path):
        cfg, max_tokens, self.lower = model_shape(path)
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg["layer_norm_eps"])
        w = {
            k.removeprefix("bert."): v.astype(np.float32)
            for k, v in load_file(str(path / "model.safetensors")).items()
        }
        self.weights = _arrange(w, int(cfg["num_hidden_layers"]), self.heads)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()  # one text: nothing to pad, so no attention mask is needed
        self.tokenizer.enable_truncation(max_length=max_tokens)  # as the library truncates

    @cached_property
    def _torch_weights(self) -> Any:
        import torch

        return [[torch.from_numpy(a) for a in group] for group in self.weights]  # shares the arrays

    def encode(self, text: str, backend: Backend | None = None) -> np.ndarray:
        """`backend`: None picks it by `backend_now()`. The torch pass runs with torch's current thread
        count and autograd as the caller left them (embed.encode_query sets both)."""
        ids = self.tokenizer.encode(text.lower() if self.lower else text).ids  # as the library does
        if (backend or backend_now()) == "numpy":
            vec = _forward(np, self.weights, ids, self.heads, self.eps, erf)
            return np.ascontiguousarray(vec, dtype=np.float32)
        import torch

        vec = _forward(torch, self._torch_weights, ids, self.heads, self.eps, torch.erf)
        return np.ascontiguousarray(vec.numpy(), dtype=np.float32)


def _arrange(w: dict[str, np.ndarray], layers: int, heads: int) -> list[list[np.ndarray]]:
    """The weights as the pass uses them: activations are (hidden, tokens), so each matrix keeps its stored
    (out, in) layout (W @ x: the faster product in numpy for a few tokens); biases and norms are columns;
    query, key and value are one matrix, the query's rows already scaled by 1/sqrt(head size)."""

    def col(v: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(v[:, None])

    e = "embeddings."
    hidden = w[f"{e}word_embeddings.weight"].shape[1]
    scale = np.float32(1 / math.sqrt(hidden // heads))
    out = [
        [
            w[f"{e}word_embeddings.weight"],
            w[f"{e}position_embeddings.weight"] + w[f"{e}token_type_embeddings.weight"][0],  # one segment
            col(w[f"{e}LayerNorm.weight"]),
            col(w[f"{e}LayerNorm.bias"]),
        ]
    ]
    for i in range(layers):
        p = f"encoder.layer.{i}."
        att, q, k, v = (
            f"{p}attention.",
            f"{p}attention.self.query.",
            f"{p}attention.self.key.",
            f"{p}attention.self.value.",
        )
        out.append(
            [
                np.ascontiguousarray(
                    np.concatenate([w[q + "weight"] * scale, w[k + "weight"], w[v + "weight"]])
                ),
                col(np.concatenate([w[q + "bias"] * scale, w[k + "bias"], w[v + "bias"]])),
                w[f"{att}output.dense.weight"],
                col(w[f"{att}output.dense.bias"]),
                col(w[f"{att}output.LayerNorm.weight"]),
                col(w[f"{att}output.LayerNorm.bias"]),
                w[f"{p}intermediate.dense.weight"],
                col(w[f"{p}intermediate.dense.bias"]),
                w[f"{p}output.dense.weight"],
                col(w[f"{p}output.dense.bias"]),
                col(w[f"{p}output.LayerNorm.weight"]),
                col(w[f"{p}output.LayerNorm.bias"]),
            ]
        )
    return out


def _forward(xp: Any, weights: list[Any], ids: list[int], heads: int, eps: float, erf: Any) -> Any:
    """BERT, mean pooling, normalisation: `xp` is numpy or torch (the operations below exist in both)."""

    def norm(x: Any, gain: Any, bias: Any) -> Any:
        x = x - x.mean(0, keepdims=True)
        return x / xp.sqrt((x * x).mean(0, keepdims=True) + eps) * gain + bias

    words, positions, g0, b0 = weights[0]
    n = len(ids)
    x = norm((words[ids] + positions[:n]).T, g0, b0)  # (hidden, tokens)
    size = x.shape[0] // heads
    for qkv, bqkv, wo, bo, g1, b1, wi, bi, wf, bf, g2, b2 in weights[1:]:
        q, k, v = (qkv @ x + bqkv).reshape(3, heads, size, n)
        s = q.swapaxes(1, 2) @ k  # (heads, query token, key token)
        s = xp.exp(s - xp.amax(s, -1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        x = norm(wo @ (v @ s.swapaxes(1, 2)).reshape(heads * size, n) + bo + x, g1, b1)
        h = wi @ x + bi
        h = h * (0.5 * (1.0 + erf(h * (1 / math.sqrt(2)))))  # exact GELU
        x = norm(wf @ h + bf + x, g2, b2)
    v = x.mean(1)
    return v / xp.sqrt((v * v).sum())
