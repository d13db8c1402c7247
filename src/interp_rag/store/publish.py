"""Publishing a version: write every file under a temporary name, fsync, rename, then swap the CURRENT
pointer atomically. A build killed at any point leaves the previous index as it was. What must change with
the index (`add`'s source list) is written right after the swap, and a failure there points CURRENT back."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..text import bm25_tokens
from ..types import Chunk, Source
from .format import BM25_B, BM25_K1, CURRENT, bm25_text, current_dir, make_dense
from .integrity import file_records, writing


def write_version(
    index_dir: Path,
    meta: dict[str, Any],
    chunks: list[Chunk],
    sources: list[Source],
    vectors: np.ndarray,
    approx_threshold: int,
    *,
    q_vectors: np.ndarray | None = None,
    q_owner: np.ndarray | None = None,
    source_vectors: np.ndarray | None = None,
    then: Callable[[], None] | None = None,
    warnings: list[str] | None = None,
) -> Path:
    """Write a complete version under a temporary name, then make it current with two renames.

    A full or read-only disk is a StorageError; the half-written version goes, the previous one stays.
    `then` runs right after the swap, before old versions are pruned; if it fails (or is interrupted) the
    previous version is made current again, so the index and what `then` writes change together. A Ctrl-C
    while old versions are pruned stops only the pruning (`prune_or_stop`): its sentence goes to
    `warnings`, and the version is returned as published."""
    with writing(index_dir):
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp = index_dir / f".tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _write_files(
                tmp, meta, chunks, sources, vectors, approx_threshold, q_vectors, q_owner, source_vectors
            )
        except BaseException:  # a full disk or Ctrl-C: leave no debris behind (prune would, later)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return _publish(index_dir, tmp, then or (lambda: None), warnings)


def _write_files(
    tmp: Path,
    meta: dict[str, Any],
    chunks: list[Chunk],
    sources: list[Source],
    vectors: np.ndarray,
    approx_threshold: int,
    q_vectors: np.ndarray | None,
    q_owner: np.ndarray | None,
    source_vectors: np.ndarray | None,
) -> None:
    import bm25s
    import faiss

    dense, kind = make_dense(vectors, approx_threshold)
    # Serialised in memory and written by Python, so a full disk is an OSError (faiss's own writer raises a
    # bare RuntimeError).
    (tmp / "dense.faiss").write_bytes(faiss.serialize_index(dense).tobytes())
    by_id = {s.id: s for s in sources}
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index([bm25_tokens(bm25_text(c, by_id[c.source_id])) or ["_"] for c in chunks], show_progress=False)
    bm25.save(str(tmp / "bm25"))
    if q_vectors is not None and len(q_vectors):
        np.save(tmp / "questions.npy", np.ascontiguousarray(q_vectors, dtype=np.float32))
        np.save(tmp / "question_owner.npy", np.asarray(q_owner, dtype=np.int32))
    if source_vectors is not None:
        if len(source_vectors) != len(sources):
            raise ValueError("one source vector per source, in the same order")
        np.save(tmp / "source_vectors.npy", np.ascontiguousarray(source_vectors, dtype=np.float32))
    with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    (tmp / "sources.json").write_text(
        json.dumps([s.to_dict() for s in sources], ensure_ascii=False, indent=1)
    )
    # Counted here, so `stats` and the UI's index panel read meta.json instead of every chunk.
    by_stance = Counter(c.stance for c in chunks).most_common()
    meta = {
        **meta,
        "chunks_by_stance": dict(by_stance),
        "dense_index": kind,
        "chunks": len(chunks),
        "expansion_questions": 0 if q_vectors is None else len(q_vectors),
        # What load and build check the version against (integrity.py).
        "counts": {
            "chunks": len(chunks),
            "vectors": int(dense.ntotal),
            "sources": len(sources),
            "questions": 0 if q_vectors is None else len(q_vectors),
        },
        "files": file_records(tmp),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    _fsync_tree(tmp)


def _publish(index_dir: Path, tmp: Path, then: Callable[[], None], warnings: list[str] | None) -> Path:
    final = index_dir / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp.rename(final)
    previous = current_dir(index_dir)
    _point(index_dir, final)
    try:
        then()
    except BaseException:
        # The source list was not written (a full disk, Ctrl-C): an index serving a source the list does
        # not name could not be `remove`d, and the next `build` dropped it silently. The previous version
        # is still on disk, because pruning waits for `then`.
        _point(index_dir, previous)
        raise
    stopped = prune_or_stop(index_dir)
    if stopped and warnings is not None:
        warnings.append(stopped)
    return final


PRUNE_STOPPED = (
    "Stopped while old index versions were being deleted: the new index is complete and in use, and "
    "nothing this command did is undone. What is left of the old versions is never read; the next "
    "`interp-rag build`, `add` or `remove` deletes it."
)


def prune_or_stop(index_dir: Path) -> str:
    """`prune`, where a Ctrl-C (or the SIGTERM the CLI turns into one) stops the pruning and not the command:
    the new version is published and what must change with it is written, so raising it on made `add`
    print "Aborted!" over a source it had added, and made `remove` put back the source list of a source
    the index no longer had. Returns PRUNE_STOPPED when stopped, else ""."""
    try:
        prune(index_dir)
    except KeyboardInterrupt:
        return PRUNE_STOPPED
    return ""


def _point(index_dir: Path, version: Path | None) -> None:
    """Make `version` current (atomically: a new pointer file renamed over CURRENT); None: no index."""
    if version is None:
        (index_dir / CURRENT).unlink(missing_ok=True)
        return
    pointer_tmp = index_dir / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    pointer_tmp.write_text(version.name + "\n", encoding="utf-8")
    _fsync(pointer_tmp)
    os.replace(pointer_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def prune(index_dir: Path) -> None:
    """Remove old versions and debris of killed builds; never the current version."""
    cur = current_dir(index_dir)
    for p in index_dir.iterdir():
        stale_version = p.is_dir() and p.name.startswith("v-") and (cur is None or p != cur)
        debris = p.name.startswith((".tmp-", f".{CURRENT}."))
        if (stale_version and cur is not None) or debris:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # not supported on every platform/filesystem; the rename is still atomic
    with contextlib.suppress(OSError):
        _fsync(path)


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            _fsync(p)
    _fsync_dir(root)
