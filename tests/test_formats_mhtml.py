"""A web page saved as one file (.mhtml: Chrome's and Edge's "Webpage, Single File") read as the page it
holds, not as MIME headers and "=3D"-escaped markup; its title and authors from the page; the HTML part
chosen by the page's own address; a saved page with no HTML refused; and one added end to end. The files are
built here as Chrome writes them, around our own sentences."""

from __future__ import annotations

import base64
import quopri
import re
from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.load import extract_text, guess_format, readable_formats
from interp_rag.ingest.metadata import document_metadata
from interp_rag.ingest.sources import fetch
from interp_rag.settings import Settings
from tests.support.adding import add_one, first_passage
from tests.support.http import Route, serve

URL = "https://blog.example.org/posts/reading-probes"
BOUNDARY = "----MultipartBoundary--Xy12Ab34Cd56----"
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Reading Probes Carefully | A Research Blog</title><meta name="author" content="Ada Example">
<meta property="article:published_time" content="2025-03-02"><style>p { margin: 0 }</style></head>
<body><nav><a href="/">Home</a></nav><article><h1>Reading Probes Carefully</h1>
<p>A linear probe that reaches high accuracy on a layer shows that the feature can be decoded there, and no
more: whether the model itself reads that direction is a question only an intervention on it can answer.</p>
<h2>What the control task adds</h2>
<p>A probe trained on random labels with the same vocabulary sets the selectivity baseline; naïve accuracy
without it overstates what the layer represents.</p>
<img src="https://blog.example.org/figures/selectivity.png" alt="selectivity by layer"></article>
</body></html>
"""


def part(body: bytes, ctype: str, location: str, encoding: str = "quoted-printable") -> str:
    coded = quopri.encodestring(body) if encoding == "quoted-printable" else base64.encodebytes(body)
    return (
        f"--{BOUNDARY}\r\nContent-Type: {ctype}\r\nContent-ID: <frame-{len(body)}@mhtml.blink>\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\nContent-Location: {location}\r\n\r\n"
        f"{coded.decode('ascii')}\r\n"
    )


def mhtml(*parts: str, subject: str = "=?utf-8?Q?Reading_Probes_Carefully_=E2=80=93_notes?=") -> bytes:
    """A saved page as Chrome writes it: headers naming the page, then its parts."""
    return (
        f"From: <Saved by Blink>\r\nSnapshot-Content-Location: {URL}\r\nSubject: {subject}\r\n"
        "Date: Sat, 5 Dec 2026 09:12:00 -0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n"
        f'\ttype="text/html";\r\n\tboundary="{BOUNDARY}"\r\n\r\n\r\n' + "".join(parts) + f"--{BOUNDARY}--\r\n"
    ).encode("ascii")


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
SAVED = mhtml(
    part(PAGE.encode(), "text/html", URL),
    part(b"p { margin: 0 }", "text/css", "https://blog.example.org/site.css"),
    part(PNG * 50, "image/png", "https://blog.example.org/figures/selectivity.png", "base64"),
)


def test_a_saved_page_reads_as_its_page() -> None:
    text = extract_text(SAVED, guess_format("Reading Probes.mhtml", SAVED))
    assert text.startswith("# Reading Probes Carefully\n")
    assert "## What the control task adds" in text
    assert "only an intervention on it can answer." in text and "naïve accuracy" in text  # "=C3=AF" read
    assert not re.search(r"=3D|=\r?\n|Content-Type|Saved by Blink|margin|[A-Za-z0-9+/]{60}", text)


def test_its_title_authors_and_year_come_from_the_page_else_the_title_it_was_saved_with() -> None:
    text = extract_text(SAVED, "mhtml")
    meta = document_metadata(SAVED, "Reading Probes.mhtml", text)
    assert (meta["title"], meta["authors"], meta["year"]) == (
        "Reading Probes Carefully",
        ["Ada Example"],
        2025,
    )
    bare = mhtml(
        part(b"<p>Only a paragraph about probes and their controls, and nothing else.</p>", "text/html", URL)
    )
    assert document_metadata(bare, "page.mhtml", extract_text(bare, "mhtml"))["title"] == (
        "Reading Probes Carefully – notes"  # the Subject header, its encoded word read
    )


def test_the_pages_own_html_part_is_read_not_a_frames() -> None:
    frame = part(
        b"<p>An advertisement in a frame, saved first.</p>", "text/html", "https://ads.example.com/f"
    )
    text = extract_text(
        data := mhtml(frame, part(PAGE.encode(), "text/html", URL)), guess_format("p.mht", data)
    )
    assert "advertisement" not in text and "selectivity baseline" in text


def test_a_saved_page_is_known_by_its_content_whatever_its_name() -> None:
    for name in ("download.html", "page.txt", "saved", "Reading Probes.mht"):
        assert guess_format(name, SAVED) == "mhtml", name
    note = b"Chrome writes 'From: <Saved by Blink>' atop a page, with Content-Type: multipart/related."
    assert guess_format("notes.txt", note) == "text" and guess_format("notes.md", note) == "markdown"
    assert "saved web pages (.mhtml)" in readable_formats()


def test_a_saved_page_served_as_one_is_read_as_one() -> None:
    with serve({"/saved": Route(body=SAVED, content_type="multipart/related")}) as base:
        data, name = fetch(f"{base}/saved")
    assert name == "download.mhtml" and "selectivity baseline" in extract_text(data, guess_format(name, data))


def test_a_saved_page_without_html_is_refused_saying_so() -> None:
    data = mhtml(part(PNG, "image/png", "https://blog.example.org/a.png", "base64"))
    with pytest.raises(SourceError, match="holds no HTML part"):
        extract_text(data, "mhtml")


def test_a_saved_page_is_added_and_answers_first(built: Settings, tmp_path: Path) -> None:
    path = tmp_path / "Reading Probes Carefully.mhtml"
    index, source = add_one(built, path, SAVED, "reading-probes-carefully")
    assert (source.authors, source.year) == (["Ada Example"], 2025)
    first = first_passage(index, built, "What does a random-label control task add to probe accuracy?")
    assert first.source_id == source.id and "selectivity baseline" in first.text
