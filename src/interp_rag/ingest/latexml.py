"""A paper as arXiv's HTML view shows it (LaTeXML's pages), made ready for the HTML reader (trafilatura).

trafilatura reads these pages well (math comes out as `$…$` from each formula's LaTeX), but four parts of
their markup come out wrong, so they are rewritten first, on the parsed page:

- a footnote sits inside its sentence as marks and text ("…second seed.<sup>1</sup><sup>1</sup>1Code will
  be…"): its text is moved after its paragraph, its marks dropped, as the LaTeX reader does;
- a numbered equation is a table row of empty cells around the formula ("| | $$…$$ | | (1) |"): it becomes a
  paragraph holding the formula and its number;
- a figure's caption was dropped with its image: the figure becomes its caption ("Figure 1: …"), the image
  gone;
- the bibliography was read as prose: it goes, as with LaTeX sources.

Pages LaTeXML did not make are left alone.
"""

from __future__ import annotations

import re
from typing import Any


def _has_class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def is_latexml(html: str) -> bool:
    return "ltx_document" in html or "ltx_page_main" in html


def prepare(html: str) -> str:
    """The page with LaTeXML's footnotes, equations, figures and bibliography rewritten (see above)."""
    if not is_latexml(html):
        return html
    from lxml import etree
    from lxml import html as lh

    try:
        tree = lh.fromstring(html)
    except (etree.ParserError, ValueError):  # the HTML reader says what is wrong with it
        return html
    for bib in tree.xpath(f"//*[{_has_class('ltx_bibliography')}]"):
        bib.drop_tree()
    for note in tree.xpath(f"//*[{_has_class('ltx_role_footnote')}]"):
        _move_footnote(note, lh)
    for table in tree.xpath(f"//table[{_has_class('ltx_equation')} or {_has_class('ltx_equationgroup')}]"):
        _equation_paragraph(table, lh)
    # the outermost figures: a panel's caption stays inside its figure's
    for fig in tree.xpath(
        f"//figure[{_has_class('ltx_figure')} or {_has_class('ltx_table')}][not(ancestor::figure)]"
    ):
        _caption_only(fig, lh)
    return lh.tostring(tree, encoding="unicode")


def _move_footnote(note: Any, lh: Any) -> None:
    content = note.xpath(f".//*[{_has_class('ltx_note_content')}]")
    if content:
        for mark in content[0].xpath(f".//*[{_has_class('ltx_note_mark')} or {_has_class('ltx_tag_note')}]"):
            mark.drop_tree()
    text = " ".join((content[0].text_content() if content else "").split())
    para = next(iter(note.xpath(f"ancestor::*[{_has_class('ltx_para')} or self::p][1]")), None)
    note.drop_tree()
    if text and para is not None:
        new = lh.Element("p")
        new.text = text
        para.addnext(new)


def _equation_paragraph(table: Any, lh: Any) -> None:
    """One paragraph per row of the equation (an align has several): its formula's LaTeX between `$$`, as
    the LaTeX reader writes display math, and its number."""
    paragraphs = []
    for row in table.xpath(".//tr") or [table]:
        tex = " ".join(
            re.sub(r"\\displaystyle\s*", "", m.get("alttext") or m.text_content()).strip()
            for m in row.xpath(".//math")
        )
        number = " ".join(
            " ".join(t.text_content().split()) for t in row.xpath(f".//*[{_has_class('ltx_tag_equation')}]")
        )
        if tex:  # a formula element, as trafilatura reads one (text would have its "_" escaped)
            p = lh.Element("p")
            formula = lh.Element("math", alttext=tex, display="block")
            formula.tail = f" {number}" if number else None
            p.append(formula)
            paragraphs.append(p)
    for p in reversed(paragraphs):
        table.addnext(p)
    table.drop_tree()


def _caption_only(fig: Any, lh: Any) -> None:
    """The figure as its caption; a table set as a figure keeps its cells, its caption before them."""
    captions = fig.xpath("./figcaption") or fig.xpath(".//figcaption")
    text = " ".join(captions[0].text_content().split()) if captions else ""
    new = lh.Element("p")
    new.text = text
    if fig.xpath(".//table") and not fig.xpath(".//img"):
        for c in captions[:1]:
            c.drop_tree()
        if text:
            fig.addprevious(new)
    elif text:
        fig.getparent().replace(fig, new)
    else:
        fig.drop_tree()
