"""A PDF page's figures and tables set apart from its running text.

pypdf gives a figure's caption ("Figure 3: Probe accuracy by layer", often with no full stop) as more lines
between the paragraphs around it, so sentence splitting read it into the sentence before or after it ("… as
shown below. Figure 3: Probe accuracy by layer Accuracy rises …"), which the answer could quote as a claim.
A float is the caption and the smaller text of the figure or table it names: the labels drawn in the
figure above a caption, the rows of a table below one. Each part becomes a paragraph of its own, and the
float moves out of the sentence it cuts, as a footnote does: a figure at the top of a page or column stands
between the halves of a sentence carried over to it. A float set under the line before it stood between
paragraphs (or a table's last row and its caption), unless the text after it goes on in lower case.

A caption opens a line with its label ("Figure 3:", "Fig. 3.", "Table 1 |", "Algorithm 2:", "Listing 1.",
"Figure: …" unnumbered; or a label with no punctuation after it that looks like a caption's: "TABLE I" alone
on its line over the title, "FIGURE 2 …" in capitals, "Fig. 2 Probe accuracy …" with a capital after it,
never "Table 1 lists …"), set apart from the line before it: in a smaller font, after a gap wider than a
line's, after a line ending a sentence, or first on its page ("as shown in" / "Figure 3. The probes …" is
running text). It runs on over the lines that follow in its own font size at its own line spacing: the
running text after it is set in another size (LaTeX, a paper's style sheet) or after a paragraph's gap (a
rendered page's italic caption in the body font). A full stop at a line's end does not end it: captions of
several sentences break lines after a full stop as often as running text does.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field
from typing import Protocol


class Line(Protocol):
    """What this stage reads of a line (pdf.Line): its text, font size and height on the page."""

    text: str
    size: float
    y: float


# A float's label: "Figure", "Fig.", "TABLE", "Supplementary Table", "Extended Data Fig." …
_LABEL = (
    r"(?i:(?:(?:Supplementary|Extended\s+Data)\s+)?"
    r"(?:Figure|Fig\.?|Table|Tab\.|Algorithm|Alg\.|Listing))"
)
# its number: "3", "S2", "3.1", "3-1", "4b", or in Roman capitals as IEEE numbers tables ("II")
_NUMBER = r"(?:[A-Z]?\d+(?:[.-]\d+)*[a-z]?|[IVX]+)"
# A label that punctuation ends opens a caption: "Figure 3:", "Fig. 3.", "Table 1 |", "Figure 3 — …",
# "TABLE II.", and with no number "Figure: …" (a rendered markdown page's caption)
CAPTION = re.compile(rf"^\s*{_LABEL}(?:\s*{_NUMBER}\s*[:.|—–-]|\s*[:|])(?:\s|$)")
# A label and its number with no punctuation after them: a caption's when the label stands alone on its
# line (IEEE's "TABLE I" over the title), is set in capitals or is followed by a capital ("Fig. 2 Probe
# accuracy", LaTeX's "Algorithm 1 Greedy search"); running text goes on in lower case ("Fig. 2 shows").
_BARE = re.compile(rf"^\s*(?P<label>{_LABEL})\s*{_NUMBER}(?:\s*$|\s+(?P<next>\S))")
# Sizes within this many points are one font size (pypdf's sizes of one font differ in the second decimal).
SAME_SIZE = 0.3
# A gap between two lines wider than this many times the document's line spacing is a paragraph's (or a
# float's) gap. Measured on browser-printed pages: lines 1.16 to 1.3 times the font size apart, paragraphs
# and captions 1.9 to 2.2 times.
WIDER = 1.3
# A line that ends a sentence (pdf.py reads page ends and headings with it too)
LINE_ENDS_SENTENCE = re.compile(r"[.!?:][\"”’)\]]*\s*$")


@dataclass
class Run:
    """Running text of a page, and the floats that follow it (each part one paragraph's text)."""

    lines: list[Line] = field(default_factory=list)
    floats: list[str] = field(default_factory=list)
    # the float before it stood between paragraphs, not inside a sentence: it came in the column under the
    # line before it, and this run opens with a capital (a new sentence), not a sentence's rest
    apart: bool = False


def line_spacing(pages: list[list[Line]]) -> float:
    """The document's line spacing as a share of the font size: the median gap between two lines of one
    size one under the other (1.2 when there are none)."""
    ratios = [
        (a.y - b.y) / a.size
        for page in pages
        for a, b in itertools.pairwise(page)
        if a.size > 0 and abs(a.size - b.size) < SAME_SIZE and 0 < a.y - b.y < 3 * a.size
    ]
    return statistics.median(ratios) if ratios else 1.2


def page_runs(lines: list[Line], body: float, spacing: float) -> list[Run]:
    """A page's lines cut into runs of running text at each float, the floats' text kept with the run
    before them; the first run is empty when the page opens with a float."""
    runs = [Run()]
    i = 0
    while i < len(lines):
        if not _opens_caption(lines, i, body, spacing):
            runs[-1].lines.append(lines[i])
            i += 1
            continue
        drawn = _drawn_above(runs[-1].lines, body)
        del runs[-1].lines[len(runs[-1].lines) - len(drawn) :]
        first = i - len(drawn)  # the float's first line
        # set under the line before it, the float is no figure at the top of a page or column, which LaTeX
        # sets there in whatever sentence the column's text reached
        under = first > 0 and lines[first - 1].y > lines[first].y
        end = _caption_end(lines, i, body, spacing)
        rows = _rows_below(lines, end, body, spacing)
        for part in (drawn, lines[i:end], lines[end:rows]):
            if part:
                runs[-1].floats.append("\n".join(line.text.strip() for line in part))
        i = rows
        runs.append(Run(apart=under and i < len(lines) and not lines[i].text.lstrip()[:1].islower()))
    return runs


def _drawn_above(lines: list[Line], body: float) -> list[Line]:
    """The figure's own text drawn above its caption (axis labels, a diagram's words): the last lines of
    the run before the caption, set smaller than the running text."""
    start = len(lines)
    while start > 0 and _smaller(lines[start - 1], body):
        start -= 1
    return lines[start:]


def _rows_below(lines: list[Line], end: int, body: float, spacing: float) -> int:
    """Where a table's rows below its caption (lines from `end` on, set smaller than the running text)
    end."""
    while end < len(lines) and _smaller(lines[end], body) and not _opens_caption(lines, end, body, spacing):
        end += 1
    return end


def _smaller(line: Line, body: float) -> bool:
    return 0 < line.size < body - SAME_SIZE


def _opens_caption(lines: list[Line], i: int, body: float, spacing: float) -> bool:
    """Does line `i` open a caption: its label first, and set apart from the line before it?"""
    line = lines[i]
    if not _labelled(line, body):
        return False
    if i == 0 or _smaller(line, body):
        return True
    before = lines[i - 1]
    gap = before.y - line.y
    return (
        gap <= 0  # the top of a column
        or gap > WIDER * spacing * max(before.size, line.size)
        or bool(LINE_ENDS_SENTENCE.search(before.text))
    )


def _labelled(line: Line, body: float) -> bool:
    """Does the line open with a float's label as a caption does (`CAPTION`, or `_BARE` in a caption's
    shape)? A bare label in a font larger than the body's is a heading's."""
    if CAPTION.match(line.text):
        return True
    bare = _BARE.match(line.text)
    if bare is None or line.size > body + SAME_SIZE:
        return False
    after = bare.group("next")
    return after is None or after.isupper() or bare.group("label").isupper() or _smaller(line, body)


def _caption_end(lines: list[Line], i: int, body: float, spacing: float) -> int:
    """Where the caption opening at line `i` ends: the first line after it in another font size, set
    further from the line above it than a line's spacing, or opening a caption of its own."""
    end = i + 1
    while end < len(lines):
        above, line = lines[end - 1], lines[end]
        gap = above.y - line.y
        if (
            abs(line.size - lines[i].size) >= SAME_SIZE
            or not 0 < gap <= WIDER * spacing * line.size
            or _labelled(line, body)
        ):
            break
        end += 1
    return end
