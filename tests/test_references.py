"""A paper's reference list stays out of the index, whatever format the paper came in; prose stays."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interp_rag.ingest.load import extract_text
from interp_rag.ingest.references import is_reference_heading, left_out, reads_as_entries
from interp_rag.store.build import add_source, build_index
from interp_rag.store.index import load_index
from interp_rag.text import clean_for_embedding
from tests.conftest import make_settings
from tests.support.pdf import make_pages

MINI = Path(__file__).parent / "data" / "mini"

# Made-up entries in the shapes papers print them.
ENTRIES = [
    "Okafor, T., and Lindqvist, M. (2023). Sparse dictionaries in small transformers. arXiv preprint "
    "arXiv:2310.01234.",
    "Haas, R. et al. (2021). On the limits of saliency maps for image classifiers. In Advances in Neural "
    "Information Processing Systems, volume 34.",
    "Petrov, A. (2019). Probing classifiers and what they miss. In Proceedings of the Conference on "
    "Empirical Methods, pages 100-112. doi:10.0000/made.up.2019",
    "Sato, K., Varga, E., and Xu, L. (2024). Steering vectors, revisited. Transactions on Machine Learning "
    "Research.",
]
PROSE = (
    "Sparse autoencoders split a model's activations into many features, and whether those features are "
    "the model's own units of computation is still argued about. We trained one on a small model and "
    "checked each feature by hand before trusting its label."
)
APPENDIX = (
    "The appendix lists every hyperparameter we tried, with the seed of each run, so that anyone can train "
    "the same dictionaries again and check the features we named."
)


@pytest.mark.parametrize(
    "heading",
    ["References", "6 References", "Bibliography", "references:", "Works Cited", "VII. References",
     "References ¶", "References[](#references)"],  # a converted page's permalink marks
)  # fmt: skip
def test_reference_headings_are_recognised(heading: str) -> None:
    assert is_reference_heading(heading)


@pytest.mark.parametrize("heading", ["Reference models", "Results", "Related work", "Why references matter"])
def test_other_headings_are_not(heading: str) -> None:
    assert not is_reference_heading(heading)


def test_a_section_of_entries_is_a_list_and_each_piece_of_it_goes() -> None:
    entries = "\n\n".join(ENTRIES)
    assert reads_as_entries("## References\n\n" + entries)
    assert left_out(entries, section=True)
    assert left_out("small transformers. Journal of Machine Learning Research, 36(10):51-71.", section=True)
    assert not left_out(entries, section=None)  # only where the paper says it is a reference section


def test_the_reference_heading_alone_goes_with_its_list() -> None:
    """A PDF's entries run on as one block: the splitter cuts the heading off as a piece of its own."""
    assert left_out("## References", section=True) and left_out("## References", section=False)
    assert not left_out("## Results", section=None)


def test_prose_in_or_under_a_reference_section_is_kept() -> None:
    """An appendix the heading detection missed reads as prose: it stays. So does a section of prose under a
    reference heading ("References and notes" written out as sentences)."""
    assert not left_out(PROSE + " " + APPENDIX, section=True)
    # a year or two in a piece of prose the size of a chunk
    assert not left_out(PROSE + " " + APPENDIX + " In 2023 and 2024 others did the same.", section=True)
    assert not reads_as_entries("## References\n\n" + PROSE + " " + APPENDIX)
    assert not left_out(PROSE, section=False)


def paper() -> str:
    return (
        "# Dictionaries for Small Models\n\n## Introduction\n\n" + PROSE + "\n\n## References\n\n"
        + "\n\n".join(ENTRIES * 3) + "\n\n## Appendix A: Training details\n\n" + APPENDIX + "\n"
    )  # fmt: skip


def html_paper() -> str:
    items = "".join(f"<li>{e}</li>" for e in ENTRIES * 3)
    return (
        "<!doctype html><html><head><title>Dictionaries for Small Models</title></head><body><article>"
        f"<h1>Dictionaries for Small Models</h1><h2>Introduction</h2><p>{PROSE}</p>"
        f"<h2>References</h2><ol>{items}</ol><h2>Appendix A: Training details</h2><p>{APPENDIX}</p>"
        "</article></body></html>"
    )


def pdf_paper() -> bytes:
    """The paper as a PDF whose entries run on line after line, as a typeset list does."""
    pages: list[list[str | tuple[str, int]]] = [
        [("Small Dictionaries", 18), ("Introduction", 14), PROSE, ("References", 14), *ENTRIES * 2],
        [*ENTRIES, ("Appendix A: Training details", 14), APPENDIX],
    ]
    return make_pages(pages)


@pytest.mark.parametrize("name", ["dictionaries.md", "dictionaries.html", "dictionaries.pdf"])
def test_an_added_paper_is_indexed_without_its_reference_list(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "mirror"
    shutil.copytree(MINI, corpus)
    shutil.copy(corpus / "sources.toml", tmp_path / "sources.toml")
    settings = make_settings(tmp_path, mirror=corpus)
    build_index(settings=settings)
    doc = tmp_path / name
    if name.endswith(".pdf"):
        doc.write_bytes(pdf_paper())
    else:
        doc.write_text(paper() if name.endswith(".md") else html_paper())
    add_source(str(doc), id="dictionaries", settings=settings)
    chunks = [c for c in load_index(settings=settings).chunks if c.source_id == "dictionaries"]
    text = " ".join(c.text for c in chunks)
    assert "checked each feature by hand" in text  # the body
    assert "every hyperparameter we tried" in text  # the appendix after the list
    assert not any(e[:30] in text for e in ENTRIES)  # no entry
    assert not any(c.text.strip() == "## References" for c in chunks)  # nor the list's heading alone
    assert [c.n for c in chunks] == list(range(len(chunks)))  # numbered without gaps
    if name.endswith(".md"):  # offsets still point into what the author wrote
        assert all(c.text == doc.read_text()[c.start : c.end] for c in chunks)


def test_a_pdf_reference_heading_in_body_type_is_still_a_heading() -> None:
    """Some styles set "References" in bold body type: it is a heading all the same, so the list under it
    is known as one."""
    pages: list[list[str | tuple[str, int]]] = [
        [("Small Dictionaries", 18), "A body line that makes a claim.", "References", *ENTRIES[:2]],
        [ENTRIES[2], ("A Training details", 14), "The appendix reads as prose."],
    ]
    text = extract_text(make_pages(pages), "pdf")
    assert "claim.\n\n## References\n\nOkafor" in text
    assert "## A Training details\n\nThe appendix" in text


def test_html_comments_are_not_indexed(tmp_path: Path) -> None:
    """A markdown page's notes to its authors and commented-out drafts are invisible to its readers: no chunk
    holds a commented-out block (nor a heading inside it), and a note inside a line is not read or quoted;
    a comment shown as code and a stray "<!--" stay text."""
    corpus = tmp_path / "mirror"
    shutil.copytree(MINI, corpus)
    shutil.copy(corpus / "sources.toml", tmp_path / "sources.toml")
    settings = make_settings(tmp_path, mirror=corpus)
    build_index(settings=settings)
    doc = tmp_path / "notes.md"
    doc.write_text(
        "# Probe Notes\n\n" + PROSE + " <!-- TODO: ask Sam whether the numbers hold -->\n\n"
        "<!--\n## Old draft\n\nProbes were useless in every layer we tried, said the old draft.\n-->\n\n"
        "## Results\n\n" + APPENDIX + "\n\n```html\n<!-- shown as code -->\n```\n\n"
        "A stray <!-- opener in prose is text.\n"
    )
    add_source(str(doc), id="notes", settings=settings)
    chunks = [c for c in load_index(settings=settings).chunks if c.source_id == "notes"]
    text = " ".join(c.text for c in chunks)
    read = " ".join(clean_for_embedding(c.text) for c in chunks)  # what is embedded and quoted
    assert "checked each feature by hand" in read and "every hyperparameter we tried" in read
    assert "old draft" not in text and "Old draft" not in text  # the block: in no chunk
    assert "ask Sam" not in read  # the note inside a line: not read
    assert "shown as code" in text and "A stray <!-- opener" in text
    assert all(c.headings[-1] != "Old draft" for c in chunks)


def test_many_comments_or_headings_on_hostile_input_stay_linear() -> None:
    """One line of 100,000 inline comments (each looked back along its line took 55 s), or 20,000 reference
    sections, are read in well under a second each."""
    import time

    from interp_rag.ingest.chunk import headings_index, html_comments, parts

    t0 = time.perf_counter()
    assert html_comments("a <!-- x --> " * 100_000) == []  # inside a line: left to the cleaner
    assert len(html_comments("<!-- x -->\n" * 100_000)) == 100_000
    text = "## References\n\nA, B. (2020). T. arXiv.\n\n" * 20_000
    offsets, paths = headings_index(text)
    assert len(parts(text, 0, offsets, paths, html_comments(text))) == 20_000
    assert not is_reference_heading("References" + " " * 100_000 + "x")
    assert time.perf_counter() - t0 < 10
