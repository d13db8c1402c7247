"""A slide deck (.pptx: PowerPoint, Keynote's and Google Slides' export) as markdown: each slide's title a
heading, its text as it is laid out (bullets by their level, tables as rows), and its speaker notes, where
a talk's argument is often written out in full. Hidden slides are left out; so are pictures and charts (no
words of their own). And the deck's core properties (title, author, year), as a Word document's.

Before, a deck was refused ("export it as PDF"); a PDF of slides keeps their words but loses the notes,
which the PDF export leaves out, and the titles as headings.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ..errors import SourceError
from .docx import core_properties, office_archive

PPTX_MEMBER = "ppt/presentation.xml"


def _checked(data: bytes) -> Any:
    """The deck's zip archive, checked to be a deck of a size python-pptx can read whole."""
    return office_archive(data, ".pptx", PPTX_MEMBER, "a slide deck", "export it as PDF and add that")


def pptx_text(data: bytes) -> str:
    """The deck as markdown: per slide, its title as a heading, its text, then its notes."""
    _checked(data)
    try:
        from pptx import Presentation

        deck = Presentation(io.BytesIO(data))
        # a hidden slide is not shown (the others keep their numbers)
        parts = [_slide(n, s) for n, s in enumerate(deck.slides, 1) if s.element.get("show") != "0"]
    except SourceError:
        raise
    except Exception as e:  # python-pptx raises what its XML and zip readers raise on a damaged part
        raise SourceError(f"this .pptx could not be read ({type(e).__name__}: {str(e)[:200]})") from None
    text = "\n\n".join(p for p in parts if p)
    if not text.strip():
        raise SourceError("this .pptx holds no text (its slides are pictures); add the talk's text instead")
    return text


def _slide(number: int, slide: Any) -> str:
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    lines = [f"## {title or f'Slide {number}'}"]
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        lines += _shape_lines(shape)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        said = [_plain(p.text) for p in notes.paragraphs] if notes is not None else []
        said = [s for s in said if s]
        if said:
            lines.append("")
            lines += [f"{s}\n" for s in said]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[1:])).strip()
    return f"{lines[0]}\n\n{body}" if body else (lines[0] if title else "")


def _shapes(shapes: Any) -> list[Any]:
    """The slide's shapes in reading order (top to bottom, then left to right), groups opened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    out = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            out += _shapes(shape.shapes)
        else:
            out.append(shape)
    return sorted(out, key=lambda s: ((s.top or 0) // 100_000, s.left or 0))


def _shape_lines(shape: Any) -> list[str]:
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[_plain(c.text).replace("|", "\\|") for c in row.cells] for row in shape.table.rows]
        rows = [r for r in rows if any(r)]
        if not rows:
            return []
        width = max(len(r) for r in rows)
        table = [f"| {' | '.join(r + [''] * (width - len(r)))} |" for r in rows]
        table.insert(1, "|" + " --- |" * width)
        return ["", *table, ""]
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return []
    out = []
    for p in shape.text_frame.paragraphs:
        text = _plain(p.text)
        if text:
            out.append(f"{'  ' * p.level}- {text}" if _bulleted(shape, p) else f"\n{text}\n")
    return out


def _plain(text: str) -> str:
    """A paragraph of a slide on one line, read as the words it shows: a leading "#" ("# of features") is
    no markdown heading."""
    text = " ".join(text.split())
    return "\\" + text if text.startswith("#") else text


def _bulleted(shape: Any, paragraph: Any) -> bool:
    """A body placeholder's paragraphs are bullets (as the slide shows them); a text box's are paragraphs,
    unless the paragraph sets its own bullet."""
    ppr = paragraph._p.pPr
    if ppr is not None and any(c.tag.endswith("}buNone") for c in ppr):
        return False
    if ppr is not None and any(c.tag.endswith(("}buChar", "}buAutoNum")) for c in ppr):
        return True
    if not shape.is_placeholder:
        return False
    from pptx.enum.shapes import PP_PLACEHOLDER

    try:
        kind = shape.placeholder_format.type
    except ValueError:  # a placeholder whose type python-pptx does not know
        return False
    return kind in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)


def pptx_properties(data: bytes) -> dict[str, Any]:
    """Title, author (as written: metadata.py splits it) and year created, from the deck's core
    properties; {} when it has none or they cannot be read: they are a nicety."""
    try:
        return core_properties(_checked(data))
    except SourceError:
        return {}
