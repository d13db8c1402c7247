"""EPUB books read as their chapters in reading order (the spine), the table of contents, non-linear notes
pages and image-only pages left out; title, authors and year from the package metadata; a book known by its
content whatever its name; DRM refused by name, obfuscated fonts not; a zip bomb refused before it is
parsed; and a book added end to end. The books are built here, around our own sentences."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest import epub
from interp_rag.ingest.load import extract_text, guess_format, readable_formats
from interp_rag.ingest.metadata import document_metadata
from interp_rag.ingest.parts import reading_parts
from interp_rag.ingest.sources import fetch
from interp_rag.settings import Settings
from tests.support.adding import add_one, first_passage
from tests.support.http import Route, serve

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def page(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


CHAPTERS = {
    "text/ch1.xhtml": page(
        "Field Notes on Probing",
        "<h1>Chapter 1. Why probes mislead</h1><p>A probe that decodes a feature from a layer shows that the "
        "information is there, not that the model uses it; only an intervention on the direction can show "
        "that.</p><h2>1.1 Control tasks</h2><p>Selectivity compares a probe's accuracy with its accuracy on "
        "a control task of random labels over the same words.</p>",
    ),
    "text/ch2.xhtml": page(
        "Field Notes on Probing",
        "<h1>Chapter 2. Causal tests</h1><p>Ablating the probed direction and watching the answer change is "
        "the test we trust: a causal effect, not a correlation read off the activations.</p>",
    ),
    "text/nav.xhtml": page("Contents", "<nav><ol><li>Chapter 1. Why probes mislead</li></ol></nav>"),
    "text/cover.xhtml": page("Cover", '<img src="../images/cover.png" alt=""/>'),
    "text/notes.xhtml": page("Notes", "<p>Endnote text that a reader reaches only by a link.</p>"),
}


def package(spine: list[tuple[str, str]], date: str = "2024-05-01") -> str:
    items = "".join(
        f'<item id="{i}" href="text/{name}" media-type="application/xhtml+xml"{props}/>'
        for i, (name, props) in enumerate(
            [
                ("ch1.xhtml", ""),
                ("ch2.xhtml", ""),
                ("nav.xhtml", ' properties="nav"'),
                ("cover.xhtml", ""),
                ("notes.xhtml", ""),
            ]
        )
    )
    refs = "".join(f'<itemref idref="{i}"{extra}/>' for i, extra in spine)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:identifier id="id">urn:uuid:0</dc:identifier><dc:title>Field Notes on Probing</dc:title>'
        f"<dc:creator>Ada Example</dc:creator><dc:creator>Ben Sample</dc:creator><dc:date>{date}</dc:date>"
        f'<dc:language>en</dc:language></metadata><manifest>{items}<item id="img" href="images/cover.png" '
        f'media-type="image/png"/></manifest><spine>{refs}</spine></package>'
    )


# reading order: cover, contents, chapter 1, chapter 2, then the notes page outside the linear reading
SPINE = [("3", ""), ("2", ""), ("0", ""), ("1", ""), ("4", ' linear="no"')]


def book(spine: list[tuple[str, str]] = SPINE, extra: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")  # first and stored, as EPUB asks
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", package(spine))
        for name, text in CHAPTERS.items():
            z.writestr(f"OEBPS/{name}", text)
        z.writestr("OEBPS/images/cover.png", b"\x89PNG\r\n\x1a\n" + bytes(200))
        for name, text in (extra or {}).items():
            z.writestr(name, text)
    return out.getvalue()


BOOK = book()


def encryption(uri: str, algorithm: str) -> dict[str, str]:
    return {
        "META-INF/encryption.xml": '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        f'<enc:EncryptionMethod Algorithm="{algorithm}"/><enc:CipherData>'
        f'<enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>'
    }


def test_a_book_reads_as_its_chapters_in_reading_order() -> None:
    text = extract_text(BOOK, guess_format("Field Notes.epub", BOOK))
    assert text.startswith("# Chapter 1. Why probes mislead\n")
    assert "## 1.1 Control tasks" in text
    assert text.index("Chapter 1.") < text.index("# Chapter 2. Causal tests")
    assert "only an intervention on the direction can show that." in text
    # the notes page, the contents, the cover's image and title, and the book's title (its metadata's)
    for left_out in ("Endnote text", "Contents", "<img", "Cover", "Field Notes on Probing"):
        assert left_out not in text, left_out
    swapped = extract_text(book([("1", ""), ("0", "")]), "epub")
    assert swapped.index("Chapter 2.") < swapped.index("Chapter 1.")


def test_its_title_authors_and_year_come_from_the_package() -> None:
    meta = document_metadata(BOOK, "download.epub", extract_text(BOOK, "epub"))
    assert meta == {"title": "Field Notes on Probing", "authors": ["Ada Example", "Ben Sample"], "year": 2024}


def test_a_book_is_known_by_its_content_whatever_its_name_and_as_served() -> None:
    for name in ("Field Notes.epub", "book.zip", "download", "notes.md"):
        assert guess_format(name, BOOK) == "epub", name
    assert "EPUB books (.epub)" in readable_formats()
    with serve({"/book": Route(body=BOOK, content_type="application/epub+zip")}) as base:
        data, name = fetch(f"{base}/book")
    assert name == "download.epub" and "Causal tests" in extract_text(data, guess_format(name, data))


def test_progress_is_reported_chapter_by_chapter() -> None:
    heard: list[tuple[int, int]] = []
    with reading_parts(lambda done, total: heard.append((done, total))):
        extract_text(BOOK, "epub")
    assert heard == [(1, 3), (2, 3), (3, 3)]  # cover, chapter 1, chapter 2: the contents and notes left out


def test_a_book_under_drm_is_refused_and_an_obfuscated_font_is_not() -> None:
    locked = book(extra=encryption("OEBPS/text/ch2.xhtml", "http://www.w3.org/2001/04/xmlenc#aes128-cbc"))
    with pytest.raises(SourceError, match=r"encrypted \(DRM: 1 of its 3 chapters\)"):
        extract_text(locked, "epub")
    font = book(extra=encryption("OEBPS/fonts/serif.otf", "http://www.idpf.org/2008/embedding"))
    assert "Causal tests" in extract_text(font, "epub")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"notes.txt": "A zipped note."}, "no EPUB book: it holds no META-INF/container.xml"),
        ({"META-INF/container.xml": "<container/>"}, "names no package document"),
        ({"META-INF/container.xml": CONTAINER}, r"names a part it does not hold \(OEBPS/content.opf\)"),
    ],
)
def test_an_epub_that_is_no_book_is_refused_saying_why(members: dict[str, str], message: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    with pytest.raises(SourceError, match=message):
        extract_text(out.getvalue(), "epub")


def test_a_book_of_images_only_is_refused_saying_so() -> None:
    with pytest.raises(SourceError, match="no text in its 1 chapters"):
        extract_text(book([("3", "")]), "epub")


def test_a_zip_bomb_is_refused_before_it_is_parsed(monkeypatch) -> None:
    monkeypatch.setattr(epub, "MAX_MARKUP_BYTES", 2_000)
    with pytest.raises(SourceError, match="bytes of markup, more than the 2,000 it may"):
        extract_text(BOOK, "epub")


def test_a_book_is_added_and_answers_from_its_chapter(built: Settings, tmp_path: Path) -> None:
    path = tmp_path / "Field Notes on Probing.epub"
    index, source = add_one(built, path, BOOK, "field-notes-on-probing")
    assert (source.authors, source.year) == (["Ada Example", "Ben Sample"], 2024)
    first = first_passage(index, built, "What does a control task of random labels measure for a probe?")
    assert first.source_id == source.id and "Selectivity" in first.text
    assert first.headings[0] == "Chapter 1. Why probes mislead"  # the chapter, as a heading


def garbled(data: bytes, member: str) -> bytes:
    """`data` with `member`'s compressed bytes scrambled: its deflate stream broken, or its CRC wrong."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    out = bytearray(data)
    for i in range(start + 2, start + info.compress_size - 2):
        out[i] ^= 0x5A
    return bytes(out)


def newer_zip(data: bytes) -> bytes:
    """`data` whose first directory entry asks for a zip version this Python cannot unpack (14.7)."""
    at = data.index(b"PK\x01\x02")
    return data[: at + 6] + (147).to_bytes(2, "little") + data[at + 8 :]


@pytest.mark.parametrize("name", ["book.epub", "draft.docx"])
def test_a_damaged_archive_is_refused_saying_so_never_with_a_raw_zip_error(name: str) -> None:
    """zlib.error, NotImplementedError and EOFError from a damaged member escaped as crashes (found by
    truncating and flipping bytes of these books and drafts)."""
    from tests.test_formats_docx import DRAFT

    data = BOOK if name.endswith(".epub") else DRAFT
    member = "OEBPS/text/ch1.xhtml" if name.endswith(".epub") else "word/document.xml"
    for bad in (garbled(data, member), newer_zip(data)):
        with pytest.raises(SourceError):
            extract_text(bad, guess_format(name, bad))
        document_metadata(bad, name)  # metadata is a nicety: none, not a crash
