"""Adding one file as a user does, for the tests of each format `add` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interp_rag.retrieval.retrieve import retrieve
from interp_rag.settings import Settings
from interp_rag.store.index import load_index
from interp_rag.store.library import add_sources


def add_one(settings: Settings, path: Path, data: bytes, source_id: str) -> tuple[Any, Any]:
    """`data` written to `path` and added; the index after, and the source the add made (`source_id`)."""
    path.write_bytes(data)
    report = add_sources([str(path)], settings=settings)
    assert [r.ok for r in report.results] == [True], [r.reason for r in report.results]
    index = load_index(settings=settings)
    return index, index.sources[source_id]


def first_passage(index: Any, settings: Settings, question: str) -> Any:
    """The passage retrieval ranks first for `question`."""
    return retrieve(index, question, k=3, settings=settings).passages[0]
