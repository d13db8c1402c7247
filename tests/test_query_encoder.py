"""A question's vector comes from query_encoder.py (no sentence-transformers import, and no torch import in
a process without it) and is the vector sentence-transformers gives the same text, which is how every chunk
of the index was embedded."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from interp_rag.ingest import embed
from interp_rag.ingest.query_encoder import QueryEncoder, UnsupportedModel, erf, model_shape
from tests.conftest import subprocess_env

TEXTS = [
    "Are sparse autoencoders actually useful?",
    "a",
    "",
    "Ünïcödé façade — naïve “quotes”, 😀 and a tab\there",
    "Do probes read what the model uses? " * 80,  # far past the 256 word pieces: truncated alike
]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_question_gets_the_vector_sentence_transformers_gives_it(backend: str) -> None:
    library = embed.encode(TEXTS)  # the batched path that embeds every chunk
    encoder = embed.get_query_encoder()
    assert encoder is not None  # the shipped model is one it runs
    ours = np.stack([encoder.encode(t, backend) for t in TEXTS])
    assert ours.dtype == np.float32
    assert np.abs(ours - library).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # and through the function retrieval calls (torch is loaded here by now: the torch pass)
    assert np.abs(np.stack([embed.encode_query(t) for t in TEXTS]) - library).max() < 1e-5


def test_the_erf_of_the_numpy_pass_is_erf() -> None:
    x = np.linspace(-6, 6, 20001, dtype=np.float32)
    exact = np.array([math.erf(float(v)) for v in x])
    assert erf(x).dtype == np.float32
    assert np.abs(erf(x) - exact).max() < 5e-7  # float32's own resolution near 1 is 6e-8
    assert erf(np.float32([0.0]))[0] == 0.0 and np.all(np.diff(erf(x)) >= 0)


def test_asking_imports_neither_sentence_transformers_nor_torch() -> None:
    """The point of the encoder: ~6 s of imports before a CLI question's first vector become ~0.5 s."""
    code = (
        "import sys; from interp_rag.ingest.embed import encode_query; "
        "v = encode_query('Are probes useful?'); "
        "print(len(v), *(m in sys.modules for m in ('sentence_transformers', 'transformers', 'torch')))"
    )
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, capture_output=True, text=True, timeout=120, check=True, env=subprocess_env())
    assert out.stdout.split() == ["384", "False", "False", "False"]


def _copy_model(tmp_path: Path) -> Path:
    src = embed.model_path()
    dst = tmp_path / "model"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors"))
    return dst


@pytest.mark.parametrize(
    ("file", "change"),
    [
        ("1_Pooling/config.json", {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}),
        ("config.json", {"model_type": "roberta"}),
        ("config.json", {"hidden_act": "relu"}),
    ],
)
def test_a_model_of_another_shape_is_refused_and_asked_through_the_library(
    tmp_path: Path, file: str, change: dict
) -> None:
    model = _copy_model(tmp_path)
    path = model / file
    path.write_text(json.dumps(json.loads(path.read_text()) | change))
    with pytest.raises(UnsupportedModel):
        model_shape(model)
    with pytest.raises(UnsupportedModel):
        QueryEncoder(model)


def test_a_model_without_a_normalize_module_is_refused(tmp_path: Path) -> None:
    model = _copy_model(tmp_path)
    modules = json.loads((model / "modules.json").read_text())
    (model / "modules.json").write_text(json.dumps(modules[:2]))
    with pytest.raises(UnsupportedModel, match="Normalize"):
        model_shape(model)
    (model / "modules.json").write_text("{not json")
    with pytest.raises(UnsupportedModel, match="modules.json"):
        model_shape(model)


def test_without_the_encoder_questions_are_encoded_by_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = embed.encode_query(TEXTS[0])
    monkeypatch.setattr(embed, "get_query_encoder", lambda: None)  # as for a model of another shape
    slow = embed.encode_query(TEXTS[0])
    assert np.abs(fast - slow).max() < 1e-5


def test_the_models_own_settings_are_read(tmp_path: Path) -> None:
    cfg, max_tokens, lower = model_shape(embed.model_path())
    assert (cfg["hidden_size"], max_tokens, lower) == (embed.DIM, 256, False)
    model = _copy_model(tmp_path)
    path = model / "sentence_bert_config.json"
    path.write_text(json.dumps({"max_seq_length": 128, "do_lower_case": True}))
    assert model_shape(model)[1:] == (128, True)  # lowercased first, as sentence-transformers does


def test_loading_the_model_outside_the_cli_draws_no_progress_bar() -> None:
    """`python app.py` and the Python API load the model without the CLI's import, and transformers drew its
    "Loading weights" bar on stderr at every start."""
    env = {k: v for k, v in subprocess_env().items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    code = "from interp_rag.ingest.embed import encode; print(encode(['a probe of a layer']).shape)"
    # the web app imports huggingface_hub (through gradio) before the model loads, which reads the variable
    # too early: the bar was drawn under `make run` all the same
    after_hub = "import huggingface_hub, transformers; " + code
    for script in (code, after_hub):
        p = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
        )
        assert p.returncode == 0 and "(1, 384)" in p.stdout, p.stderr
        assert "Loading weights" not in p.stderr and "it/s" not in p.stderr, p.stderr
