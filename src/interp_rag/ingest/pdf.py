"""A PDF's text with its headings and page breaks restored.

pypdf gives a PDF's text as lines, and every heading and page break reads as one more line break: a
heading runs into the sentence after it, and a sentence carried over to the next page is cut in two by the
page number and the running header between its halves. The answer cannot quote such sentences, and chunks
do not know their section. Where each line sits on the page, and its font size, tell them apart:

- a short line set in a larger font than the body text becomes a markdown heading (`## …`) on its own, so
  chunks carry the section they sit in, as they do for markdown sources;
- page numbers, and lines repeated at the top or bottom of several pages (running headers and footers),
  are left out;
- a page whose last sentence runs on is joined to the next page's start; other pages are blocks apart.

Paragraphs are not told apart by the wider gaps between them: chunks then cross paragraphs, as they did
before; split at paragraphs, chunks were shorter and retrieval measured no better (docs/benchmarks.md,
"Seventh pass").
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ..errors import SourceError
from .parts import part_read
from .references import is_reference_heading

# A short line set this much larger than the body text is a heading.
HEADING_SIZE = 1.15
HEADING_MAX_WORDS = 16
# A line at the top or bottom of this many pages (digits aside; of every page of a shorter document) is a
# running header or footer: a chapter's title over each of its pages, "Draft — do not cite", a journal.
RUNNING = 3
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$", re.I)
_LIGATURE = re.compile("[\ufb00-\ufb06]")
_SENTENCE_END = re.compile(r"[.!?:][\"”’)\]]*\s*$")


@dataclass
class Line:
    """One line of a page as pypdf extracts it."""

    text: str
    size: float  # the font size of its first words, in points


def pdf_text(data: bytes) -> str:
    """The text of a PDF, headings and pages set apart; SourceError when it is not a readable PDF."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = []
        for i, page in enumerate(reader.pages, 1):
            pages.append(page_lines(page))
            part_read(i, len(reader.pages))
    except Exception as e:
        # A parser reading a hostile or damaged file can fail in any way (NotImplementedError for a filter
        # it lacks, AssertionError, RecursionError, KeyError …): each means the file cannot be read.
        raise SourceError(f"not a readable PDF ({type(e).__name__}: {e})") from e
    pages = drop_running_lines(pages)
    sizes = [round(line.size, 1) for page in pages for line in page for _ in line.text.split()]
    body = Counter(sizes).most_common(1)[0][0] if sizes else 0.0
    text = "\n\n".join(t for t in join_pages([page_text(page, body) for page in pages]) if t.strip())
    if not text.strip():
        raise SourceError("the PDF has no extractable text (scanned images?)")
    return tidy(text)


def tidy(text: str) -> str:
    """What a PDF's extracted text needs before it reads like text: ligatures spelled out, words broken
    across lines rejoined, no runs of blank lines."""
    # Typeset text draws "fi", "fl", "ff" … as one ligature glyph, extracted as one character ("ﬁnd"):
    # spelled out, the word is the one a question and the tokenizer know.
    text = _LIGATURE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return re.sub(r"(\w)-\n(\w)", r"\1\2", text)


def page_lines(page: object) -> list[Line]:
    """The page's lines as pypdf extracts them, each with the size of its first words."""
    frags: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        # The font size as drawn: the text matrix's vertical scale in the current transformation.
        scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]) or 1.0
        frags.append((text, (size or 0.0) * scale))

    page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    lines: list[Line] = []
    current: Line | None = None
    for text, size in frags:
        for i, part in enumerate(text.split("\n")):
            if i > 0 or current is None:
                current = Line("", size)
                lines.append(current)
            if not current.text.strip() and part.strip():
                current.size = size
            current.text += part
    return [line for line in lines if line.text.strip()]


def drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Without page numbers and the running headers and footers (the same words, digits aside, among the
    first or last two lines of `RUNNING` pages or more, or of every page of a shorter document)."""

    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.strip().lower())

    # each page's first and last two lines (once each on a page of three lines or fewer)
    edges = [{id(x): x for x in page[:2] + page[-2:]} for page in pages]
    seen = Counter(key(line) for edge in edges for line in edge.values())
    needed = min(RUNNING, len(pages))  # a two-page document's header is on both pages
    running = {k for k, n in seen.items() if len(pages) > 1 and n >= needed}
    return [
        [
            line
            for line in page
            if not (id(line) in edge and (key(line) in running or _PAGE_NUMBER.match(line.text)))
        ]
        for page, edge in zip(pages, edges, strict=True)
    ]


def page_text(lines: list[Line], body: float) -> str:
    """One page's lines as text, headings set apart and marked as markdown."""
    out: list[str] = []
    for line in lines:
        text = line.text.strip()
        if _is_heading(line, body):
            out.append(f"\n\n## {text}\n\n")
        else:
            out.append(("\n" if out and not out[-1].endswith("\n\n") else "") + text)
    return "".join(out).strip()


def _is_heading(line: Line, body: float) -> bool:
    """A short line in a larger font, mostly letters (a display formula's large operator is no heading),
    not ending a sentence; or a line that is only "References" (or "Bibliography" …), in whatever font:
    some styles set it in bold body type, and the list under it is left out of the index by its heading
    (references.py)."""
    text = line.text.strip()
    if is_reference_heading(text):
        return True
    letters = sum(c.isalpha() for c in text)
    return (
        body > 0
        and line.size >= HEADING_SIZE * body
        and 0 < len(text.split()) <= HEADING_MAX_WORDS
        and letters >= 2
        and letters >= 0.5 * len(text.replace(" ", ""))
        and not _SENTENCE_END.search(text.rstrip(":"))
    )


def join_pages(pages: list[str]) -> list[str]:
    """Pages as blocks, a page whose last sentence runs on to the next page joined to it."""
    out: list[str] = []
    for page in pages:
        last = out[-1].rsplit("\n", 1)[-1] if out else ""
        if (
            last
            and page
            and not _SENTENCE_END.search(last)
            and not last.startswith("#")
            and not page.startswith("#")
        ):
            out[-1] += "\n" + page
        else:
            out.append(page)
    return out
