"""The loaded index: one typed `Index` that owns its derived views (arrays, windows cache, idf), loading
with a staleness check, what `stats` shows, and the per-process cache that reloads after a build."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..errors import ConfigError, DamagedIndexError, IndexMissingError, StaleIndexError
from ..settings import Settings, get_settings, given_path, given_settings
from ..types import STANCES, Chunk, Source
from .format import FIX, config_mismatch, current_dir, read_chunks
from .integrity import (
    changed_since,
    count_problem,
    damaged,
    file_problem,
    parse_meta,
    pointed_dir,
    reading,
    stamps,
)

T = TypeVar("T")

# A long-running server's window cache is bounded (about 40 MB of text).
WINDOW_CACHE_SIZE = 20_000


@dataclass
class Arrays:
    """Per-chunk and per-source columns for vectorised filtering and selection."""

    source_of: np.ndarray  # chunk -> source position
    stance_of: np.ndarray  # chunk -> stance code (the position of the stance in STANCES)
    n_of: np.ndarray  # chunk -> ordinal within its document
    source_ids: list[str]
    years: np.ndarray
    types: np.ndarray
    annotated: np.ndarray  # chunk -> its source has expansion questions (corpus/expansions/)

    # The only place stances become numbers: codes are positions in types.STANCES.
    CODE: ClassVar[dict[str, int]] = {s: i for i, s in enumerate(STANCES)}

    @classmethod
    def code(cls, stance: str) -> int:
        return cls.CODE[stance]


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

    @cached_property
    def arrays(self) -> Arrays:
        ids = list(self.sources)
        pos = {s: i for i, s in enumerate(ids)}
        neutral = Arrays.code("neutral")
        source_of = np.array([pos[c.source_id] for c in self.chunks], dtype=np.int32)
        with_questions = np.zeros(len(ids), dtype=bool)
        if self.q_owner is not None and len(self.q_owner):
            with_questions[np.unique(source_of[self.q_owner])] = True
        return Arrays(
            source_of=source_of,
            stance_of=np.array([Arrays.CODE.get(c.stance, neutral) for c in self.chunks], dtype=np.int8),
            n_of=np.array([c.n for c in self.chunks], dtype=np.int32),
            source_ids=ids,
            years=np.array([self.sources[s].year or -1 for s in ids], dtype=np.int32),
            types=np.array([self.sources[s].type for s in ids], dtype=object),
            annotated=with_questions[source_of],
        )

    @cached_property
    def windows(self) -> dict[tuple[int, int], tuple[int, int, str]]:
        """(chunk position, chars) -> (start, end, text) of the passage shown (retrieval.context fills it;
        an index is never modified, so entries never go stale)."""
        return {}

    @cached_property
    def idf(self) -> tuple[dict[str, int], np.ndarray]:
        """Inverse document frequency of each BM25 term, from the BM25 index's own postings."""
        df = np.diff(np.asarray(self.bm25.scores["indptr"])).astype(np.float64)
        n = max(len(self.chunks), 1)
        return self.bm25.vocab_dict, np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    @cached_property
    def idf_weights(self) -> dict[str, float]:
        """`idf` as a map from term to weight (bm25s's vocabulary also names the empty term, which has no
        postings column)."""
        vocab, idf = self.idf
        return {t: float(idf[i]) for t, i in vocab.items() if t and i < len(idf)}


def given_index(index: object) -> Index | None:
    """An `index` argument: an Index, or None (the settings' index); ConfigError naming what it takes for
    anything else (a path failed later as an AttributeError deep inside)."""
    if index is not None and not isinstance(index, Index):
        raise ConfigError(
            f"index must be an Index, as load_index() returns (or None), not {type(index).__name__}; "
            "for an index directory use settings=Settings(index_dir=…)."
        )
    return index


def _require_current(index_dir: Path | str | None, settings: Settings) -> tuple[Path, Path]:
    index_dir = given_path(index_dir, "index_dir") or Path(settings.index_dir)
    cur = pointed_dir(index_dir)  # a CURRENT naming no version is damage, not "no index"
    if cur is None:
        raise IndexMissingError(
            f"No index in {index_dir}/. Run `interp-rag build --mirror DIR` (or `interp-rag build` to fetch "
            "the sources from their URLs) to create it."
        )
    return index_dir, cur


def load_index(
    index_dir: Path | str | None = None, *, settings: Settings | None = None, check: bool = True
) -> Index:
    """Load the current index; refuse (StaleIndexError) one built with other settings or format."""
    from threadpoolctl import threadpool_limits

    # Our numpy work is matrix-vector products (memory-bound); BLAS threads that spin after each one steal
    # the cores from the embedding model and more than double a query's latency (measured: 24 ms vs 12 ms).
    threadpool_limits(1, user_api="blas")
    settings = given_settings(settings)
    index_dir, cur = _require_current(index_dir, settings)
    return _while_swapped(index_dir, cur, lambda v: _load_version(index_dir, v, settings, check))


# A build swaps in a new version and deletes the old one; a reader that was reading the old one reads the
# new one, a few times at most (builds one after another).
SWAP_RETRIES = 5


def _while_swapped(index_dir: Path, cur: Path, read: Callable[[Path], T]) -> T:
    """`read(cur)`, again with the new current version when a build swapped it in and pruned `cur` while it
    was read: the missing file is no damage, and "run build --full" sent a user on minutes of work."""
    for _ in range(SWAP_RETRIES):
        try:
            return read(cur)
        except DamagedIndexError:
            now = current_dir(index_dir)
            if now is None or now == cur:
                raise
            cur = now
    return read(cur)


def _load_version(index_dir: Path, cur: Path, settings: Settings, check: bool) -> Index:
    import bm25s
    import faiss

    meta = parse_meta(index_dir, cur)
    if check:
        why = config_mismatch(meta, settings)
        if why:
            raise StaleIndexError(f"The index in {index_dir}/ is stale: {why}; {FIX}.", why)
    # Every file's hash, not only its size: garbage of the same size in dense.faiss was read as vectors and
    # answered from. Hashing the shipped index's 40 MB takes ~40 ms warm (130 ms cold) of a ~1 s load.
    # The stamps taken first make sure the files read below are the files hashed (see `changed_since`).
    before = stamps(cur)
    why = file_problem(cur, meta)
    if why:
        raise damaged(index_dir, why)
    with reading(index_dir, "chunks.jsonl"):
        chunks = read_chunks(cur)
    with reading(index_dir, "sources.json"):
        sources = {
            s["id"]: Source(**s) for s in json.loads((cur / "sources.json").read_text(encoding="utf-8"))
        }
    with reading(index_dir, "dense.faiss"):
        dense = faiss.read_index(str(cur / "dense.faiss"))
        vectors = (
            dense.reconstruct_n(0, dense.ntotal) if dense.ntotal else np.zeros((0, meta["dims"]), "float32")
        )
    why = count_problem(meta, chunks=len(chunks), vectors=dense.ntotal)
    if why:
        raise damaged(index_dir, why)
    with reading(index_dir, "bm25/"):
        bm25 = bm25s.BM25.load(str(cur / "bm25"))
    q_vectors = q_owner = None
    if (cur / "questions.npy").is_file():
        with reading(index_dir, "questions.npy"):
            q_vectors = np.load(cur / "questions.npy")
            q_owner = np.load(cur / "question_owner.npy")
    source_vectors = _load_npy(index_dir, cur / "source_vectors.npy")
    why = changed_since(cur, before)
    if why:
        raise damaged(index_dir, why)
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
        source_vectors=source_vectors,
    )


def _load_npy(index_dir: Path, path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    with reading(index_dir, path.name):
        return np.load(path)


def index_size_bytes(version_dir: Path) -> int:
    return sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())


def index_stats(index_dir: Path | str | None = None, *, settings: Settings | None = None) -> dict[str, Any]:
    """What is in the index: sources by stance and type, chunks, size, model, when built."""
    settings = given_settings(settings)
    index_dir, cur = _require_current(index_dir, settings)
    return _while_swapped(index_dir, cur, lambda v: _version_stats(index_dir, v, settings))


def _version_stats(index_dir: Path, cur: Path, settings: Settings) -> dict[str, Any]:
    meta = parse_meta(index_dir, cur)
    why = file_problem(cur, meta)  # a damaged file must not be reported as a whole index
    if why:
        raise damaged(index_dir, why)
    with reading(index_dir, "sources.json"):
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
        # sources with no expansion questions beside their passages (any a user added without
        # --write-questions): they are found by their own words only
        "sources_without_questions": sorted(
            sid for sid, st in meta.get("sources", {}).items() if not st.get("expansions")
        ),
    }


def index_sources(
    index_dir: Path | str | None = None, *, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Every source in the index (its fields, chunk count and when it was first indexed), read from the
    source list and meta.json alone: `interp-rag sources` took 1.1 s loading the vectors it never read."""
    settings = given_settings(settings)
    index_dir, cur = _require_current(index_dir, settings)
    return _while_swapped(index_dir, cur, lambda v: _version_sources(index_dir, v))


def _version_sources(index_dir: Path, cur: Path) -> list[dict[str, Any]]:
    meta = parse_meta(index_dir, cur)
    why = file_problem(cur, meta)
    if why:
        raise damaged(index_dir, why)
    with reading(index_dir, "sources.json"):
        listed = [Source(**s) for s in json.loads((cur / "sources.json").read_text(encoding="utf-8"))]
    return source_rows(meta, listed)


def source_rows(meta: dict[str, Any], sources: Iterable[Source]) -> list[dict[str, Any]]:
    """A row a source: its fields, its chunk count and when it was first indexed (from meta.json)."""
    state = meta.get("sources", {})
    return [
        {
            **s.to_dict(),
            "chunks": state.get(s.id, {}).get("chunks", 0),
            "added": state.get(s.id, {}).get("added", ""),
        }
        for s in sources
    ]


_LOADED: dict[str, Index] = {}


def get_index(settings: Settings | None = None) -> Index:
    """The current index, loaded once per process and reloaded when a build swaps in a new version."""
    settings = settings or get_settings()
    key = str(Path(settings.index_dir).resolve())
    cur = current_dir(Path(settings.index_dir))
    cached = _LOADED.get(key)
    if cached is not None and cur is not None and cached.path == cur:
        return cached
    index = load_index(settings.index_dir, settings=settings)
    _LOADED[key] = index
    return index
