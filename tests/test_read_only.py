"""An index directory its user may not write to (chmod -w, a copy shared read-only): what reads the index
works, what would write it says so in one sentence naming what to do, and nothing is lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, subprocess_env
from tests.support.readonly import obeying_modes, write_protected


def run(settings, *args: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    env = subprocess_env(
        INTERP_RAG_INDEX_DIR=str(settings.index_dir),
        INTERP_RAG_SOURCES_FILE=str(settings.sources_file),
        INTERP_RAG_CACHE_DIR=str(settings.cache_dir),
        INTERP_RAG_EXPANSIONS_DIR="",
        INTERP_RAG_STANCE_LABELS_DIR="",
    )
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "interp_rag.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def flat(r: subprocess.CompletedProcess) -> str:
    return " ".join((r.stdout + r.stderr).split())


def test_a_read_only_index_answers_lists_its_history_and_names_what_it_cannot_write(
    built, tmp_path: Path
) -> None:
    """`interp-rag history` in a read-only index directory ended in sqlite's traceback ("attempt to write
    a readonly database"), as did `history --clear`; `add` told a user without write permission to free
    space."""
    prefix = obeying_modes()
    first = run(built, "ask", "Are linear probes useful?")  # while it may write: the question is kept
    assert first.returncode == 0, first.stderr
    note = tmp_path / "note.md"
    note.write_text("# Probing Notes\n\nA probe is a small classifier read off one layer's activations.\n")
    before = built.sources_file.read_bytes()
    with write_protected(built.index_dir):
        asked = run(built, "ask", "Do probes find features?", prefix=prefix)
        listed = run(built, "history", prefix=prefix)
        cleared = run(built, "history", "--clear", "--yes", prefix=prefix)
        added = run(built, "add", str(note), prefix=prefix)
    assert asked.returncode == 0 and "[1]" in asked.stdout
    assert "Question not kept in history" in flat(asked)
    assert "make the index directory writable" in flat(asked)
    assert listed.returncode == 0 and "Are linear probes useful?" in listed.stdout, flat(listed)
    assert cleared.returncode == 1 and "Traceback" not in cleared.stderr, flat(cleared)
    assert "cannot be written" in flat(cleared) and "INTERP_RAG_HISTORY=false" in flat(cleared)
    assert added.returncode == 1 and "Traceback" not in flat(added)
    assert "permission denied. Make it writable or choose a writable place" in flat(added)
    assert built.sources_file.read_bytes() == before
    assert "Are linear probes useful?" in run(built, "history").stdout  # nothing was lost
