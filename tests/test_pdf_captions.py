"""A figure's or table's caption is a paragraph of its own, never read into the sentence around it, and a
figure set inside a sentence moves after it (tests/test_pdf_print.py has the same on browser-printed
pages)."""

from __future__ import annotations

from interp_rag.ingest.pdf import pdf_text
from tests.support.pdf import COLUMN, make_pages


def blocks(pdf: bytes) -> list[str]:
    return [" ".join(b.split()) for b in pdf_text(pdf).split("\n\n")]


def test_a_smaller_caption_is_its_own_paragraph() -> None:
    pdf = make_pages(
        [
            [
                "Probes read the part of speech from every layer.",
                ("plot", 7),
                ("Figure 1: Probe accuracy by layer", 10),
                ("for three models", 10),
                "Accuracy rises through the early layers.",
                ("Table 2 | Features found per layer", 10),
                ("Layer Probe SAE", 9),
                ("4 12 31", 9),
                "The autoencoder finds more of them.",
            ]
        ]
    )
    assert blocks(pdf) == [
        "Probes read the part of speech from every layer.",
        "plot",
        "Figure 1: Probe accuracy by layer for three models",
        "Accuracy rises through the early layers.",
        "Table 2 | Features found per layer",
        "Layer Probe SAE 4 12 31",
        "The autoencoder finds more of them.",
    ]


def test_a_figure_at_the_top_of_a_column_moves_after_the_sentence_it_cuts() -> None:
    pdf = make_pages(
        [
            [
                "Two lines of a column, the last sentence of",
                "which runs on to",
                COLUMN,
                ("Figure 2. A figure at the top of the column.", 10),
                "the next column, and ends here. Then more.",
            ]
        ]
    )
    assert blocks(pdf) == [
        "Two lines of a column, the last sentence of which runs on to the next column, and ends here.",
        "Figure 2. A figure at the top of the column.",
        "Then more.",
    ]


def test_a_figure_at_the_top_of_a_page_moves_after_the_sentence_it_cuts() -> None:
    pdf = make_pages(
        [
            ["A sentence carried over the page break to the next"],
            [("Fig. 3: A figure at the top of the page", 10), "page, where it ends. A new one starts."],
        ]
    )
    assert blocks(pdf) == [
        "A sentence carried over the page break to the next page, where it ends.",
        "Fig. 3: A figure at the top of the page",
        "A new one starts.",
    ]


def test_a_label_that_a_line_of_running_text_opens_with_is_no_caption() -> None:
    pdf = make_pages([["The probes fail, as we show in", "Figure 2. The vectors are found from the mean."]])
    assert blocks(pdf) == ["The probes fail, as we show in Figure 2. The vectors are found from the mean."]
