"""Building the index: sources -> text -> chunks -> embeddings (cached) -> stance -> index on disk.

Incremental by default: a source whose text, metadata and chunking are unchanged keeps its chunks, and
every vector comes from the embedding cache when its text was embedded before.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InterpRagError, SourceError
from ..ingest.chunk import Chunker
from ..ingest.embed import EmbeddingCache, embed_with_cache, model_id, tokenizer_path
from ..ingest.expansions import attach, expansion_file, file_hash, load_spans
from ..ingest.label import classify_vectors
from ..ingest.sources import (
    append_source,
    load_sources,
    resolve,
    resolve_all,
    slugify,
    summary,
    validate_source,
    write_cache,
)
from ..settings import Settings, get_settings
from ..text import clean_for_embedding, digest
from ..types import BuildReport, Chunk, Source
from .format import CACHE_FILE, config_mismatch, current_dir, expected_config, read_chunks, read_meta
from .publish import write_version

# on_progress(stage, done, total, detail): stage is "resolve", "chunk", "embed" or "write".
Progress = Callable[[str, int, int, str], None]


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index directory (a second one fails at once, with a reason)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise InterpRagError(f"Another build is running on {index_dir}/; wait for it to finish.") from e
        yield


def _meta_hash(src: Source) -> str:
    # Metadata that changes what is embedded (title) or the stance prior (stance) invalidates chunks.
    return digest(json.dumps(src.to_dict(), sort_keys=True))


def build_index(
    *,
    settings: Settings | None = None,
    mirror: Path | str | None = None,
    full: bool = False,
    on_progress: Progress | None = None,
) -> BuildReport:
    """Build or update the index in `settings.index_dir`; returns what was done.

    `full` ignores the previous index (every source re-resolved and re-chunked; vectors still come from
    the embedding cache). Sources that cannot be read are reported in the result, not raised."""
    settings = settings or get_settings()
    mirror_dir = Path(mirror) if mirror is not None else settings.mirror
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise InterpRagError(f"Mirror directory {mirror_dir} does not exist.")
    progress = on_progress or (lambda *a: None)
    t0 = time.perf_counter()
    index_dir = settings.index_dir
    report = BuildReport(index_dir=str(index_dir))
    with build_lock(index_dir):
        sources = load_sources(settings.sources_file)
        prev_meta = read_meta(index_dir)
        prev_dir = current_dir(index_dir)
        reusable = prev_meta is not None and not full and config_mismatch(prev_meta, settings) is None
        prev_sources: dict[str, Any] = prev_meta["sources"] if reusable else {}

        docs, failed = resolve_all(
            sources,
            mirror=mirror_dir,
            cache_dir=settings.cache_dir,
            timeout=settings.fetch_timeout,
            user_agent=settings.user_agent,
            on_progress=lambda i, n, sid: progress("resolve", i, n, sid),
        )
        by_id = {s.id: s for s in sources}
        exp_files = {d.source.id: expansion_file(settings.expansions_dir, d.source.id) for d in docs}
        new_state = {
            d.source.id: {
                "hash": d.content_hash,
                "meta": _meta_hash(d.source),
                "origin": d.origin,
                "expansions": file_hash(exp_files[d.source.id]),
            }
            for d in docs
        }
        # A source that fails now but was indexed before keeps its previous text: a flaky network
        # should not silently shrink the corpus.
        kept = [sid for sid in failed if sid in prev_sources]
        report.sources_failed = {
            sid: why + (" (kept the previously indexed text)" if sid in kept else "")
            for sid, why in failed.items()
        }
        report.sources_removed = sorted(set(prev_sources) - set(by_id))
        unchanged = {
            sid
            for sid, st in new_state.items()
            if sid in prev_sources
            and prev_sources[sid]["hash"] == st["hash"]
            and prev_sources[sid]["meta"] == st["meta"]
            and prev_sources[sid].get("expansions", "") == st["expansions"]
        }
        if (
            reusable
            and not report.sources_removed
            and len(unchanged) == len(new_state)
            and (set(prev_sources) == set(new_state) | set(kept))
        ):
            report.changed = False
            report.sources_ok = sorted(new_state)
            report.chunks_total = report.chunks_reused = prev_meta["chunks"] if prev_meta else 0
            report.seconds = round(time.perf_counter() - t0, 3)
            return report

        prev_chunks: dict[str, list[Chunk]] = {}
        if reusable and prev_dir is not None and (unchanged or kept):
            for c in read_chunks(prev_dir):
                prev_chunks.setdefault(c.source_id, []).append(c)
        chunker = Chunker(tokenizer_path(), settings.chunk_tokens, settings.chunk_overlap)
        chunks: list[Chunk] = []
        embed_texts: list[str] = []
        indexed_sources: list[Source] = []
        state: dict[str, Any] = {}
        for i, doc in enumerate(docs, 1):
            sid = doc.source.id
            if sid in unchanged:
                cs = prev_chunks[sid]
            else:
                cs = chunker.chunk(doc)
                attach(cs, load_spans(exp_files[sid], doc.text))
            _add(chunks, embed_texts, cs, doc.source, chunker)
            indexed_sources.append(doc.source)
            state[sid] = {**new_state[sid], "chunks": len(cs), "title": doc.source.title}
            progress("chunk", i, len(docs), sid)
        if kept and prev_dir is not None:
            old_sources = {s["id"]: s for s in json.loads((prev_dir / "sources.json").read_text())}
            for sid in kept:
                src = Source(**old_sources[sid])
                _add(chunks, embed_texts, prev_chunks.get(sid, []), src, chunker)
                indexed_sources.append(src)
                state[sid] = prev_sources[sid]
        if not chunks:
            raise SourceError(
                "No source could be read, so there is nothing to index: "
                + "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:5])
                + ". Pass --mirror DIR with the sources' files, or check the network."
            )
        questions = [(i, q) for i, c in enumerate(chunks) for q in c.questions]
        cache = EmbeddingCache(index_dir / CACHE_FILE, model_id())
        try:
            vectors, embedded = embed_with_cache(
                [c.hash for c in chunks],
                embed_texts,
                cache,
                batch_size=settings.embed_batch_size,
                on_progress=lambda d, n: progress("embed", d, n, ""),
            )
            q_texts = [q for _, q in questions]
            q_vectors, _ = embed_with_cache(
                [digest(q, 24) for q in q_texts],
                q_texts,
                cache,
                batch_size=settings.embed_batch_size * 2,
                on_progress=lambda d, n: progress("expansions", d, n, ""),
            )
            summaries = [summary(s) for s in indexed_sources]
            source_vectors, _ = embed_with_cache([digest(t, 24) for t in summaries], summaries, cache)
        finally:
            cache.close()
        stance_of = {s.id: s.stance for s in indexed_sources}
        labels, confs = classify_vectors(
            vectors, [clean_for_embedding(c.text) for c in chunks], [stance_of[c.source_id] for c in chunks]
        )
        chunks = [
            replace(c, stance=lab, stance_confidence=conf)
            for c, lab, conf in zip(chunks, labels, confs, strict=True)
        ]
        progress("write", 0, 1, "")
        corpus_hash = digest(json.dumps({k: v["hash"] for k, v in sorted(state.items())}))
        meta = {
            **expected_config(settings),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus_hash": corpus_hash,
            "sources": state,
            "failed": report.sources_failed,
        }
        q_owner = np.array([i for i, _ in questions], dtype=np.int32)
        write_version(
            index_dir,
            meta,
            chunks,
            indexed_sources,
            vectors,
            settings.approx_threshold,
            q_vectors=q_vectors,
            q_owner=q_owner,
            source_vectors=source_vectors,
        )
        progress("write", 1, 1, "")
    report.sources_ok = sorted(new_state)
    report.chunks_total = len(chunks)
    report.chunks_embedded = embedded
    report.chunks_reused = len(chunks) - embedded
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _add(chunks: list[Chunk], texts: list[str], new: list[Chunk], src: Source, chunker: Any) -> None:
    for c in new:
        chunks.append(c)
        texts.append(chunker.embed_text(c, src.title))


def add_source(
    location: str,
    *,
    id: str | None = None,
    title: str | None = None,
    authors: list[str] | None = None,
    year: int | None = None,
    type: str = "other",
    stance: str = "neutral",
    stance_note: str = "",
    settings: Settings | None = None,
    on_progress: Progress | None = None,
) -> BuildReport:
    """Add a URL or a local file to the source list and index it incrementally.

    The source is read first: a bad URL, an unreadable file or a duplicate id raises and changes nothing."""
    settings = settings or get_settings()
    path = Path(location).expanduser()
    is_url = location.startswith(("http://", "https://"))
    if not is_url and not path.is_file():
        raise SourceError(f"{location!r} is neither an http(s) URL nor an existing file.")
    url = location if is_url else path.resolve().as_uri()
    existing = load_sources(settings.sources_file) if settings.sources_file.exists() else []
    taken = {s.id for s in existing}
    if id is not None and id in taken:
        raise SourceError(f"A source with id {id!r} already exists in {settings.sources_file}.")
    if any(s.url == url for s in existing):
        raise SourceError(f"{location} is already in {settings.sources_file}.")
    draft = Source(
        id=id or "new-source",
        title=title or location,
        url=url,
        authors=authors or [],
        year=year,
        type=type,
        stance=stance,
        stance_note=stance_note,
    )
    doc = resolve(draft, mirror=None, cache_dir=None, timeout=settings.fetch_timeout)
    if title is None:
        draft.title = _guess_title(doc.text) or (path.stem if not is_url else location)
    if id is None:
        base = slugify(draft.title)
        draft.id = base
        n = 2
        while draft.id in taken:
            draft.id, n = f"{base}-{n}", n + 1
    validate_source(draft)
    if is_url:  # the build reads it from the cache instead of fetching it twice
        write_cache(settings.cache_dir, draft.id, url, doc.text)
    append_source(settings.sources_file, draft)
    return build_index(settings=settings, on_progress=on_progress)


def _guess_title(text: str) -> str:
    for line in text.splitlines()[:40]:
        s = line.strip()
        if s.startswith("# "):
            return s[2:].strip()[:200]
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return first[:120] if len(first) < 120 else ""
