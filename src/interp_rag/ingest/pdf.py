"""A PDF's text with its headings and page breaks restored.

pypdf gives a PDF's text as lines, and every heading and page break reads as one more line break: a
heading runs into the sentence after it, and a sentence carried over to the next page is cut in two by the
page number and the running header between its halves. The answer cannot quote such sentences, and chunks
do not know their section. Where each line sits on the page, and its font size, tell them apart:

- a short line set in a larger font than the body text becomes a markdown heading (`## …`) on its own, so
  chunks carry the section they sit in, as they do for markdown sources;
- page numbers, and lines repeated at the top or bottom of several pages (running headers and footers),
  are left out;
- a page whose last sentence runs on is joined to the next page's start; other pages are blocks apart;
- footnotes (a run of lines in a smaller font at the foot of a page or column, opening with a raised mark)
  leave the running text: they stood between the halves of a sentence carried over the page, or inside a
  paragraph that goes on in the next column. Each becomes a paragraph of its own after the sentence the
  page break cut (or after its page), and the raised marks in the text ("activations¹ and") are dropped,
  as other formats' footnote numbers are; a raised digit after a single letter, a digit or a bracket is an
  exponent ("n²", "(a+b)²") and stays;
- a figure's or table's caption ("Figure 3: Probe accuracy by layer") and the figure's own smaller text are
  paragraphs of their own, moved after the sentence they cut as footnotes are (pdf_captions.py).

Paragraphs are not told apart by the wider gaps between them: chunks then cross paragraphs, as they did
before; split at paragraphs, chunks were shorter and retrieval measured no better (docs/benchmarks.md,
"Seventh pass").
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ..errors import SourceError
from ..text import BOUNDARY, FOOTNOTE_SYMBOLS, boundary_span
from .parts import over_budget, part_read
from .pdf_captions import LINE_ENDS_SENTENCE, line_spacing, page_runs
from .references import is_reference_heading

# A short line set this much larger than the body text is a heading.
HEADING_SIZE = 1.15
HEADING_MAX_WORDS = 16
# A line at the top or bottom of this many pages (digits aside; of every page of a shorter document) is a
# running header or footer: a chapter's title over each of its pages, "Draft — do not cite", a journal.
RUNNING = 3
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$", re.I)
_LIGATURE = re.compile("[\ufb00-\ufb06]")
# what a heading may end with all the same: a question ("How do I use it?") or an abbreviation ("Method by
# Wachter et al.", "LIME (… ch.)")
_HEADING_END = re.compile(r"(\?|\b(?:al|ch|etc|vs|eds?|vol|no|pp|sec|fig)\.)[\"”’)\]]*\s*$", re.I)
# Footnotes are set at most this share of the body text's size; their marks at most SUPERSCRIPT of the
# text they stand in, and raised by more than RAISED points.
NOTE_SIZE = 0.92  # LaTeX sets 9 pt notes under 10 pt text at 8.966 and 9.963 pt: 0.9 would miss them
SUPERSCRIPT = 0.8
RAISED = 0.5
_MARK = re.compile(rf"\d{{1,3}}(?:,\d{{1,3}})*|[{re.escape(FOOTNOTE_SYMBOLS)}]{{1,2}}")
# What a footnote's mark follows: a word of two letters or more, or a sentence's punctuation. After one
# letter, a digit or a bracket a raised digit is an exponent.
_MARKED = re.compile(r"(?:[^\W\d_]{2}|[.,;:!?\"”’])$")


@dataclass
class Line:
    """One line of a page as pypdf extracts it."""

    text: str
    size: float  # the font size of its first words, in points
    y: float = 0.0  # the height of its first words on the page, in points from the foot
    mark: bool = False  # it opened with a raised footnote mark (cut from `text`)


def pdf_text(data: bytes) -> str:
    """The text of a PDF, headings and pages set apart; SourceError when it is not a readable PDF."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    # pypdf logs what it repairs or gives up on ("invalid pdf header", "EOF marker not found") to stderr,
    # above our own one-line reason; a damaged file is reported by that reason alone
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages, chars = [], 0
        for i, page in enumerate(reader.pages, 1):
            pages.append(page_lines(page))
            chars += sum(len(line.text) for line in pages[-1])
            if (budget := over_budget(chars)) is not None:
                raise SourceError(
                    f"its first {i} of {len(reader.pages)} pages hold more than {budget:,} characters of "
                    "text, the limit (INTERP_RAG_MAX_SOURCE_CHARS); split it, or raise the limit"
                )
            part_read(i, len(reader.pages))
    except SourceError:
        raise
    except FileNotDecryptedError as e:  # an empty password (permissions only) is tried by pypdf itself
        raise SourceError(
            "the PDF is protected by a password; open it with the password and save or print an unprotected "
            "copy, then add that"
        ) from e
    except Exception as e:
        # A parser reading a hostile or damaged file can fail in any way (NotImplementedError for a filter
        # it lacks, AssertionError, RecursionError, KeyError …): each means the file cannot be read.
        raise SourceError(f"not a readable PDF ({type(e).__name__}: {e})") from e
    drawn = any(pages)
    pages = drop_running_lines(pages)
    sizes = [round(line.size, 1) for page in pages for line in page for _ in line.text.split()]
    body = Counter(sizes).most_common(1)[0][0] if sizes else 0.0
    spacing = line_spacing(pages)
    texts: list[str] = []
    notes: list[list[str]] = []  # what follows each text, after the sentence that runs on past it
    apart: list[bool] = []  # the text starts a block of its own
    for page in pages:
        lines, page_notes = footnotes(page, body)
        for run in page_runs(lines, body, spacing):
            texts.append(page_text(run.lines, body))
            notes.append(run.floats)
            apart.append(run.apart)
        notes[-1] += page_notes
    blocks = join_pages(texts, notes, apart)
    text = "\n\n".join(t for t in blocks if t.strip())
    if not text.strip():
        if drawn:  # every line was a running header, footer or page number
            raise SourceError("the PDF's pages hold nothing but the same lines repeated on each page")
        raise SourceError("the PDF has no extractable text (scanned images?)")
    return tidy(text)


def tidy(text: str) -> str:
    """What a PDF's extracted text needs before it reads like text: ligatures spelled out, words broken
    across lines rejoined, no runs of blank lines."""
    # Typeset text draws "fi", "fl", "ff" … as one ligature glyph, extracted as one character ("ﬁnd"):
    # spelled out, the word is the one a question and the tokenizer know.
    text = _LIGATURE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return rejoin_hyphens(text)


_BROKEN = re.compile(r"(\w+)-\n(\w+)")


def rejoin_hyphens(text: str) -> str:
    """Words a line end broke with a hyphen ("inter-" / "pretability"), joined as the document writes them
    elsewhere: typesetting hyphenates, so "interpretability"; "high-dimensional" stays so when the text has
    it so; a number's hyphen always stays ("140-280 gigabytes" read "140280"). A word the text has in neither
    form is joined when both halves are lower-case letters (a typesetter's break), else keeps its hyphen (a
    browser's print hyphenates nothing)."""
    words = set(re.findall(r"[\w-]+", _BROKEN.sub(" ", text).lower()))

    def join(m: re.Match[str]) -> str:
        left, right = m.group(1), m.group(2)
        joined, kept = f"{left}{right}", f"{left}-{right}"
        if left[-1].isdigit() or right[0].isdigit() or kept.lower() in words:
            return kept
        if joined.lower() in words or (left[-1].islower() and right.islower() and right.isalpha()):
            return joined
        return kept

    return _BROKEN.sub(join, text)


def page_lines(page: object) -> list[Line]:
    """The page's lines as pypdf extracts them, each with the size and height of its first words, raised
    footnote marks cut out (`Line.mark` when one opened the line). Text set sideways is left out where
    most of the page is upright: a margin stamp (arXiv's "arXiv:2401.00001v1 [cs.LG] 2 Jan 2024" down a
    paper's first page, which read as a line inside the sentence carried over to the next page) or a
    figure's rotated axis labels are no part of the running text; a page set sideways as a whole (a
    landscape table) keeps its text."""
    rows: list[list[tuple[str, float, float, bool]]] = [[]]

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        # The font size as drawn: the text matrix's vertical scale in the current transformation.
        scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]) or 1.0
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        across, up = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]  # the baseline's direction
        upright = across > 0 and abs(up) <= across
        for i, part in enumerate(text.split("\n")):
            if i > 0:
                rows.append([])
            if part:
                rows[-1].append((part, (size or 0.0) * scale, y, upright))

    page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    words = Counter(upright for row in rows for text, _, _, upright in row for _ in text.split())
    keep_all = words[False] > words[True]
    lines = [_line([(t, size, y) for t, size, y, upright in row if upright or keep_all]) for row in rows]
    return [line for line in lines if line.text.strip()]


def _line(row: list[tuple[str, float, float]]) -> Line:
    """One line from its pieces of text (text, size, height), raised footnote marks left out."""
    kept: list[tuple[str, float, float]] = []
    mark = False
    before: tuple[str, float, float] | None = None  # the last piece kept that is not blank
    tail = ""  # the last characters kept
    for j, (text, size, y) in enumerate(row):
        if text.strip() and _MARK.fullmatch(text.strip()):
            if before is None:
                after = next((row[k] for k in range(j + 1, len(row)) if row[k][0].strip()), None)
                if after is not None and size <= SUPERSCRIPT * after[1]:
                    mark = True  # a footnote opens with its mark, set smaller than its text
                    continue
            elif size <= SUPERSCRIPT * before[1] and y > before[2] + RAISED and _MARKED.search(tail.rstrip()):
                continue  # a footnote's mark in the text
        kept.append((text, size, y))
        tail = (tail + text)[-8:]
        if text.strip():
            before = (text, size, y)
    first = next((p for p in kept if p[0].strip()), ("", 0.0, 0.0))
    return Line("".join(p[0] for p in kept), first[1], first[2], mark)


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


def footnotes(lines: list[Line], body: float) -> tuple[list[Line], list[str]]:
    """A page's lines without its footnotes, and each footnote's text. Footnotes are a run of lines set
    smaller than the body text (`NOTE_SIZE`), going down the page from one that opened with a mark, that
    ends the page or is followed by a line set higher than it (the top of the next column): a run of small
    lines with body text below it is a caption or a table, not a page's foot."""
    if body <= 0:
        return lines, []
    small = [0 < line.size <= NOTE_SIZE * body for line in lines]
    kept: list[Line] = []
    notes: list[str] = []
    i = end = 0
    while i < len(lines):
        if lines[i].mark and small[i]:
            # where the run of small lines going down the page ends (the same for each line inside it)
            end = max(end, i + 1)
            while end < len(lines) and small[end] and lines[end].y <= lines[end - 1].y:
                end += 1
            if end == len(lines) or lines[end].y > lines[i].y:
                for line in lines[i:end]:
                    if line.mark:
                        notes.append(line.text.strip())
                    else:
                        notes[-1] += "\n" + line.text.strip()
                i = end
                continue
        kept.append(lines[i])
        i += 1
    return kept, notes


def page_text(lines: list[Line], body: float) -> str:
    """One page's lines as text, headings set apart and marked as markdown."""
    out: list[str] = []
    last_heading: Line | None = None
    for line in lines:
        text = line.text.strip()
        if _is_heading(line, body):
            if last_heading is not None and out and _wraps(last_heading, line):
                out[-1] = out[-1].rstrip("\n") + f" {text}\n\n"
            else:
                out.append(f"\n\n## {text}\n\n")
            last_heading = line
            continue
        last_heading = None
        out.append(("\n" if out and not out[-1].endswith("\n\n") else "") + text)
    return "".join(out).strip()


_RUNS_ON = re.compile(r"\b(?:of|in|on|and|or|the|a|an|for|to|with|by|from|at|as|via|vs\.?)$|[,:–—-]$", re.I)


def _wraps(first: Line, second: Line) -> bool:
    """Is `second` the same heading as `first`, wrapped ("… dynamics in neural" / "networks", "… An
    Exploration of" / "Dimensionality Reduction")? Same size, and the first line runs on: the second opens in
    lower case, or the first ends on a word or mark that cannot end a title. "2 Method" then "2.1 Setup" in
    one size stay two."""
    text, more = first.text.strip(), second.text.strip()
    open_bracket = text.count("(") > text.count(")")  # "Counterfactual Explanations (Interpretable"
    return abs(first.size - second.size) < 0.5 and (
        more[:1].islower() or open_bracket or bool(_RUNS_ON.search(text))
    )


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
        and (not LINE_ENDS_SENTENCE.search(text.rstrip(":")) or bool(_HEADING_END.search(text)))
    )


def join_pages(
    pages: list[str], notes: list[list[str]] | None = None, apart: list[bool] | None = None
) -> list[str]:
    """Pages (or the runs of a page's text between its figures) as blocks, a page whose last sentence runs
    on to the next page joined to it, unless `apart` says the next one starts a block whatever the text
    before it. Each page's footnotes and figures (`notes`) follow the sentence the page break cut, as
    paragraphs of their own, or the page when no sentence ran on."""
    out: list[str] = []
    pending: list[str] = []  # footnotes waiting for the sentence around the page break to end
    notes = notes or [[] for _ in pages]
    for page, page_notes, own in zip(pages, notes, apart or [False for _ in pages], strict=True):
        if not page:  # a page (or the top of one) holding nothing but a figure: a sentence runs on over it
            pending += page_notes
            continue
        last = out[-1].rsplit("\n", 1)[-1] if out else ""
        if (
            last
            and page
            and not own
            and not LINE_ENDS_SENTENCE.search(last)
            and not last.startswith("#")
            and not page.startswith("#")
        ):
            # where the sentence ends: a sentence's end, or a block's (a heading after it)
            end = BOUNDARY.search(page)
            if pending and end is not None:
                before, after = boundary_span(end)
                out[-1] += "\n" + page[:before]
                out += pending
                pending = []
                out.append(page[after:])
            else:
                out[-1] += "\n" + page
        else:
            out += pending
            pending = []
            out.append(page)
        pending += page_notes
    return out + pending
