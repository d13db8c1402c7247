"""The first stage of a build: what the last build left (`Previous`) and every listed source's text with
what changed since then (`resolve_stage` -> `Resolved`). The later stages are in build.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SourceError
from ..ingest.expansions import expansion_file, file_hash
from ..ingest.label import hand_labels_hash, load_hand_labels
from ..ingest.sources import Limits, read_file, resolve_all
from ..settings import Settings
from ..text import digest
from ..types import BuildReport, Chunk, Document, Source
from .add import Addition, only_the_new
from .format import config_mismatch, current_dir, read_chunks, read_meta
from .integrity import current_problem

# on_progress(stage, done, total, detail): stage is "resolve", "chunk", "embed" or "write".
Progress = Callable[[str, int, int, str], None]


def _meta_hash(src: Source) -> str:
    # Metadata that changes what is embedded (title) or the stance prior (stance) invalidates chunks.
    return digest(json.dumps(src.to_dict(), sort_keys=True))


# ---------------------------------------------------------------- what the last build left


@dataclass
class Previous:
    """The current version, when its chunks can be reused (same settings and code, no --full)."""

    meta: dict[str, Any] | None
    dir: Path | None
    reusable: bool
    sources: dict[str, Any]  # source id -> its state in meta.json (hashes, chunk count, title)
    # source id -> the mirror file its text was read from, even when the chunks cannot be reused
    mirrored: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def read(cls, settings: Settings, full: bool, report: BuildReport) -> Previous:
        problem = current_problem(settings.index_dir)
        if problem:  # nothing of it can be trusted: rebuilt from the sources (vectors from the cache)
            report.warnings.append(f"The index was damaged ({problem}); rebuilt it from the sources.")
            return cls(None, None, False, {})
        meta = read_meta(settings.index_dir)
        reusable = meta is not None and not full and config_mismatch(meta, settings) is None
        mirrored = {
            sid: Path(st["origin"].removeprefix("mirror:"))
            for sid, st in (meta or {}).get("sources", {}).items()
            if str(st.get("origin", "")).startswith("mirror:")
        }
        sources = meta["sources"] if reusable and meta is not None else {}
        return cls(meta, current_dir(settings.index_dir), reusable, sources, mirrored)

    def chunks_by_source(self) -> dict[str, list[Chunk]]:
        out: dict[str, list[Chunk]] = {}
        if self.reusable and self.dir is not None:
            for c in read_chunks(self.dir):
                out.setdefault(c.source_id, []).append(c)
        return out


# ---------------------------------------------------------------- stage 1: resolve


@dataclass
class Resolved:
    docs: list[Document]
    failed: dict[str, str]  # source id -> why it could not be read
    listed: set[str]  # ids in the source list
    exp_files: dict[str, Path | None]  # source id -> its question expansions
    state: dict[str, dict[str, Any]]  # source id -> hashes of its text, metadata and expansions
    kept: list[str]  # failed now, indexed before: its previous text stays
    unchanged: set[str]  # same text, metadata and expansions as in the previous version
    hand: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # source id -> its stance hand labels
    carried: set[str] = field(default_factory=set)  # not read (`add`): the previous version's text stays

    def has_questions(self, source_id: str, path: Path) -> None:
        """`source_id` now has the expansion questions in `path` (written during this build): its recorded
        hash follows, and it counts as changed, so it is chunked anew with them attached."""
        self.exp_files[source_id] = path
        self.state[source_id]["expansions"] = file_hash(path)
        self.unchanged.discard(source_id)

    def report_into(self, report: BuildReport, prev: Previous) -> None:
        report.sources_ok = sorted(set(self.state) | self.carried)
        report.sources_removed = self.removed(prev)
        report.sources_failed = {
            sid: why + (" (kept the previously indexed text)" if sid in self.kept else "")
            for sid, why in self.failed.items()
        }
        report.warnings += self.lost_annotations(prev)

    def lost_annotations(self, prev: Previous) -> list[str]:
        """Warnings for sources that had question expansions or hand labels in the previous version and
        have none now: a folder not found (a build run from elsewhere) cost them silently before."""
        out = []
        before = (prev.meta or {}).get("sources", {})  # also when the version cannot be reused (--full)
        for key, what, folder in (
            ("expansions", "question expansions", "INTERP_RAG_EXPANSIONS_DIR"),
            ("stance_labels", "hand stance labels", "INTERP_RAG_STANCE_LABELS_DIR"),
        ):
            lost = sorted(
                sid
                for sid, st in self.state.items()
                if not st[key] and isinstance(before.get(sid), dict) and before[sid].get(key)
            )
            if lost:
                out.append(
                    f"{len(lost)} source(s) had {what} in the index and have none now ({', '.join(lost[:3])}"
                    f"{', …' if len(lost) > 3 else ''}): check {folder} (default: beside the source list)."
                )
        return out

    def removed(self, prev: Previous) -> list[str]:
        return sorted(set(prev.sources) - self.listed)

    def nothing_changed(self, prev: Previous) -> bool:
        return (
            prev.reusable
            and prev.meta is not None
            and "files" in prev.meta  # an index without checksums is rewritten once to record them
            and not self.removed(prev)
            and len(self.unchanged) == len(self.state)
            and set(prev.sources) == set(self.state) | set(self.kept) | self.carried
        )


def from_last_mirror(
    sources: list[Source], failed: dict[str, str], prev: Previous, limits: Limits
) -> list[Document]:
    """The failed sources whose text the last build read from a mirror file that is still there, read from
    it again (taken out of `failed`). A build without --mirror after an upgrade that re-chunks everything
    (or `remove`, which builds) could read neither the chunks nor the sources, and published an index
    without them: 61 of 71 sources gone, exit status 0."""
    docs = []
    for src in sources:
        path = prev.mirrored.get(src.id)
        if src.id not in failed or path is None or not path.is_file():
            continue
        try:
            docs.append(read_file(src, path, "mirror", limits))
        except (SourceError, OSError):
            continue  # it stays failed, with the reason the first read gave
        del failed[src.id]
    return docs


def resolve_stage(
    settings: Settings,
    mirror: Path | None,
    prev: Previous,
    progress: Progress,
    sources: list[Source],
    additions: tuple[Addition, ...] = (),
    carry: bool = False,
) -> Resolved:
    """Every listed source's text (mirror, cache, URL), and what changed since the previous version.
    `add` reads only the new source when there is a previous version, and `remove` (`carry`) none: the
    others keep its text."""
    carried: set[str] = set()
    new = [a.doc for a in additions]
    if (new or carry) and prev.sources:
        docs, failed, carried = only_the_new(new, sources, prev.sources)
    else:
        docs, failed = resolve_all(
            [s for s in sources if all(s is not d.source for d in new)],
            mirror=mirror,
            cache_dir=settings.cache_dir,
            timeout=settings.fetch_timeout,
            user_agent=settings.user_agent,
            on_progress=lambda i, n, sid: progress("resolve", i, n, sid),
            limits=Limits.from_settings(settings),
            arxiv=settings.arxiv_url,
            deadline=settings.fetch_deadline,
        )
        docs += new
        docs += from_last_mirror(sources, failed, prev, Limits.from_settings(settings))
    exp_files = {d.source.id: expansion_file(settings.expansions_dir, d.source.id) for d in docs}
    hand = load_hand_labels(settings.stance_labels_dir)
    state = {
        d.source.id: {
            "hash": d.content_hash,
            "meta": _meta_hash(d.source),
            "origin": d.origin,
            "expansions": file_hash(exp_files[d.source.id]),
            "stance_labels": hand_labels_hash(hand.get(d.source.id, [])),
        }
        for d in docs
    }
    before = prev.sources
    unchanged = {
        sid
        for sid, st in state.items()
        if sid in before
        and before[sid]["hash"] == st["hash"]
        and before[sid]["meta"] == st["meta"]
        and before[sid].get("expansions", "") == st["expansions"]
        and before[sid].get("stance_labels", "") == st["stance_labels"]
    }
    # A source that fails now but was indexed before keeps its previous text: a flaky network should not
    # silently shrink the corpus.
    kept = [sid for sid in failed if sid in before]
    return Resolved(docs, failed, {s.id for s in sources}, exp_files, state, kept, unchanged, hand, carried)
