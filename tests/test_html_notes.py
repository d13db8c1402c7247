"""A web page's footnote marks leave its sentences (blog engines' markup, our own text)."""

from __future__ import annotations

from interp_rag.ingest.html_notes import drop_footnote_refs
from interp_rag.ingest.load import extract_text

FILLER = (
    "<p>A second paragraph says more about the probes and the layers, so that the page has enough text for "
    "the reader to treat it as the body of an article worth keeping.</p>"
)


def page(body: str, notes: str = "") -> bytes:
    return (
        f"<html><head><title>A Post About Probes</title></head><body><article><h1>A Post About Probes</h1>"
        f"{body}{FILLER}{notes}</article></body></html>"
    ).encode()


def test_footnote_marks_of_common_blog_engines_leave_the_sentence() -> None:
    body = (
        # kramdown / Hugo
        '<p>Linear probes read features from activations<sup id="fnref:1"><a href="#fn:1" class="footnote">1'
        "</a></sup> and they work in many layers of the models we studied. We ran each probe three times."
        # Substack: no space after the mark, so the two sentences ran into one
        '<a class="footnote-anchor" href="#footnote-2" id="footnote-anchor-2">2</a> Probes trained on one '
        "layer transfer poorly to the next one"
        # MediaWiki
        '<sup class="reference"><a href="#cite_note-3">[3]</a></sup>, which we take as a sign that the '
        "features move"
        # Pandoc
        '<a href="#fn4" class="footnote-ref" id="fnref4" role="doc-noteref"><sup>4</sup></a>.'
        # two notes in one raised box
        ' It holds<sup><a href="#fn:5">5</a>, <a href="#fn:6">6</a></sup> here.</p>'
    )
    notes = (
        '<div class="footnotes"><ol><li id="fn:1"><p>We use the residual stream at every layer. '
        '<a href="#fnref:1" class="reversefootnote">&#8617;</a></p></li></ol></div>'
        '<div class="footnote"><a class="footnote-number" href="#footnote-anchor-2">2</a>'
        '<div class="footnote-content"><p>Seeds 0, 1 and 2.</p></div></div>'
    )
    text = extract_text(page(body, notes), "html")
    assert (
        "Linear probes read features from activations and they work in many layers of the models we studied. "
        "We ran each probe three times. Probes trained on one layer transfer poorly to the next one, which "
        "we take as a sign that the features move. It holds here." in text
    ), text
    # the notes themselves stay, without their marks and links back
    assert "We use the residual stream at every layer." in text and "↩" not in text
    assert "\nSeeds 0, 1 and 2." in text and "\n2\n" not in text


def test_exponents_and_links_to_sections_stay() -> None:
    body = (
        "<p>The cost grows as n<sup>2</sup> in the width, as <a href='#sec3'>Section 3</a> shows and "
        "<a href='#sec4'>4</a> repeats; the probes of <a href='#bib.bib12'>12</a> agree.</p>"
    )
    text = extract_text(page(body), "html")
    assert "n<sup>2</sup> in the width, as Section 3 shows and 4 repeats; the probes of 12 agree." in text


def test_pages_without_marks_and_arxiv_views_are_left_as_they_are() -> None:
    plain = "<html><body><p>No links to <a href='#top'>the top</a> that are marks.</p></body></html>"
    assert drop_footnote_refs(plain) == plain
    latexml = '<html><body><div class="ltx_page_main"><sup><a href="#fn1">1</a></sup></div></body></html>'
    assert drop_footnote_refs(latexml) == latexml  # latexml.py moves its footnotes itself


def test_a_page_of_many_marks_reads_in_linear_time() -> None:
    """Dropped one by one, each mark's following text was joined onto an ever longer text before it
    (9 s for 40,000 marks in one paragraph); emptied in place, the HTML reader slowed down as much."""
    import time

    body = "".join(f'word<sup><a href="#fn:{i}">{i % 999}</a></sup> ' for i in range(40_000))
    start = time.perf_counter()
    text = extract_text(f"<html><body><p>{body}</p></body></html>".encode(), "html")
    assert time.perf_counter() - start < 5.0
    assert text.startswith("word word word") and "<sup>" not in text
    box = "<sup>" + "".join(f'<a href="#fn:{i}">{i % 999}</a>, ' for i in range(40_000)) + "</sup>"
    start = time.perf_counter()
    text = extract_text(f"<html><body><p>Words here{box} and more.</p></body></html>".encode(), "html")
    assert time.perf_counter() - start < 5.0
    assert text == "Words here and more."
