"""Is the index on disk whole? Sizes, checksums and counts recorded at write time, checked at read time.

A version directory is written once and never modified, so any difference from what its meta.json
recorded is damage (a disk fault, a hand edit, a cut copy). Loading, `stats`, the served app and `build`
check every file's size and hash and the counts of chunks and vectors. Either way the user gets one
sentence naming the command that repairs it, never a parser's traceback.
"""

from __future__ import annotations

import errno
import hashlib
import json
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import DamagedIndexError, StorageError

REPAIR = "run `interp-rag build --full` to rebuild it"
CURRENT = "CURRENT"
META = "meta.json"
# Files every version has; older versions (no "files" record in meta.json) are checked for these only.
REQUIRED = ("chunks.jsonl", "sources.json", "dense.faiss")
# meta.json's fields that are objects (the readers call .get and .items on them)
OBJECTS = ("files", "counts", "sources", "chunking", "bm25", "chunks_by_stance", "failed")


def damaged(index_dir: Path, why: str) -> DamagedIndexError:
    return DamagedIndexError(f"The index in {index_dir}/ is damaged ({why}); {REPAIR}.", why)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_records(version_dir: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file of a version but meta.json (which holds this record)."""
    return {
        p.relative_to(version_dir).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(version_dir.rglob("*"))
        if p.is_file() and p.name != META
    }


def pointed_dir(index_dir: Path) -> Path | None:
    """The version CURRENT names; None when there is no CURRENT. A CURRENT naming nothing is damage."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        return None
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise damaged(index_dir, f"{CURRENT} cannot be read: {type(e).__name__}") from e
    path = index_dir / name
    if not name or "/" in name or not (path / META).is_file():
        raise damaged(index_dir, f"{CURRENT} names {name[:60]!r}, which is not a version directory")
    return path


def parse_meta(index_dir: Path, version_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((version_dir / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise damaged(index_dir, f"{META} is not readable JSON: {type(e).__name__}") from e
    if not isinstance(meta, dict) or not isinstance(meta.get("chunks"), int):
        raise damaged(index_dir, f"{META} does not describe an index")
    # Nothing records meta.json's own checksum: a field of another shape is damage, named here, not an
    # AttributeError in `stats` or `ask` (and a "files" that is no record must not turn the checksums off).
    for key in OBJECTS:
        if key in meta and not isinstance(meta[key], dict):
            raise damaged(index_dir, f"{META} holds {key!r} as {type(meta[key]).__name__}, not an object")
    if not all(isinstance(st, dict) for st in meta.get("sources", {}).values()):
        raise damaged(index_dir, f"{META} holds a source's record that is not an object")
    return meta


def file_problem(version_dir: Path, meta: dict[str, Any]) -> str | None:
    """The first file that differs from the record (missing, another size, another hash), in words."""
    files = meta.get("files")
    if not isinstance(files, dict):  # written before checksums were recorded
        missing = [n for n in REQUIRED if not (version_dir / n).is_file()]
        return f"{missing[0]} is missing" if missing else None
    for name, rec in files.items():
        p = version_dir / name
        if not p.is_file():
            return f"{name} is missing"
        size = p.stat().st_size
        if size != rec.get("size"):
            return f"{name} has {size} bytes, {rec.get('size')} were written"
        if sha256_file(p) != rec.get("sha256"):
            return f"{name} does not match its checksum"
    return None


Stamp = tuple[int, int, int, int]


def stamps(version_dir: Path) -> dict[str, Stamp]:
    """Each file's inode, size, mtime and ctime. Taken before a load hashes the files and compared once it
    has read them (`changed_since`): equal stamps mean the bytes read are the bytes hashed, so a file
    replaced between its check and its read is caught without reading it twice."""
    out: dict[str, Stamp] = {}
    for p in version_dir.rglob("*"):
        with suppress(OSError):  # gone meanwhile: `changed_since` names it
            st = p.stat()
            if stat.S_ISREG(st.st_mode):
                out[p.relative_to(version_dir).as_posix()] = (
                    st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                )  # fmt: skip
    return out


def changed_since(version_dir: Path, before: dict[str, Stamp]) -> str | None:
    """The first file whose stamp differs from `before` (replaced, rewritten or gone), in words."""
    now = stamps(version_dir)
    changed = [name for name, stamp in before.items() if now.get(name) != stamp]
    return f"{changed[0]} changed while the index was read" if changed else None


def count_problem(meta: dict[str, Any], *, chunks: int, vectors: int) -> str | None:
    if chunks != meta["chunks"]:
        return f"chunks.jsonl holds {chunks} chunks, {meta['chunks']} were written"
    want = meta.get("counts", {}).get("vectors", meta["chunks"])
    if vectors != want:
        return f"dense.faiss holds {vectors} vectors, {want} were written"
    return None


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def current_problem(index_dir: Path) -> str | None:
    """What is wrong with the current version (a clause); None when it is whole or there is none at all.

    `build` calls this to decide whether the previous version can be trusted (reused) or must be rebuilt."""
    try:
        cur = pointed_dir(index_dir)
        if cur is None:
            return None
        meta = parse_meta(index_dir, cur)
    except DamagedIndexError as e:
        return e.why
    why = file_problem(cur, meta)
    if why is None and "files" not in meta:  # no sizes to catch a cut chunk file: count its lines
        n = count_lines(cur / "chunks.jsonl")
        if n != meta["chunks"]:
            why = f"chunks.jsonl holds {n} chunks, {meta['chunks']} were written"
    return why


@contextmanager
def reading(index_dir: Path, name: str) -> Iterator[None]:
    """A file of the index that does not parse is damage, named, not a parser's traceback."""
    try:
        yield
    except DamagedIndexError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError) as e:
        # faiss raises RuntimeError, json ValueError, Chunk(**row) TypeError, numpy ValueError/EOFError
        raise damaged(index_dir, f"{name} cannot be read: {type(e).__name__}") from e


# errno values meaning "this place cannot be written"; anything else is a real bug and keeps its traceback.
_DISK = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file grew past the size this process may write",
    errno.ENOTDIR: "a file stands where a directory should be",
    errno.EEXIST: "a file stands where a directory should be",
    errno.EISDIR: "a directory stands where a file should be",
}


def storage_error(where: Path, e: BaseException) -> StorageError | None:
    """A StorageError saying why `where` cannot be written, if `e` is a disk problem or another process
    holds the embedding cache; else None."""
    import sqlite3

    if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
        # not the disk: another process holds the cache (its own message said "database is locked")
        return StorageError(
            f"The embedding cache {where}/embeddings.sqlite is locked by another process (one writing to "
            "it: a training or bench script, a sqlite3 shell); let it finish or close it, then run the "
            "command again; the previous index is unchanged."
        )
    if isinstance(e, OSError) and e.errno in _DISK:
        why = _DISK[e.errno]
    elif isinstance(e, OSError) and e.errno is None and "not enough free space" in str(e).lower():
        why = _DISK[errno.ENOSPC]  # numpy's writer (np.save, and bm25s through it) sets no errno
    elif isinstance(e, sqlite3.OperationalError) and any(
        s in str(e) for s in ("disk is full", "readonly", "unable to open", "disk I/O")
    ):
        why = f"the embedding cache cannot be written ({e})"
    else:
        return None
    # what to do for this cause: "free space" was the advice for a directory no one may write to as well
    space = {_DISK[errno.ENOSPC], _DISK[errno.EDQUOT], _DISK[errno.EFBIG]}
    fix = (
        "Free space" if why in space
        else "Make it writable" if why in (_DISK[errno.EROFS], _DISK[errno.EACCES])
        else "Move what is in the way" if why in (_DISK[errno.ENOTDIR], _DISK[errno.EISDIR])
        else "Free space or make it writable"
    )  # fmt: skip
    return StorageError(
        f"Cannot write the index in {where}/: {why}. {fix} or choose a writable place "
        "(INTERP_RAG_INDEX_DIR / --index-dir), then run the command again; the previous index is unchanged."
    )


@contextmanager
def writing(where: Path) -> Iterator[None]:
    """Disk problems while writing the index become one StorageError sentence."""
    import sqlite3

    try:
        yield
    except (OSError, sqlite3.OperationalError) as e:
        err = storage_error(where, e)
        if err is None:
            raise
        raise err from e
