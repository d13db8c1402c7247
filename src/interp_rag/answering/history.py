"""History: the questions asked, kept in a local SQLite file beside the index (`history.sqlite` in the
index directory). Only a question's text, its filters and the chunk ids it cited are stored; reopening one
answers it again from the index, so no passage text is copied into the history.

On by default; INTERP_RAG_HISTORY=false turns it off (nothing is read or written then).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, StorageError
from ..retrieval.query import QueryOptions
from ..settings import given_settings
from ..store.index import get_index, given_index
from ..types import Answer
from .pipeline import answer

HISTORY_FILE = "history.sqlite"
_SCHEMA = """CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at TEXT NOT NULL,
    question TEXT NOT NULL,
    filters TEXT NOT NULL,   -- JSON: k, stance, years, types, sources
    cited TEXT NOT NULL      -- JSON list of chunk ids, in citation order
)"""


@dataclass
class HistoryEntry:
    id: int
    asked_at: str
    question: str
    filters: dict[str, Any] = field(default_factory=dict)
    cited: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def filters_line(self) -> str:
        """Its k and filters as a reader writes them, "k 4 · skeptical · 2020–2024 · paper, essay" (the CLI
        printed Python reprs, "years=[2030, None]"; the web list showed none); "" for k 8 and no filter."""
        f = self.filters
        parts = [f"k {f['k']}"] if f.get("k") not in (None, 8) else []
        for key in ("stance", "types", "sources"):
            value = f.get(key)
            if value:
                parts.append(", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value))
        years = f.get("years")
        if isinstance(years, list | tuple) and len(years) == 2 and any(y is not None for y in years):
            first, last = years
            parts.append(f"{first}–{last}" if first and last else f"from {first}" if first else f"to {last}")
        return " · ".join(parts)


def history_path(settings: Any) -> Path:
    return Path(settings.index_dir) / HISTORY_FILE


_CONNECTIONS: dict[str, sqlite3.Connection] = {}
log = logging.getLogger(__name__)
_LOCK = threading.Lock()


def _shared(path: Path) -> sqlite3.Connection:
    """One connection per file and process, used under _LOCK (the UI answers from several threads).
    WAL with synchronous=NORMAL: a commit does not wait for the disk (measured: opening a connection and
    an fsync per question cost ~30 ms on a busy machine); a power cut may lose the last questions.
    StorageError when the file cannot be opened for writing (a read-only index directory)."""
    key = str(path.resolve())
    con = _CONNECTIONS.get(key)
    if con is None or not path.exists():
        con = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(path, timeout=5, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            if con is not None:
                con.close()
            raise unwritable(path, e) from e
        _CONNECTIONS[key] = con
    return con


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    with _LOCK:
        con = _shared(path)
        with con:
            yield con


@contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to list or reopen questions from: the shared one, or, where the file cannot be written
    (a read-only index directory, a copy shared read-only), one that only reads: `interp-rag history`
    there ended in sqlite's traceback, as even reading a WAL file creates its -shm file beside it.
    `immutable`: this process cannot change the file."""
    with _LOCK:
        try:
            con: sqlite3.Connection | None = _shared(path)
        except StorageError:
            con = None
        if con is not None:
            with con:
                yield con
            return
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as e:
        raise unwritable(path, e) from e
    try:
        yield con
    finally:
        con.close()


def unwritable(path: Path, e: BaseException) -> StorageError:
    return StorageError(
        f"The question history {path} cannot be written ({e}): make the index directory writable, or set "
        "INTERP_RAG_HISTORY=false to keep no history."
    )


def record_answer(settings: Any, a: Answer, filters: dict[str, Any], k: int) -> int | None:
    """Store a question once it is answered; returns its id (None when history is off)."""
    if not getattr(settings, "history", True):
        return None
    stored = {"k": int(k), **{key: v for key, v in filters.items() if v}}
    if stored.get("years"):
        stored["years"] = list(stored["years"])
    cited = [c.chunk_id for c in a.citations]
    try:
        with _connect(history_path(settings)) as con:
            cur = con.execute(
                "INSERT INTO history (asked_at, question, filters, cited) VALUES (?, ?, ?, ?)",
                (time.strftime("%Y-%m-%d %H:%M:%S"), a.question, json.dumps(stored), json.dumps(cited)),
            )
            return int(cur.lastrowid or 0)
    except (sqlite3.Error, OSError, StorageError) as e:
        # History is a convenience: a read-only or full disk must not cost the user the answer itself.
        why = e if isinstance(e, StorageError) else unwritable(history_path(settings), e)
        log.warning("Question not kept in history. %s", why)
        return None


def recent(settings: Any, limit: int = 20) -> list[HistoryEntry]:
    """The latest questions first (empty when history is off or nothing was asked)."""
    path = history_path(settings)
    if not getattr(settings, "history", True) or not path.is_file():
        return []
    with _reading(path) as con:
        rows = con.execute(
            "SELECT id, asked_at, question, filters, cited FROM history ORDER BY id DESC LIMIT ?",
            (int(limit),),
        ).fetchall()
    return [e for e in map(_entry, rows) if e is not None]  # a damaged row is skipped, the rest listed


def _entry(row: tuple[Any, ...]) -> HistoryEntry | None:
    """A stored row as an entry; None when its filters or citations are not the JSON they were written as
    (a row edited or damaged by hand must not make the whole history unreadable)."""
    try:
        filters, cited = json.loads(row[3]), json.loads(row[4])
    except (TypeError, ValueError):
        return None
    if not isinstance(filters, dict) or not isinstance(cited, list) or not isinstance(row[2], str):
        return None
    return HistoryEntry(row[0], row[1], row[2], filters, cited)


def get_entry(settings: Any, entry_id: int) -> HistoryEntry:
    path = history_path(settings)
    row = None
    if isinstance(entry_id, int) and 0 < entry_id < 2**63 and path.is_file():  # SQLite's integers
        with _reading(path) as con:
            row = con.execute(
                "SELECT id, asked_at, question, filters, cited FROM history WHERE id = ?", (int(entry_id),)
            ).fetchone()
    if row is None:
        raise ConfigError(f"No question #{entry_id} in the history; `interp-rag history` lists them.")
    entry = _entry(row)
    if entry is None:
        raise ConfigError(
            f"Question #{entry_id} in the history is damaged and cannot be reopened; ask it again."
        )
    return entry


def clear(settings: Any) -> int:
    """Forget every question; returns how many were removed."""
    path = history_path(settings)
    if not path.is_file():
        return 0
    with _connect(path) as con:
        return con.execute("DELETE FROM history").rowcount


def reopen(settings: Any, entry_id: int, *, index: Any = None) -> Answer:
    """The answer to a stored question again, re-read from the index (extractive, so reopening never calls
    an LLM). When the index changed since and the answer cites other passages, `notice` says so."""
    e = get_entry(settings, entry_id)
    # only the filters a question takes, as the query reads them (a row written by hand may hold others)
    f = {key: v for key, v in e.filters.items() if key in QueryOptions.__annotations__}
    k = f.pop("k", 8)
    if isinstance(f.get("years"), list):
        f["years"] = tuple(f["years"])
    removed: list[str] = []
    if f.get("sources") and isinstance(f["sources"], str | list):
        # a question asked of sources removed since: the rest of them, said so (it was "Unknown source id")
        index = given_index(index) or get_index(given_settings(settings))
        asked = [f["sources"]] if isinstance(f["sources"], str) else list(f["sources"])
        removed = [s for s in asked if isinstance(s, str) and s not in index.sources]
        f["sources"] = [s for s in asked if s not in removed]  # anything else: the query says what is wrong
        if not f["sources"]:
            raise ConfigError(
                f"Question #{e.id} was asked of {', '.join(removed)}, removed from the index since; "
                "ask it again of other sources."
            )
    a = answer(e.question, k=k, llm=False, index=index, settings=settings, **f)
    now = [c.chunk_id for c in a.citations]
    changed = []
    if removed:
        changed.append(f"{', '.join(removed)} removed, the other sources asked of were searched")
    if set(now) != set(e.cited):
        gone = [c for c in e.cited if c not in now]
        changed.append(
            "the answer now cites other passages"
            + (f" (no longer cited: {', '.join(gone[:5])})" if gone else "")
        )
    if changed:
        a.notice = f"Reopened from {e.asked_at}; the index has changed since: {'; '.join(changed)}."
    return a
