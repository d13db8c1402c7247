"""A paper's reference list is not prose, and is left out of the index.

A paper added as a PDF, an HTML page or markdown ends with tens of entries ("Lee, J. and Kim, S. (2023).
Sparse features in small transformers. arXiv preprint …"): each entry's title holds a question's words,
so reference chunks were shown in place of passages that answer, and the answer has no sentence to quote
from them. LaTeX sources and arXiv's HTML view already drop their bibliography (latex.py, latexml.py);
this rule does the same for the other formats, by the chunk: a chunk is left out when it sits under a
reference heading and reads as entries (years, "arXiv", "et al." and DOIs at least every
`WORDS_PER_MARK` words). An appendix the heading detection missed, after the references, reads as prose
and stays.
"""

from __future__ import annotations

import itertools
import re

# "References", "6 References", "Bibliography", "Works cited" …: the whole heading, nothing else.
REFERENCE_HEADING = re.compile(
    r"^(?:[\dIVX]+(?:\.\d+)*\.?\s+)?(?:references?|bibliography|works cited|literature cited|cited works|"
    r"reference list|references and notes)\s*:?$",
    re.IGNORECASE,
)
_HEADING_LINE = re.compile(r"^#{1,6}[ \t].*$", re.MULTILINE)
# What a reference entry holds and running prose rarely does.
_MARK = re.compile(r"\b(?:1[89]|20)\d\d[a-z]?\b|\barxiv\b|\bdoi\b|\bproceedings\b|\bet al\.", re.IGNORECASE)
# An entry runs ~15–40 words with a year, often also "arXiv", "et al." or a DOI; prose under such a heading
# (a note on sources, an appendix after the list) has far fewer. A chunk needs three, or one when it
# follows a chunk of the list (the list's last chunk may hold one short entry).
WORDS_PER_MARK = 40
MIN_MARKS = 3


def under_reference_heading(headings: list[str]) -> bool:
    return any(REFERENCE_HEADING.match(h.strip()) for h in headings)


def reads_as_entries(text: str, *, continues: bool = False) -> bool:
    """Enough years, "arXiv"s, "et al."s and DOIs for its length to be reference entries (`continues`: the
    chunk before it was, so one short entry is enough)."""
    marks = len(_MARK.findall(text))
    return marks >= (1 if continues else MIN_MARKS) and marks * WORDS_PER_MARK >= len(text.split())


def is_reference_list(text: str, headings: list[str], *, continues: bool = False) -> bool:
    """Is this chunk (its text and the heading path it sits under) part of a reference list? `continues`:
    the chunk before it was. The list's heading alone (a PDF's entries run on as one block, split from it)
    is part of it."""
    if not under_reference_heading(headings):
        return False
    return not _HEADING_LINE.sub("", text).strip() or reads_as_entries(text, continues=continues)


def reference_spans(offsets: list[int], paths: list[list[str]], end: int) -> list[tuple[int, int]]:
    """Where the reference sections are: from each reference heading (`offsets`, `paths`: each heading's
    offset and heading path, as chunk.headings_index gives them) to the next heading at its level or above,
    or `end`. The chunker splits these apart from the text around them, so no chunk of the paper's last
    section carries the first entries with it."""
    spans: list[tuple[int, int]] = []
    for i, path in enumerate(paths):
        if not REFERENCE_HEADING.match(path[-1].strip()):
            continue
        if spans and offsets[i] < spans[-1][1]:  # a reference heading inside another's section
            continue
        # the sections found do not overlap, so these scans cover each heading once: linear in headings
        stop = next((offsets[j] for j in range(i + 1, len(paths)) if len(paths[j]) <= len(path)), end)
        spans.append((offsets[i], stop))
    return spans


def segments(start: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) cut at the reference sections' edges: the pieces in order, each chunked on its own."""
    cuts = sorted({start, end, *(x for span in spans for x in span if start < x < end)})
    return list(itertools.pairwise(cuts))
