"""A web page's footnote references, taken out before the HTML reader (trafilatura) reads the page.

Blogs and essays mark a footnote with a link to it inside the sentence: `<sup><a href="#fn:1">1</a></sup>`
(kramdown, Hugo, Pandoc), `<a class="footnote-anchor" href="#footnote-1">1</a>` (Substack), `<sup><a
href="#cite_note-4">[4]</a></sup>` (MediaWiki). The reader keeps the mark as text, so a sentence reads
"activations 1 and they work", or runs into the next one ("three times.2 Probes trained …": no space, so no
sentence end, and the answer cannot quote either). The footnotes themselves, listed at the page's end, stay;
their links back to the text ("↩") go. Other formats drop their footnote marks the same way (markdown's
`[^1]`, LaTeX's `\\footnote`, a PDF's raised marks).

A reference is a link within the page whose whole text is a mark (a number, a letter or a symbol, bare or
in brackets) and that is set raised (`<sup>`) or says it is a note (its href, id or class, or its
parent's, names a footnote or note): a link to "Section 3" written as "3" is kept. Exponents
(`<sup>2</sup>`, no link) stay. arXiv's HTML view is left to latexml.py, which moves its footnotes.
"""

from __future__ import annotations

import re
from typing import Any

from ..text import FOOTNOTE_SYMBOLS
from .latexml import is_latexml

_MARK_TEXT = re.compile(
    rf"^[\[(]?(?:\d{{1,3}}|[a-z]|[{re.escape(FOOTNOTE_SYMBOLS)}])[\])]?$|^[↩↑^]\ufe0e?$", re.IGNORECASE
)
# "fn:1", "fnref1", "footnote-anchor-2", "cite_note-4", "noteref": a note; not "ref" or "bib" alone, which
# name links to sections, equations and reference lists ("#S2", class "ltx_ref"; "#bib.bib12")
_NOTE_NAME = re.compile(r"fn|foot|note", re.IGNORECASE)
_SEPARATORS = re.compile(r"^[\s,;–-]*$")


def drop_footnote_refs(html: str) -> str:
    """`html` without the links that mark its footnotes (see above); unchanged when it has none."""
    if ('href="#' not in html and "href='#" not in html) or is_latexml(html):
        return html
    from lxml import etree
    from lxml import html as lh

    try:
        tree = lh.fromstring(html)
    except (etree.ParserError, ValueError):  # the HTML reader says what is wrong with it
        return html
    marks = [a for a in tree.iter("a") if is_footnote_ref(a)]
    if not marks:
        return html
    doomed: dict[Any, list[Any]] = {}  # parent -> the marks to take out of it
    boxes: dict[Any, list[Any]] = {}  # a <sup> -> its marks
    for a in marks:
        parent = a.getparent()
        if parent is not None and parent.tag == "sup":
            boxes.setdefault(parent, []).append(a)
        elif parent is not None:
            doomed.setdefault(parent, []).append(a)
    for sup, inside in boxes.items():
        # a raised box holding only marks ("1", "[3]", "1,2") goes whole; else its marks alone
        ids = {id(a) for a in inside}
        rest = (sup.text or "") + "".join(
            (child.tail or "") if id(child) in ids else child.text_content() + (child.tail or "")
            for child in sup
        )  # its text without the marks (built in one pass: a box of thousands of marks stays linear)
        outer = sup.getparent()
        if _SEPARATORS.match(rest) and outer is not None:
            doomed.setdefault(outer, []).append(sup)
        else:
            doomed.setdefault(sup, []).extend(inside)
    for parent, gone in doomed.items():
        _remove(parent, gone)
    return lh.tostring(tree, encoding="unicode")


def _remove(parent: Any, gone: list[Any]) -> None:
    """Take `gone` out of `parent`, the text after each joined to the text before it, in one pass: lxml's
    drop_tree joins each time, and a paragraph of thousands of marks then copies ever longer strings
    (9 s for 40,000); left as empty elements instead, they slow the reader as much."""
    ids = {id(e) for e in gone}
    pieces = [parent.text or ""]
    last = None  # the last child kept: the text after a removed mark joins its tail

    def settle() -> None:  # the text gathered since `last` becomes what follows it
        text = "".join(pieces) or None
        if last is None:
            parent.text = text
        else:
            last.tail = text

    for child in list(parent):
        if id(child) in ids:
            pieces.append(child.tail or "")
            parent.remove(child)
            continue
        settle()
        last, pieces = child, [child.tail or ""]
    settle()


def is_footnote_ref(a: Any) -> bool:
    """Is this `<a>` (an lxml element) a footnote's mark or its link back (see the module's rule)?"""
    href = (a.get("href") or "").strip()
    text = a.text_content().strip()
    if not href.startswith("#") or not _MARK_TEXT.match(text):
        return False
    parent = a.getparent()
    if text[0] in "↩↑^" or (parent is not None and parent.tag == "sup"):
        return True
    names = [href, a.get("id") or "", a.get("class") or ""]
    if parent is not None:
        names += [parent.get("id") or "", parent.get("class") or ""]
    return bool(_NOTE_NAME.search(" ".join(names)))
