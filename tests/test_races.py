"""What happens at the same time or gets cut short: an `add` stopped after its index is published, a
`remove` while another build holds the lock, a reader loading the index while a build swaps it. Each
time the source list and the index must still agree, and nothing anyone added may be lost."""

from __future__ import annotations

import errno
import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from interp_rag.errors import InterpRagError
from interp_rag.ingest.sources import load_sources
from interp_rag.settings import Settings
from interp_rag.store import add as add_module
from interp_rag.store import publish
from interp_rag.store.build import add_source, build_index
from interp_rag.store.format import current_dir
from interp_rag.store.index import load_index
from tests.conftest import make_settings


def listed(settings: Settings) -> set[str]:
    return {s.id for s in load_sources(settings.sources_file)}


def cli_script(settings: Settings, script: str, *args: str) -> Any:
    """A Python process running `script` (which patches a stage slow, then calls the CLI) on `settings`'
    index and source list, its output (stdout and stderr together) readable line by line."""
    import subprocess
    import sys

    from tests.conftest import ROOT, subprocess_env

    env = subprocess_env(
        INTERP_RAG_INDEX_DIR=str(settings.index_dir),
        INTERP_RAG_SOURCES_FILE=str(settings.sources_file),
        INTERP_RAG_CACHE_DIR=str(settings.cache_dir),
        INTERP_RAG_EXPANSIONS_DIR="",
    )
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def indexed(settings: Settings) -> set[str]:
    return set(load_index(settings=settings).sources)


def note(tmp_path: Path) -> Path:
    doc = tmp_path / "note.md"
    doc.write_text("# A Note on Probes\n\nA linear probe reads a concept from a layer's activations.\n")
    return doc


def stopped_pruning(index_dir: Path) -> None:
    """Ctrl-C (or the SIGTERM the CLI turns into one) while old versions are deleted: one is half gone."""
    old = next(p for p in index_dir.glob("v-*") if p != current_dir(index_dir))
    (old / "chunks.jsonl").unlink()
    raise KeyboardInterrupt


@contextmanager
def not_raised_on() -> Iterator[None]:
    """A KeyboardInterrupt that gets out is a failure of this test, not the end of the test run."""
    try:
        yield
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C that stopped the pruning was raised on, as if the command had failed")


def old_versions(settings: Settings) -> list[Path]:
    return [p for p in settings.index_dir.glob("v-*") if p != current_dir(settings.index_dir)]


def test_ctrl_c_while_old_versions_are_pruned_stops_the_pruning_not_the_add(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the old versions are deleted came after the index and the source list were written,
    yet it was raised on: `add` printed "Aborted!" over a source it had added."""
    monkeypatch.setattr(publish, "prune", stopped_pruning)
    with not_raised_on():
        report = add_source(str(note(tmp_path)), settings=built)
    assert "a-note-on-probes" in report.sources_ok
    assert "a-note-on-probes" in indexed(built) and indexed(built) == listed(built)
    assert any(w.startswith("Stopped while old index versions were being deleted") for w in report.warnings)
    assert old_versions(built)
    monkeypatch.undo()
    again = build_index(settings=built)  # the next build deletes what the stopped one left
    assert not old_versions(built) and not again.warnings


def test_ctrl_c_while_old_versions_are_pruned_keeps_a_remove_done(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same stop during `remove` put the source list back after the index had lost the source: the
    list named a source the index did not have, and the next build brought it back."""
    from interp_rag.store.catalogue import remove_source

    monkeypatch.setattr(publish, "prune", stopped_pruning)
    with not_raised_on():
        report = remove_source("saliency-notes", settings=built)
    assert report.sources_removed == ["saliency-notes"]
    assert "saliency-notes" not in listed(built) and indexed(built) == listed(built)


def test_a_source_list_that_cannot_be_written_puts_the_previous_index_back(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = current_dir(built.index_dir)

    def full_disk(path: Path, src: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(add_module, "append_source", full_disk)
    with pytest.raises(InterpRagError, match="no space left"):
        add_source(str(note(tmp_path)), settings=built)
    assert current_dir(built.index_dir) == before
    assert indexed(built) == listed(built)
    monkeypatch.undo()
    add_source(str(note(tmp_path)), settings=built)  # the retry adds it
    assert "a-note-on-probes" in indexed(built) and "a-note-on-probes" in listed(built)


def test_remove_while_another_build_holds_the_lock_never_touches_the_list(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`remove` edited sources.toml before it asked for the lock, and put back the list it had read when
    refused: an `add` holding the lock that listed its source in between lost it."""
    from interp_rag.store import catalogue as library

    writes: list[Path] = []
    real_write = library.atomic_write
    monkeypatch.setattr(library, "atomic_write", lambda p, t: (writes.append(p), real_write(p, t)))
    before = built.sources_file.read_bytes()
    with (built.index_dir / ".build.lock").open("w") as held:  # another build (flock is per open file)
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(InterpRagError, match="Another build is running"):
            library.remove_source("saliency-notes", settings=built)
    assert writes == [] and built.sources_file.read_bytes() == before
    library.remove_source("saliency-notes", settings=built)  # the lock is reentrant for its own build
    assert "saliency-notes" not in listed(built) and indexed(built) == listed(built)


def test_a_reader_whose_version_is_swapped_and_pruned_mid_load_reads_the_new_one(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ask` (or the served app reloading) while an add published: the version it was reading was
    pruned under it, and it said the index was damaged and to run `build --full`."""
    from interp_rag.store import index as index_module

    real_read = index_module.read_chunks

    def swapped_while_read(version: Path) -> list:
        chunks = real_read(version)
        if version.name != "v-new":  # a build publishes a new version and prunes this one
            shutil.copytree(version, built.index_dir / "v-new")
            (built.index_dir / "CURRENT").write_text("v-new\n")
            shutil.rmtree(version)
        return chunks

    monkeypatch.setattr(index_module, "read_chunks", swapped_while_read)
    index = load_index(settings=built)
    assert index.path.name == "v-new" and len(index.chunks) == index.meta["chunks"]


def test_remove_finishes_a_remove_that_was_killed_before_its_build(built) -> None:
    """kill -9 (or a closed terminal) during `remove`'s build left the list without the source and the
    index with it; `remove` again said there was no such source while `stats` listed it."""
    from interp_rag.store.catalogue import _without, remove_source

    text = built.sources_file.read_text(encoding="utf-8")
    built.sources_file.write_text(_without(text, "saliency-notes"), encoding="utf-8")  # where it was killed
    assert "saliency-notes" in indexed(built) and "saliency-notes" not in listed(built)
    remove_source("saliency-notes", settings=built)
    assert "saliency-notes" not in indexed(built) and indexed(built) == listed(built)
    with pytest.raises(InterpRagError, match="No source 'saliency-notes'"):
        remove_source("saliency-notes", settings=built)


def test_an_embedding_cache_another_process_holds_is_one_sentence_and_changes_nothing(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script holding a write lock on embeddings.sqlite made `add` print sqlite's traceback ('database is
    locked') after 5 s."""
    import sqlite3

    from interp_rag.ingest import embed

    monkeypatch.setattr(embed, "LOCK_WAIT_S", 0.2, raising=False)
    holder = sqlite3.connect(built.index_dir / "embeddings.sqlite", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(InterpRagError, match="locked by another process.*run the command again"):
            add_source(str(note(tmp_path)), settings=built)
    finally:
        holder.close()
    assert "a-note-on-probes" not in listed(built) and indexed(built) == listed(built)


def test_two_uploads_of_one_name_at_once_are_kept_as_two_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The served app adds up to web.concurrency sources at once: two uploads named notes.md both chose
    uploads/notes.md (checked, then copied), one overwrote the other (a race lost about 3 times in 10)."""
    import threading

    from interp_rag.types import BuildReport
    from interp_rag.web import library as web_library

    read: list[tuple[str, str]] = []

    def fake_add(location: str, **kw: object) -> BuildReport:
        read.append((location, Path(location).read_text()))
        return BuildReport(index_dir="")

    monkeypatch.setattr(web_library, "add_source", fake_add)
    monkeypatch.setattr(web_library, "added", lambda settings, location: None)
    for trial in range(50):
        root = tmp_path / str(trial)
        settings = make_settings(root)
        uploads = []
        for who in "AB":
            (root / who).mkdir(parents=True)
            uploads.append(root / who / "notes.md")
            uploads[-1].write_text(f"Notes written by {who}. " * 2000)
        start = threading.Barrier(2)

        def add(upload: Path, settings: Settings = settings, start: threading.Barrier = start) -> None:
            start.wait()
            web_library.add_upload(None, str(upload), "", "", settings=settings)

        threads = [threading.Thread(target=add, args=(u,)) for u in uploads]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mine = read[-2:]
        assert len({loc for loc, _ in mine}) == 2, f"trial {trial}: both adds read {mine[0][0]}"
        assert {text[:18] for _, text in mine} == {"Notes written by A", "Notes written by B"}


# The signals' default handling first, as a command started from a terminal has it: a test run under nohup
# (or a CI runner that ignores SIGHUP) passes SIGHUP on ignored, and the CLI rightly leaves an ignored
# signal ignored.
REMOVE_STOPPED_IN_ITS_BUILD = """
import signal, sys, time
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
from interp_rag.store import catalogue as library
def slow_build(settings, on_progress=None):
    print("building", flush=True)
    time.sleep(120)
library.rebuild_without = slow_build
from interp_rag.cli import main
main(["remove", "saliency-notes"])
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_kill_or_a_closed_terminal_stops_remove_as_ctrl_c_does(built, sig: str) -> None:
    """`kill PID` (or closing the terminal) during remove's build ended the process on the spot: the list
    had lost the source, the index still had it."""
    import signal

    before = built.sources_file.read_bytes()
    proc = cli_script(built, REMOVE_STOPPED_IN_ITS_BUILD)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "building"
        assert built.sources_file.read_bytes() != before  # the list is without the source now
        proc.send_signal(getattr(signal, sig))
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert built.sources_file.read_bytes() == before and indexed(built) == listed(built)


ADD_STOPPED_WHILE_PRUNING = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from interp_rag.store import publish
def slow_prune(index_dir):
    print("pruning", flush=True)
    time.sleep(120)
publish.prune = slow_prune
from interp_rag.cli import main
main(["add", sys.argv[1]])
"""


def test_ctrl_c_while_add_prunes_says_the_source_was_added_and_exits_0(built, tmp_path: Path) -> None:
    """It printed "Aborted!" (exit status 130) over an add that had finished."""
    import signal

    proc = cli_script(built, ADD_STOPPED_WHILE_PRUNING, str(note(tmp_path)))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "pruning"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Aborted" not in output and "ok      a-note-on-probes" in output
    assert "the next `interp-rag build`, `add` or `remove` deletes it" in " ".join(output.split())
    assert "a-note-on-probes" in listed(built) and indexed(built) == listed(built)


def test_a_second_add_is_refused_before_it_reads_anything(built) -> None:
    """While another build holds the lock, an add is refused at once: it read its whole document first (a
    long PDF took minutes) and was refused only when it came to build."""
    from interp_rag.store.library import add_sources
    from tests.support.http import Route, serve
    from tests.support.locks import lock_held_elsewhere

    hits: list[str] = []
    page = Route(body=b"# Probes\n\nA linear probe reads a concept from a layer's activations.\n")
    routes = {f"/{name}.md": page for name in ("one", "two", "three")}
    with serve(routes, hits) as base, lock_held_elsewhere(built.index_dir):
        with pytest.raises(InterpRagError, match="Another build is running"):
            add_source(f"{base}/one.md", settings=built)
        with pytest.raises(InterpRagError, match="Another build is running"):
            add_sources([f"{base}/two.md", f"{base}/three.md"], settings=built)
    assert hits == []
    assert listed(built) == indexed(built) and not {"probes"} & listed(built)
