"""The source list as a user edits and reads it after adding: remove a source (list and index together),
list the sources in the index, find among them. Adding lives in library.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError, SourceError
from ..ingest.doc2query import written_by_llm
from ..ingest.expansions import expansion_file
from ..ingest.sources import atomic_write, load_sources, local_path
from ..settings import Settings, given_settings
from ..types import BuildReport, Source
from .build import build_lock, rebuild_without
from .format import current_dir
from .index import Index, index_sources, source_rows


@contextmanager
def restoring(path: Path) -> Iterator[None]:
    """Put the source list back byte for byte if what runs inside fails (the index is only replaced by a
    build that finished, so it needs no undo)."""
    before = path.read_bytes() if path.exists() else None
    try:
        yield
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            tmp = path.with_suffix(path.suffix + ".restore")
            tmp.write_bytes(before)
            tmp.replace(path)
        raise


def _without(text: str, source_id: str) -> str:
    """The TOML text with one [[source]] table taken out; comments and the other entries as they were."""
    import tomllib

    parts = re.split(r"(?m)^(?=\[\[source\]\]\s*$)", text)
    kept = []
    for part in parts:
        if part.startswith("[[source]]"):
            body = tomllib.loads(part).get("source", [{}])[0]
            if body.get("id") == source_id:
                continue
        kept.append(part)
    return "".join(kept).rstrip("\n") + "\n"


def remove_source(
    source_id: str, *, settings: Settings | None = None, on_progress: Any = None
) -> BuildReport:
    """Take a source out of sources.toml and out of the index (incremental: nothing is re-embedded)."""
    settings = given_settings(settings)
    if not isinstance(source_id, str) or not source_id.strip():
        raise ConfigError(f"source_id must be a source's id (text), not {source_id!r:.60}.")
    # The list is read and edited under the build lock: edited before it, an `add` that listed its source
    # meanwhile lost it when this remove, refused the lock, put back the list it had read.
    with build_lock(settings.index_dir), restoring(settings.sources_file):
        sources = load_sources(settings.sources_file)
        ids = [s.id for s in sources]
        gone = next((s for s in sources if s.id == source_id), None) or half_removed(settings, source_id)
        if gone is None:
            raise SourceError(
                f"No source {source_id!r} in {settings.sources_file}: `interp-rag sources` lists the "
                "sources' ids (so do the web's Sources tab and the file's `id = …` lines)."
            )
        if ids == [source_id]:
            raise SourceError(f"{source_id!r} is the only source; an index needs at least one.")
        if source_id in ids:
            text = settings.sources_file.read_text(encoding="utf-8")
            atomic_write(settings.sources_file, _without(text, source_id))
        if source_id in {s.id for s in load_sources(settings.sources_file)}:
            raise SourceError(
                f"Could not take {source_id!r} out of {settings.sources_file}; edit it by hand."
            )
        report = rebuild_without(settings, on_progress)
    for suffix in (".txt", ".json"):  # the fetched text of a removed URL source is no longer needed
        (settings.cache_dir / f"{source_id}{suffix}").unlink(missing_ok=True)
    upload = uploaded_copy(gone, settings)
    if upload is not None:  # the web form's copy of an uploaded file exists only for this source
        upload.unlink(missing_ok=True)
    questions = expansion_file(settings.expansions_dir, source_id)
    if questions is not None and written_by_llm(questions):  # the LLM's questions go with their source
        questions.unlink()
    return report


def half_removed(settings: Settings, source_id: str) -> Source | None:
    """The index's entry for `source_id` when the index has it and the list does not: a remove killed
    (kill -9, a closed terminal) after it wrote the list and before its build finished. `remove` finishes
    it; it said there was no such source while `stats` listed it."""
    version = current_dir(settings.index_dir)
    if version is None:
        return None
    try:
        listed = json.loads((version / "sources.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a damaged index: the build the remove runs says so
        return None
    return next((Source(**s) for s in listed if isinstance(s, dict) and s.get("id") == source_id), None)


UPLOADS = "uploads"  # beside the source list: where the web form keeps the files it was given


def uploaded_copy(source: Source, settings: Settings) -> Path | None:
    """The web form's copy of `source`'s file (under the source list's uploads/ folder), if it is one."""
    path = local_path(source)
    folder = (settings.sources_file.parent / UPLOADS).resolve()
    return path if path is not None and path.resolve().parent == folder else None


def list_sources(index: Index | None = None, *, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every source in the index with its chunk count and when it was first indexed. Without `index`,
    the settings' index is read lightly (its source list and meta.json, not its vectors)."""
    if index is None:
        return index_sources(settings=settings)
    return source_rows(index.meta, index.sources.values())


def find_sources(
    rows: list[dict[str, Any]], query: str = "", stance: str = "", kind: str = ""
) -> list[dict[str, Any]]:
    """The rows of `list_sources` a reader looks for, newest first: `query` found (any case) in the id,
    title, an author, the stance note or the year; `stance` and `kind` (type) exactly, when given. The web's
    Sources tab and `interp-rag sources` list the same rows."""
    q = (query or "").strip().lower()

    def said(r: dict[str, Any]) -> str:
        return " ".join([r["id"], r["title"], *r["authors"], r["stance_note"], str(r["year"] or "")]).lower()

    keep = [
        r
        for r in rows
        if (not q or q in said(r))
        and (not stance or r["stance"] == stance)
        and (not kind or r["type"] == kind)
    ]
    return sorted(keep, key=lambda r: (-(r["year"] or 0), r["title"].lower()))
