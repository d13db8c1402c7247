"""`add`: atomic (the source list and the index change together or not at all, whatever stops it), reads
only the new source, refuses binaries and oversized files, stops on Ctrl-C, shows progress. Real
processes for the lock, kill -9 and SIGINT; a real local HTTP server that counts requests."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from interp_rag.errors import InterpRagError, SourceError
from interp_rag.settings import Settings
from interp_rag.store.build import add_source, build_index
from interp_rag.store.index import load_index
from tests.conftest import ROOT, make_settings, subprocess_env
from tests.support.http import Route, serve
from tests.support.labels import hand_label, write_labels


def snapshot(settings: Settings) -> dict[str, str]:
    """sha256 of the source list and of every file of the index but the embedding cache (a cache may
    gain vectors from an interrupted build: that is its purpose) and the lock file."""
    files = [settings.sources_file] + [
        p
        for p in settings.index_dir.rglob("*")
        if p.is_file() and not p.name.startswith(("embeddings.sqlite", ".build.lock"))
    ]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def long_document(paragraphs: int = 400) -> str:
    """Our own synthetic notebook, long enough that embedding it takes several seconds."""
    rng = random.Random(7)
    words = [
        "probe",
        "feature",
        "circuit",
        "neuron",
        "head",
        "layer",
        "residual",
        "activation",
        "dictionary",
        "superposition",
        "gradient",
        "saliency",
        "ablation",
        "mediation",
        "lens",
        "steering",
        "vector",
        "attention",
        "embedding",
        "logit",
    ]
    verbs = ["ablated", "patched", "scaled", "probed", "steered", "clamped"]
    paras = [
        " ".join(
            f"Observation {i}.{j}: the {rng.choice(words)} {rng.choice(words)} shifts when the "
            f"{rng.choice(words)} is {rng.choice(verbs)} at layer {rng.randint(0, 47)}."
            for j in range(6)
        )
        for i in range(paragraphs)
    ]
    return "# A Long Synthetic Lab Notebook\n\n" + "\n\n".join(paras) + "\n"


def cli_env(settings: Settings) -> dict[str, str]:
    return subprocess_env(
        INTERP_RAG_INDEX_DIR=str(settings.index_dir),
        INTERP_RAG_SOURCES_FILE=str(settings.sources_file),
        INTERP_RAG_CACHE_DIR=str(settings.cache_dir),
        INTERP_RAG_MIRROR=str(settings.mirror or ""),
        INTERP_RAG_EXPANSIONS_DIR="",
    )


def start_cli(settings: Settings, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "interp_rag.cli", *args],
        env=cli_env(settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # a test run started in the background inherits SIGINT ignored; the child must get Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_embedding(proc: subprocess.Popen, settings: Settings) -> None:
    """Until the child has committed its first vectors to the embedding cache (its WAL file grows): the
    model is loaded and the build is in the middle of embedding (loading the model can take tens of
    seconds on a busy machine, and a signal then waits for the shared libraries to load)."""
    wal = settings.index_dir / "embeddings.sqlite-wal"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (wal.exists() and wal.stat().st_size):
        time.sleep(0.01)
    time.sleep(0.5)
    assert proc.poll() is None, (
        "the child finished before it could be interrupted: " + proc.stdout.read().decode()
    )


def test_add_while_another_build_holds_the_lock_changes_nothing(built, tmp_path: Path) -> None:
    doc = tmp_path / "note.md"
    doc.write_text("# A Note on Circuits\n\nCircuits are subgraphs of a network that compute one thing.\n")
    before = snapshot(built)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'w')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\ntime.sleep(120)\n",
            str(built.index_dir / ".build.lock"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline() == b"locked\n"
        with pytest.raises(InterpRagError, match="Another build is running"):
            add_source(str(doc), settings=built)
        assert snapshot(built) == before
    finally:
        holder.kill()
        holder.wait(10)
    report = add_source(str(doc), settings=built)  # the retry is not refused as "already in sources.toml"
    assert "a-note-on-circuits" in report.sources_ok
    assert "a-note-on-circuits" in load_index(settings=built).sources
    assert 'id = "a-note-on-circuits"' in built.sources_file.read_text()


def test_add_with_a_corrupt_cache_repairs_it_and_adds(built, tmp_path: Path) -> None:
    (built.index_dir / "embeddings.sqlite").write_bytes(b"\x00garbage" * 4096)
    doc = tmp_path / "note.md"
    doc.write_text("# Cache Trouble\n\nA note added while the embedding cache was garbage.\n")
    report = add_source(str(doc), settings=built)
    assert any("moved it to embeddings.sqlite.corrupt-" in w for w in report.warnings)
    assert "cache-trouble" in load_index(settings=built).sources
    assert 'id = "cache-trouble"' in built.sources_file.read_text()


def test_add_killed_mid_embed_changes_nothing_and_a_retry_succeeds(built, tmp_path: Path) -> None:
    doc = tmp_path / "notebook.md"
    doc.write_text(long_document())
    before = snapshot(built)
    proc = start_cli(built, "add", str(doc), "--id", "notebook")
    try:
        wait_for_embedding(proc, built)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert snapshot(built) == before  # sources.toml and every file of the index, byte for byte
    report = add_source(str(doc), id="notebook", settings=built)
    assert report.changed and report.chunks_embedded > 0
    index = load_index(settings=built)
    assert "notebook" in index.sources and sum(c.source_id == "notebook" for c in index.chunks) > 50


@pytest.mark.parametrize("command", ["add", "build"])
def test_ctrl_c_stops_promptly_and_changes_nothing(built, tmp_path: Path, command: str) -> None:
    doc = tmp_path / "notebook.md"
    doc.write_text(long_document())
    if command == "build":  # a mirror file grows: the build has the same text to embed
        mirrored = built.mirror / "saliency-notes.md"
        mirrored.write_text(mirrored.read_text() + "\n" + long_document())
    before = snapshot(built)
    proc = start_cli(built, *(["add", str(doc)] if command == "add" else ["build"]))
    try:
        wait_for_embedding(proc, built)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        stopped_after = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read().decode()
    assert stopped_after < 5, f"Ctrl-C took {stopped_after:.1f} s"
    assert proc.returncode != 0 and "Aborted" in output and "Traceback" not in output
    assert snapshot(built) == before
    assert not list(built.index_dir.glob(".tmp-*"))


def _zip_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.md", "# Zipped\n\nA note inside an archive.\n" * 20)
    return path.read_bytes()


def test_binary_files_are_refused_whatever_their_name(built, tmp_path: Path) -> None:
    ls = Path(shutil.which("ls") or "/bin/ls").read_bytes()
    cases = {
        "ls": (ls, "ELF executable"),
        "ls-renamed.txt": (ls, "ELF executable"),
        "random.md": (random.Random(0).randbytes(50_000), "binary data"),
        "bundle.zip": (_zip_bytes(tmp_path), "zip archive"),
        "bundle.html": (_zip_bytes(tmp_path), "zip archive"),
    }
    before = snapshot(built)
    for name, (data, what) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(SourceError, match=f"this is (an? )?{what}.*, not a document"):
            add_source(str(path), settings=built)
    assert snapshot(built) == before


def test_size_limits_are_settings_with_clear_errors(built, tmp_path: Path) -> None:
    doc = tmp_path / "long.md"
    doc.write_text(long_document(40))
    before = snapshot(built)
    small = built.model_copy(update={"max_source_chars": 5000})
    with pytest.raises(SourceError, match=r"more than the limit of 5,000 \(INTERP_RAG_MAX_SOURCE_CHARS\)"):
        add_source(str(doc), settings=small)
    tiny = built.model_copy(update={"max_source_bytes": 2000})
    with pytest.raises(
        SourceError, match=r"bytes, more than the limit of 2,000 \(INTERP_RAG_MAX_SOURCE_BYTES\)"
    ):
        add_source(str(doc), settings=tiny)
    body = doc.read_bytes()
    route = Route(body=body, content_type="text/markdown")
    with serve({"/big.md": route}) as base, pytest.raises(SourceError, match="INTERP_RAG_MAX_SOURCE_BYTES"):
        add_source(f"{base}/big.md", settings=tiny)
    assert snapshot(built) == before


def test_default_size_limit_fits_the_biggest_real_document(mirror: Path) -> None:
    settings = Settings()
    biggest = max((p for p in mirror.iterdir() if p.suffix == ".md"), key=lambda p: p.stat().st_size)
    assert len(biggest.read_text(encoding="utf-8")) < settings.max_source_chars
    assert biggest.stat().st_size < settings.max_source_bytes


def test_add_reads_only_the_new_source(built, tmp_path: Path) -> None:
    """The shipped sources were indexed from a mirror; `add` without one fetches none of them again."""
    hits: list[str] = []
    with serve(
        {
            "/new-note": Route(
                body=b"# Fetched Note\n\nA note fetched over HTTP.\n", content_type="text/markdown"
            )
        },
        hits,
    ) as base:
        text = built.sources_file.read_text()
        for sid in ("probes-optimist", "probes-skeptic", "saliency-notes"):
            text = text.replace(f"https://example.org/{sid}", f"{base}/{sid}")
        built.sources_file.write_text(text)
        build_index(settings=built)  # from the mirror: no request
        assert hits == []
        before = {c.id: c.to_dict() for c in load_index(settings=built).chunks}
        no_mirror = built.model_copy(update={"mirror": None})
        t0 = time.perf_counter()
        report = add_source(f"{base}/new-note", settings=no_mirror)
        seconds = time.perf_counter() - t0
    assert hits == ["/new-note"]
    assert not report.sources_failed and len(report.sources_ok) == 4
    after = {c.id: c.to_dict() for c in load_index(settings=built).chunks}
    assert {k: v for k, v in after.items() if not k.startswith("fetched-note:")} == before
    assert any(k.startswith("fetched-note:") for k in after)
    assert seconds < 30


PAGE = b"""<!doctype html><html><head><title>Lab blog</title>
<meta name="citation_title" content="Probing the Residual Stream Twice">
<meta name="citation_author" content="Ada Example"><meta name="citation_author" content="Bo Sample">
<meta name="citation_publication_date" content="2025/03/01"></head><body><article>
<h1>Probing the Residual Stream Twice</h1>
<p>We fit linear probes to a small model's residual stream, once before and once after fine-tuning,
and compared what each probe could read off the activations at every layer of the network.</p>
<p>The second probe found the same direction in the middle layers, which suggests that fine-tuning moved the
readout rather than the representation; the early layers changed more than we expected.</p>
</article></body></html>"""


def test_adding_one_url_reads_it_once_with_its_own_metadata(built) -> None:
    """`add URL` (the CLI's path, and the upload's): the text and the page's title, authors and year come
    from one download; the document was fetched a second time for its metadata before."""
    from interp_rag.ingest.sources import load_sources
    from interp_rag.store.library import add_sources

    hits: list[str] = []
    with serve({"/paper": Route(body=PAGE)}, hits) as base:
        report = add_sources([f"{base}/paper"], settings=built, stance="skeptical")
    assert hits == ["/paper"]
    assert [(r.ok, r.id, r.title) for r in report.results] == [
        (True, "probing-the-residual-stream-twice", "Probing the Residual Stream Twice")
    ]
    src = next(s for s in load_sources(built.sources_file) if s.id == "probing-the-residual-stream-twice")
    assert (src.authors, src.year, src.stance) == (["Ada Example", "Bo Sample"], 2025, "skeptical")
    assert any(c.source_id == src.id for c in load_index(settings=built).chunks)


ABS_PAGE = b"""<!doctype html><html><head><title>[2401.00001] Probes Under Drift</title>
<meta name="citation_title" content="Probes Under Drift"><meta name="citation_author" content="Example, Ada">
<meta name="citation_author" content="Sample, Bo"><meta name="citation_date" content="2024/01/02">
</head><body><p>The abstract of a paper about probes.</p></body></html>"""


def test_an_arxiv_paper_is_read_from_its_pdf_and_named_by_its_abs_page(built) -> None:
    """`add https://arxiv.org/abs/ID` of a paper arXiv has no HTML view of (404): the PDF is the paper (its
    own metadata rarely names authors); the abs page gives title, authors and date. All from
    settings.arxiv_url (a local server here)."""
    from interp_rag.ingest.sources import load_sources
    from interp_rag.store.library import add_sources
    from tests.support.pdf import make_pdf

    pdf = make_pdf(["Probes trained on one checkpoint drift on the next one, layer by layer."])
    hits: list[str] = []
    routes = {
        "/abs/2401.00001": Route(body=ABS_PAGE),
        "/pdf/2401.00001": Route(body=pdf, content_type="application/pdf"),
    }
    with serve(routes, hits) as base:
        settings = built.model_copy(update={"arxiv_url": base})
        report = add_sources(["https://arxiv.org/abs/2401.00001"], settings=settings)
        assert [r.ok for r in report.results] == [True], report.results
        # an abs page that cannot be read leaves the PDF's own metadata; the paper is added all the same
        del routes["/abs/2401.00001"]
        pdf2 = make_pdf(["A second paper about attention heads that copy the previous token."])
        routes["/pdf/2401.00002"] = Route(body=pdf2, content_type="application/pdf")
        second = add_sources(["https://arxiv.org/abs/2401.00002"], settings=settings)
    assert hits[:3] == ["/html/2401.00001", "/pdf/2401.00001", "/abs/2401.00001"]
    src = next(s for s in load_sources(built.sources_file) if s.url == "https://arxiv.org/abs/2401.00001")
    assert (src.title, src.authors, src.year) == ("Probes Under Drift", ["Ada Example", "Bo Sample"], 2024)
    assert second.results[0].ok and second.results[0].title != "Probes Under Drift"
    # what the user gives in full needs no abs page
    hits.clear()
    with serve(routes, hits) as base:
        pdf3 = make_pdf(["A third paper, on probes that read the residual stream of a very small model."])
        routes["/pdf/2401.00003"] = Route(body=pdf3, content_type="application/pdf")
        add_source("https://arxiv.org/abs/2401.00003", title="Third", authors=["C. D."], year=2023,
                   settings=built.model_copy(update={"arxiv_url": base}))  # fmt: skip
    assert hits == ["/html/2401.00003", "/pdf/2401.00003"]


def test_an_arxiv_paper_with_an_html_view_is_read_from_it(built) -> None:
    """arXiv's HTML view (LaTeXML's page) is the paper's structure: sections, footnotes after their
    paragraph, no bibliography; its PDF is not fetched. A page at /html/ that is not LaTeXML's (a notice
    that no HTML view exists, served as 200) falls back to the PDF."""
    from interp_rag.store.index import load_index
    from interp_rag.store.library import add_sources
    from tests.support.pdf import make_pdf

    view = (Path(__file__).parent / "data" / "html" / "latexml-paper.html").read_bytes()
    notice = b"<html><body><h1>No HTML for this paper</h1><p>Its conversion failed.</p></body></html>"
    pdf = make_pdf(["A paper whose HTML view failed is read from its PDF, sentence by sentence."])
    hits: list[str] = []
    routes = {
        "/abs/2401.00004": Route(body=ABS_PAGE),
        "/html/2401.00004": Route(body=view),
        "/pdf/2401.00004": Route(body=make_pdf(["Not this copy."]), content_type="application/pdf"),
        "/html/2401.00005": Route(body=notice),
        "/pdf/2401.00005": Route(body=pdf, content_type="application/pdf"),
    }
    with serve(routes, hits) as base:
        settings = built.model_copy(update={"arxiv_url": base})
        report = add_sources(["https://arxiv.org/abs/2401.00004"], settings=settings, authors=["A. B."],
                             year=2024, title="Read From Its HTML View")  # fmt: skip
        assert hits == ["/html/2401.00004"]
        fallback = add_sources(["https://arxiv.org/abs/2401.00005"], settings=settings,
                               authors=["C. D."], year=2024, title="Read From Its PDF")  # fmt: skip
        assert hits[1:] == ["/html/2401.00005", "/pdf/2401.00005"]
    assert [r.ok for r in report.results + fallback.results] == [True, True]
    index = load_index(settings=built)
    by_source = {sid: " ".join(c.text for c in index.chunks if c.source_id == sid) for sid in
                 (report.results[0].id, fallback.results[0].id)}  # fmt: skip
    html_text, pdf_text = by_source.values()
    assert "Code will be released" in html_text and "Not this copy" not in html_text
    assert "<sup>" not in html_text
    assert "read from its PDF, sentence by sentence" in pdf_text


def test_adding_a_pdf_shows_its_pages_being_read(built, tmp_path: Path) -> None:
    from tests.support.pdf import make_pages

    (tmp_path / "three.pdf").write_bytes(
        make_pages([["Probes drift between checkpoints."], ["Heads copy tokens."], ["Features split."]])
    )
    seen: list[tuple[str, int, int, str]] = []
    add_source(str(tmp_path / "three.pdf"), settings=built, on_progress=lambda *a: seen.append(a))
    assert [a for a in seen if a[0] == "pages"] == [("pages", i, 3, "three.pdf") for i in (1, 2, 3)]


def test_several_at_once_are_read_and_titled_as_one_is(built, tmp_path: Path) -> None:
    """A folder of papers: each PDF's pages shown being read, and a document stating no title named as
    `add` names it alone (its first line when short), not by its file name."""
    from interp_rag.store.library import add_sources
    from tests.support.pdf import make_pages

    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "two.pdf").write_bytes(make_pages([["Probes drift between checkpoints."], ["Heads copy."]]))
    (folder / "notes.txt").write_text("Why copying heads matter\n\nHeads that copy tokens explain much.\n")
    seen: list[tuple[str, int, int, str]] = []
    report = add_sources([str(folder)], settings=built, on_progress=lambda *a: seen.append(a))
    assert all(r.ok for r in report.results)
    assert [a for a in seen if a[0] == "pages"] == [("pages", i, 2, "two.pdf") for i in (1, 2)]
    assert "Why copying heads matter" in {r.title for r in report.results}


def test_what_the_user_gives_wins_over_the_documents_metadata(built) -> None:
    hits: list[str] = []
    with serve({"/paper": Route(body=PAGE)}, hits) as base:
        add_source(f"{base}/paper", title="My Title", year=2024, settings=built)
    from interp_rag.ingest.sources import load_sources

    src = load_sources(built.sources_file)[-1]
    assert (src.title, src.authors, src.year, hits) == (
        "My Title",
        ["Ada Example", "Bo Sample"],
        2024,
        ["/paper"],
    )


def test_the_same_text_twice_is_refused_naming_the_source_that_has_it(built, tmp_path: Path) -> None:
    """The same paper saved in two places: a second copy would take a place among every answer's passages."""
    from interp_rag.store.library import add_sources

    note = "# Probe Drift\n\nProbes trained on one checkpoint drift on the next; we measured how far.\n"
    (tmp_path / "a.md").write_text(note)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "copy.md").write_text(note)
    assert add_sources([str(tmp_path / "a.md")], settings=built).results[0].ok
    before = snapshot(built)
    with pytest.raises(SourceError, match=r"same as that of 'probe-drift'.*interp-rag remove probe-drift"):
        add_source(str(tmp_path / "b" / "copy.md"), settings=built)
    assert snapshot(built) == before
    # a folder holding a copy of itself and of a listed source: each copy is named, the rest is added
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "one.md").write_text("# Other\n\nA second note, on attention heads that copy tokens.\n")
    (tmp_path / "c" / "two.md").write_text("# Other\n\nA second note, on attention heads that copy tokens.\n")
    (tmp_path / "c" / "three.md").write_text(note)
    report = add_sources([str(tmp_path / "c")], settings=built)
    by = {Path(r.location).name: r for r in report.results}
    assert by["one.md"].ok and not by["two.md"].ok and not by["three.md"].ok
    assert "one.md, added with it" in by["two.md"].reason and "'probe-drift'" in by["three.md"].reason


def unit(rows: list[list[float]]) -> np.ndarray:
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_near_copies_names_the_source_most_chunks_repeat() -> None:
    from interp_rag.store.add import near_copies

    vectors = unit(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],  # a: three chunks
         [0, 0, 0, 1],  # b
         [1, 0.1, 0, 0], [0, 1, 0.1, 0], [0, 0, 0, 1], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]  # new
    )  # fmt: skip
    owners = ["a", "a", "a", "b", "new", "new", "new", "new", "new"]
    # two of its five chunks repeat a's, one b's; its own two identical chunks do not count
    assert near_copies(vectors, owners, {"new"}, 0.9, 0.3, block=2) == {"new": ("a", 0.4)}
    assert near_copies(vectors, owners, {"new"}, 0.9, 0.5) == {}
    assert near_copies(vectors, owners, {"new"}, 0.999, 0.2) == {"new": ("b", 0.2)}
    assert near_copies(vectors, owners, {"gone"}, 0.9, 0.3) == {}


NOTE_PARAGRAPHS = [
    "Probes trained on one checkpoint drift on the next. We measured how far, layer by layer, and found the "
    "middle layers steadier than the first ones.",
    "A probe's accuracy says what a layer holds, not what the model uses. We ablated the probed direction "
    "and the model's loss barely moved, which argues the direction is read by nothing downstream.",
    "Control tasks keep a probe honest: a probe that learns random labels as well as real ones has memorised "
    "its training set rather than found a feature.",
]


def test_adding_a_near_copy_warns_naming_the_source_it_repeats(built, tmp_path: Path) -> None:
    from interp_rag.store.library import add_sources

    md = "# Probes That Drift\n\n" + "\n\n".join(NOTE_PARAGRAPHS) + "\n"
    html = "<html><head><title>Probes That Drift</title></head><body><article><h1>Probes That Drift</h1>"
    html += "".join(f"<p>{p}</p>" for p in NOTE_PARAGRAPHS) + "</article></body></html>"
    (tmp_path / "drift.md").write_text(md)
    (tmp_path / "drift.html").write_text(html)
    (tmp_path / "other.md").write_text(
        "# Attention Heads That Copy\n\nSome heads copy the token after an earlier copy of the current one; "
        "we traced two such heads through a small model and broke them by patching one key vector.\n"
    )
    first = add_sources([str(tmp_path / "drift.md")], settings=built)
    assert first.build is not None and first.build.warnings == []
    second = add_sources([str(tmp_path / "drift.html")], settings=built)
    assert second.results[
        0
    ].ok  # added: a near copy may be wanted (the PDF beside the LaTeX); the user is told
    assert second.build is not None
    assert any(
        "nearly repeats 'probes-that-drift'" in w and "interp-rag remove" in w for w in second.build.warnings
    )
    third = add_sources([str(tmp_path / "other.md")], settings=built)
    assert third.build is not None and third.build.warnings == []


def test_add_shows_a_progress_bar_on_a_terminal(built, tmp_path: Path) -> None:
    import pty

    doc = tmp_path / "note.md"
    doc.write_text(long_document(10))
    primary, secondary = pty.openpty()
    env = {**cli_env(built), "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "interp_rag.cli", "add", str(doc)],
        env=env,
        cwd=ROOT,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(primary)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, screen
    for label in ("reading sources", "chunking", "embedding", "writing index"):
        assert label in screen
    assert "━" in screen  # rich's bar


def test_add_keeps_the_stances_of_the_sources_it_does_not_read(built, tmp_path: Path) -> None:
    """A hand-labelled chunk of a shipped source keeps its label (and every old chunk its stance) when a
    new source is added: `add` reads only the new source's text, and labels only its chunks."""
    first = next(c for c in load_index(settings=built).chunks if c.source_id == "probes-skeptic")
    part = next(s.strip() for s in first.text.split(". ") if len(s) > 30)
    row = hand_label(first.text, part, "enthusiastic", doc="probes-skeptic", offset=first.start)
    labels = write_labels(tmp_path / "stance", row)
    settings = built.model_copy(update={"stance_labels_dir": labels})
    build_index(settings=settings)
    before = {c.id: c.to_dict() for c in load_index(settings=settings).chunks}
    held = before[first.id]
    assert (held["stance"], held["stance_by"]) == ("enthusiastic", "label")
    note = tmp_path / "note.md"
    note.write_text("# A Note\n\nProbes are a cheap first look, and sometimes a misleading one.\n")
    add_source(str(note), settings=settings, stance="mixed")
    after = {c.id: c.to_dict() for c in load_index(settings=settings).chunks}
    assert {k: v for k, v in after.items() if k in before} == before
    assert next(c for k, c in after.items() if k not in before)["stance_by"] == "classifier"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"type": "book"}, "type 'book' is not one of essay, blog"),
        ({"stance": "hopeful"}, "stance 'hopeful' is not one of"),
        ({"year": "2020"}, "year '2020' is not a year"),
        ({"stance_note": 5}, "stance_note must be text, not int"),
        ({"authors": [1, 2]}, "authors must be a list of names"),
        ({"id": "Bad Id"}, "id 'Bad Id' must be lowercase letters"),
    ],
)
def test_what_a_caller_gives_add_is_checked_before_anything_is_read(tmp_path: Path, given, says) -> None:
    from interp_rag.errors import ConfigError
    from interp_rag.store.library import add_sources

    doc = tmp_path / "note.md"
    doc.write_text("# A note\n\nProbes read features.\n")
    settings = make_settings(tmp_path)
    for add in (add_source, add_sources):
        with pytest.raises(ConfigError, match=says):
            add(str(doc), settings=settings, **given)
    assert not settings.sources_file.exists() and not settings.index_dir.exists()


def test_given_locations_and_authors_are_read_as_meant(tmp_path: Path) -> None:
    from interp_rag.errors import ConfigError
    from interp_rag.ingest.sources import given_authors

    assert given_authors("Chris Olah") == ["Chris Olah"]  # was ten one-letter authors
    assert given_authors("Chris Olah, Shan Carter ,") == ["Chris Olah", "Shan Carter"]
    assert given_authors(("A", " ")) == ["A"] and given_authors(None) == []
    settings = make_settings(tmp_path)
    for bad in (None, 123, ""):
        with pytest.raises(ConfigError, match="a URL or a file path"):
            add_source(bad, settings=settings)  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="is a folder: add_sources"):
        add_source(tmp_path, settings=settings)  # type: ignore[arg-type]  # a Path is taken too


def test_a_build_that_finds_no_annotations_for_sources_that_had_them_says_so(built, tmp_path: Path) -> None:
    # Run from another folder, a build found no corpus/stance and dropped every hand label without a word.
    first = next(c for c in load_index(settings=built).chunks if c.source_id == "probes-skeptic")
    part = next(s.strip() for s in first.text.split(". ") if len(s) > 30)
    row = hand_label(first.text, part, "enthusiastic", doc="probes-skeptic", offset=first.start)
    settings = built.model_copy(update={"stance_labels_dir": write_labels(tmp_path / "stance", row)})
    assert not any("have none now" in w for w in build_index(settings=settings).warnings)
    elsewhere = built.model_copy(update={"stance_labels_dir": tmp_path / "not-here"})
    report = build_index(settings=elsewhere)
    assert any(
        "1 source(s) had hand stance labels in the index and have none now (probes-skeptic)" in w
        and "INTERP_RAG_STANCE_LABELS_DIR" in w
        for w in report.warnings
    ), report.warnings


def test_the_source_lists_folders_are_found_beside_it(tmp_path: Path) -> None:
    s = Settings(sources_file=tmp_path / "corpus" / "sources.toml")
    assert (s.cache_dir, s.expansions_dir, s.stance_labels_dir) == tuple(
        tmp_path / "corpus" / f for f in ("cache", "expansions", "stance")
    )
    assert Settings().expansions_dir == Path("corpus/expansions")  # the default list's, as before
    given = Settings(sources_file=tmp_path / "s.toml", expansions_dir=None, cache_dir=tmp_path / "c")
    assert (given.expansions_dir, given.cache_dir) == (None, tmp_path / "c")


def test_ids_from_long_titles_end_at_a_word_and_an_empty_list_says_so(tmp_path: Path) -> None:
    from interp_rag.ingest.sources import slugify

    title = "The Future of Interpretability — Interpretable Machine Learning, a Guide"
    assert slugify(title) == "the-future-of-interpretability-interpretable-machine"  # not "…-learnin"
    assert (
        slugify("x" * 80) == "x" * 60
        and slugify("Short title") == "short-title"
        and slugify("!!") == "source"
    )
    assert slugify("Sondes linéaires – Jörg Weiß") == "sondes-lineaires-jorg-weiss"
    settings = make_settings(tmp_path)
    settings.sources_file.write_text("# no sources yet\n")
    with pytest.raises(SourceError, match="lists no sources; add one with `interp-rag add"):
        build_index(settings=settings)


def test_an_added_paper_is_a_paper_unless_told_otherwise() -> None:
    from interp_rag.store.add import guessed_type

    assert guessed_type("/tmp/p.pdf", "## A Study of Probes\n\n## Abstract\n\nWe probe.") == "paper"
    assert guessed_type("/tmp/p.md", "# Probes\n\nAbstract. We probe models.") == "paper"
    assert guessed_type("https://arxiv.org/abs/2401.00001", "# Probes\n\nText.") == "paper"
    assert guessed_type("/tmp/n.md", "# A note\n\nProbes are cheap; an abstract view of them.") == "other"
