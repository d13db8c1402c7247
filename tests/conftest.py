"""Shared fixtures. Everything runs offline; servers bind to 127.0.0.1 only.

The real-corpus index is built once per session from the mirror (INTERP_RAG_TEST_MIRROR, default
../shared/corpus). Set INTERP_RAG_TEST_EMBED_CACHE to an existing embeddings.sqlite to seed the cache and
skip re-encoding unchanged text locally; CI builds from scratch.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from interp_rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("INTERP_RAG_TEST_MIRROR") or ROOT.parent / "shared" / "corpus")
ARTIFACTS = ROOT / "test-artifacts"


def pytest_configure(config: pytest.Config) -> None:
    ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "manifest.jsonl").is_file():
        pytest.fail(f"The real corpus mirror is missing at {MIRROR} (set INTERP_RAG_TEST_MIRROR).")
    return MIRROR


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python process: this checkout's source first (not another install)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **extra}


def make_settings(root: Path, **kw: object) -> Settings:
    base = {
        "index_dir": root / "index",
        "sources_file": root / "sources.toml",
        "cache_dir": root / "cache",
        "expansions_dir": None,
        "stance_labels_dir": None,
    }
    return Settings(**{**base, **kw})


@pytest.fixture(scope="session")
def real_index_settings(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Settings:
    """Settings of an index of the real 61-piece corpus, built once for the whole session."""
    from interp_rag.store.build import build_index

    root = tmp_path_factory.mktemp("real")
    shutil.copy(ROOT / "corpus" / "sources.toml", root / "sources.toml")
    seed = os.environ.get("INTERP_RAG_TEST_EMBED_CACHE")
    if seed and Path(seed).is_file():
        (root / "index").mkdir()
        shutil.copy(seed, root / "index" / "embeddings.sqlite")
    settings = make_settings(
        root,
        mirror=mirror,
        expansions_dir=ROOT / "corpus" / "expansions",
        stance_labels_dir=ROOT / "corpus" / "stance",
    )
    report = build_index(settings=settings)
    assert not report.sources_failed, report.sources_failed
    return settings


@pytest.fixture(scope="session")
def real_index(real_index_settings: Settings):
    from interp_rag.store.index import load_index

    return load_index(settings=real_index_settings)


MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture(scope="session")
def mini_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An index of the small test corpus (our own writing), built once per session; do not modify it."""
    from interp_rag.store.build import build_index

    root = tmp_path_factory.mktemp("mini")
    shutil.copytree(MINI, root / "mirror")
    shutil.copy(MINI / "sources.toml", root / "sources.toml")
    settings = make_settings(root, mirror=root / "mirror")
    build_index(settings=settings)
    return settings


@pytest.fixture
def built(tmp_path: Path, mini_settings: Settings) -> Settings:
    """A private copy of the session's mini index with its mirror and source list."""
    shutil.copytree(mini_settings.mirror, tmp_path / "mirror")
    shutil.copy(mini_settings.sources_file, tmp_path / "sources.toml")
    shutil.copytree(mini_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".build.lock"))
    return make_settings(tmp_path, mirror=tmp_path / "mirror")


@pytest.fixture(scope="session")
def mini_index(mini_settings: Settings):
    from interp_rag.store.index import load_index

    return load_index(settings=mini_settings)
