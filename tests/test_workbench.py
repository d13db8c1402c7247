"""The workbench through the library and the CLI: Markdown and BibTeX export, the timeline, history, adding
several sources at once with their own metadata, removing one."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import bibtexparser
import pytest
from click.testing import CliRunner

from interp_rag.answering.history import get_entry, recent, record_answer, reopen
from interp_rag.answering.pipeline import answer
from interp_rag.answering.timeline import build_timeline, timeline_note
from interp_rag.cli import main
from interp_rag.errors import ConfigError
from interp_rag.ingest.load import extract_text
from interp_rag.ingest.metadata import document_metadata
from interp_rag.settings import Settings
from interp_rag.store.catalogue import remove_source
from interp_rag.store.index import load_index
from interp_rag.store.library import add_sources
from interp_rag.types import Answer, Citation, Passage, bibtex_key, entry_type
from tests.conftest import make_settings
from tests.support.pdf import make_pages


def parse_bib(text: str) -> list[dict[str, str]]:
    """Every entry, checked to be all there is: @online is biblatex's, so the parser is told to keep it."""
    from bibtexparser.bparser import BibTexParser

    entries = bibtexparser.loads(text, parser=BibTexParser(ignore_nonstandard_types=False)).entries
    assert len(entries) == text.count("\n@") + text.startswith("@")
    return entries


def passage(n: int, **kw: object) -> Passage:
    base: dict[str, object] = {
        "source_id": f"s{n}",
        "chunk_id": f"s{n}:0",
        "title": f"On {n} things & 100% of {{braces}}",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "year": 2020 + n,
        "url": f"https://example.org/{n}?a=1&b=2",
        "text": f"Passage {n} says something about features.\nSecond line of it.",
        "stance": "skeptical",
        "stance_confidence": 0.7,
        "score": 1.0,
        "type": "blog",
    }
    return Passage(**{**base, **kw})  # type: ignore[arg-type]


def made_answer() -> Answer:
    ps = [
        passage(1, type="paper", url="https://arxiv.org/abs/2309.08600", authors=["Hoagy Cunningham"]),
        passage(2, type="essay"),
        passage(3, type="transcript", url="", authors=[]),
        passage(4, source_id="s1", chunk_id="s1:5", type="paper"),  # a second passage of source s1
    ]
    cites = [
        Citation(n, ps[n - 1].chunk_id, ps[n - 1].source_id, ps[n - 1].title, ps[n - 1].url)
        for n in (1, 2, 3, 4)
    ]
    return Answer("Are SAEs useful?", "Yes [1], no [2][3]; also [4].", ps, cites, "extractive")


# ---------------------------------------------------------------- export


def test_bibtex_parses_with_one_entry_per_cited_source_and_fitting_types() -> None:
    a = made_answer()
    bib = a.to_bibtex()
    entries = parse_bib(bib)
    by_key = {e["ID"]: e for e in entries}
    assert len(entries) == 3  # s1 cited twice, one entry
    first = by_key["cunningham2021things"]
    assert first["ENTRYTYPE"] == "article" and first["eprint"] == "2309.08600"
    assert first["url"] == "https://arxiv.org/abs/2309.08600" and first["year"] == "2021"
    assert first["author"] == "Hoagy Cunningham"
    second = by_key["lovelace2022things"]
    assert second["ENTRYTYPE"] == "online" and second["author"] == "Ada Lovelace and Alan Turing"
    assert second["title"] == r"On 2 things \& 100\% of braces" and second["url"].endswith("a=1&b=2")
    third = next(e for e in entries if e["ENTRYTYPE"] == "misc")
    assert "url" not in third
    assert bib == made_answer().to_bibtex()  # stable


def test_a_bib_entry_of_an_added_file_names_no_path_and_a_talk_says_it_is_a_transcript() -> None:
    """A notebook or a Word draft added from this machine: its file:// URL went into the entry (a path no
    reader of the paper can open) with howpublished = {Online}; a talk's subtitles were 'Online' too."""
    ps = [
        passage(1, type="other", url="file:///home/ada/notes/logit_lens.ipynb"),
        passage(2, type="transcript", url="file:///home/ada/talks/Circuits.en.vtt"),
        passage(3, type="transcript", url="https://example.org/talks/circuits"),
    ]
    cites = [Citation(n, p.chunk_id, p.source_id, p.title, p.url) for n, p in enumerate(ps, 1)]
    notebook, local_talk, web_talk = parse_bib(Answer("q", "[1][2][3]", ps, cites, "extractive").to_bibtex())
    assert "url" not in notebook and "howpublished" not in notebook and notebook["ENTRYTYPE"] == "misc"
    assert "url" not in local_talk and local_talk["howpublished"] == "Transcript"
    assert web_talk["url"] == "https://example.org/talks/circuits"
    assert web_talk["howpublished"] == "Transcript"


def test_bibtex_keys_are_stable_and_disambiguated() -> None:
    p, q = passage(1), passage(1, source_id="other", chunk_id="other:0")
    assert bibtex_key(p) == bibtex_key(q) == "lovelace2021things"
    cites = [Citation(1, "s1:0", "s1", "", ""), Citation(2, "other:0", "other", "", "")]
    entries = parse_bib(Answer("q", "[1][2]", [p, q], cites, "extractive").to_bibtex())
    assert sorted(e["ID"] for e in entries) == ["lovelace2021things", "lovelace2021thingsb"]
    assert (
        entry_type(passage(1, type="review")) == "article" and entry_type(passage(1, type="other")) == "misc"
    )
    # no author: the id's first word, not the whole id run together
    anon = passage(1, authors=[], source_id="scoped-rules-anchors-interpretable", title="Anchors")
    assert bibtex_key(anon) == "scoped2021anchors"
    # nothing in the corpus came close: those passages are no sources of the answer
    far = Answer("🤔", "Nothing in the corpus comes close.", [p, q], [], "extractive", low_relevance=True)
    assert far.to_bibtex() == "" and Answer("q", "x", [p, q], [], "extractive").to_bibtex()


def test_markdown_has_markers_references_and_quoted_passages() -> None:
    md = made_answer().to_markdown()
    assert md.startswith("# Are SAEs useful?\n\nYes [1], no [2][3]; also [4].")
    assert "## References" in md
    assert (
        "[2] Ada Lovelace and Alan Turing (2022). *On 2 things & 100% of {braces}*. <https://example.org/2?a=1&b=2>"
        in md
    )
    assert "   > Passage 2 says something about features.\n   > Second line of it." in md
    assert "[3] Unknown author (2023)." in md


# ---------------------------------------------------------------- timeline


def test_timeline_counts_each_relevant_source_once_by_year_and_side(mini_index) -> None:
    a = answer("Are linear probes useful?", k=1, llm=False, index=mini_index)
    assert len(a.passages) == 1
    tl = a.timeline
    assert set(tl) >= {2023, 2024}  # more sources than the one passage shown
    ids = [sid for row in tl.values() for side in row["sources"].values() for sid in side]
    assert len(ids) == len(set(ids)) and a.passages[0].source_id in ids
    for row in tl.values():
        assert sum(row[s] for s in ("enthusiastic", "skeptical", "neutral")) == sum(
            len(v) for v in row["sources"].values()
        )
        named = [sid for v in row["sources"].values() for sid in v]
        assert row["titles"] == {sid: mini_index.sources[sid].title for sid in named}  # also those not shown
    assert timeline_note(tl) == ""
    js = json.loads(json.dumps(a.to_dict()))
    assert set(js["timeline"]) == {str(y) for y in tl}


def test_timeline_of_a_single_year_says_so(mini_index) -> None:
    probes = [i for i, c in enumerate(mini_index.chunks) if c.source_id == "probes-skeptic"]
    tl = build_timeline(mini_index, probes)
    assert list(tl) == [2024] and "are from 2024" in timeline_note(tl)
    assert "no timeline" in timeline_note({})


# ---------------------------------------------------------------- history


@pytest.fixture
def mini_copy(mini_settings: Settings, tmp_path: Path) -> Settings:
    # history.sqlite of other tests that asked questions of the shared mini index stays behind
    shutil.copytree(
        mini_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns("history.sqlite*")
    )
    shutil.copy(mini_settings.sources_file, tmp_path / "sources.toml")
    shutil.copytree(mini_settings.mirror, tmp_path / "mirror")
    return make_settings(tmp_path, mirror=tmp_path / "mirror")


def test_history_stores_question_filters_and_cited_ids_only_and_reopens(mini_copy: Settings) -> None:
    index = load_index(settings=mini_copy)
    a = answer("Are linear probes useful?", k=3, llm=False, index=index, stance=["skeptical", "enthusiastic"])
    filters = {"stance": ["skeptical", "enthusiastic"], "years": None, "types": None, "sources": None}
    hid = record_answer(mini_copy, a, filters, 3)
    e = get_entry(mini_copy, hid)
    assert e.question == a.question and e.filters == {"k": 3, "stance": ["skeptical", "enthusiastic"]}
    assert e.cited == [c.chunk_id for c in a.citations] and e.cited
    # nothing of the passages' text is in the file
    raw = (mini_copy.index_dir / "history.sqlite").read_bytes()
    assert a.passages[0].text[:40].encode() not in raw
    again = reopen(mini_copy, hid, index=index)
    assert again.text == a.text and again.notice == ""
    assert [p.chunk_id for p in again.passages] == [p.chunk_id for p in a.passages]
    assert recent(mini_copy)[0].id == hid


def test_history_off_stores_nothing(mini_copy: Settings) -> None:
    off = mini_copy.model_copy(update={"history": False})
    a = answer("Are linear probes useful?", k=2, llm=False, settings=off)
    assert record_answer(off, a, {}, 2) is None
    assert not (mini_copy.index_dir / "history.sqlite").exists() and recent(off) == []


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_formats_and_history(mini_copy: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in (("INDEX_DIR", mini_copy.index_dir), ("SOURCES_FILE", mini_copy.sources_file)):
        monkeypatch.setenv(f"INTERP_RAG_{k}", str(v))
    monkeypatch.delenv("INTERP_RAG_LLM_BASE_URL", raising=False)
    q = "Are linear probes useful?"
    r = run("ask", q, "--format", "bib")
    assert r.exit_code == 0 and parse_bib(r.output)
    r = run("ask", q, "--format", "md")
    assert r.output.startswith(f"# {q}") and "## References" in r.output
    js = json.loads(run("ask", q, "--format", "json").output)
    assert js["timeline"] and js == json.loads(run("ask", q, "--json").output) | {"timings": js["timings"]}
    r = run("history")
    assert r.exit_code == 0 and r.output.count(q) == 4 and "#4" in r.output
    r = run("history", "--show", "1", "--format", "md")
    assert r.exit_code == 0 and r.output.startswith(f"# {q}")
    r = run("history", "--show", "99")
    assert r.exit_code == 1 and "No question #99" in r.output
    # --show prints as `ask` does: plain text to a pipe, and the sources its markers point at
    asked = run("ask", q, "--k", "3", "--stance", "skeptical", "--year-from", "2020").output
    shown = run("history", "--show", "5").output
    assert shown == asked and "**" not in shown and "\nSources\n" in shown and "[1] " in shown
    assert "k 3 · skeptical · from 2020" in run("history").output  # not "years=[2020, None]"
    r = run("history", "--show", "5", "--clear")
    assert r.exit_code == 2 and "does not go with --show" in r.output
    r = run("history", "--format", "bib")
    assert r.exit_code == 2 and "give --show ID" in r.output
    r = CliRunner().invoke(main, ["history", "--clear"], input="n\n")
    assert r.exit_code == 1 and "Forget all 5 stored question(s)?" in r.output  # asked, and kept
    assert "Forgot 5" in run("history", "--clear", "--yes").output
    monkeypatch.setenv("INTERP_RAG_HISTORY", "false")
    run("ask", q)
    assert len(json.loads(run("history", "--format", "json").output)) == 0  # off: nothing listed


# ---------------------------------------------------------------- adding several, removing


HTML = b"""<!doctype html><html><head><title>Page title</title>
<meta name="citation_title" content="Probing Is Not Enough">
<meta name="citation_author" content="Rosa Reviewer"><meta name="citation_author" content="Second, Sam">
<meta name="citation_publication_date" content="2022/05/01"></head>
<body><article><h1>Probing Is Not Enough</h1><p>Linear probes find information that the model may never
use. A probe's accuracy says what is decodable, not what is used, and the two differ often enough that
probing results should be read with care. Causal interventions tell the two apart.</p></article>
</body></html>"""
LATEX = rb"""\documentclass{article}\title{Circuits in Toy Models}\author{Tess Theorist \and Uma User}
\date{March 2021}\begin{document}\maketitle\section{Intro}Toy models let us find circuits by hand, and
the circuits we find in them are small enough to check completely.\end{document}"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_citation_authors_written_last_name_first_read_first_name_first() -> None:
    """citation_author usually says "Olah, Chris" (arXiv, Distill): answers cite a name by its last word."""
    page = (
        b'<html><head><meta name="citation_title" content="Reading Circuits">'
        b'<meta name="citation_author" content="Olah, Chris">'
        b'<meta name="citation_author" content="Anthropic, Inc.">'
        b'<meta name="citation_author" content="Ada Lovelace"></head><body><p>Text.</p></body></html>'
    )
    assert document_metadata(page, "page.html")["authors"] == [
        "Chris Olah",
        "Anthropic, Inc.",
        "Ada Lovelace",
    ]


def test_document_metadata_from_html_latex_and_markdown() -> None:
    assert document_metadata(HTML, "page.html") == {
        "title": "Probing Is Not Enough",
        "authors": ["Rosa Reviewer", "Sam Second"],
        "year": 2022,
    }
    assert document_metadata(LATEX, "toy.tex") == {
        "title": "Circuits in Toy Models",
        "authors": ["Tess Theorist", "Uma User"],
        "year": 2021,
    }
    assert document_metadata(b"# Heading one\n\ntext", "a.md", "# Heading one\n\ntext") == {
        "title": "Heading one"
    }


def test_a_pdf_without_a_title_is_named_by_its_largest_heading() -> None:
    """No /Title in the PDF's information: the title set large on its first page names it, as `add`
    would show it."""
    data = make_pages([[("Features Found by Probes", 22), "The body of the paper says little here."]])
    assert document_metadata(data, "paper.pdf", extract_text(data, "pdf")) == {
        "title": "Features Found by Probes"
    }


def test_add_a_folder_with_one_build_then_remove_one(mini_copy: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "probing.html").write_bytes(HTML)
    (folder / "toy.tex").write_bytes(LATEX)
    (folder / "empty.md").write_text("")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    before = load_index(settings=mini_copy)
    calls: list[str] = []
    report = add_sources([str(folder), str(tmp_path / "nope.pdf")], settings=mini_copy, stance="skeptical",
                         on_progress=lambda stage, *a: calls.append(stage))  # fmt: skip
    res = {Path(r.location).name: r for r in report.results}
    assert set(res) == {"probing.html", "toy.tex", "empty.md", "nope.pdf"}
    assert res["probing.html"].ok and res["probing.html"].id == "probing-is-not-enough"
    assert res["toy.tex"].ok and res["toy.tex"].title == "Circuits in Toy Models"
    assert not res["empty.md"].ok and "empty" in res["empty.md"].reason
    assert not res["nope.pdf"].ok and "neither an http(s) URL" in res["nope.pdf"].reason
    assert calls.count("write") == 2  # one build: it writes once (start and end)
    index = load_index(settings=mini_copy)
    assert len(index.sources) == len(before.sources) + 2
    src = index.sources["probing-is-not-enough"]
    assert (src.authors, src.year, src.stance) == (["Rosa Reviewer", "Sam Second"], 2022, "skeptical")

    listing = mini_copy.sources_file.read_text()
    report = remove_source("circuits-in-toy-models", settings=mini_copy)
    assert report.sources_removed == ["circuits-in-toy-models"] and report.chunks_embedded == 0
    after = mini_copy.sources_file.read_text()
    assert "circuits-in-toy-models" not in after and after.startswith(listing.split("[[source]]")[0])
    assert "circuits-in-toy-models" not in load_index(settings=mini_copy).sources
    assert "probing-is-not-enough" in load_index(settings=mini_copy).sources


def test_a_paper_source_folder_is_one_source_that_follows_its_section_files(
    mini_copy: Settings, tmp_path: Path
) -> None:
    """An arXiv source folder added whole: its main file is the source, read with the section files it
    \\inputs (not sources of their own); a rebuild after a section file changes reads the change."""
    from interp_rag.store.build import build_index
    from tests.test_latex import paper_folder

    folder = paper_folder(tmp_path / "paper")
    report = add_sources([str(folder)], settings=mini_copy, stance="neutral")
    assert [(Path(r.location).name, r.ok, r.title) for r in report.results] == [
        ("main.tex", True, "Split Across Files")
    ]
    chunks = [c for c in load_index(settings=mini_copy).chunks if c.source_id == "split-across-files"]
    text = " ".join(c.text for c in chunks)
    assert "Probes read what a layer holds" in text and "The results section reports." in text
    (folder / "sections" / "results.tex").write_text("\\section{Results}\nA revised result, read again.\n")
    build_index(settings=mini_copy)
    chunks = [c for c in load_index(settings=mini_copy).chunks if c.source_id == "split-across-files"]
    assert "A revised result, read again." in " ".join(c.text for c in chunks)


def test_adding_several_reads_only_them_and_writes_the_list_last(mini_copy: Settings, tmp_path: Path) -> None:
    """Several sources with one build read only the new ones (the others' URLs are dead here and no mirror
    is given), and a build that cannot run (another holds the lock) leaves the list and index as they were."""
    from interp_rag.errors import InterpRagError
    from tests.support.locks import lock_held_elsewhere

    text = mini_copy.sources_file.read_text().replace("https://example.org/", "http://127.0.0.1:9/")
    mini_copy.sources_file.write_text(text)
    settings = mini_copy.model_copy(update={"mirror": None, "fetch_timeout": 2.0})
    (tmp_path / "probing.html").write_bytes(HTML)
    (tmp_path / "toy.tex").write_bytes(LATEX)
    files = [str(tmp_path / "probing.html"), str(tmp_path / "toy.tex")]
    listing, version = settings.sources_file.read_bytes(), load_index(settings=settings).path
    with (
        lock_held_elsewhere(settings.index_dir),
        pytest.raises(InterpRagError, match="Another build is running"),
    ):
        add_sources(files, settings=settings)
    assert settings.sources_file.read_bytes() == listing
    assert load_index(settings=settings).path == version
    report = add_sources(files, settings=settings)
    assert [r.ok for r in report.results] == [True, True] and report.build.sources_failed == {}
    index = load_index(settings=settings)
    assert {"probing-is-not-enough", "circuits-in-toy-models"} <= set(index.sources)
    assert "circuits-in-toy-models" in settings.sources_file.read_text()


def test_remove_unknown_source_changes_nothing(mini_copy: Settings) -> None:
    before = sha(mini_copy.sources_file)
    r = run(
        "--index-dir", str(mini_copy.index_dir), "--sources", str(mini_copy.sources_file), "remove", "nope"
    )
    assert r.exit_code == 1 and "No source 'nope'" in r.output
    assert "`interp-rag sources` lists the sources' ids" in r.output  # the command that does
    assert "stats" not in r.output  # `stats` lists no source ids
    assert sha(mini_copy.sources_file) == before


def test_remove_reads_no_other_source_again(mini_copy: Settings) -> None:
    # The sources left keep the text the index has: `remove` fetched every one of them from its URL first
    # (14 s of failed lookups offline over the shipped 61; every page downloaded again online).
    from tests.support.http import serve

    hits: list[str] = []
    with serve({}, hits) as base:
        text = mini_copy.sources_file.read_text().replace("https://example.org/", f"{base}/")
        mini_copy.sources_file.write_text(text)
        settings = mini_copy.model_copy(update={"mirror": None})
        before = set(load_index(settings=settings).sources)
        report = remove_source("saliency-notes", settings=settings)
    assert hits == [] and report.chunks_embedded == 0 and report.sources_failed == {}
    assert set(load_index(settings=settings).sources) == before - {"saliency-notes"}
    assert set(report.sources_ok) == before - {"saliency-notes"}


def test_a_stored_questions_filters_read_as_written() -> None:
    from interp_rag.answering.history import HistoryEntry

    def line(filters: dict) -> str:
        return HistoryEntry(1, "2026-12-07 10:00:00", "Q?", filters).filters_line()

    assert line({"k": 8}) == "" and line({}) == ""
    assert line({"k": 4, "stance": ["skeptical"], "years": [2020, 2024], "types": ["paper", "essay"]}) == (
        "k 4 · skeptical · paper, essay · 2020–2024"
    )
    assert line({"years": [None, 2019], "sources": ["a"]}) == "a · to 2019"
    assert line({"years": "junk", "stance": "mixed"}) == "mixed"  # a row edited by hand


def test_a_printed_answer_or_document_is_short() -> None:
    from interp_rag.types import Document, Source

    a = made_answer()
    a.text = "A long answer. " * 200
    shown = repr(a)
    assert (
        shown.startswith("Answer(question='Are SAEs useful?', text='A long answer.") and "passages=<" in shown
    )
    assert len(shown) < 600 and "…" in shown
    doc = Document(Source("s", "T", "https://example.org"), "Probes read features. " * 10_000, "url:x", "h")
    assert len(repr(doc)) < 500 and repr(doc).startswith("Document(source=Source(id='s'")
    assert a.to_dict()["text"] == a.text  # everything is still there


def test_a_question_asked_of_a_removed_source_reopens_from_the_rest_or_says_why_not(
    mini_copy: Settings,
) -> None:
    """It raised "Unknown source id(s): …", pointing at the source filter, not at the removal."""
    index = load_index(settings=mini_copy)
    ids = sorted(index.sources)[:2]
    a = answer("Are linear probes useful?", k=3, llm=False, index=index, sources=ids)
    both = record_answer(mini_copy, a, {"sources": ids}, 3)
    one = record_answer(mini_copy, a, {"sources": ids[:1]}, 3)
    remove_source(ids[0], settings=mini_copy)
    index = load_index(settings=mini_copy)
    again = reopen(mini_copy, both, index=index)
    assert {p.source_id for p in again.passages} == {ids[1]}
    assert again.notice.startswith("Reopened from") and f"{ids[0]} removed" in again.notice
    with pytest.raises(
        ConfigError, match=f"Question #{one} was asked of {ids[0]}, removed from the index since"
    ):
        reopen(mini_copy, one, index=index)
