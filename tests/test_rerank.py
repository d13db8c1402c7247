"""The query-adapter reranker (retrieval/rerank/adapter.py) and the generalisation benchmark's scoring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from interp_rag.errors import ConfigError
from interp_rag.retrieval import retrieve as retrieve_module
from interp_rag.retrieval.rerank import get_reranker
from interp_rag.retrieval.rerank.adapter import DEFAULT_PATH, AdapterReranker
from interp_rag.retrieval.retrieve import retrieve
from interp_rag.retrieval.search import candidates, query_vector
from interp_rag.settings import DEFAULT_RETRIEVAL, Settings

ROOT = Path(__file__).resolve().parents[1]
SCORE_PY = ROOT.parent / "shared" / "eval" / "score.py"


def _chunk_holding(index, phrase: str) -> int:
    return next(i for i, c in enumerate(index.chunks) if phrase in c.text)


def test_adapter_moves_the_answering_passage_first(mini_index) -> None:
    """An adapter that maps the question onto the answering chunk's direction puts that chunk first,
    whatever the fused order said; with weight 0 the order is left as it was."""
    question = "What do the attributions of integrated gradients add up to?"
    cands = candidates(mini_index, question)
    target = _chunk_holding(mini_index, "completeness axiom")
    # Make the fused order wrong on purpose: the answering chunk last.
    rest = cands.pool != target
    order = np.concatenate([np.flatnonzero(rest), np.flatnonzero(~rest)])
    wrong = type(cands)(
        cands.pool[order], np.linspace(1, 0.5, order.size), cands.cos[order], cands.focus[order]
    )
    assert int(wrong.pool[0]) != target
    q = query_vector(question)
    v = mini_index.vectors[target]
    # W q = q + 4 v: closest to the answering chunk of all chunks
    matrix = np.eye(q.size, dtype=np.float32) + 4 * np.outer(v, q).astype(np.float32)
    out = AdapterReranker(matrix, weight=1.0).rerank(question, q, mini_index, wrong)
    assert int(out.pool[0]) == target
    assert sorted(out.pool.tolist()) == sorted(wrong.pool.tolist())  # re-ordered, nothing lost
    assert np.all(np.diff(out.rel) <= 1e-9)  # best first
    same = AdapterReranker(matrix, weight=0.0).rerank(question, q, mini_index, wrong)
    assert same.pool.tolist() == wrong.pool.tolist()


def test_retrieve_uses_the_configured_reranker(mini_index, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "What do the attributions of integrated gradients add up to?"
    target = _chunk_holding(mini_index, "completeness axiom")
    q = query_vector(question)
    # an adapter pointing the question at the chunk that does NOT answer shows that one first
    other = next(
        i for i, c in enumerate(mini_index.chunks) if c.source_id != mini_index.chunks[target].source_id
    )
    matrix = np.eye(q.size, dtype=np.float32) + 8 * np.outer(mini_index.vectors[other], q).astype(np.float32)
    plain = retrieve(
        mini_index, question, k=3, tuning=DEFAULT_RETRIEVAL.model_copy(update={"reranker": "none"})
    )
    steer = AdapterReranker(matrix, weight=3.0)
    monkeypatch.setattr(retrieve_module, "get_reranker", lambda name: steer if name == "steer" else None)
    steered = retrieve(
        mini_index, question, k=3, tuning=DEFAULT_RETRIEVAL.model_copy(update={"reranker": "steer"})
    )
    assert plain.passages[0].chunk_id == mini_index.chunks[target].id
    assert steered.passages[0].chunk_id == mini_index.chunks[other].id


def test_unknown_reranker_is_a_clear_error(mini_index) -> None:
    with pytest.raises(ConfigError, match="Unknown reranker 'nope'"):
        retrieve(mini_index, "saliency", tuning=DEFAULT_RETRIEVAL.model_copy(update={"reranker": "nope"}))


def test_shipped_adapter_is_the_default_and_small(mini_index) -> None:
    assert Settings().retrieval.reranker == "adapter"
    model = get_reranker("adapter")
    assert isinstance(model, AdapterReranker)
    assert model.matrix.shape == (384, 384)
    assert DEFAULT_PATH.stat().st_size < 2_000_000
    assert 0 < model.weight <= 2
    # it re-scores without losing or repeating a candidate
    question = "Do probes find what a model uses?"
    cands = candidates(mini_index, question)
    out = model.rerank(question, query_vector(question), mini_index, cands)
    assert sorted(out.pool.tolist()) == sorted(cands.pool.tolist())
    assert np.all(out.rel >= cands.rel.min())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip file at all", "cannot be read"),
        (None, "is damaged"),  # a valid file holding a non-square matrix
    ],
)
def test_damaged_adapter_file_is_a_clear_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "query_adapter.npz"
    if content is None:
        np.savez(path, matrix=np.ones((3, 4), dtype=np.float32), weight=np.float32(0.5))
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as e:
        AdapterReranker.load(path)
    assert "scripts/train_adapter.py" in str(e.value)


def test_truncated_adapter_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "query_adapter.npz"
    path.write_bytes(DEFAULT_PATH.read_bytes()[:5000])
    with pytest.raises(ConfigError, match="cannot be read"):
        AdapterReranker.load(path)
    with pytest.raises(ConfigError, match="is missing"):
        AdapterReranker.load(tmp_path / "absent.npz")


def test_unseen_bench_scores_exactly_as_score_py(tmp_path: Path) -> None:
    if not SCORE_PY.is_file():
        pytest.fail(f"../shared/eval/score.py is missing at {SCORE_PY}")
    sys.path.insert(0, str(ROOT))
    from bench.unseen import score_file

    questions = [
        {
            "id": "a",
            "question": "?",
            "kind": "factual",
            "gold": [{"doc": "d1", "quote": "one two three four five six"}],
        },
        {
            "id": "b",
            "question": "?",
            "kind": "contested",
            "gold": [
                {"doc": "d1", "quote": "alpha beta gamma delta", "side": "enthusiastic"},
                {"doc": "d2", "quote": "red green blue yellow", "side": "skeptical"},
            ],
        },
        {"id": "c", "question": "?", "kind": "attribution", "gold": [{"doc": "d3", "quote": "x y z w v"}]},
    ]
    run = [
        {
            "id": "a",
            "passages": [
                {"doc": "d2", "text": "one two three four five six"},
                {"doc": "d1", "text": "zero one two three four five six seven"},
            ],
        },
        {
            "id": "b",
            "passages": [
                {"doc": "d2", "text": "Red, green, blue; yellow!"},
                {"doc": "d1", "text": "alpha beta"},
            ],
        },
        {"id": "c", "passages": []},
    ]
    qf, rf = tmp_path / "questions.jsonl", tmp_path / "run.json"
    qf.write_text("".join(json.dumps(q) + "\n" for q in questions))
    rf.write_text(json.dumps(run))
    ours = score_file(qf, rf, 8, SCORE_PY)
    printed = subprocess.run(
        [sys.executable, str(SCORE_PY), str(qf), str(rf), "8"], capture_output=True, text=True, check=True
    ).stdout
    assert ours == json.loads(printed)
    assert ours["passage_recall"] == pytest.approx(2 / 3, abs=1e-3)  # the run is not trivially scored
    assert ours["mrr"] == pytest.approx((1 / 2 + 1) / 3, abs=1e-3)


def test_retrieve_reads_the_settings_as_answer_does(mini_index, mini_settings) -> None:
    from interp_rag import answer

    narrow = mini_settings.model_copy(
        update={"retrieval": mini_settings.retrieval.model_copy(update={"context_chars": 0})}
    )
    q = "Are linear probes a reliable way to read what a model computes?"
    got = retrieve(None, q, k=3, settings=narrow).passages  # the settings' index, loaded
    shown = answer(q, k=3, llm=False, index=mini_index, settings=narrow).passages
    assert [(p.chunk_id, p.text) for p in got] == [(p.chunk_id, p.text) for p in shown]
    wide = retrieve(mini_index, q, k=3, settings=mini_settings).passages
    assert sum(len(p.text) for p in wide) > sum(len(p.text) for p in got)  # context_chars=0: no widening
    with pytest.raises(ConfigError, match="tuning must be a RetrievalSettings"):
        retrieve(mini_index, q, tuning=mini_settings)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="index must be an Index"):
        retrieve("index", q)  # type: ignore[arg-type]
