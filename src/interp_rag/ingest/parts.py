"""How far a loader that reads a document in parts (a PDF's pages) has got, for whoever shows progress, and
how much text it may return before it can stop; how big a source may be (`Limits`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ..errors import SourceError

# Who hears how far a loader that reads a document in parts (a PDF's pages) has got: set around one read by
# `reading_parts`, so the loaders keep their one signature (bytes -> str).
_PARTS: ContextVar[Callable[[int, int], None] | None] = ContextVar("reading_parts", default=None)


@contextmanager
def reading_parts(report: Callable[[int, int], None]) -> Iterator[None]:
    """Inside, a loader that reads its document in parts calls `report(done, total)` after each part: a
    31-page PDF took 5.8 s to read here, and a bar that stands still that long looks hung."""
    token = _PARTS.set(report)
    try:
        yield
    finally:
        _PARTS.reset(token)


def part_read(done: int, total: int) -> None:
    """A loader's report that `done` of `total` parts are read (heard only inside `reading_parts`)."""
    report = _PARTS.get()
    if report is not None:
        report(done, total)


# The most characters of text the document being read may have (settings.max_source_chars): a loader that
# reads in parts stops at the part that passes it, rather than after reading the rest (a 10 kB PDF can draw
# a million characters on each of its pages, 27 s of pypdf's time a page).
_BUDGET: ContextVar[int | None] = ContextVar("text_budget", default=None)


@contextmanager
def text_budget(max_chars: int) -> Iterator[None]:
    """Inside, `over_budget(n)` says whether `n` characters pass `max_chars`."""
    token = _BUDGET.set(max_chars)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def over_budget(chars: int) -> int | None:
    """The budget, when `chars` characters read so far pass it (else None; never outside `text_budget`)."""
    budget = _BUDGET.get()
    return budget if budget is not None and chars > budget else None


@dataclass(frozen=True)
class Limits:
    """How big one source may be (settings.max_source_chars / max_source_bytes): a huge file would take
    hours to embed and gigabytes of memory, and the user should hear so at once, not after."""

    max_chars: int = 2_000_000
    max_bytes: int = 100_000_000

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(settings.max_source_chars, settings.max_source_bytes)

    def check_bytes(self, n: int, what: str) -> None:
        if n > self.max_bytes:
            raise SourceError(
                f"{what} is {n:,} bytes, more than the limit of {self.max_bytes:,} "
                "(INTERP_RAG_MAX_SOURCE_BYTES); split it, or raise the limit."
            )

    def check_text(self, text: str, what: str) -> str:
        if len(text) > self.max_chars:
            raise SourceError(
                f"{what} has {len(text):,} characters of text, more than the limit of {self.max_chars:,} "
                "(INTERP_RAG_MAX_SOURCE_CHARS); split it, or raise the limit."
            )
        return text
