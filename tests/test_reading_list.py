"""A reading list (.bib) adds the papers it lists: each entry's paper found by its arXiv id, its URL or its
DOI; an entry that names none is reported, not added. The lists, pages and PDFs are ours, served on
127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest import reading_list as rl
from interp_rag.ingest.sources import load_sources
from interp_rag.settings import Settings
from interp_rag.store.library import add_sources
from tests.support.http import Route, serve
from tests.support.pdf import make_pdf


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"eprint": "2301.05217", "archivePrefix": "arXiv"}, "https://arxiv.org/abs/2301.05217"),
        ({"eprint": "2301.05217", "eprinttype": "arxiv"}, "https://arxiv.org/abs/2301.05217"),
        ({"journal": "arXiv preprint arXiv:2209.10652"}, "https://arxiv.org/abs/2209.10652"),  # Scholar's
        ({"url": "https://arxiv.org/pdf/2209.10652v1.pdf"}, "https://arxiv.org/abs/2209.10652v1"),
        (
            {"url": "https://transformer-circuits.pub/2023/x", "doi": "10.1/y"},
            "https://transformer-circuits.pub/2023/x",
        ),
        (
            {"doi": "https://doi.org/10.18653/v1/2023.acl-long.1"},
            "https://doi.org/10.18653/v1/2023.acl-long.1",
        ),
        ({"doi": "10.1038/s41586-024-07487-w"}, "https://doi.org/10.1038/s41586-024-07487-w"),
        ({"url": "file:///home/ada/paper.pdf"}, ""),  # a path on someone's machine
        ({"title": "Interpretable Machine Learning", "publisher": "Leanpub"}, ""),  # a book: nowhere to read
    ],
)
def test_an_entrys_paper_is_found_where_the_entry_says(fields: dict[str, str], location: str) -> None:
    assert rl.entry_location(fields) == location


def test_a_list_that_is_no_reading_list_is_refused_saying_why(monkeypatch) -> None:
    with pytest.raises(SourceError, match="holds no BibTeX entry"):
        rl.reading_list(b"Notes on the papers I mean to read, with no entry in them.\n")
    monkeypatch.setattr(rl, "MAX_BIB_BYTES", 100)
    with pytest.raises(SourceError, match="more than the 100 a reading list may be"):
        rl.reading_list(b"@misc{a, url={https://example.org/a}}\n" * 10)


def test_a_reading_list_adds_its_papers_in_one_build(built: Settings, tmp_path: Path) -> None:
    pdf = make_pdf(["Probes trained on one checkpoint drift on the next one, layer by layer, as we show."])
    page = (
        b"<!doctype html><html><head><title>Steering, Measured</title></head><body><article>"
        b"<h1>Steering, Measured</h1><p>Adding a difference of means to the residual stream moves the "
        b"model's sentiment, and the size of the move grows with the vector's norm until fluency breaks."
        b"</p></article></body></html>"
    )
    hits: list[str] = []
    routes = {"/pdf/2401.00001": Route(body=pdf, content_type="application/pdf"), "/post": Route(body=page)}
    with serve(routes, hits) as base:
        bib = tmp_path / "reading.bib"
        bib.write_text(
            "@article{drift, title={Probes Under Drift},\n  journal={arXiv preprint arXiv:2401.00001}}\n"
            f"@misc{{steer, title={{Steering, Measured}}, author={{Example, Ada and Sample, Bo}},\n"
            f"  url={{{base}/post}}, year={{2025}}}}\n"
            "@book{molnar, title={A Book With No Link}, author={Molnar, Christoph}}\n",
            encoding="utf-8",
        )
        settings = built.model_copy(update={"arxiv_url": base})
        report = add_sources([str(bib)], settings=settings)
    got = {r.location: (r.ok, r.reason) for r in report.results}
    assert got["https://arxiv.org/abs/2401.00001"][0] and got[f"{base}/post"][0], got
    assert got[f"{bib}: molnar"] == (
        False,
        "its entry names no arXiv id, http(s) URL or DOI to read the paper from",
    )
    assert report.build is not None and "/post" in hits and "/pdf/2401.00001" in hits
    sources = {s.url: s for s in load_sources(built.sources_file)}
    assert {"https://arxiv.org/abs/2401.00001", f"{base}/post"} <= set(sources)
    # what each entry states stands: the page has no author or date, the entry does
    post = sources[f"{base}/post"]
    assert (post.title, post.authors, post.year) == ("Steering, Measured", ["Ada Example", "Bo Sample"], 2025)
    assert sources["https://arxiv.org/abs/2401.00001"].title == "Probes Under Drift"


def test_a_reading_list_of_one_paper_gives_it_the_entrys_metadata_unless_the_caller_does(
    built: Settings, tmp_path: Path
) -> None:
    page = b"<html><body><article><h1>Untitled draft</h1><p>Notes on probes.</p></article></body></html>"
    entry = r"@misc{d, title={Probing {Controls}, Revisited}, author={M{\"u}ller, J{\"o}rg}, url={URL},"
    entry += " year={2023}}"  # the caller's --year stands over it
    bib = tmp_path / "one.bib"
    with serve({"/draft": Route(body=page)}) as base:
        bib.write_text(entry.replace("URL", f"{base}/draft") + "\n", encoding="utf-8")
        report = add_sources([str(bib)], settings=built, year=2024)
    assert report.results[0].ok, report.results
    src = next(s for s in load_sources(built.sources_file) if s.url == f"{base}/draft")
    assert (src.title, src.authors, src.year) == ("Probing Controls, Revisited", ["Jörg Müller"], 2024)
