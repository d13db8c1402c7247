"""The nouns of the pipeline. Chunk ids (`<source-id>:<n>`) double as citation keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stance = Literal["enthusiastic", "skeptical", "neutral"]
STANCES: tuple[Stance, ...] = ("enthusiastic", "skeptical", "neutral")
# The two sides an answer shows side by side (neutral passages are background).
SIDES: tuple[Stance, ...] = ("enthusiastic", "skeptical")
# Document-level labels in the manifest also include "mixed".
DOC_STANCES = ("enthusiastic", "skeptical", "mixed", "neutral")
SOURCE_TYPES = ("essay", "blog", "paper", "docs", "review", "transcript", "other")


class Record:
    """A noun of the pipeline as plain data: `to_dict()` for JSON (the CLI's --json, chunks.jsonl, ...)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class Source(Record):
    """One entry of the source list (metadata only; the text is resolved at build time)."""

    id: str
    title: str
    url: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    type: str = "other"
    stance: str = "neutral"
    stance_note: str = ""
    file: str = ""  # file name inside a mirror directory, or a local path for `add`ed files


@dataclass
class Document(Record):
    source: Source
    text: str
    origin: str  # where the text came from: "mirror:<path>", "cache:<path>", "url:<url>", "file:<path>"
    content_hash: str


@dataclass
class Chunk(Record):
    id: str  # "<source-id>:<n>"
    source_id: str
    n: int
    text: str  # exact slice text[start:end] of the extracted document text
    start: int
    end: int
    headings: list[str] = field(default_factory=list)
    hash: str = ""  # hash of what is embedded (context + text): the embedding-cache key
    stance: str = "neutral"
    stance_confidence: float = 0.0
    questions: list[str] = field(default_factory=list)  # question expansions this chunk answers
    question_spans: list[list[int]] = field(default_factory=list)  # [start, end] of each one's passage


@dataclass
class Passage(Record):
    """A chunk as shown to a user: chunk text plus its source's metadata and its retrieval score."""

    source_id: str
    chunk_id: str
    title: str
    authors: list[str]
    year: int | None
    url: str
    text: str
    stance: str
    stance_confidence: float
    score: float
    type: str = "other"
    headings: list[str] = field(default_factory=list)
    start: int = 0
    end: int = 0
    # The part of the passage that answers best: the span of the expansion question closest to the user's
    # question (offsets into the source's text, like start/end).
    focus: list[int] | None = None
    # "classifier" (the index's label, `stance_confidence` its probability) or "llm": relabelled relative to
    # the question by the configured LLM (INTERP_RAG_LLM_STANCE); `stance_confidence` then still holds the
    # classifier's probability for its own label, which is why the UI shows "LLM" instead of it.
    stance_by: str = "classifier"


@dataclass
class Citation(Record):
    """Marker `[number]` in an answer's text points at `passages[number - 1]`."""

    number: int
    chunk_id: str
    source_id: str
    title: str
    url: str


@dataclass
class Answer(Record):
    question: str
    text: str
    passages: list[Passage]
    citations: list[Citation]
    mode: str  # "llm", or the answer mode that wrote it without one ("extractive")
    missing_sides: list[str] = field(default_factory=list)
    notice: str = ""
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class BuildReport(Record):
    sources_ok: list[str] = field(default_factory=list)
    sources_failed: dict[str, str] = field(default_factory=dict)
    sources_removed: list[str] = field(default_factory=list)
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    index_dir: str = ""
    changed: bool = True
    warnings: list[str] = field(default_factory=list)  # repairs done on the way (damaged index, cache)
