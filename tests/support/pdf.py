"""Minimal, valid PDFs with real text objects, written by hand so tests need no PDF library."""

from __future__ import annotations

BODY = 12  # the font size of a line given as bare text


def make_pdf(lines: list[str]) -> bytes:
    """One page, one line of body text each."""
    return make_pages([lines])


def make_pages(pages: list[list[str | tuple[str, int]]]) -> bytes:
    """Pages of lines, each bare text (body size) or (text, font size), set downwards from the top."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    def content(lines: list[str | tuple[str, int]]) -> str:
        ops, y = [], 740
        for line in lines:
            text, size = (line, BODY) if isinstance(line, str) else line
            y -= size + 4
            ops.append(f"BT /F1 {size} Tf 72 {y} Td ({esc(text)}) Tj ET")
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
