"""Minimal, valid PDFs with real text objects, written by hand so tests need no PDF library."""

from __future__ import annotations

from dataclasses import dataclass

BODY = 12  # the font size of a line given as bare text
FOOT = "<foot of the page>"  # a line list item: the lines after it are set at the foot of the page (column)
COLUMN = "<next column>"  # a line list item: the lines after it start a second column at the top
GAP = "<gap>"  # a line list item: a paragraph's gap (a line's height) before the next line


@dataclass
class Sideways:
    """A line set sideways (turned a quarter left) up the left margin: a margin stamp, a rotated label. It
    takes no room in the column."""

    text: str
    size: int = BODY
    y: int = 200


# A line: bare text (body size), (text, font size), or its pieces [(text, font size, rise in points)] as a
# typeset PDF draws a raised footnote mark or an exponent: a smaller font, moved up, in the same line.
Spec = str | tuple[str, int] | list[tuple[str, float, float]] | Sideways


def make_pdf(lines: list[str]) -> bytes:
    """One page, one line of body text each."""
    return make_pages([lines])


def make_pages(pages: list[list[Spec]]) -> bytes:
    """Pages of lines (see `Spec`), set downwards from the top (or from the foot, or in a second column)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    def content(lines: list[Spec]) -> str:
        ops, x, y = [], 72, 740
        for line in lines:
            if line == FOOT:
                y = 140
                continue
            if line == COLUMN:
                x, y = 320, 740
                continue
            if line == GAP:
                y -= BODY
                continue
            if isinstance(line, Sideways):
                ops.append(f"BT /F1 {line.size} Tf 0 1 -1 0 36 {line.y} Tm ({esc(line.text)}) Tj ET")
                continue
            if isinstance(line, str):
                pieces = [(line, BODY, 0.0)]
            else:
                pieces = [(*line, 0.0)] if isinstance(line, tuple) else line
            y -= max(size for _, size, _ in pieces) + 4
            drawn, rise, font = [f"BT /F1 {pieces[0][1]} Tf {x} {y} Td"], 0.0, pieces[0][1]
            for text, size, up in pieces:
                if size != font:
                    drawn.append(f"/F1 {size} Tf")
                    font = size
                if up != rise:  # as pdfTeX moves a superscript: a relative move of the text position
                    drawn.append(f"0 {up - rise} Td")
                    rise = up
                drawn.append(f"({esc(text)}) Tj")
            ops.append(" ".join(drawn) + " ET")
        return "\n".join(ops)

    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    font = 3 + 2 * n
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>"]
    for i, lines in enumerate(pages):
        body = content(lines)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
