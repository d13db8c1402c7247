"""How far a loader that reads a document in parts (a PDF's pages) has got, for whoever shows progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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
