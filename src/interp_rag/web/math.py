"""Math in passages and answers shown as math: `$…$`, `$$…$$`, `\\(…\\)` and `\\[…\\]` become MathML, which
browsers draw without a script or a font download.

Sources carry their formulas as LaTeX (markdown posts, LaTeX sources, arXiv's HTML view), and a quote such
as "the width $m \\in \\{2^{12}, \\dots\\}$" reads better drawn. latex2mathml converts; what it returns is
built from the document's text, so it is treated like the text: parsed, and written out again with only
MathML's presentation elements and their layout attributes, every character escaped (it would pass
`\\text{<img onerror=…>}` through as a tag, and `\\href{javascript:…}` as an attribute). A formula that does
not convert, or does not survive that check, stays visible as the LaTeX it was.

What counts as a formula is `text.formulas` (Pandoc's rule for `$`: "costs $5 and $10" stays text).
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from functools import lru_cache

from ..text import split_formulas

MAX_TEX = 500  # characters of one formula: longer ones stay text
_NS = "{http://www.w3.org/1998/Math/MathML}"
# fmt: off
_ELEMENTS = frozenset((
    "math", "semantics", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "merror",
    "mmultiscripts", "mprescripts", "none",
))
_ATTRIBUTES = frozenset((
    "display", "stretchy", "fence", "separator", "accent", "accentunder", "width", "height", "depth",
    "lspace", "rspace", "mathvariant", "movablelimits", "linethickness", "columnalign", "columnspacing",
    "rowspacing", "rowalign", "columnlines", "rowlines", "frame", "displaystyle", "scriptlevel", "notation",
    "minsize", "maxsize", "symmetric", "largeop", "form", "linebreak",
))
# fmt: on


def split_math(text: str) -> list[tuple[str, str | None]]:
    """The text as pieces: (text, None) for prose, (source, mathml) for a formula (mathml "" when it
    could not be drawn: its source is then shown as text)."""
    out: list[tuple[str, str | None]] = []
    for t, m in split_formulas(text):
        if m is None:
            out.append((t, None))
            continue
        tex = m.group("dd") or m.group("db") or m.group("ip") or m.group("id") or ""
        display = m.group("dd") is not None or m.group("db") is not None
        out.append((t, to_mathml(tex.strip(), display) or ""))
    return out


@lru_cache(maxsize=4096)
def to_mathml(tex: str, display: bool = False) -> str | None:
    """Safe MathML for a formula, or None."""
    if not tex or len(tex) > MAX_TEX:
        return None
    try:
        from latex2mathml.converter import convert

        # \ensuremath (a paper's command for "math here or not") is a no-op inside a formula; latex2mathml
        # would print its name
        raw = convert(tex.replace("\\ensuremath", ""), display="block" if display else "inline")
    except Exception:  # a formula latex2mathml cannot read (its errors have no common type)
        return None
    if "<!" in raw:  # no declarations, no entity definitions
        return None
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:  # e.g. a raw "&" or "<" it passed through
        return None
    return _write(root)


def _write(el: ET.Element) -> str | None:
    name = el.tag.removeprefix(_NS)
    if name not in _ELEMENTS:
        return None
    attrs = "".join(
        f' {k}="{html.escape(v, quote=True)}"' for k, v in sorted(el.attrib.items()) if k in _ATTRIBUTES
    )
    if name == "math":
        attrs = ' xmlns="http://www.w3.org/1998/Math/MathML"' + attrs
    inner = [html.escape(el.text or "", quote=False)]
    for child in el:
        written = _write(child)
        if written is None:
            return None
        inner += [written, html.escape(child.tail or "", quote=False)]
    return f"<{name}{attrs}>{''.join(inner)}</{name}>"
