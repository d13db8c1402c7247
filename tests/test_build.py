"""Building the index: incremental updates, failures, stale-index refusal, atomic swaps (kill -9)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interp_rag.errors import IndexMissingError, SourceError, StaleIndexError
from interp_rag.ingest.chunk import embed_input
from interp_rag.store.build import add_source, build_index
from interp_rag.store.format import current_dir, read_chunks
from interp_rag.store.index import load_index
from interp_rag.text import clean_for_embedding
from tests.conftest import ROOT, make_settings, subprocess_env

MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture
def mini(tmp_path: Path):
    """A copy of the small test corpus (our own text) with its source list, and settings pointing at it."""
    corpus = tmp_path / "mirror"
    shutil.copytree(MINI, corpus)
    shutil.copy(corpus / "sources.toml", tmp_path / "sources.toml")
    return make_settings(tmp_path, mirror=corpus)


def test_build_then_load(mini) -> None:
    report = build_index(settings=mini)
    assert report.changed and not report.sources_failed
    assert report.sources_ok == ["probes-optimist", "probes-skeptic", "saliency-notes"]
    assert report.chunks_total == report.chunks_embedded > 3
    index = load_index(settings=mini)
    assert len(index) == report.chunks_total
    for c in index.chunks:
        assert c.id == f"{c.source_id}:{c.n}"
        assert c.stance in ("enthusiastic", "skeptical", "neutral") and 0.33 <= c.stance_confidence <= 1
    meta = index.meta
    for key in ("model", "dims", "chunking", "format_version", "corpus_hash", "sources", "built_at"):
        assert key in meta
    assert meta["dims"] == 384 and meta["chunking"]["chunk_tokens"] == mini.chunk_tokens
    assert set(meta["sources"]) == set(report.sources_ok)


def test_offsets_and_headings_point_into_the_text(mini) -> None:
    build_index(settings=mini)
    index = load_index(settings=mini)
    texts = {p.stem: p.read_text() for p in mini.mirror.glob("*.md")}
    for c in index.chunks:
        assert texts[c.source_id][c.start : c.end] == c.text
    skeptic = [c for c in index.chunks if c.source_id == "probes-skeptic"]
    assert any(c.headings[-1:] == ["Causal checks often fail"] for c in skeptic)
    assert all(c.headings[0] == "Probes Tell You Less Than You Think" for c in skeptic)


def test_noop_rebuild_embeds_nothing_and_keeps_the_version(mini) -> None:
    build_index(settings=mini)
    version = current_dir(mini.index_dir)
    report = build_index(settings=mini)
    assert not report.changed and report.chunks_embedded == 0
    assert current_dir(mini.index_dir) == version


def test_incremental_rebuild_embeds_exactly_the_changed_source(mini) -> None:
    build_index(settings=mini)
    before = {c.id: c.hash for c in load_index(settings=mini).chunks}
    doc = mini.mirror / "probes-skeptic.md"
    doc.write_text(
        doc.read_text() + "\n## A late addendum\n\nA new paragraph written after the first build "
        "changes this source, and only this source, so only its new text is embedded.\n"
    )
    report = build_index(settings=mini)
    after = load_index(settings=mini).chunks
    changed_hashes = {c.hash for c in after if c.source_id == "probes-skeptic"} - set(before.values())
    assert report.changed
    assert report.chunks_embedded == len(changed_hashes) > 0
    # the untouched sources kept their chunks: same ids, same text hashes
    for c in after:
        if c.source_id != "probes-skeptic":
            assert before[c.id] == c.hash


def test_a_source_whose_stance_is_corrected_is_relabelled_without_embedding(mini) -> None:
    # A source added before "unknown" existed was recorded as neutral; its stance is corrected by editing
    # the list. The next build reads its passages with the new prior, and embeds nothing (same text).
    from interp_rag.ingest.label import classify_vectors

    build_index(settings=mini)
    listing = mini.sources_file.read_text()
    mini.sources_file.write_text(listing.replace('stance = "skeptical"', 'stance = "unknown"', 1))
    report = build_index(settings=mini)
    assert report.changed and report.chunks_embedded == 0
    index = load_index(settings=mini)
    assert index.sources["probes-skeptic"].stance == "unknown"
    pos = [i for i, c in enumerate(index.chunks) if c.source_id == "probes-skeptic"]
    got = [(index.chunks[i].stance, index.chunks[i].stance_confidence) for i in pos]
    texts = [clean_for_embedding(index.chunks[i].text) for i in pos]
    read = [embed_input(t, index.sources["probes-skeptic"].title) for t in texts]
    labels, conf = classify_vectors(index.vectors[pos], texts, [None] * len(pos), read=read)
    assert got == list(zip(labels, conf, strict=True))
    before = classify_vectors(index.vectors[pos], texts, ["skeptical"] * len(pos), read=read)
    assert got != list(zip(*before, strict=True))  # what the chunks held before the edit


def test_chunk_ids_are_stable_across_full_rebuilds(mini) -> None:
    build_index(settings=mini)
    first = [(c.id, c.hash, c.start, c.end) for c in load_index(settings=mini).chunks]
    report = build_index(settings=mini, full=True)
    assert report.changed and report.chunks_embedded == 0  # full re-chunks, vectors come from the cache
    assert [(c.id, c.hash, c.start, c.end) for c in load_index(settings=mini).chunks] == first


def test_removed_source_is_dropped(mini) -> None:
    build_index(settings=mini)
    text = mini.sources_file.read_text()
    head, _, _rest = text.partition('[[source]]\nid = "saliency-notes"')
    mini.sources_file.write_text(head)
    report = build_index(settings=mini)
    assert report.sources_removed == ["saliency-notes"]
    assert {c.source_id for c in load_index(settings=mini).chunks} == {"probes-optimist", "probes-skeptic"}


def test_unreadable_source_is_reported_and_the_build_goes_on(mini) -> None:
    with mini.sources_file.open("a") as f:
        f.write(
            '\n[[source]]\nid = "nowhere"\ntitle = "Nowhere"\nurl = "http://127.0.0.1:9/nothing"\n'
            'file = "nowhere.md"\n'
        )
    report = build_index(settings=mini)
    assert "nowhere" in report.sources_failed
    assert "could not fetch" in report.sources_failed["nowhere"]
    assert len(report.sources_ok) == 3
    assert {c.source_id for c in load_index(settings=mini).chunks} == set(report.sources_ok)


def test_source_that_fails_later_keeps_its_indexed_text(mini) -> None:
    build_index(settings=mini)
    n_before = sum(c.source_id == "saliency-notes" for c in load_index(settings=mini).chunks)
    (mini.mirror / "saliency-notes.md").unlink()  # and its URL (example.org) is unreachable offline
    report = build_index(settings=mini)
    assert "kept the previously indexed text" in report.sources_failed["saliency-notes"]
    assert sum(c.source_id == "saliency-notes" for c in load_index(settings=mini).chunks) == n_before


def test_missing_index_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="interp-rag build"):
        load_index(settings=make_settings(tmp_path))


def test_stale_index_is_refused_with_the_fix(mini) -> None:
    build_index(settings=mini)
    other = mini.model_copy(update={"chunk_tokens": mini.chunk_tokens - 40})
    with pytest.raises(StaleIndexError, match="chunk_tokens.*interp-rag build"):
        load_index(settings=other)
    # and `interp-rag build` does fix it
    build_index(settings=other)
    assert load_index(settings=other).meta["chunking"]["chunk_tokens"] == mini.chunk_tokens - 40


def test_older_format_is_refused(mini) -> None:
    build_index(settings=mini)
    meta_path = current_dir(mini.index_dir) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(StaleIndexError, match="format version 0.*interp-rag build"):
        load_index(settings=mini)


def test_add_local_file_embeds_only_its_chunks(mini, tmp_path: Path) -> None:
    build_index(settings=mini)
    new = tmp_path / "sae-note.md"
    new.write_text(
        "# A Note on Sparse Autoencoders\n\nSparse autoencoders decompose activations into many "
        "features, most of which fire rarely. Whether those features are the model's own units of "
        "computation is still argued about.\n"
    )
    report = add_source(str(new), stance="mixed", year=2025, settings=mini)
    index = load_index(settings=mini)
    added = [c for c in index.chunks if c.source_id == "a-note-on-sparse-autoencoders"]
    assert added and report.chunks_embedded == len({c.hash for c in added})
    src = index.sources["a-note-on-sparse-autoencoders"]
    assert src.title == "A Note on Sparse Autoencoders" and src.url == new.resolve().as_uri()
    assert 'id = "a-note-on-sparse-autoencoders"' in mini.sources_file.read_text()


def test_add_bad_location_changes_nothing(mini, tmp_path: Path) -> None:
    from tests.support.http import serve

    build_index(settings=mini)
    listing = mini.sources_file.read_text()
    version = current_dir(mini.index_dir)
    with pytest.raises(SourceError, match="neither an http"):
        add_source(str(tmp_path / "does-not-exist.pdf"), settings=mini)
    with serve({}) as base, pytest.raises(SourceError, match="HTTP 404"):
        add_source(f"{base}/missing-page", settings=mini)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    with pytest.raises(SourceError, match="PDF"):
        add_source(str(broken), settings=mini)
    with pytest.raises(SourceError, match="already exists"):
        add_source(str(MINI / "saliency-notes.md"), id="probes-skeptic", settings=mini)
    assert mini.sources_file.read_text() == listing
    assert current_dir(mini.index_dir) == version


KILL_SCRIPT = """
import sys
from pathlib import Path
from interp_rag.store.build import build_index
from tests.conftest import make_settings
build_index(settings=make_settings(Path(sys.argv[1]), mirror=Path(sys.argv[2])), full=True)
"""


@pytest.mark.parametrize("when", ["resolve", "embed", "write"])
def test_build_killed_at_any_point_leaves_the_previous_index(mini, when: str) -> None:
    build_index(settings=mini)
    before = load_index(settings=mini)
    before_chunks = [c.to_dict() for c in before.chunks]
    # New text to embed, so the killed build has real work in every stage.
    for p in mini.mirror.glob("*.md"):
        p.write_text(p.read_text() + f"\n\nAn extra closing paragraph about {p.stem} to re-embed.\n")
    env = subprocess_env()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(mini.index_dir.parent), str(mini.mirror)], env=env, cwd=ROOT
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            debris = list(mini.index_dir.glob(".tmp-*"))
            if when == "resolve" and time.time() > deadline - 119.5:
                break
            if when == "embed" and (mini.index_dir / "embeddings.sqlite-wal").exists():
                break
            if when == "write" and debris:
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the build finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    after = load_index(settings=mini)
    assert after.path == before.path
    assert [c.to_dict() for c in after.chunks] == before_chunks
    assert after.dense.ntotal == before.dense.ntotal
    # and the next build cleans up and succeeds
    report = build_index(settings=mini)
    assert report.changed and not list(mini.index_dir.glob(".tmp-*"))
    assert len(read_chunks(current_dir(mini.index_dir))) == report.chunks_total


def _expansion_line(text: str, passage: str, questions: list[str]) -> str:
    import hashlib

    start = text.index(passage)
    sha = hashlib.sha1(passage.encode()).hexdigest()[:12]
    return json.dumps({"start": start, "end": start + len(passage), "sha": sha, "q": questions}) + "\n"


def test_question_expansions_attach_to_chunks_and_lift_retrieval(mini, tmp_path: Path) -> None:
    from interp_rag.retrieval.retrieve import retrieve

    exp_dir = tmp_path / "expansions"
    exp_dir.mkdir()
    settings = mini.model_copy(update={"expansions_dir": exp_dir})
    text = (mini.mirror / "saliency-notes.md").read_text()
    passage = (
        "Integrated gradients accumulate gradients along a straight path from a baseline input to the\n"
        "actual input"
    )
    q = "Which attribution method sums the gradients between a reference point and the real example?"
    (exp_dir / "saliency-notes.jsonl").write_text(
        _expansion_line(text, passage, [q])
        + json.dumps({"start": 0, "end": 10, "sha": "000000000000", "q": ["a stale span is ignored?"]})
        + "\n"
        + "not json\n"
    )
    report = build_index(settings=settings)
    index = load_index(settings=settings)
    holders = [c for c in index.chunks if q in c.questions]
    assert len(holders) == 1 and passage in holders[0].text
    assert not any("a stale span is ignored?" in c.questions for c in index.chunks)
    assert (
        index.q_vectors is not None
        and len(index.q_vectors) == 1
        and index.q_owner[0] == index.by_id[holders[0].id]
    )
    assert retrieve(index, q, k=1).passages[0].chunk_id == holders[0].id
    # editing the expansions of one source rebuilds that source only
    before = report.chunks_total
    (exp_dir / "saliency-notes.jsonl").write_text(_expansion_line(text, passage, [q, "Is SmoothGrad noisy?"]))
    report = build_index(settings=settings)
    assert report.changed and report.chunks_embedded == 0 and report.chunks_total == before
    assert len(load_index(settings=settings).q_vectors) == 2


def test_approximate_index_above_the_threshold(mini) -> None:
    from interp_rag.retrieval.retrieve import retrieve

    build_index(settings=mini)
    exact = load_index(settings=mini)
    approx_settings = mini.model_copy(
        update={"approx_threshold": 1, "index_dir": mini.index_dir.parent / "ivf"}
    )
    build_index(settings=approx_settings)
    approx = load_index(settings=approx_settings)
    assert "IVF" in approx.meta["dense_index"] and "exact" in exact.meta["dense_index"]
    assert approx.dense.ntotal == exact.dense.ntotal
    for q in ("Are probes cheap?", "What is integrated gradients?"):
        assert retrieve(approx, q, k=3).passages[0].chunk_id == retrieve(exact, q, k=3).passages[0].chunk_id
        # filters go through the approximate index's id selector
        r = retrieve(approx, q, k=3, sources=["probes-skeptic"])
        assert r.passages and {p.source_id for p in r.passages} == {"probes-skeptic"}


def test_an_up_to_date_build_clears_what_a_killed_build_left(mini) -> None:
    """A killed build's half-written version (~40 MB for the shipped corpus) went only at the next build
    that changed something; a build with nothing to do clears it too, and never the current version."""
    build_index(settings=mini)
    current = current_dir(mini.index_dir)
    debris = mini.index_dir / ".tmp-v-19700101T000000-killed"
    (debris / "bm25").mkdir(parents=True)
    (debris / "chunks.jsonl").write_text("{}\n")
    old = mini.index_dir / "v-19700101T000000-old"
    old.mkdir()
    (old / "meta.json").write_text("{}")
    report = build_index(settings=mini)
    assert not report.changed
    assert not debris.exists() and not old.exists()
    assert current_dir(mini.index_dir) == current and len(load_index(settings=mini)) == report.chunks_total
