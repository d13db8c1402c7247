"""A question's vector without loading sentence-transformers: the same MiniLM forward pass in a few torch
operations, read from the model's own files.

Why: `interp-rag ask` spent ~6 s before its first vector importing sentence-transformers and transformers
(on 2 cores), against ~1.5 s for torch, the weights and the tokenizer alone, and a question is encoded
~2 ms faster without the library's module calls (11.3 against 13.7 ms p50; docs/benchmarks.md, Tenth
pass). Chunks are still embedded by sentence-transformers (`embed.encode`, batched, in builds);
tests/test_query_encoder.py checks that both give the same vector for texts short, long (truncated at
the model's token limit) and odd.

The model's files say what it is: config.json a BERT encoder, modules.json a Transformer, mean Pooling and
Normalize, sentence_bert_config.json its token limit. A model of any other shape is refused
(`UnsupportedModel`), and embed.encode_query falls back to sentence-transformers for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


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


class QueryEncoder:
    """One normalised vector for one text, as SentenceTransformer(path).encode would give it."""

    def __init__(self, path: Path):
        cfg, max_tokens, self.lower = model_shape(path)
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self._torch = torch
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        self.w = {
            k.removeprefix("bert."): v.float() for k, v in load_file(str(path / "model.safetensors")).items()
        }
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()  # one text: nothing to pad, so no attention mask is needed
        self.tokenizer.enable_truncation(max_length=max_tokens)  # as the library truncates

    def encode(self, text: str) -> np.ndarray:
        torch, w = self._torch, self.w
        f = torch.nn.functional
        ids = torch.tensor(self.tokenizer.encode(text.lower() if self.lower else text).ids)  # as the library
        n = len(ids)

        def norm(x: Any, name: str) -> Any:
            return f.layer_norm(x, (x.shape[-1],), w[f"{name}.weight"], w[f"{name}.bias"], self.eps)

        def linear(x: Any, name: str) -> Any:
            return f.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])

        with torch.inference_mode():
            x = (
                w["embeddings.word_embeddings.weight"][ids]
                + w["embeddings.position_embeddings.weight"][:n]
                + w["embeddings.token_type_embeddings.weight"][0]  # one segment
            )
            x = norm(x, "embeddings.LayerNorm")
            heads, size = self.heads, x.shape[1] // self.heads
            for i in range(self.layers):
                layer = f"encoder.layer.{i}"
                q, k, v = (
                    linear(x, f"{layer}.attention.self.{part}").view(n, heads, size).transpose(0, 1)
                    for part in ("query", "key", "value")
                )
                a = f.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(n, heads * size)
                x = norm(
                    linear(a, f"{layer}.attention.output.dense") + x, f"{layer}.attention.output.LayerNorm"
                )
                h = f.gelu(linear(x, f"{layer}.intermediate.dense"))
                x = norm(linear(h, f"{layer}.output.dense") + x, f"{layer}.output.LayerNorm")
            vec = f.normalize(x.mean(0), dim=0)
        return np.ascontiguousarray(vec.numpy(), dtype=np.float32)
