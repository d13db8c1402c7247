"""A paper's landing page (an OpenReview forum, a proceedings page) is read as the PDF its `citation_pdf_url`
tag names, titled and authored by the page's tags; a page that holds the paper itself, or whose PDF cannot be
fetched, stays the document. The pages and PDFs are ours, served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from interp_rag.errors import InterpRagError
from interp_rag.ingest.fetch import fetch_document, normal_location, paper_name_url
from interp_rag.ingest.landing import LANDING_MAX_WORDS, landing_pdf
from interp_rag.ingest.sources import load_sources
from interp_rag.settings import Settings
from interp_rag.store.index import load_index
from interp_rag.store.library import add_sources
from interp_rag.web.library import add_upload
from tests.support.http import Route, serve
from tests.support.pdf import make_pdf


def landing(pdf_url: str, extra: str = "") -> bytes:
    """A forum page as a review site shows a paper: its tags, a menu, the abstract, a PDF link."""
    return (
        "<!doctype html><html><head><title>Probes Under Distribution Shift | ReviewForum</title>"
        '<meta name="citation_title" content="Probes Under Distribution Shift">'
        '<meta name="citation_author" content="Example, Ada">'
        '<meta name="citation_author" content="Sample, Bo">'
        '<meta name="citation_publication_date" content="2025/04/24">'
        f'<meta name="citation_pdf_url" content="{pdf_url}"><script>var app = {{"state": 1}};</script></head>'
        "<body><nav>Home Venues Log in</nav><h1>Probes Under Distribution Shift</h1>"
        "<p>Abstract: We ask whether linear probes keep their accuracy when the input distribution moves.</p>"
        f"{extra}<a href='{pdf_url}'>PDF</a></body></html>"
    ).encode()


PAPER = make_pdf(
    [
        "Probes Under Distribution Shift",
        "A probe trained on news text loses a third of its accuracy on code; the model's answers hold.",
        "We trace the loss to directions that the probe reads and the model never uses downstream.",
    ]
)


def test_the_pdf_a_landing_page_names_is_found() -> None:
    page = landing("/pdf?id=Xy12")
    assert (
        landing_pdf(page, "https://forum.example.org/forum?id=Xy12")
        == "https://forum.example.org/pdf?id=Xy12"
    )
    assert (
        landing_pdf(landing("https://cdn.example.org/p.pdf"), "https://a.org/x")
        == "https://cdn.example.org/p.pdf"
    )
    assert landing_pdf(page.replace(b"citation_pdf_url", b"citation_title2"), "https://a.org/x") is None
    assert landing_pdf(landing("javascript:alert(1)"), "https://a.org/x") is None
    assert landing_pdf(landing("https://a.org/x"), "https://a.org/x") is None  # itself
    words = " ".join(["The paper's own text goes on for a long while."] * (LANDING_MAX_WORDS // 9 + 1))
    assert landing_pdf(landing("/p.pdf", f"<p>{words}</p>"), "https://a.org/x") is None  # a full-text page
    assert landing_pdf(b"\x00\xff citation_pdf_url <<<", "https://a.org/x") is None


def test_a_landing_page_is_added_as_its_paper_named_by_its_tags(built: Settings) -> None:
    hits: list[str] = []
    routes = {
        "/forum?id=Xy12": Route(body=landing("/pdf?id=Xy12")),
        "/pdf?id=Xy12": Route(body=PAPER, content_type="application/pdf"),
    }
    with serve(routes, hits) as base:
        report = add_sources([f"{base}/forum?id=Xy12"], settings=built)
    assert [r.ok for r in report.results] == [True], [r.reason for r in report.results]
    assert hits == ["/forum?id=Xy12", "/pdf?id=Xy12"]  # one download each: the metadata came with the page
    src = next(s for s in load_sources(built.sources_file) if s.url == f"{base}/forum?id=Xy12")
    assert (src.title, src.authors, src.year) == (
        "Probes Under Distribution Shift",
        ["Ada Example", "Bo Sample"],
        2025,
    )
    text = " ".join(c.text for c in load_index(settings=built).chunks if c.source_id == src.id)
    assert "directions that the probe reads and the model never uses downstream" in text
    assert "Log in" not in text and "Abstract:" not in text


def test_a_relative_pdf_address_is_read_against_where_a_redirect_led() -> None:
    """A DOI's resolver redirects to the publisher's page, whose tag may name the PDF relative to itself."""
    routes = {
        "/10.1234/probes": Route(302, b"", location="/papers/probes/"),
        "/papers/probes/": Route(body=landing("files/paper.pdf")),
        "/papers/probes/files/paper.pdf": Route(body=PAPER, content_type="application/pdf"),
    }
    with serve(routes) as base:
        got = fetch_document(f"{base}/10.1234/probes")
    assert got.name == "download.pdf" and got.url == f"{base}/papers/probes/files/paper.pdf"
    assert b"citation_title" in got.landing_page


@pytest.mark.parametrize(
    "pdf_route",
    [
        Route(404, b"not found", "text/plain"),
        Route(body=b"<html><body><p>Please log in to download the PDF.</p></body></html>"),  # a login wall
    ],
)
def test_a_landing_page_whose_pdf_cannot_be_had_is_read_as_itself(pdf_route: Route) -> None:
    routes = {"/forum?id=Xy12": Route(body=landing("/pdf?id=Xy12")), "/pdf?id=Xy12": pdf_route}
    with serve(routes) as base:
        got = fetch_document(f"{base}/forum?id=Xy12")
    assert got.name.endswith(".html") and b"Abstract: We ask" in got.body and not got.landing_page


def test_a_page_that_holds_the_paper_and_the_abs_page_asked_for_itself_are_not_followed() -> None:
    words = " ".join(["The paper's own text goes on for a long while."] * (LANDING_MAX_WORDS // 9 + 1))
    routes = {
        "/article": Route(body=landing("/article.pdf", f"<p>{words}</p>")),
        "/article.pdf": Route(body=PAPER, content_type="application/pdf"),
        "/forum": Route(body=landing("/article.pdf")),
    }
    hits: list[str] = []
    with serve(routes, hits) as base:
        assert fetch_document(f"{base}/article").name.endswith(".html")
        assert fetch_document(f"{base}/forum", landing=False).name.endswith(".html")
    assert "/article.pdf" not in hits


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("arXiv:2301.05217", "https://arxiv.org/abs/2301.05217"),
        ("arxiv: 2301.05217v2", "https://arxiv.org/abs/2301.05217v2"),
        ("2301.05217", "https://arxiv.org/abs/2301.05217"),
        ("10.48550/arXiv.2301.05217", "https://arxiv.org/abs/2301.05217"),  # arXiv's own DOI
        ("arXiv:cs/0112017", "https://arxiv.org/abs/cs/0112017"),
        ("doi:10.18653/v1/2023.acl-long.1", "https://doi.org/10.18653/v1/2023.acl-long.1"),
        ("10.1038/s41586-024-07487-w", "https://doi.org/10.1038/s41586-024-07487-w"),
        ("notes.md", ""),
        ("12345", ""),
        ("https://example.org/paper", ""),
    ],
)
def test_a_paper_named_by_its_arxiv_id_or_doi_is_its_url(typed: str, url: str) -> None:
    assert paper_name_url(typed) == url
    assert normal_location(typed) == (url or typed)


def test_a_file_named_like_an_arxiv_id_is_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2301.05217").write_text("My notes on the paper, kept under its id.\n")
    assert normal_location("2301.05217") == "2301.05217"


def test_add_and_the_url_box_take_an_arxiv_id(built: Settings) -> None:
    hits: list[str] = []
    routes = {"/pdf/2401.00001": Route(body=PAPER, content_type="application/pdf")}
    with serve(routes, hits) as base:
        settings = built.model_copy(update={"arxiv_url": base})
        given = {"title": "Probes", "authors": ["A. B."], "year": 2024}
        report = add_sources(["arXiv:2401.00001"], settings=settings, **given)
        assert [r.ok for r in report.results] == [True], [r.reason for r in report.results]
        # the same paper again, by the web's URL box: it maps the id before its http(s) check
        with pytest.raises(InterpRagError, match=r"https://arxiv.org/abs/2401.00001 is already in"):
            add_upload("arXiv:2401.00001", None, "neutral", "paper", settings=settings)
    assert hits[:2] == ["/html/2401.00001", "/pdf/2401.00001"]  # read as `add https://arxiv.org/abs/…` reads
    assert [s.url for s in load_sources(built.sources_file) if s.title == "Probes"] == [
        "https://arxiv.org/abs/2401.00001"
    ]
