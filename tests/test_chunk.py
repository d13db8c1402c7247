"""Where the chunker cuts around code: a fence stays with its code (chunk.mend_fences)."""

from __future__ import annotations

import re

from interp_rag.ingest.chunk import _FENCE, _default_chunker, mend_fences
from interp_rag.types import Document, Source

F = "`" * 3
PROSE = " ".join(f"Sentence number {i} explains how the probe reads the residual stream." for i in range(12))
CODE = "\n".join(f"x{i} = model.run(layer={i})  # step {i}" for i in range(14))


def _fences(text: str) -> list[int]:
    return [m.start() for m in _FENCE.finditer(text)]


def _span(text: str, piece: str) -> tuple[int, int]:
    a = text.index(piece)
    return a, a + len(piece)


def test_a_span_opening_on_a_closing_fence_leaves_it_to_the_code_before() -> None:
    text = f"Intro.\n\n{F}\ncode()\n{F}\n\nThe prose after the code.\n"
    a, b = mend_fences(text, *_span(text, f"{F}\n\nThe prose after"), _fences(text))
    assert text[a:b] == "The prose after"
    a, b = mend_fences(text, *_span(text, f"Intro.\n\n{F}\ncode()"), _fences(text))
    assert text[a:b] == f"Intro.\n\n{F}\ncode()\n{F}"  # the closing fence it lacked, and nothing more


def test_an_opening_fence_goes_with_the_code_it_opens() -> None:
    text = f"Some prose.\n\n{F}python\n# a comment, which the splitter took for a heading\nrun()\n{F}\n"
    fences = _fences(text)
    a, b = mend_fences(text, *_span(text, f"Some prose.\n\n{F}python"), fences)
    assert text[a:b] == "Some prose."
    a, b = mend_fences(text, *_span(text, "# a comment"), fences)
    assert text[a:b].startswith(f"{F}python\n# a comment")
    assert mend_fences(text, *_span(text, f"{F}python"), fences) == (fences[0], fences[0])  # nothing left


def test_a_cut_inside_long_code_stays_where_it_is() -> None:
    text = f"{F}\n{CODE}\n{F}\n"
    piece = "x5 = model.run(layer=5)  # step 5\nx6"
    assert mend_fences(text, *_span(text, piece), _fences(text)) == _span(text, piece)


def test_no_chunk_begins_on_a_closing_fence_or_ends_on_an_opening_one() -> None:
    code = f"{F}python\n# load the model\n" + "\n".join(CODE.splitlines()[:8]) + f"\n{F}"  # fits a chunk
    text = f"# Title\n\n{PROSE}\n\n{code}\n\n{PROSE}\n\n{F}\nplain\n{F}\n\nEnd.\n"
    chunks = _default_chunker().chunk(Document(Source(id="t", title="T"), text, "file:x", "h"))
    fences = _fences(text)
    assert len(chunks) >= 3
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.start not in fences[1::2], c.text[:40]
        last = c.text.rstrip().rsplit("\n", 1)[-1]
        assert not re.fullmatch(f"{F}\\w+", last), c.text[-40:]
    assert [c.start for c in chunks if c.text.startswith("Sentence number 0")] == [text.index(PROSE, 10)]
    assert any(c.text.startswith(f"{F}python\n# load the model") for c in chunks)


def test_a_fence_is_not_taken_in_past_the_chunks_size() -> None:
    text = f"Intro.\n\n{F}\ncode()\n{F}\n\nAfter.\n"
    a, b = mend_fences(text, *_span(text, f"Intro.\n\n{F}\ncode()"), _fences(text), grow=False)
    assert text[a:b] == f"Intro.\n\n{F}\ncode()"  # only shrunk
    chunker = _default_chunker()
    code = "\n".join(f"value_{i} = compute(layer={i}, head={i % 12})" for i in range(60))
    doc = f"Some prose first.\n\n{F}python\n{code}\n{F}\n\nAnd prose after the code, to end on.\n"
    chunks = chunker.chunk(Document(Source(id="c", title="C"), doc, "file:x", "h"))
    assert max(chunker.count_many([c.text for c in chunks])) <= chunker.chunk_tokens
    assert not any(c.text.startswith(F + "\n") for c in chunks)  # and still no passage opens on a closer
