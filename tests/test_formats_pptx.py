"""A slide deck (.pptx) read as its slides' titles, text and speaker notes: bullets by level, tables as rows,
groups opened, hidden slides and pictures left out; its title, author and year from its properties; known
by its content whatever its name, and as served; a damaged or picture-only deck refused saying why; and one
added end to end. The decks are built here with python-pptx, around our own sentences."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import httpx
import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.fetch import fetch
from interp_rag.ingest.load import extract_text, guess_format, readable_formats
from interp_rag.ingest.metadata import document_metadata
from interp_rag.settings import Settings
from tests.support.adding import add_one, first_passage

NOTES = (
    "When the evaluation sentences came from a shifted distribution of newspaper headlines, the probe's "
    "accuracy fell by a third while its control-task baseline stayed where it was."
)


def deck(hide_backup: bool = True, pictures_only: bool = False) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = "Probes under distribution shift"
    prs.core_properties.author = "Ada Example"
    prs.core_properties.created = dt.datetime(2025, 3, 2)
    if pictures_only:
        prs.slides.add_slide(prs.slide_layouts[6])  # blank: nothing to read
        out = io.BytesIO()
        prs.save(out)
        return out.getvalue()
    first = prs.slides.add_slide(prs.slide_layouts[0])
    first.shapes.title.text = "Probes under distribution shift"
    first.placeholders[1].text = "Ada Example, a reading group talk"
    second = prs.slides.add_slide(prs.slide_layouts[1])
    second.shapes.title.text = "What a control task adds"
    body = second.placeholders[1].text_frame
    body.text = "Accuracy alone overstates what a layer encodes"
    sub = body.add_paragraph()
    sub.text = "random labels set the baseline"
    sub.level = 1
    second.notes_slide.notes_text_frame.text = NOTES
    backup = prs.slides.add_slide(prs.slide_layouts[1])
    backup.shapes.title.text = "Backup: raw numbers"
    backup.placeholders[1].text = "An unfinished table we did not show."
    if hide_backup:
        backup.element.set("show", "0")
    results = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    results.shapes.title.text = "Results by layer"
    table = results.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([("layer", "selectivity"), ("4", "0.31"), ("8", "0.12")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    group = results.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(1))
    box.text_frame.text = "Later layers are less selective."
    prs.slides.add_slide(prs.slide_layouts[6])  # a blank slide (a picture's place): nothing to read
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


DECK = deck()


def read(data: bytes, name: str = "talk.pptx") -> str:
    return extract_text(data, guess_format(name, data))


def test_titles_are_headings_bullets_keep_their_level_and_notes_are_read() -> None:
    text = read(DECK)
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        "## Probes under distribution shift",
        "## What a control task adds",
        "## Results by layer",
    ]
    assert "- Accuracy alone overstates what a layer encodes\n  - random labels set the baseline" in text
    assert NOTES in text  # the talk's argument, written out in the notes
    assert "Ada Example, a reading group talk" in text


def test_tables_and_groups_are_read_and_hidden_slides_are_not() -> None:
    text = read(DECK)
    assert "| layer | selectivity |" in text and "| 8 | 0.12 |" in text
    assert "Later layers are less selective." in text
    assert "Backup" not in text and "unfinished table" not in text
    assert "unfinished table" in read(deck(hide_backup=False))


def test_title_author_and_year_come_from_its_properties() -> None:
    meta = document_metadata(DECK, "talk.pptx", read(DECK))
    assert meta == {"title": "Probes under distribution shift", "authors": ["Ada Example"], "year": 2025}
    from pptx import Presentation

    prs = Presentation(io.BytesIO(DECK))  # as PowerPoint saves a deck nobody titled; the template's date
    prs.core_properties.title, prs.core_properties.author = "PowerPoint Presentation", ""
    prs.core_properties.created = dt.datetime(2013, 1, 27, 9, 14, 16)
    out = io.BytesIO()
    prs.save(out)
    untitled = out.getvalue()
    assert document_metadata(untitled, "talk.pptx", read(untitled)) == {
        "title": "Probes under distribution shift"
    }


def test_a_deck_is_known_by_its_content_and_as_served() -> None:
    assert guess_format("download", DECK) == "pptx" and guess_format("talk.docx", DECK) == "pptx"
    assert "slide decks (.pptx)" in readable_formats()
    ctype = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    export = "https://docs.google.com/presentation/d/1XyZ/export/pptx"

    def host(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == export  # Google Slides' page is read as its deck, notes and all
        return httpx.Response(200, content=DECK, headers={"content-type": ctype})

    with httpx.Client(transport=httpx.MockTransport(host)) as client:
        body, name = fetch("https://docs.google.com/presentation/d/1XyZ/edit#slide=id.p", client=client)
    assert name.endswith(".pptx") and NOTES in read(body, name)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (DECK[: len(DECK) // 2], "damaged zip archive"),
        (deck(pictures_only=True), "holds no text"),
        (b"PK\x03\x04 not really a zip", "damaged zip archive"),
    ],
)
def test_a_damaged_or_wordless_deck_is_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        extract_text(data, "pptx")


def test_a_deck_is_added_and_its_notes_answer_first(built: Settings, tmp_path: Path) -> None:
    index, source = add_one(built, tmp_path / "talk.pptx", DECK, "probes-under-distribution-shift")
    assert (source.title, source.authors, source.year) == (
        "Probes under distribution shift",
        ["Ada Example"],
        2025,
    )
    first = first_passage(index, built, "How far did probe accuracy fall on shifted newspaper headlines?")
    assert first.source_id == source.id and "fell by a third" in first.text


def test_a_deck_that_unpacks_to_too_much_xml_is_refused_before_it_is_parsed(monkeypatch) -> None:
    from interp_rag.ingest import docx

    monkeypatch.setattr(docx, "MAX_XML_BYTES", 20_000)  # the deck's parts hold more (its masters alone)
    with pytest.raises(SourceError, match=r"unpacks to [\d,]+ bytes of XML, more than the 20,000"):
        extract_text(DECK, "pptx")
    assert document_metadata(DECK, "big.pptx", "") == {}  # metadata is a nicety: no error, no field


def test_a_paragraph_starting_with_a_hash_is_no_heading_and_a_cells_bar_no_column() -> None:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation(io.BytesIO(DECK))
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Counting features"
    slide.shapes.add_textbox(
        Inches(1), Inches(2), Inches(6), Inches(1)
    ).text_frame.text = "# of features grows"
    cell = slide.shapes.add_table(1, 1, Inches(1), Inches(4), Inches(6), Inches(1)).table.cell(0, 0)
    cell.text = "a | b"
    out = io.BytesIO()
    prs.save(out)
    text = read(out.getvalue())
    assert "## Counting features" in text and "\n\\# of features grows" in text
    assert "| a \\| b |" in text
