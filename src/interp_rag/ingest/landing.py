"""A paper's landing page: the page a proceedings site, a preprint server or a review forum shows for a paper
(OpenReview, PMLR, the NeurIPS and ACL proceedings, JMLR, bioRxiv…), with its title, authors and abstract
and a link to the PDF. Such a page names its PDF in a `citation_pdf_url` meta tag (the Highwire Press tags
Google Scholar asks publishers to write). Adding the page's URL indexed the abstract and the site's menus;
the paper is the PDF, which `fetch` reads instead. A page that holds the paper itself (a journal's
full-text HTML, arXiv's HTML view: more than LANDING_MAX_WORDS words of its own) stays the document."""

from __future__ import annotations

from urllib.parse import urljoin

# A landing page's own words: title, authors, abstract (150–300 words), keywords, the site's menus and
# footer, on OpenReview a few reviews' summaries; a paper is 4,000 words and more.
LANDING_MAX_WORDS = 1_500


def landing_pdf(html: bytes, url: str) -> str | None:
    """The PDF a landing page names for its paper (absolute, http(s)), or None: no `citation_pdf_url` tag,
    or the page holds more than LANDING_MAX_WORDS words of text (then it is the paper)."""
    from lxml import html as lh

    if b"citation_pdf_url" not in html:
        return None
    try:
        tree = lh.fromstring(html)
    except Exception:  # lxml raises several unrelated types on junk: then it is no landing page
        return None
    named = [
        (m.get("content") or "").strip()
        for m in tree.iter("meta")
        if (m.get("name") or m.get("property") or "").strip().lower() == "citation_pdf_url"
    ]
    pdf = urljoin(url, named[0]) if named and named[0] else ""
    if not pdf.startswith(("http://", "https://")) or pdf == url:
        return None
    for hidden in tree.xpath("//script|//style|//noscript|//template|//head"):
        hidden.drop_tree()
    words = len(" ".join(tree.itertext()).split())
    return pdf if words <= LANDING_MAX_WORDS else None
