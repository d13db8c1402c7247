"""A paper's reference list is not prose, and is left out of the index.

A paper added as a PDF, an HTML page or markdown ends with tens of entries ("Lee, J. and Kim, S. (2023).
Sparse features in small transformers. arXiv preprint …"): each entry's title holds a question's words,
so reference chunks were shown in place of passages that answer, and the answer has no sentence to quote
from them. LaTeX sources and arXiv's HTML view already drop their bibliography (latex.py, latexml.py);
this rule does the same for the other formats: a section under a reference heading whose text reads as
entries (years, "arXiv", "et al." and DOIs at least every `WORDS_PER_MARK` words) is left out, piece by
piece as the chunker cuts it. A piece of it that reads as prose (an appendix whose heading the PDF reader
missed) stays.
"""

from __future__ import annotations

import re

# "References", "6 References", "Bibliography", "Works cited" …: the whole heading, nothing else.
REFERENCE_HEADING = re.compile(
    r"^(?:[\dIVX]+(?:\.\d+)*\.?\s+)?(?:references?|bibliography|works cited|literature cited|cited works|"
    r"reference list|references and notes)\s*:?$",
    re.IGNORECASE,
)
# what a converted page leaves beside a heading: an empty anchor link, a permalink mark ("References ¶")
_HEADING_DECOR = re.compile(r"\[\]\([^)]*\)|[^\w)]+$")
_HEADING_LINE = re.compile(r"^#{1,6}[ \t].*$", re.MULTILINE)
# The rule's numbers are part of the index format (chunk.SPLITTER_NAME names it; an index built otherwise is
# stale), so they live here rather than in settings, which an index does not record.
# What a reference entry holds and running prose rarely does.
_MARK = re.compile(r"\b(?:1[89]|20)\d\d[a-z]?\b|\barxiv\b|\bdoi\b|\bproceedings\b|\bet al\.", re.IGNORECASE)
# An entry runs ~15–40 words with a year, often also "arXiv", "et al." or a DOI; prose under such a heading
# (a note on sources, an appendix after the list) has far fewer.
WORDS_PER_MARK = 40
MIN_MARKS = 3
# Inside a list, a piece shorter than this is a fragment of it (the splitter's tail: an entry or two),
# whatever it holds; a chunk of prose runs ~110 words.
FRAGMENT_WORDS = 60
Section = tuple[int, int, bool]  # start, end, reads as a list of entries


def is_reference_heading(title: str) -> bool:
    """Is this heading (or a PDF's line) a reference list's? Only short ones are looked at: no such heading
    is long, and a long line of symbols must not cost the decoration's pattern quadratic time."""
    title = title.strip()
    return len(title) <= 80 and REFERENCE_HEADING.match(_HEADING_DECOR.sub("", title).strip()) is not None


def reads_as_entries(text: str) -> bool:
    """Enough years, "arXiv"s, "et al."s and DOIs for its length to be reference entries."""
    marks = len(_MARK.findall(text))
    return marks >= MIN_MARKS and marks * WORDS_PER_MARK >= len(text.split())


def reference_sections(text: str, offsets: list[int], paths: list[list[str]]) -> list[Section]:
    """The reference sections of `text`: from each reference heading (`offsets`, `paths`: each heading's
    offset and heading path, as chunk.headings_index gives them) to the next heading at its level or above
    (or the end), and whether the section as a whole reads as a list of entries. The chunker splits these
    apart from the text around them, so no chunk of the paper's last section carries the first entries."""
    out: list[Section] = []
    for i, path in enumerate(paths):
        if not is_reference_heading(path[-1]):
            continue
        if out and offsets[i] < out[-1][1]:  # a reference heading inside another's section
            continue
        # the sections found do not overlap, so these scans cover each heading once: linear in headings
        stop = next((offsets[j] for j in range(i + 1, len(paths)) if len(paths[j]) <= len(path)), len(text))
        out.append((offsets[i], stop, reads_as_entries(text[offsets[i] : stop])))
    return out


def left_out(piece: str, section: bool | None) -> bool:
    """Is this piece of a paper left out of the index? `section`: None outside a reference section, else
    whether that section reads as entries. A list's heading alone goes (a PDF's entries run on as one block
    that the splitter cuts from it); inside a list, so does every piece that reads as entries or is a short
    fragment of one; a piece that reads as prose stays (an appendix whose heading was missed), and so does a
    reference section of prose."""
    if section is None:
        return False
    if not _HEADING_LINE.sub("", piece).strip():
        return True
    if not section:
        return False
    return len(piece.split()) < FRAGMENT_WORDS or reads_as_entries(piece)
