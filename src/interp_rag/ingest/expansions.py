"""Question expansions ("doc2query"): questions a passage answers, written by people (or an LLM) and kept
beside the source list in `corpus/expansions/<source-id>.jsonl` as {start, end, sha, q: [...]}.

Passages are referenced by character offsets into the source's text plus a hash, never copied; a span
whose text no longer matches (a re-fetched page that changed) is ignored. At build time every chunk takes
the questions of the spans it contains, for BM25 and as extra dense vectors: a user's question then meets
the passage through a question phrased like it, which a small embedding model needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..text import digest
from ..types import Chunk

# Recorded in meta.json: changing how questions attach to chunks makes an index stale.
ATTACH_RULE = "questions (with their spans) of spans overlapping a chunk by half of the shorter of the two"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    questions: tuple[str, ...]


def expansion_file(directory: Path | None, source_id: str) -> Path | None:
    if directory is None:
        return None
    path = directory / f"{source_id}.jsonl"
    return path if path.is_file() else None


def file_hash(path: Path | None) -> str:
    return digest(path.read_bytes()) if path else ""


def load_spans(path: Path | None, text: str) -> list[Span]:
    """The spans of one source whose text still matches; malformed lines are skipped, not fatal."""
    if path is None:
        return []
    spans = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            start, end, qs = int(row["start"]), int(row["end"]), [str(q) for q in row["q"] if str(q).strip()]
        except (ValueError, KeyError, TypeError):
            continue
        if not (0 <= start < end <= len(text)) or not qs:
            continue
        if digest(text[start:end], 12, "sha1") != row.get("sha"):
            continue
        spans.append(Span(start, end, tuple(qs)))
    return spans


def attach(chunks: list[Chunk], spans: list[Span]) -> None:
    """Give each chunk the questions of the spans it mostly holds, or that mostly hold it (a long span
    answered across several chunks gives its questions to each of them)."""
    for c in chunks:
        c.questions, c.question_spans = [], []
        for s in spans:
            overlap = min(c.end, s.end) - max(c.start, s.start)
            if overlap > 0 and overlap * 2 >= min(s.end - s.start, c.end - c.start):
                for q in s.questions:
                    if q not in c.questions:
                        c.questions.append(q)
                        c.question_spans.append([s.start, s.end])
