"""The on-disk index: dense vectors (FAISS), BM25, the chunk store and meta.json.

Layout of `index/`:
    CURRENT               name of the active version directory (replaced atomically)
    v-<time>-<rand>/      meta.json, chunks.jsonl, sources.json, dense.faiss, bm25/
    embeddings.sqlite     the embedding cache, shared by all versions
A build writes a new version directory under a temporary name, renames it, then swaps CURRENT: a build
killed at any point leaves the previous index as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexMissingError, StaleIndexError
from .types import Chunk, Source

FORMAT_VERSION = 1
# Lower saturation and length normalisation than Lucene's defaults measured better on this corpus of
# long, repetitive documents (bench/tune_retrieval.py).
BM25_K1 = 0.9
BM25_B = 0.4
CURRENT = "CURRENT"
CACHE_FILE = "embeddings.sqlite"
FIX = "run `interp-rag build` to rebuild it"


@dataclass
class Index:
    path: Path
    meta: dict[str, Any]
    chunks: list[Chunk]
    sources: dict[str, Source]
    dense: Any  # faiss.Index
    bm25: Any  # bm25s.BM25 over bm25_tokens() of each chunk
    vectors: np.ndarray
    q_vectors: np.ndarray | None = None  # question expansions: one row per question
    q_owner: np.ndarray | None = None  # the chunk position each question belongs to (ascending)
    by_id: dict[str, int] = field(default_factory=dict)
    q_spans: np.ndarray | None = None  # [start, end] of each question's passage in its source's text
    q_first: np.ndarray | None = None  # first question row of each chunk (rows of a chunk are contiguous)
    source_vectors: np.ndarray | None = None  # one row per source (in `sources` order): sources.summary()

    def __post_init__(self) -> None:
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        if self.q_owner is not None:
            self.q_spans = np.array([sp for c in self.chunks for sp in c.question_spans], dtype=np.int64)
            self.q_first = np.searchsorted(self.q_owner, np.arange(len(self.chunks)))

    def __len__(self) -> int:
        return len(self.chunks)


def expected_config(settings: Any) -> dict[str, Any]:
    """What an index must have been built with to be usable with these settings and this code."""
    from .chunk import CONTENT_MAX_TOKENS, SPLITTER_NAME
    from .embed import DIM, model_id
    from .expansions import ATTACH_RULE
    from .stance import model_version

    return {
        "format_version": FORMAT_VERSION,
        "model": model_id(),
        "dims": DIM,
        "normalized": True,
        "chunking": {
            "splitter": SPLITTER_NAME,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            "max_tokens": CONTENT_MAX_TOKENS,
        },
        "stance_model": model_version(),
        "bm25": {"k1": BM25_K1, "b": BM25_B, "tokens": "snowball-english, stop words removed"},
        "expansions": ATTACH_RULE,
        "source_vectors": "title. stance note",
    }


def config_mismatch(meta: dict[str, Any], settings: Any) -> str | None:
    """A sentence naming the first difference between the built index and what is expected, if any."""
    want = expected_config(settings)
    if meta.get("format_version") != FORMAT_VERSION:
        return f"it has format version {meta.get('format_version')}, this interp-rag reads {FORMAT_VERSION}"
    for key, value in want.items():
        if meta.get(key) != value:
            if isinstance(value, dict):
                diffs = [
                    f"{k}={meta.get(key, {}).get(k)!r} (now {v!r})"
                    for k, v in value.items()
                    if meta.get(key, {}).get(k) != v
                ]
                return f"it was built with {key} " + ", ".join(diffs)
            return f"it was built with {key}={meta.get(key)!r}, now {value!r}"
    return None


def current_dir(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = index_dir / name
    return path if name and (path / "meta.json").is_file() else None


def _require_current(index_dir: Path | str | None, settings: Any) -> tuple[Path, Path]:
    index_dir = Path(index_dir) if index_dir is not None else Path(settings.index_dir)
    cur = current_dir(index_dir)
    if cur is None:
        raise IndexMissingError(
            f"No index in {index_dir}/. Run `interp-rag build --mirror DIR` (or `interp-rag build` to fetch "
            "the sources from their URLs) to create it."
        )
    return index_dir, cur


def read_meta(index_dir: Path) -> dict[str, Any] | None:
    cur = current_dir(index_dir)
    if cur is None:
        return None
    return json.loads((cur / "meta.json").read_text(encoding="utf-8"))


def read_chunks(version_dir: Path) -> list[Chunk]:
    with (version_dir / "chunks.jsonl").open(encoding="utf-8") as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


def load_index(index_dir: Path | str | None = None, *, settings: Any = None, check: bool = True) -> Index:
    """Load the current index; refuse (StaleIndexError) one built with other settings or format."""
    import bm25s
    import faiss
    from threadpoolctl import threadpool_limits

    from .settings import get_settings

    # The same as OPENBLAS_NUM_THREADS=1 (settings.py), for processes that imported numpy before us.
    threadpool_limits(1, user_api="blas")
    settings = settings or get_settings()
    index_dir, cur = _require_current(index_dir, settings)
    meta = json.loads((cur / "meta.json").read_text(encoding="utf-8"))
    if check:
        why = config_mismatch(meta, settings)
        if why:
            raise StaleIndexError(f"The index in {index_dir}/ is stale: {why}; {FIX}.")
    chunks = read_chunks(cur)
    sources = {s["id"]: Source(**s) for s in json.loads((cur / "sources.json").read_text(encoding="utf-8"))}
    dense = faiss.read_index(str(cur / "dense.faiss"))
    vectors = dense.reconstruct_n(0, dense.ntotal) if dense.ntotal else np.zeros((0, meta["dims"]), "float32")
    bm25 = bm25s.BM25.load(str(cur / "bm25"))
    q_vectors = q_owner = None
    if (cur / "questions.npy").is_file():
        q_vectors = np.load(cur / "questions.npy")
        q_owner = np.load(cur / "question_owner.npy")
    sv_path = cur / "source_vectors.npy"
    return Index(
        cur,
        meta,
        chunks,
        sources,
        dense,
        bm25,
        np.ascontiguousarray(vectors, "float32"),
        q_vectors,
        q_owner,
        source_vectors=np.load(sv_path) if sv_path.is_file() else None,
    )


def make_dense(vectors: np.ndarray, approx_threshold: int) -> tuple[Any, str]:
    """Exact inner product up to the threshold; an inverted-file index (IVF-Flat) above it.

    IVF over HNSW, measured at 1M vectors (bench/search_latency.py): HNSW (M=32) plateaued at recall@10
    0.91 however wide its search, and took 9 minutes to build; IVF-Flat reached 0.99 at 2 ms in 2 minutes."""
    import faiss

    n, dims = vectors.shape
    if n <= approx_threshold:
        index = faiss.IndexFlatIP(dims)
        index.add(vectors)
        return index, "IndexFlatIP (exact)"
    # ~4 sqrt(n) cells, at least 39 training points each (faiss's own minimum); probe 1/64 of them
    nlist = max(1, min(int(4 * n**0.5), n // 39))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dims), dims, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vectors if n <= 64 * nlist else vectors[rng.choice(n, 64 * nlist, replace=False)]
    index.train(sample)
    index.add(vectors)
    index.nprobe = max(1, min(nlist, max(16, nlist // 64)))
    return index, f"IndexIVFFlat nlist={nlist} nprobe={index.nprobe} (approximate)"


def bm25_text(chunk: Chunk, src: Source) -> str:
    """The chunk with its source's title, authors and section, so names and titles are searchable."""
    from .chunk import clean_for_embedding

    heads = " ".join(chunk.headings[-2:])
    questions = " ".join(chunk.questions)
    return f"{src.title} {' '.join(src.authors)} {heads} {clean_for_embedding(chunk.text)} {questions}"


_WORD = re.compile(r"(?u)\b\w\w+\b")
# Question words carry no topic; the rest is bm25s's English list.
_EXTRA_STOP = {
    "what",
    "does",
    "did",
    "how",
    "why",
    "which",
    "who",
    "whom",
    "when",
    "where",
    "can",
    "could",
    "would",
    "should",
    "do",
    "is",
    "are",
    "was",
    "were",
    "about",
}


@cache
def _stemmer_and_stops() -> tuple[Any, frozenset[str]]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return Stemmer.Stemmer("english"), frozenset(STOPWORDS_EN) | _EXTRA_STOP


def bm25_tokens(text: str) -> list[str]:
    """Lowercased, stop words removed, Snowball-stemmed ("proofs" finds "proof")."""
    stemmer, stops = _stemmer_and_stops()
    return stemmer.stemWords([w for w in _WORD.findall(text.lower()) if w not in stops])


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
) -> Path:
    """Write a complete version under a temporary name, then make it current with two renames."""
    import bm25s
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    dense, kind = make_dense(vectors, approx_threshold)
    faiss.write_index(dense, str(tmp / "dense.faiss"))
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
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    _fsync_tree(tmp)
    final = index_dir / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp.rename(final)
    pointer_tmp = index_dir / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
    _fsync(pointer_tmp)
    os.replace(pointer_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    prune(index_dir)
    return final


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


def index_size_bytes(version_dir: Path) -> int:
    return sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())


def index_stats(index_dir: Path | str | None = None, *, settings: Any = None) -> dict[str, Any]:
    """What is in the index: sources by stance and type, chunks, size, model, when built."""
    from .settings import get_settings

    settings = settings or get_settings()
    index_dir, cur = _require_current(index_dir, settings)
    meta = json.loads((cur / "meta.json").read_text(encoding="utf-8"))
    sources = json.loads((cur / "sources.json").read_text(encoding="utf-8"))
    stale = config_mismatch(meta, settings)
    return {
        "index_dir": str(index_dir),
        "version": cur.name,
        "built_at": meta.get("built_at"),
        "model": meta.get("model"),
        "dims": meta.get("dims"),
        "dense_index": meta.get("dense_index"),
        "chunking": meta.get("chunking"),
        "stance_model": meta.get("stance_model"),
        "sources": len(sources),
        "sources_by_stance": dict(Counter(s["stance"] for s in sources).most_common()),
        "sources_by_type": dict(Counter(s["type"] for s in sources).most_common()),
        "chunks": meta.get("chunks"),
        "chunks_by_stance": meta.get("chunks_by_stance", {}),
        "size_bytes": index_size_bytes(cur),
        "failed": meta.get("failed", {}),
        "stale": f"{stale}; {FIX}" if stale else None,
    }


_LOADED: dict[str, Index] = {}


def get_index(settings: Any = None) -> Index:
    """The current index, loaded once per process and reloaded when a build swaps in a new version."""
    from .settings import get_settings

    settings = settings or get_settings()
    key = str(Path(settings.index_dir).resolve())
    cur = current_dir(Path(settings.index_dir))
    cached = _LOADED.get(key)
    if cached is not None and cur is not None and cached.path == cur:
        return cached
    index = load_index(settings.index_dir, settings=settings)
    _LOADED[key] = index
    return index
