"""Word documents (.docx) read with their headings, lists, tables and footnotes, their core properties as the
source's title, authors and year; a .docx that is no Word document, and other zip archives, refused by name.
The formats a message, a folder scan, the upload and `add --help` name come from the loaders' registry. And a
notebook and a Word document added end to end. The documents are written here (python-docx), with our
own sentences."""

from __future__ import annotations

import datetime
import io
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from interp_rag.cli import main
from interp_rag.errors import SourceError
from interp_rag.ingest import docx as word
from interp_rag.ingest.load import extract_text, guess_format
from interp_rag.ingest.metadata import document_metadata
from interp_rag.retrieval.retrieve import retrieve
from interp_rag.settings import Settings
from interp_rag.store.index import load_index
from interp_rag.store.library import add_sources
from tests.test_add import snapshot
from tests.test_formats_notebook import TUTORIAL

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def png(size: int = 4) -> bytes:
    """A small grey PNG, enough for python-docx to place as a picture."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x80" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def with_footnote(data: bytes, after: str, note: str) -> bytes:
    """`data` with a footnote on the run ending in `after` (python-docx writes no footnotes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = {n: src.read(n) for n in src.namelist()}
    parts["word/footnotes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{W}">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        f'<w:footnote w:id="1"><w:p><w:r><w:t>{note}</w:t></w:r></w:p></w:footnote></w:footnotes>'
    ).encode()
    body = parts["word/document.xml"].decode()
    mark = '<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteReference w:id="1"/></w:r>'
    parts["word/document.xml"] = body.replace(
        f"{after}</w:t></w:r>", f"{after}</w:t></w:r>{mark}", 1
    ).encode()
    ct = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", f'<Override PartName="/word/footnotes.xml" ContentType="{ct}"/></Types>'.encode()
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
    parts["word/_rels/document.xml.rels"] = parts["word/_rels/document.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdNote" Type="{rel}" Target="footnotes.xml"/></Relationships>'.encode(),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, part in parts.items():
            z.writestr(name, part)
    return out.getvalue()


def draft(title: str = "Probing for a truth direction", author: str = "Ada Example; Ben Sample") -> bytes:
    d = docx.Document()
    d.core_properties.title, d.core_properties.author = title, author
    d.core_properties.created = datetime.datetime(2023, 5, 4)
    d.add_paragraph("Probing for a truth direction", style="Title")
    d.add_paragraph("A draft circulated for comments before the reading group.")
    d.add_heading("Motivation", level=1)
    p = d.add_paragraph("A linear probe can separate true from false statements, ")
    p.add_run("yet separating them").italic = True
    p.add_run(" does not show that the model reads that direction.")
    d.add_paragraph().add_run().add_picture(io.BytesIO(png()))
    d.add_heading("What we tried", level=2)
    for item in ("Mass-mean probes at a middle layer.", "Logistic probes at every layer."):
        d.add_paragraph(item, style="List Bullet")
    for item in ("Take the difference of the class means.", "Add it to the residual stream."):
        d.add_paragraph(item, style="List Number")
    d.add_heading("Results", level=2)
    table = d.add_table(rows=2, cols=3)
    for i, row in enumerate([["Layer", "Probe accuracy", "Flip rate"], ["12", "0.93", "0.64"]]):
        for j, cell in enumerate(row):
            table.cell(i, j).text = cell
    last = d.add_paragraph("The flip rate peaks where the probe's accuracy peaks.")
    d.add_comment(last.runs, text="Reviewer aside: cite the earlier sweep here.", author="Rev")
    out = io.BytesIO()
    d.save(out)
    return with_footnote(
        out.getvalue(), "accuracy peaks.", "Flip rate: the share of prompts whose answer changes."
    )


DRAFT = draft()


def test_a_word_document_reads_with_headings_lists_tables_and_notes() -> None:
    text = extract_text(DRAFT, guess_format("draft.docx", DRAFT))
    assert text.startswith("# Probing for a truth direction\n\nA draft circulated for comments")
    assert (
        "\n## Motivation\n\nA linear probe can separate true from false statements, *yet separating them* "
        in text
    )
    assert (
        "\n### What we tried\n\n- Mass-mean probes at a middle layer.\n- Logistic probes at every layer."
        in text
    )
    assert "1. Take the difference of the class means.\n2. Add it to the residual stream." in text
    assert re.search(r"\| Layer \| Probe accuracy \| Flip rate \|\s*\n\| 12 \| 0\.93 \| 0\.64 \|", text)
    assert "The flip rate peaks where the probe's accuracy peaks.\n" in text  # its note's mark left out
    assert "Flip rate: the share of prompts whose answer changes." in text
    for junk in ("Reviewer aside", "base64", "data:image", "<img", "[1]", "↑"):
        assert junk not in text, junk


def test_a_word_documents_title_authors_and_year_come_from_it() -> None:
    text = extract_text(DRAFT, "docx")
    meta = {"title": "Probing for a truth direction", "authors": ["Ada Example", "Ben Sample"], "year": 2023}
    assert document_metadata(DRAFT, "draft.docx", text) == meta
    # the Title paragraph is the title, whatever the file's property says; a template's placeholder author
    # is nobody
    stale = draft(title="Copy of untitled v3", author="Microsoft Office User")
    assert document_metadata(stale, "x.docx", extract_text(stale, "docx")) == {
        "title": "Probing for a truth direction",
        "year": 2023,
    }


def test_a_document_a_script_wrote_with_python_docx_states_no_year() -> None:
    """python-docx's template says every document was created on 2013-12-23: a report a script wrote today
    was dated 2013. A date set on it is its date."""
    d = docx.Document()
    d.add_paragraph("Notes on steering vectors")
    d.add_paragraph("A vector added to the residual stream shifts the tone of what the model writes.")
    out = io.BytesIO()
    d.save(out)
    assert word.docx_properties(out.getvalue())["year"] is None
    d.core_properties.created = datetime.datetime(2024, 2, 1)
    d.save(out := io.BytesIO())
    assert word.docx_properties(out.getvalue())["year"] == 2024


def test_a_word_document_is_read_whatever_it_is_named() -> None:
    """Google Docs' export URL (…/export?format=docx) has no suffix: the download is named .html."""
    for name in ("download.html", "export", "draft.txt"):
        assert guess_format(name, DRAFT) == "docx"
    assert "## Motivation" in extract_text(DRAFT, guess_format("download.html", DRAFT))


def zipped(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"Notes typed in a text editor and saved with the wrong suffix.\n" * 4,
            "not a zip archive, as every",
        ),
        (Path(shutil.which("ls") or "/bin/ls").read_bytes(), "this is an ELF executable, not a document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000), "Office 97-2003 file .* or a locked .docx"),
        (  # an EPUB named .docx is read as the book it is (tests/test_formats_epub.py); this one is damaged
            zipped({"mimetype": "application/epub+zip", "META-INF/container.xml": "<container/>"}),
            "this EPUB's META-INF/container.xml names no package document",
        ),
        (
            zipped({"notes.txt": "A zipped note."}),
            "not a Word document: it is a zip archive of something else",
        ),
        (DRAFT[: len(DRAFT) // 2], "damaged zip archive"),
        (zipped({"word/document.xml": "<w:document><w:body>unclosed"}), r"could not be read \("),
    ],
)
def test_a_docx_that_is_no_word_document_is_refused_by_what_it_is(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        extract_text(data, guess_format("draft.docx", data))


def test_other_zip_archives_are_refused_naming_what_is_readable() -> None:
    data = zipped({"notes.txt": "A zipped note."})
    for name in ("bundle.zip", "notes.md"):
        with pytest.raises(
            SourceError,
            match=r"this is a zip archive \(.*\), not a document; interp-rag reads "
            r".*Jupyter notebooks \(\.ipynb\), EPUB books \(\.epub\), .* and Word documents \(\.docx\)",
        ):
            extract_text(data, guess_format(name, data))


def test_a_docx_that_unpacks_to_too_much_xml_is_refused_before_it_is_parsed(monkeypatch) -> None:
    monkeypatch.setattr(word, "MAX_XML_BYTES", 20_000)
    big = draft()  # its parts hold more than 20 kB of XML (styles.xml alone)
    with pytest.raises(SourceError, match=r"unpacks to [\d,]+ bytes of XML, more than the 20,000"):
        extract_text(big, "docx")
    assert document_metadata(big, "big.docx", "") == {}  # metadata is a nicety: no error, no field


def test_the_readable_formats_come_from_the_registry(tmp_path: Path) -> None:
    from interp_rag.ingest.load import readable_formats
    from interp_rag.store.library import expand_locations
    from interp_rag.web.library import UPLOAD_TYPES

    assert {".ipynb", ".docx", ".mhtml", ".pdf", ".md", ".tex", ".gz"} <= set(UPLOAD_TYPES)
    assert "Jupyter notebooks" in readable_formats() and "Word documents" in readable_formats()
    usage = " ".join(CliRunner().invoke(main, ["add", "--help"], terminal_width=200).output.split())
    assert f"A file may be {readable_formats('or')}" in usage
    assert "markdown, plain text, PDF, HTML, saved web pages (.mhtml), LaTeX, " in usage
    assert "Jupyter notebooks" in usage
    (tmp_path / "nb.ipynb").write_bytes(TUTORIAL)
    (tmp_path / "draft.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "data.csv").write_text("a,b\n")
    found, bad, skipped, _ = expand_locations([str(tmp_path)])
    assert sorted(Path(f).name for f in found) == ["draft.docx", "nb.ipynb"] and not bad
    assert skipped == [str(tmp_path / "data.csv")]  # not read, and said
    (tmp_path / "nb.ipynb").unlink()
    (tmp_path / "draft.docx").unlink()
    bad = expand_locations([str(tmp_path)]).bad
    assert readable_formats("or") in bad[0].reason and "Word documents" in bad[0].reason


def test_a_notebook_and_a_word_document_are_added_and_answer_first(built: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "shared-drive"
    folder.mkdir()
    (folder / "steering.ipynb").write_bytes(TUTORIAL)
    (folder / "truth-probe-draft.docx").write_bytes(DRAFT)
    before = len(load_index(settings=built).chunks)
    report = add_sources([str(folder)], settings=built)
    assert [r.ok for r in report.results] == [True, True], [r.reason for r in report.results]
    index = load_index(settings=built)
    nb, doc = (
        index.sources["steering-with-a-difference-of-means"],
        index.sources["probing-for-a-truth-direction"],
    )
    assert (doc.authors, doc.year) == (["Ada Example", "Ben Sample"], 2023)
    assert nb.title == "Steering with a difference of means"
    added = [c for c in index.chunks if c.source_id in (nb.id, doc.id)]
    assert len(index.chunks) == before + len(added)
    assert not [c.text for c in added if re.search(r'"cell_type"|"outputs"|\\n|[A-Za-z0-9+/]{80}', c.text)]
    for question, source, words in [
        ("How is the steering vector built from cheerful and gloomy prompts?", nb.id, "mean activation"),
        (
            "Does a linear probe separating true from false statements show the model reads that direction?",
            doc.id,
            "does not show",
        ),
    ]:
        first = retrieve(index, question, k=3, settings=built).passages[0]
        assert (first.source_id, words in first.text) == (source, True), first.text


def test_a_failed_docx_add_changes_nothing(built: Settings, tmp_path: Path) -> None:
    path = tmp_path / "draft.docx"
    path.write_bytes(b"Not a Word file at all, only text with a .docx name.\n" * 3)
    before = snapshot(built)
    report = add_sources([str(path)], settings=built)
    assert not report.results[0].ok and "not a Word document" in report.results[0].reason
    assert snapshot(built) == before


def test_workbooks_are_refused_as_what_they_are_whatever_their_name() -> None:
    slides = zipped({"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p:presentation/>"})
    sheet = zipped({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
    with pytest.raises(SourceError, match=r"this is an Excel workbook \(\.xlsx\), not a document"):
        extract_text(sheet, guess_format("results.txt", sheet))
    assert guess_format("talk.docx", slides) == "pptx"  # a deck is read as one (test_formats_pptx.py)
    with pytest.raises(SourceError, match=r"this .docx is not a Word document: it is a slide deck"):
        extract_text(slides, "docx")
