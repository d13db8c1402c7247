"""A paper as arXiv's HTML view shows it (LaTeXML's markup, our own text) reads as the paper does."""

from __future__ import annotations

from pathlib import Path

import pytest

from interp_rag.ingest.latexml import prepare
from interp_rag.ingest.load import extract_text

PAGE = Path(__file__).parent / "data" / "html" / "latexml-paper.html"


@pytest.fixture(scope="module")
def text() -> str:
    return extract_text(PAGE.read_bytes(), "html")


def test_footnotes_follow_their_paragraph_without_marks(text: str) -> None:
    assert "second seed. Abstract features drift the most (Section 2).\n\nCode will be released" in text
    assert "<sup>" not in text and "1Code" not in text


def test_numbered_equations_are_formulas_with_their_number(text: str) -> None:
    assert "$$\ns(f_{i})=\\max_{j}\\cos(W_{i},W_{j})\n$$\n (1)" in text
    assert "$$\nL =a+b\n$$\n (2)" in text  # an align's cells are one formula, \displaystyle gone
    assert "|  |" not in text and "\\_" not in text


def test_figures_are_their_captions_and_tables_keep_their_cells(text: str) -> None:
    assert "Figure 1: Share of stable features by kind of feature." in text
    assert "Table 1: Stable share by kind.\n\n| Concrete | 81% |" in text


def test_bibliography_and_page_chrome_go(text: str) -> None:
    for gone in ("A paper nobody should index", "References", "experimental HTML", "Report issue", "Back to"):
        assert gone not in text
    assert text.startswith("# Seed Stability of Dictionary Features")


def test_other_pages_are_left_alone() -> None:
    page = "<html><body><article><p>A blog post with a footnote<sup>1</sup>.</p></article></body></html>"
    assert prepare(page) == page
