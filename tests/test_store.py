"""The store: the source list's validation, one build at a time (a real second process holds the lock),
and the process cache reloading an index that another process rebuilt."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from interp_rag.errors import ConfigError, InterpRagError
from interp_rag.ingest.sources import load_sources
from interp_rag.settings import Settings
from interp_rag.store.build import build_index, build_lock
from interp_rag.store.index import get_index

from .conftest import MINI, make_settings

ENTRY = """
[[source]]
id = "{id}"
title = "A title"
url = "https://example.org/{id}"
stance = "{stance}"
"""


def write_list(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_source_list_is_read(tmp_path: Path) -> None:
    path = write_list(tmp_path, ENTRY.format(id="a", stance="mixed") + ENTRY.format(id="b", stance="neutral"))
    assert [(s.id, s.stance) for s in load_sources(path)] == [("a", "mixed"), ("b", "neutral")]


def test_a_source_whose_stance_nobody_stated_is_unknown_not_neutral(tmp_path: Path) -> None:
    # "neutral" is a claim about the document (and pulls its passages' stance towards neutral); a list
    # entry without a stance, or one added without --stance, makes none
    bare = '[[source]]\nid = "c"\ntitle = "A title"\nurl = "https://example.org/c"\n'
    path = write_list(tmp_path, ENTRY.format(id="a", stance="unknown") + bare)
    assert [(s.id, s.stance) for s in load_sources(path)] == [("a", "unknown"), ("c", "unknown")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY.format(id="a", stance="neutral") * 2, r"id 'a' appears twice; ids must be unique"),
        (
            ENTRY.format(id="a", stance="sceptical"),
            r"entry #1 \(a\): stance 'sceptical' is not one of .*mixed, neutral, unknown",
        ),
        ('[[source]]\nid = "a"\ntitle = "unterminated\n', r"sources.toml is not valid TOML"),
        (ENTRY.format(id="A b", stance="neutral"), r"id 'A b' must be lowercase letters, digits"),
        (
            '[[source]]\nid = "a"\ntitle = "t"\nurl = "u"\ncolour = "red"\n',
            r"entry #1 has an unknown or missing",
        ),
    ],
)
def test_bad_source_lists_are_config_errors_naming_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sources(write_list(tmp_path, text))


def test_a_missing_source_list_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="interp-rag add"):
        load_sources(tmp_path / "nowhere.toml")


HOLD_LOCK = """
import sys
from pathlib import Path
from interp_rag.store.build import build_lock
with build_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the test closes our stdin
"""


def test_a_second_build_is_refused_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mirror=tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(settings.index_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(InterpRagError, match="Another build is running on .*wait for it to finish"):
            build_index(settings=settings)
        with pytest.raises(InterpRagError, match="Another build is running"), build_lock(settings.index_dir):
            pass
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0
    with build_lock(settings.index_dir):  # released when the holder exits
        pass


REBUILD = """
import sys
from pathlib import Path
from interp_rag.settings import Settings
from interp_rag.store.build import build_index
root = Path(sys.argv[1])
settings = Settings(index_dir=root / "index", sources_file=root / "sources.toml", cache_dir=root / "cache",
                    mirror=root / "mirror", expansions_dir=None)
print(build_index(settings=settings).chunks_total)
"""


def test_get_index_reloads_after_another_process_swapped_the_version(
    tmp_path: Path, mini_settings: Settings
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(MINI, root / "mirror")
    shutil.copy(MINI / "sources.toml", root / "sources.toml")
    shutil.copytree(mini_settings.index_dir, root / "index")  # the built mini index and its vectors
    settings = make_settings(root, mirror=root / "mirror")
    first = get_index(settings)
    assert get_index(settings) is first  # loaded once per process
    (root / "mirror" / "saliency-notes.md").write_text(
        "# Saliency notes\n\nA new paragraph, written for this test, about what saliency maps show.\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(REBUILD), str(root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    second = get_index(settings)
    assert second is not first and second.path != first.path
    assert len(second.chunks) == int(out.stdout.strip().splitlines()[-1])
    saliency = [c.text for c in second.chunks if c.source_id == "saliency-notes"]
    assert saliency and "written for this test" in saliency[0]
    assert get_index(settings) is second
