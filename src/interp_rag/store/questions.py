"""The build's question stage: an LLM writes the questions each passage of a source without any answers
(ingest/doc2query.py), between reading the sources and chunking them, so the chunk stage attaches them like
hand-written ones. `add --write-questions` runs it on the new sources, `build --write-questions` on every
source read that has none (the shipped sources all have theirs)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, StorageError
from ..ingest.chunk import Chunker
from ..ingest.doc2query import Completer, save, write_questions
from ..ingest.embed import tokenizer_path
from ..settings import Settings
from ..types import BuildReport
from .resolve import Progress, Resolved


def question_stage(
    settings: Settings,
    found: Resolved,
    llm: Completer,
    progress: Progress,
    report: BuildReport,
    written: list[Path],
) -> None:
    """Write the questions of every source read without an expansions file, each file added to `written`
    as soon as it exists (the build removes them again if it fails, here or later). Each such source
    counts as changed, so it is chunked anew with its questions attached."""
    todo = [d for d in found.docs if found.exp_files.get(d.source.id) is None]
    if not todo:
        return
    if settings.expansions_dir is None:
        raise ConfigError(
            "Writing questions needs a folder to keep them in: set INTERP_RAG_EXPANSIONS_DIR "
            "(default corpus/expansions)."
        )
    writable(settings.expansions_dir)  # before any request: an LLM's work must not be lost to a bad folder
    chunker = Chunker(tokenizer_path(), settings.chunk_tokens, settings.chunk_overlap)
    by = f"llm:{settings.llm.model or 'default'}"
    for doc in todo:
        sid = doc.source.id
        chunks = chunker.chunk(doc)
        got = write_questions(
            chunks,
            llm,
            per_passage=settings.llm.questions_per_passage,
            per_call=settings.llm.questions_per_call,
            passage_chars=settings.llm.passage_chars,
            progress=lambda done, n, sid=sid: progress("questions", done, n, sid),
        )
        path = settings.expansions_dir / f"{sid}.jsonl"
        if got.failure:
            # with nothing written there is no file to delete first (the build writes the missing ones)
            redo = f"delete {path} and run" if got.spans else "run"
            report.warnings.append(
                f"{sid}: questions written for {len(got.spans)} of {len(chunks)} passages; then the LLM "
                f"failed ({got.failure}). To write them all, {redo} `interp-rag build --write-questions`."
            )
        elif got.asked and not got.spans:
            report.warnings.append(
                f"{sid}: the LLM wrote no usable question for its {len(chunks)} passages (replies not the "
                "asked-for JSON, or questions about nothing in the passage); it is indexed without them."
            )
        if not got.spans:
            continue
        written.append(path)  # before writing: a half-written file is removed too
        try:
            save(path, doc.text, got, by)
        except OSError as e:  # a full disk part-way: one clear error, and the build removes what it wrote
            raise StorageError(f"Cannot write {path} ({e.strerror or e}). Nothing was changed.") from e
        report.questions_written += sum(len(qs) for _, _, qs in got.spans)
        found.has_questions(sid, path)


def writable(folder: Path) -> None:
    """The expansions folder exists (made if need be) and takes a file, or a StorageError saying so."""
    probe = folder / ".write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise StorageError(
            f"Cannot write the LLM's questions to {folder}/ ({e.strerror or e}); make it a writable folder "
            "or point INTERP_RAG_EXPANSIONS_DIR elsewhere. Nothing was changed."
        ) from e
