"""Token-bounded chunks with stable ids, heading paths and character offsets.

The embedding model silently truncates input beyond 256 word pieces, so chunks are measured with the
model's own tokenizer, never in characters.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from ..text import clean_for_embedding, digest, span_holder
from ..types import Chunk, Document
from .embed import tokenizer_path
from .references import left_out, reference_sections

MODEL_MAX_TOKENS = 256
# [CLS] and [SEP] take two of the model's 256 positions.
CONTENT_MAX_TOKENS = MODEL_MAX_TOKENS - 2
SPLITTER_NAME = (
    "langchain RecursiveCharacterTextSplitter (markdown, paragraph, sentence separators), "
    "model word pieces; title context; ordered offsets; template tags dropped; reference lists and HTML "
    "comments left out; inline base64 data left out; pieces of at most 3000 characters; code fences kept "
    "with their code where it fits"
)
# A piece's length in characters, whatever its word pieces: a run of letters with no space is one unknown
# word piece to the model, so 300 kB of it made one "chunk" of 300 kB (the longest shipped chunk has 1,558).
MAX_PIECE_CHARS = 3_000
# An image (or any file) written into the text as base64 ("![plot](data:image/png;base64,iVBOR…)", as some
# notebook exports and note apps save them): 200 kB of it made 1,250 chunks of nothing but base64.
_DATA_URI = re.compile(r"(?:!\[[^\]\n]{0,300}\]\()?data:[\w.+-]+/[\w.+-]+;base64,[A-Za-z0-9+/=]{200,}\)?")

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FENCE = re.compile(r"^(```|~~~)", re.M)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def html_comments(text: str) -> list[tuple[int, int]]:
    """The spans of the HTML comments ("<!-- … -->") that open a line, outside code fences: a markdown
    page's notes to its authors and commented-out drafts, which no reader of the page sees. A comment
    inside a line is left to text.clean_for_embedding (cutting there would cut its sentence in two); one
    never closed is left as text (a stray "<!--" must not take the rest of the document with it)."""
    fences = [m.start() for m in _FENCE.finditer(text)]
    spans: list[tuple[int, int]] = []
    # Openers come in order: each stretch of text before one is looked at once (linear however many
    # comments share a line); `written` says whether the opener's line holds text before it.
    pos = seen = 0
    written = False
    while (a := text.find("<!--", pos)) >= 0:
        b = text.find("-->", a + 4)
        if b < 0:
            break
        nl = text.rfind("\n", seen, a)
        written = (written and nl < 0) or bool(text[max(seen, nl + 1) : a].strip())
        seen = a
        if written or bisect.bisect_right(fences, a) % 2:  # inline, or code that shows HTML
            pos = a + 4
            continue
        spans.append((a, b + 3))
        pos = b + 3
    return spans


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """What no chunk holds: HTML comments that open a line (html_comments) and inline base64 data, as sorted
    spans that do not overlap (a data URI inside a comment is part of the comment)."""
    spans = sorted(html_comments(text) + [m.span() for m in _DATA_URI.finditer(text)])
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def headings_index(
    text: str, hidden: list[tuple[int, int]] | None = None
) -> tuple[list[int], list[list[str]]]:
    """For each markdown heading outside code fences and HTML comments (`hidden`, when the caller has
    them): its offset and the heading path up to it."""
    fences = [m.start() for m in _FENCE.finditer(text)]
    hidden = html_comments(text) if hidden is None else hidden
    in_comment = span_holder(hidden)
    offsets: list[int] = []
    paths: list[list[str]] = []
    stack: list[tuple[int, str]] = []
    for m in _HEADING.finditer(text):
        if bisect.bisect_right(fences, m.start()) % 2:  # inside a ``` block: a comment, not a heading
            continue
        if hidden and in_comment(m.start()) is not None:
            continue
        level = len(m.group(1))
        title = clean_for_embedding(m.group(2))[:120]
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        offsets.append(m.start())
        paths.append([t for _, t in stack])
    return offsets, paths


Part = tuple[int, int, bool | None]  # start, end; None: running text, else a reference section (entries?)


def parts(
    text: str, start: int, offsets: list[int], paths: list[list[str]], hidden: list[tuple[int, int]]
) -> list[Part]:
    """The text from `start` as the pieces the splitter cuts on their own, in order: running text, and each
    reference section with whether it reads as entries (references.py). The HTML comments (`hidden`,
    html_comments) are not among them, so no chunk holds one."""
    sections = reference_sections(text, offsets, paths)
    in_comment, in_section = span_holder(hidden), span_holder([(a, b) for a, b, _ in sections])
    edges = {x for a, b in hidden for x in (a, b)} | {x for a, b, _ in sections for x in (a, b)}
    cuts = sorted({start, len(text), *(x for x in edges if start < x < len(text))})
    out: list[Part] = []
    for a, b in itertools.pairwise(cuts):
        if in_comment(a) is not None:
            continue
        k = in_section(a)
        out.append((a, b, None if k is None else sections[k][2]))
    return out


def _bounded(piece: str) -> list[str]:
    """`piece` in parts of at most MAX_PIECE_CHARS characters, cut after a space where there is one."""
    out = []
    while len(piece) > MAX_PIECE_CHARS:
        cut = piece.rfind(" ", MAX_PIECE_CHARS // 2, MAX_PIECE_CHARS) + 1 or MAX_PIECE_CHARS
        out.append(piece[:cut])
        piece = piece[cut:]
    return [*out, piece]


def mend_fences(text: str, start: int, end: int, fences: list[int], grow: bool = True) -> tuple[int, int]:
    """The span [start, end) of `text` moved so that no code fence is left on the wrong side of a cut.

    The splitter cuts before every bare fence line, so a piece began with the fence that closes the code
    before it (and its prose then read as code), and a piece could end on the fence that opens the code
    after it, or be nothing but that fence. `fences` are the offsets of the fence lines (text's _FENCE
    matches), alternately opening and closing. A closing fence that starts the span, or an opening fence
    that ends it, is left out of it; the closing fence just past its end, or the opening fence just before
    its start, is taken in (only across white space: a cut in the middle of long code stays there), unless
    not `grow` (then the span only shrinks: taking a fence in would pass the chunk's size)."""

    def line_end(at: int) -> int:
        return (text.find("\n", at) + 1) or len(text)

    i = bisect.bisect_right(fences, start)  # fences at or before the start
    if i % 2 == 0 and i and fences[i - 1] == start:  # the span opens on a closing fence: drop its line
        start = line_end(start)
    elif grow and i % 2 == 1 and fences[i - 1] != start and not text[line_end(fences[i - 1]) : start].strip():
        start = fences[i - 1]  # the span opens just inside code: take in the fence that opened it
    j = bisect.bisect_left(fences, end)  # fences before the end
    if j % 2 == 1 and not text[line_end(fences[j - 1]) : end].strip():
        end = fences[j - 1]  # the span ends on an opening fence with nothing of its code after it
    elif grow and j % 2 == 1 and j < len(fences) and not text[end : fences[j]].strip():
        end = min(line_end(fences[j]), len(text))  # the code's closing fence is all that the span lacks
        end -= text[end - 1 : end] == "\n"
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, max(start, end)


# Markdown structure first, then paragraphs, lines and sentences; words only when a sentence is too long.
SEPARATORS = [
    r"\n#{1,6} ",
    "```\n",
    r"\n\*\*\*+\n",
    r"\n---+\n",
    r"\n___+\n",
    r"\n\n",
    r"\n",
    # The splitter's own sentence separator, not text.SENTENCE_END: it is part of the index format
    # (SPLITTER_NAME), and changing it would re-chunk, and re-embed, every source.
    r"(?<=[.!?])\s+(?=[A-Z\"“(\[*])",
    r"(?<=[;:])\s+",
    " ",
    "",
]


@dataclass
class Chunker:
    tokenizer_path: Path
    chunk_tokens: int = 160
    chunk_overlap: int = 32

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.tokenizer_path))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def _splitter(self, size: int, overlap: int):
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        return RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=min(overlap, size // 2),
            length_function=self.count,
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="start",
        )

    def split(self, text: str) -> list[str]:
        """Pieces of at most `chunk_tokens` word pieces each (re-split where merging overshoots)."""
        pieces = self._splitter(self.chunk_tokens, self.chunk_overlap).split_text(text)
        out: list[str] = []
        for piece, n in zip(pieces, self.count_many(pieces), strict=True):
            if n <= self.chunk_tokens:
                out.append(piece)
                continue
            # Word pieces of joined text are not the sum of the parts' counts; shrink until it fits.
            size = self.chunk_tokens
            while size > 8:
                size = int(size * 0.85)
                sub = self._splitter(size, 0).split_text(piece)
                if all(c <= self.chunk_tokens for c in self.count_many(sub)):
                    out.extend(sub)
                    break
        return [q for p in out if p.strip() for q in _bounded(p) if q.strip()]

    def chunk(self, doc: Document) -> list[Chunk]:
        text = doc.text
        fm = _FRONT_MATTER.match(text)
        body_start = fm.end() if fm else 0
        hidden = hidden_spans(text)
        h_offsets, h_paths = headings_index(text, hidden)
        fences = [m.start() for m in _FENCE.finditer(text)]
        chunks: list[Chunk] = []
        pos = prev_end = body_start
        pieces = [
            (piece, section)
            for a, b, section in parts(text, body_start, h_offsets, h_paths, hidden)
            for piece in self.split(text[a:b])
        ]
        for piece, section in pieces:
            # Pieces come in order and each reaches past the one before: a short piece that repeats
            # (a speaker's name) must not be placed at an earlier occurrence.
            start = text.find(piece, pos)
            while start >= 0 and start + len(piece) <= prev_end:
                start = text.find(piece, start + 1)
            if start < 0:  # cannot happen for substrings, but never mis-point a citation
                start = text.find(piece, pos)
                start = start if start >= 0 else text.find(piece, body_start)
            end = start + len(piece)
            pos, prev_end = start + 1, max(prev_end, end)
            if fences:
                a, b = mend_fences(text, start, end, fences)
                if (a < start or b > end) and self.count(text[a:b]) > self.chunk_tokens:  # the fence took in
                    a, b = mend_fences(text, start, end, fences, grow=False)  # passes the size: only shrink
                start, end = a, b
                piece = text[start:end]
            if not clean_for_embedding(piece):  # a lone rule or image link says nothing
                continue
            i = bisect.bisect_right(h_offsets, start) - 1
            headings = h_paths[i] if i >= 0 else []
            if left_out(piece, section):  # a reference list's entries, not prose (references.py)
                continue
            chunks.append(
                Chunk(
                    id=f"{doc.source.id}:{len(chunks)}",
                    source_id=doc.source.id,
                    n=len(chunks),
                    text=piece,
                    start=start,
                    end=end,
                    headings=list(headings),
                )
            )
        for c in chunks:
            c.hash = digest(self.embed_text(c, doc.source.title), 24)
        return chunks

    def embed_text(self, chunk: Chunk, title: str) -> str:
        return embed_input(clean_for_embedding(chunk.text), title, self)


def embed_input(body: str, title: str, chunker: Chunker | None = None) -> str:
    """What the model reads for a passage: its source's title as context, then the cleaned text.

    The context is cut (never the passage) so the whole input stays within the model's window. Chunks at
    build time and passages given to classify_stance() go through this same function."""
    if not title:
        return body
    chunker = chunker or _default_chunker()
    budget = CONTENT_MAX_TOKENS - chunker.count(body) - 1
    if budget <= 2:
        return body
    ids = chunker.tokenizer.encode(title, add_special_tokens=False)
    if len(ids.ids) > budget:
        title = title[: ids.offsets[budget - 1][1]]
    return f"{title}: {body}"


@cache
def _default_chunker() -> Chunker:
    return Chunker(tokenizer_path())
