"""The on-disk index format and its fingerprint.

Layout of `index/`:
    CURRENT               name of the active version directory (replaced atomically)
    v-<time>-<rand>/      meta.json, chunks.jsonl, sources.json, dense.faiss, bm25/
    embeddings.sqlite     the embedding cache, shared by all versions
`meta.json` records how a version was built (`expected_config`); an index built otherwise is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.chunk import CONTENT_MAX_TOKENS, SPLITTER_NAME
from ..ingest.embed import DIM, model_id
from ..ingest.expansions import ATTACH_RULE
from ..ingest.label import model_version
from ..ingest.sources import summary
from ..text import clean_for_embedding, digest
from ..types import Chunk, Source
from .integrity import parse_meta, pointed_dir

FORMAT_VERSION = 1
# Lower saturation and length normalisation than Lucene's defaults measured better on this corpus of
# long, repetitive documents (bench/tune_retrieval.py).
BM25_K1 = 0.9
BM25_B = 0.4
CURRENT = "CURRENT"
CACHE_FILE = "embeddings.sqlite"
FIX = "run `interp-rag build` to rebuild it"


def expected_config(settings: Any) -> dict[str, Any]:
    """What an index must have been built with to be usable with these settings and this code."""
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
    """The version CURRENT names, or None when there is none or CURRENT is damaged (integrity.pointed_dir
    says how: loading the index raises DamagedIndexError)."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    except (OSError, UnicodeDecodeError):  # garbled bytes: answer() got a raw UnicodeDecodeError
        return None
    path = index_dir / name
    return path if name and "/" not in name and (path / "meta.json").is_file() else None


def read_meta(index_dir: Path) -> dict[str, Any] | None:
    """The current version's meta.json; None when there is no index; DamagedIndexError when unreadable."""
    cur = pointed_dir(index_dir)
    return None if cur is None else parse_meta(index_dir, cur)


def read_chunks(version_dir: Path) -> list[Chunk]:
    with (version_dir / "chunks.jsonl").open(encoding="utf-8") as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


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
    heads = " ".join(chunk.headings[-2:])
    questions = " ".join(chunk.questions)
    return f"{src.title} {' '.join(src.authors)} {heads} {clean_for_embedding(chunk.text)} {questions}"


def version_vectors(version_dir: Path) -> dict[str, np.ndarray]:
    """A version's vectors under the keys the embedding cache stored them by (chunk hash, question and
    summary digests): a lost cache is refilled from them."""
    import faiss

    chunks = read_chunks(version_dir)
    dense = faiss.read_index(str(version_dir / "dense.faiss"))
    items = dict(zip([c.hash for c in chunks], dense.reconstruct_n(0, dense.ntotal), strict=True))
    if (version_dir / "questions.npy").is_file():
        keys = [digest(q, 24) for c in chunks for q in c.questions]
        items.update(zip(keys, np.load(version_dir / "questions.npy"), strict=True))
    if (version_dir / "source_vectors.npy").is_file():
        listed = json.loads((version_dir / "sources.json").read_text(encoding="utf-8"))
        keys = [digest(summary(Source(**s)), 24) for s in listed]
        items.update(zip(keys, np.load(version_dir / "source_vectors.npy"), strict=True))
    return items
