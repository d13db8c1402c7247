"""Building the index: sources -> text -> chunks -> embeddings (cached) -> stance -> index on disk.

Incremental by default: a source whose text, metadata and chunking are unchanged keeps its chunks, and
every vector comes from the embedding cache when its text was embedded before.
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InterpRagError, SourceError
from ..ingest.chunk import Chunker
from ..ingest.doc2query import Completer
from ..ingest.embed import EmbeddingCache, embed_with_cache, model_id, tokenizer_path
from ..ingest.expansions import attach, load_spans
from ..ingest.sources import (
    check_given,
    given_authors,
    given_location,
    load_sources,
    summary,
)
from ..settings import Settings, get_settings, given_path, given_settings
from ..text import digest
from ..types import UNKNOWN_STANCE, BuildReport, Chunk, Source
from .add import Addition, check_new, near_copies, near_copy_warning, read_new_source
from .format import (
    CACHE_FILE,
    expected_config,
    version_vectors,
)
from .integrity import writing
from .labelling import label_chunks
from .publish import prune_or_stop, write_version
from .questions import question_stage
from .resolve import Previous, Progress, Resolved, resolve_stage

# The index directories this thread holds the build lock of: `remove` takes it before it edits the source
# list, and the build it then runs must not refuse itself (a second flock of the same file would).
_HELD = threading.local()


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index directory (a second one fails at once, with a reason). Reentrant
    within a thread."""
    held: set[str] = _HELD.__dict__.setdefault("dirs", set())
    key = str(Path(index_dir).resolve())
    if key in held:
        yield
        return
    with writing(index_dir):  # a read-only or full disk fails here, before any work, in one sentence
        index_dir.mkdir(parents=True, exist_ok=True)
        f = open(index_dir / ".build.lock", "w")  # noqa: SIM115 (held for the whole build)
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise InterpRagError(f"Another build is running on {index_dir}/; wait for it to finish.") from e
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


def build_index(
    *,
    settings: Settings | None = None,
    mirror: Path | str | None = None,
    full: bool = False,
    on_progress: Progress | None = None,
    llm_questions: Completer | None = None,
) -> BuildReport:
    """Build or update the index in `settings.index_dir`; returns what was done.

    `full` ignores the previous index (every source re-resolved and re-chunked; vectors still come from
    the embedding cache). Sources that cannot be read are reported in the result, not raised. A damaged
    current version is noticed (every file re-hashed) and rebuilt, as with `full`.
    `llm_questions` (an `LLMClient`) writes the questions each passage answers for every source that has
    none (store/questions.py). The stages: resolve -> [questions] -> chunk -> embed -> label -> source
    vectors -> publish."""
    progress = on_progress or (lambda *a: None)
    return _build(given_settings(settings), given_path(mirror, "mirror"), full, progress, (), llm_questions)


def _build(
    settings: Settings,
    mirror: Path | str | None,
    full: bool,
    progress: Progress,
    additions: tuple[Addition, ...] = (),
    llm_questions: Completer | None = None,
    carry: bool = False,
) -> BuildReport:
    mirror_dir = Path(mirror) if mirror is not None else settings.mirror
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise InterpRagError(f"Mirror directory {mirror_dir} does not exist.")
    t0 = time.perf_counter()
    report = BuildReport(index_dir=str(settings.index_dir))
    with build_lock(settings.index_dir):
        sources = load_sources(settings.sources_file)
        for a in additions:  # checked again under the lock: another add may have won the race
            check_new(a.doc.source, sources, settings.sources_file)
            sources.append(a.doc.source)
        written: list[Path] = []  # questions an LLM wrote in this build: removed again if it fails
        try:
            _stages(
                settings,
                mirror_dir,
                full,
                progress,
                additions,
                sources,
                report,
                llm_questions,
                written,
                carry,
            )
        except BaseException:
            for path in written:  # a failed add changes nothing: nor the questions written for it
                path.unlink(missing_ok=True)
            raise
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _stages(
    settings: Settings,
    mirror_dir: Path | None,
    full: bool,
    progress: Progress,
    additions: tuple[Addition, ...],
    sources: list[Source],
    report: BuildReport,
    llm_questions: Completer | None,
    written: list[Path],
    carry: bool = False,
) -> None:
    """resolve -> [questions] -> chunk -> embed -> label -> source vectors -> publish, then the added
    sources listed. `carry`: the listed sources keep the text the index has (none is read again)."""
    prev = Previous.read(settings, full, report)
    found = resolve_stage(settings, mirror_dir, prev, progress, sources, additions, carry)
    if llm_questions is not None:
        question_stage(settings, found, llm_questions, progress, report, written)
    found.report_into(report, prev)

    def list_additions() -> None:  # the source list last: a failed or killed add leaves it as it was
        for a in additions:
            a.publish()

    if found.nothing_changed(prev):
        report.changed = False
        report.chunks_total = report.chunks_reused = prev.meta["chunks"] if prev.meta else 0
        list_additions()
        # what a killed build left (a .tmp- folder of ~40 MB) goes now, not at the next build that changes
        # something; a read-only index (a shared copy) is still up to date
        with suppress(OSError):
            report.warnings += filter(None, [prune_or_stop(settings.index_dir)])
    else:
        work = chunk_stage(settings, found, prev, progress)
        cache = open_cache(settings.index_dir, prev, report)
        try:
            with writing(settings.index_dir):  # the cache is written as it fills
                embedded = embed_stage(work, cache, settings.embed_batch_size, progress)
                copies_stage(settings, work, additions, report)
                label_stage(work, found)
                source_vectors_stage(work, cache)
        finally:
            cache.close()
        publish_stage(settings, work, report, progress, then=list_additions)
        report.chunks_total = len(work.chunks)
        report.chunks_embedded = embedded
        report.chunks_reused = len(work.chunks) - embedded


# ---------------------------------------------------------------- stage 2: chunk


@dataclass
class Work:
    """The artifacts of a build, filled stage by stage; publishing writes them."""

    chunks: list[Chunk] = field(default_factory=list)
    embed_texts: list[str] = field(default_factory=list)  # what the model reads for each chunk
    sources: list[Source] = field(default_factory=list)  # indexed, in index order
    state: dict[str, Any] = field(default_factory=dict)  # meta.json's per-source record
    vectors: np.ndarray | None = None
    q_vectors: np.ndarray | None = None
    q_owner: np.ndarray | None = None
    source_vectors: np.ndarray | None = None

    def add(self, src: Source, chunks: list[Chunk], chunker: Chunker) -> None:
        self.sources.append(src)
        for c in chunks:
            self.chunks.append(c)
            self.embed_texts.append(chunker.embed_text(c, src.title))


def chunk_stage(settings: Settings, found: Resolved, prev: Previous, progress: Progress) -> Work:
    """Chunks of every changed source (with their expansion questions); unchanged and kept sources keep
    their previous chunks."""
    from_prev = [*found.kept, *sorted(found.carried)]  # indexed with the previous version's chunks
    prev_chunks = prev.chunks_by_source() if (found.unchanged or from_prev) else {}
    chunker = Chunker(tokenizer_path(), settings.chunk_tokens, settings.chunk_overlap)
    work = Work()
    for i, doc in enumerate(found.docs, 1):
        sid = doc.source.id
        if sid in found.unchanged:
            cs = prev_chunks[sid]
        else:
            cs = chunker.chunk(doc)
            attach(cs, load_spans(found.exp_files[sid], doc.text))
        work.add(doc.source, cs, chunker)
        # when the source was first indexed (the library lists it), kept across rebuilds
        before = ((prev.meta or {}).get("sources", {}).get(sid)) or {}
        added = before.get("added") or time.strftime("%Y-%m-%d")
        work.state[sid] = {**found.state[sid], "chunks": len(cs), "title": doc.source.title, "added": added}
        progress("chunk", i, len(found.docs), sid)
    if from_prev and prev.dir is not None:
        old_sources = {s["id"]: s for s in json.loads((prev.dir / "sources.json").read_text())}
        for sid in from_prev:
            work.add(Source(**old_sources[sid]), prev_chunks.get(sid, []), chunker)
            work.state[sid] = prev.sources[sid]
    if not work.chunks and not found.listed:
        raise SourceError(
            f"{settings.sources_file} lists no sources; add one with `interp-rag add FILE-OR-URL` or write "
            "[[source]] entries (README: the source list)."
        )
    if not work.chunks:
        raise SourceError(
            "No source could be read, so there is nothing to index: "
            + "; ".join(f"{k}: {v}" for k, v in list(found.failed.items())[:5])
            + ". Pass --mirror DIR with the sources' files, or check the network."
        )
    return work


# ---------------------------------------------------------------- stages 3-5: embed, label, sources


def open_cache(index_dir: Path, prev: Previous, report: BuildReport) -> EmbeddingCache:
    """The embedding cache; a damaged one is moved aside and the new one refilled from the current index."""
    with writing(index_dir):
        cache = EmbeddingCache(index_dir / CACHE_FILE, model_id())
        if cache.warning:
            items = version_vectors(prev.dir) if prev.dir is not None else {}
            cache.put_many(items)  # a lost cache of the whole corpus would take minutes to embed again
            report.warnings.append(
                f"{cache.warning} A new cache holds the current index's {len(items)} vectors."
            )
    return cache


def embed_stage(work: Work, cache: EmbeddingCache, batch_size: int, progress: Progress) -> int:
    """Vectors of the chunks and of their expansion questions (cached by text hash); returns how many
    chunks had to be embedded."""
    work.vectors, embedded = embed_with_cache(
        [c.hash for c in work.chunks],
        work.embed_texts,
        cache,
        batch_size=batch_size,
        on_progress=lambda d, n: progress("embed", d, n, ""),
    )
    questions = [(i, q) for i, c in enumerate(work.chunks) for q in c.questions]
    q_texts = [q for _, q in questions]
    work.q_vectors, _ = embed_with_cache(
        [digest(q, 24) for q in q_texts],
        q_texts,
        cache,
        batch_size=batch_size * 2,
        on_progress=lambda d, n: progress("expansions", d, n, ""),
    )
    work.q_owner = np.array([i for i, _ in questions], dtype=np.int32)
    return embedded


def copies_stage(
    settings: Settings, work: Work, additions: tuple[Addition, ...], report: BuildReport
) -> None:
    """A warning for each added source that nearly repeats one in the library (store/add.near_copies)."""
    new = {a.doc.source.id for a in additions}
    if new and work.vectors is not None:
        owners = [c.source_id for c in work.chunks]
        found = near_copies(work.vectors, owners, new, settings.near_copy_cosine, settings.near_copy_share)
        report.warnings += [near_copy_warning(sid, other, share) for sid, (other, share) in found.items()]


def label_stage(work: Work, found: Resolved) -> None:
    """The stance of the chunks of the sources chunked anew (store/labelling.py); the others keep theirs."""
    fresh = {d.source.id for d in found.docs} - found.unchanged
    texts = {d.source.id: d.text for d in found.docs}
    stances = {s.id: s.stance for s in work.sources}
    work.chunks = label_chunks(
        work.chunks, work.vectors, stances, fresh, texts, found.hand, read=work.embed_texts
    )


def source_vectors_stage(work: Work, cache: EmbeddingCache) -> None:
    """One vector per source: what it is and argues (title and stance note), for choosing voices."""
    summaries = [summary(s) for s in work.sources]
    work.source_vectors, _ = embed_with_cache([digest(t, 24) for t in summaries], summaries, cache)


# ---------------------------------------------------------------- stage 6: publish


def publish_stage(
    settings: Settings,
    work: Work,
    report: BuildReport,
    progress: Progress,
    then: Callable[[], None] | None = None,
) -> None:
    """meta.json's record of how and from what the version was built, then the atomic publish; `then`
    (the added sources listed) changes with the index or not at all (publish.write_version)."""
    progress("write", 0, 1, "")
    meta = {
        **expected_config(settings),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "corpus_hash": digest(json.dumps({k: v["hash"] for k, v in sorted(work.state.items())})),
        "sources": work.state,
        "failed": report.sources_failed,
    }
    write_version(
        settings.index_dir,
        meta,
        work.chunks,
        work.sources,
        work.vectors,
        settings.approx_threshold,
        q_vectors=work.q_vectors,
        q_owner=work.q_owner,
        source_vectors=work.source_vectors,
        then=then,
        warnings=report.warnings,
    )
    progress("write", 1, 1, "")


def add_source(
    location: str,
    *,
    id: str | None = None,
    title: str | None = None,
    authors: list[str] | str | None = None,
    year: int | None = None,
    type: str | None = None,
    stance: str = UNKNOWN_STANCE,
    stance_note: str = "",
    settings: Settings | None = None,
    on_progress: Progress | None = None,
    llm_questions: Completer | None = None,
) -> BuildReport:
    """Add a URL or a local file to the source list and index it incrementally.

    Only the new source is read; the others keep the text the index has. The source list is written after
    the index, atomically: a bad source, a failed, interrupted or killed build leave both as they were.
    `llm_questions` (an `LLMClient`): it writes the questions each passage answers (ingest/doc2query.py)."""
    settings = given_settings(settings)
    progress = on_progress or (lambda *a: None)
    check_given(type=type, stance=stance, year=year, stance_note=stance_note, title=title, id=id)
    draft = Source(
        id=id or "", title=title or "", url="", authors=given_authors(authors), year=year, type=type or "",
        stance=stance, stance_note=stance_note or "",
    )  # fmt: skip
    # the lock from the start: a second add is refused before it reads (a long PDF took minutes, then was
    # refused)
    with build_lock(settings.index_dir):
        addition = read_new_source(given_location(location), draft, settings, progress)
        return _build(settings, None, False, progress, (addition,), llm_questions)


def rebuild_without(settings: Settings, on_progress: Progress | None = None) -> BuildReport:
    """The index once sources were taken out of the list (`remove`): the sources left keep the text and
    chunks the index has. A full resolve read every one again, from its URL first: 14 s of failed lookups
    offline, every page downloaded again online."""
    return _build(settings, None, False, on_progress or (lambda *a: None), (), None, carry=True)


def add_read(
    additions: list[Addition],
    *,
    settings: Settings | None = None,
    on_progress: Progress | None = None,
    llm_questions: Completer | None = None,
) -> BuildReport:
    """Index sources already read and checked (store/library.py adds several with one build): only they
    are read, and the source list is written after the index, as for `add_source`."""
    settings = settings or get_settings()
    return _build(settings, None, False, on_progress or (lambda *a: None), tuple(additions), llm_questions)
