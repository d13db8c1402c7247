"""A damaged index, a corrupt embedding cache, a read-only or full disk: one clear sentence, and `build`
repairs what it can. Every fault is made on a real index of the small test corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from interp_rag.cli import main
from interp_rag.errors import DamagedIndexError, StorageError
from interp_rag.store.build import build_index
from interp_rag.store.format import current_dir
from interp_rag.store.index import index_stats, load_index
from interp_rag.store.integrity import current_problem
from tests.conftest import ROOT, make_settings, subprocess_env


@pytest.fixture
def built(tmp_path: Path, mini_settings, monkeypatch: pytest.MonkeyPatch):
    """A private copy of the session's mini index (with its mirror and list), and the CLI pointed at it."""
    shutil.copytree(mini_settings.mirror, tmp_path / "mirror")
    shutil.copy(mini_settings.sources_file, tmp_path / "sources.toml")
    shutil.copytree(mini_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".build.lock"))
    settings = make_settings(tmp_path, mirror=tmp_path / "mirror")
    for key, value in {
        "INTERP_RAG_INDEX_DIR": settings.index_dir,
        "INTERP_RAG_SOURCES_FILE": settings.sources_file,
        "INTERP_RAG_CACHE_DIR": settings.cache_dir,
        "INTERP_RAG_MIRROR": settings.mirror,
        "INTERP_RAG_EXPANSIONS_DIR": "",
    }.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("INTERP_RAG_LLM_BASE_URL", raising=False)
    return settings


def cli(*args: str):
    # catch_exceptions=False: a traceback anywhere fails the test instead of being counted as exit 1
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def flat(r) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(r.output.split())


def version(settings) -> Path:
    return current_dir(settings.index_dir)


def cut_mid_line(s) -> None:
    p = version(s) / "chunks.jsonl"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def cut_to_whole_lines(s) -> None:
    p = version(s) / "chunks.jsonl"
    p.write_text("".join(p.read_text().splitlines(keepends=True)[:2]))


def delete_dense(s) -> None:
    (version(s) / "dense.faiss").unlink()


def meta_bytes(s) -> None:
    (version(s) / "meta.json").write_bytes(bytes(range(256)) * 4)


def meta_cut(s) -> None:
    p = version(s) / "meta.json"
    p.write_text(p.read_text()[:100])


def meta_wrong_shape(s) -> None:
    (version(s) / "meta.json").write_text('["not", "a", "description"]')


def meta_field_wrong_shape(field: str, value: object) -> Callable:
    """meta.json still an index's description, one field of it not what readers take (its own checksum is
    nowhere: meta.json holds the others'): `stats` and `ask` ended in a traceback, and a "files" record
    that was no record turned the checksums off."""

    def fault(s) -> None:
        p = version(s) / "meta.json"
        p.write_text(json.dumps({**json.loads(p.read_text()), field: value}))

    return fault


def current_nowhere(s) -> None:
    (s.index_dir / "CURRENT").write_text("v-19700101T000000-gone\n")


def current_garbled(s) -> None:
    (s.index_dir / "CURRENT").write_bytes(b"\xff\xfe")  # answer() raised a raw UnicodeDecodeError


def sources_garbled(s) -> None:
    p = version(s) / "sources.json"
    p.write_text("x" * len(p.read_bytes()))  # same size: only the checksum (or the parser) can tell


FAULTS: dict[str, Callable] = {
    "chunks.jsonl cut mid-line": cut_mid_line,
    "chunks.jsonl cut to whole lines": cut_to_whole_lines,
    "dense.faiss deleted": delete_dense,
    "meta.json binary garbage": meta_bytes,
    "meta.json cut": meta_cut,
    "meta.json not an object": meta_wrong_shape,
    "meta.json sources a list": meta_field_wrong_shape("sources", []),
    "meta.json chunking text": meta_field_wrong_shape("chunking", "x"),
    "meta.json files text": meta_field_wrong_shape("files", "x"),
    "CURRENT names no version": current_nowhere,
    "CURRENT not text": current_garbled,
    "sources.json garbled, same size": sources_garbled,
}


@pytest.mark.parametrize("fault", FAULTS)
def test_damage_is_one_sentence_and_build_repairs_it(built, fault: str) -> None:
    before = [c.to_dict() for c in load_index(settings=built).chunks]
    FAULTS[fault](built)
    with pytest.raises(DamagedIndexError, match=r"is damaged \(.*\); run `interp-rag build --full`"):
        load_index(settings=built)
    for args in (["ask", "Are linear probes useful?"], ["stats"]):
        r = cli(*args)
        assert r.exit_code == 1, r.output
        assert "damaged" in r.output and "interp-rag build --full" in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1  # one line, not a dump
    assert current_problem(built.index_dir) is not None
    # a plain build notices and rebuilds; the index is whole again, with the same chunks
    r = cli("build")
    assert r.exit_code == 0, r.output
    assert "damaged" in flat(r) and "rebuilt it from the sources" in flat(r)
    assert current_problem(built.index_dir) is None
    assert [c.to_dict() for c in load_index(settings=built).chunks] == before
    r = cli("ask", "Are linear probes useful?")
    assert r.exit_code == 0 and "[1]" in r.output
    r = cli("build")
    assert r.exit_code == 0 and "Index up to date" in r.output


def test_meta_records_sizes_checksums_and_counts(built) -> None:
    import hashlib

    index = load_index(settings=built)
    files = index.meta["files"]
    assert {"chunks.jsonl", "sources.json", "dense.faiss"} <= set(files) and "meta.json" not in files
    for name, rec in files.items():
        data = (index.path / name).read_bytes()
        assert rec == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert index.meta["counts"]["chunks"] == len(index) == index.meta["counts"]["vectors"]
    assert index.meta["counts"]["sources"] == len(index.sources) == 3


def test_same_size_damage_is_caught_by_loading_and_repaired_by_build(built) -> None:
    p = version(built) / "dense.faiss"
    data = bytearray(p.read_bytes())
    data[-8:] = bytes(8)  # a vector's last components zeroed: faiss reads it, and it answered wrongly
    p.write_bytes(bytes(data))
    assert "dense.faiss does not match its checksum" in current_problem(built.index_dir)
    with pytest.raises(DamagedIndexError, match="dense.faiss does not match its checksum"):
        load_index(settings=built)
    for args in (["ask", "Are linear probes useful?"], ["stats"]):
        r = cli(*args)
        assert r.exit_code == 1 and "dense.faiss does not match" in r.output and "build --full" in r.output
    report = build_index(settings=built)
    assert report.changed and any("dense.faiss does not match" in w for w in report.warnings)
    assert current_problem(built.index_dir) is None


def test_an_index_without_checksums_is_loaded_and_upgraded_by_build(built) -> None:
    """Indexes written before checksums were recorded still load; the next build records them."""
    meta_path = version(built) / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["files"], meta["counts"]
    meta_path.write_text(json.dumps(meta))
    assert len(load_index(settings=built)) == meta["chunks"]
    cut_to_whole_lines(built)  # and its chunk count still catches a cut
    assert "chunks.jsonl holds 2 chunks" in current_problem(built.index_dir)
    with pytest.raises(DamagedIndexError):
        load_index(settings=built)
    report = build_index(settings=built)
    assert report.changed and "files" in load_index(settings=built).meta


def test_stats_refuses_a_cut_index(built) -> None:
    cut_to_whole_lines(built)
    with pytest.raises(DamagedIndexError, match="chunks.jsonl has"):
        index_stats(settings=built)


def test_serve_rebuilds_a_damaged_index(built) -> None:
    from interp_rag.web.app import IndexStatus, prepare_index

    delete_dense(built)
    status = IndexStatus(ready=False)
    prepare_index(built, status)
    assert status.ready and not status.error
    assert current_problem(built.index_dir) is None


def test_serve_hashes_each_file_of_a_whole_index_once(built, monkeypatch: pytest.MonkeyPatch) -> None:
    """The served app checked the index (every file hashed), then loaded it (every file hashed again)."""
    from interp_rag.store import integrity
    from interp_rag.web.app import IndexStatus, prepare_index

    hashed: list[str] = []
    real = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda p: (hashed.append(p.name), real(p))[1])
    status = IndexStatus(ready=False)
    prepare_index(built, status)
    assert status.ready and not status.error
    assert sorted(hashed) == sorted(Path(name).name for name in load_index(settings=built).meta["files"])


def test_a_file_replaced_after_its_check_and_before_its_read_is_caught(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading hashes every file, then reads them: one replaced in between (here the vectors, with bytes of
    the same size that faiss reads) was loaded as if checked."""
    from interp_rag.store import index as index_module

    real_read = index_module.read_chunks

    def dense_replaced_meanwhile(v: Path) -> list:
        p = v / "dense.faiss"
        data = bytearray(p.read_bytes())
        data[-8:] = bytes(8)
        tmp = v / "dense.faiss.new"
        tmp.write_bytes(bytes(data))
        tmp.replace(p)
        return real_read(v)

    monkeypatch.setattr(index_module, "read_chunks", dense_replaced_meanwhile)
    with pytest.raises(DamagedIndexError, match="dense.faiss changed while the index was read"):
        load_index(settings=built)


def test_corrupt_embedding_cache_is_moved_aside_and_rebuilt(built) -> None:
    cache = built.index_dir / "embeddings.sqlite"
    garbage = bytes(range(256)) * 64
    cache.write_bytes(garbage)
    r = cli("build", "--full")
    assert r.exit_code == 0, r.output
    assert "embedding cache" in flat(r) and "moved it to embeddings.sqlite.corrupt-" in flat(r)
    # refilled from the current index: nothing is embedded again
    assert "A new cache holds the current index's" in flat(r) and ", 0 embedded" in flat(r)
    aside = list(built.index_dir.glob("embeddings.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # kept for inspection, not deleted
    assert cache.read_bytes()[:16] == b"SQLite format 3\x00"
    assert cli("ask", "Are linear probes useful?").exit_code == 0
    r = cli("build", "--full")  # the new cache serves the next build
    assert r.exit_code == 0 and "0 embedded" in r.output and "warning" not in r.output


def test_a_file_where_the_index_directory_belongs_is_a_clear_error(tmp_path: Path, built) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    r = cli("--index-dir", str(blocker), "build")
    assert r.exit_code == 1 and "Cannot write the index" in flat(r)
    assert "a file stands where a directory should be" in flat(r)
    with pytest.raises(StorageError):
        build_index(settings=built.model_copy(update={"index_dir": blocker / "index"}))


# Disk faults for real: a private mount namespace (unshare -m) holds a read-only bind mount or a tiny
# tmpfs, so nothing outside the test sees them. Needs root or user namespaces; skipped where neither works.
NAMESPACE_SCRIPT = r"""
set -e
mount {mount} "$T"
{copy}
set +e
"$PY" -m interp_rag.cli build --full > "$OUT/build.txt" 2>&1; echo $? > "$OUT/build.rc"
"$PY" -m interp_rag.cli ask "Are linear probes useful?" > "$OUT/ask.txt" 2>&1; echo $? > "$OUT/ask.rc"
ls -a "$T/index" > "$OUT/ls.txt"
"""


def _flat_results(res: dict[str, str]) -> dict[str, str]:
    return {k: " ".join(v.split()) if k.endswith(".txt") and k != "ls.txt" else v for k, v in res.items()}


def grow_texts(settings) -> None:
    """New text to index: the build embeds (writes the embedding cache) and writes a version."""
    for p in settings.mirror.glob("*.md"):
        p.write_text(p.read_text() + "\n\nA closing paragraph written for the disk-fault test.\n")


def relabel(settings) -> None:
    """A new document stance: a new version to write, but every vector is in the cache already."""
    text = settings.sources_file.read_text()
    settings.sources_file.write_text(
        text.replace(
            'stance = "neutral"\nstance_note = "Definitions only."',
            'stance = "mixed"\nstance_note = "Definitions only."',
        )
    )


def _in_namespace(tmp_path: Path, built, mount: str, copy: str, change=grow_texts) -> dict[str, str]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here: {probe.stderr.decode().strip()}")
    target, out = tmp_path / "disk", tmp_path / "out"
    target.mkdir(exist_ok=True)
    out.mkdir()
    env = subprocess_env(
        T=str(target),
        OUT=str(out),
        PY=sys.executable,
        SRC=str(built.index_dir),
        INTERP_RAG_INDEX_DIR=str(target / "index"),
    )
    change(built)
    script = NAMESPACE_SCRIPT.format(mount=mount, copy=copy)
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], env=env, cwd=ROOT, capture_output=True, timeout=300
    )
    if r.returncode != 0 and not (out / "build.rc").exists():
        pytest.skip(f"mounting failed: {r.stderr.decode().strip()}")
    return _flat_results({p.name: p.read_text() for p in out.iterdir()})


def test_read_only_index_directory_is_a_clear_error(tmp_path: Path, built) -> None:
    shutil.copytree(built.index_dir, tmp_path / "disk" / "index")
    res = _in_namespace(tmp_path, built, mount='--bind -o ro "$T"', copy="true")
    assert res["build.rc"].strip() == "1", res["build.txt"]
    assert "Cannot write the index" in res["build.txt"] and "read-only" in res["build.txt"]
    assert "Traceback" not in res["build.txt"]
    assert res["ask.rc"].strip() == "0", res["ask.txt"]  # reading a read-only index works


@pytest.mark.parametrize(
    ("room_kb", "change", "why"),
    [(8, grow_texts, "the embedding cache cannot be written"), (40, relabel, "no space left on the device")],
    ids=["full while embedding", "full while writing the version"],
)
def test_full_disk_is_a_clear_error_and_the_previous_index_stays(
    tmp_path: Path, built, room_kb: int, change, why: str
) -> None:
    # tmpfs counts whole pages: room for a copy of the index and `room_kb` more, not for a second version
    used_kb = sum(4 * -(-p.stat().st_size // 4096) for p in built.index_dir.rglob("*") if p.is_file())
    res = _in_namespace(
        tmp_path,
        built,
        mount=f"-t tmpfs -o size={used_kb + room_kb}k tmpfs",
        copy='cp -a "$SRC" "$T/index"',
        change=change,
    )
    assert res["build.rc"].strip() == "1", res["build.txt"]
    assert "Cannot write the index" in res["build.txt"] and why in res["build.txt"], res["build.txt"]
    assert "Traceback" not in res["build.txt"]
    assert res["ask.rc"].strip() == "0", res["ask.txt"]  # the previous version still answers
    assert not [n for n in res["ls.txt"].split() if n.startswith(".tmp-")]  # no half-written version


def test_permission_denied_is_a_storage_error() -> None:
    import errno

    from interp_rag.store.integrity import storage_error

    err = storage_error(Path("/x"), PermissionError(errno.EACCES, "Permission denied"))
    assert isinstance(err, StorageError) and "permission denied" in str(err)
    assert storage_error(Path("/x"), OSError(errno.EIO, "I/O")) is None  # not ours to reword


def test_numpys_full_disk_error_is_a_storage_error(built, tmp_path: Path, monkeypatch) -> None:
    """np.save (the question vectors, bm25s's arrays) says a disk is full with an OSError that has no
    errno: a real `add` on a full disk printed its traceback."""
    import numpy as np

    def full(*args, **kwargs):
        raise OSError("Not enough free space to write 18602496 bytes after offset 128")

    monkeypatch.setattr(np, "save", full)
    before = version(built)
    r = cli("build", "--full")
    assert r.exit_code == 1 and "no space left on the device" in flat(r) and "previous index" in flat(r)
    assert version(built) == before and not list(built.index_dir.glob(".tmp-*"))
