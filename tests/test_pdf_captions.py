"""A figure's or table's caption is a paragraph of its own, never read into the sentence around it, and a
figure set inside a sentence moves after it (tests/test_pdf_print.py has the same on browser-printed
pages)."""

from __future__ import annotations

import pytest

from interp_rag.ingest.pdf import pdf_text
from tests.support.pdf import BODY, COLUMN, GAP, make_pages


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


@pytest.mark.parametrize(
    ("caption", "size"),
    [
        ("Figure: Accuracy of the probes at each layer", BODY),  # a rendered markdown page's, unnumbered
        ("FIGURE 2 Accuracy of the probes at each layer", BODY),  # a label in capitals, no punctuation
        ("Fig. 3 Accuracy of the probes at each layer", 10),  # no punctuation, a capital after the number
        ("Tab. 2 Features found per layer", 10),
        ("Table 1 - Features found per layer", BODY),  # a dash after the number
        ("Table II. Features found per layer", 10),  # numbered in Roman capitals
        ("Algorithm 1 Greedy search over the features", BODY),  # as LaTeX's algorithm float sets it
        ("Listing 2 The training loop of the probes", 10),
        ("Supplementary Figure S2: Accuracy of the probes", 10),
        ("Extended Data Fig. 1 | Accuracy of the probes", 10),
    ],
)
def test_a_caption_of_each_form_is_its_own_paragraph(caption: str, size: int) -> None:
    # enough lines of running text for the document's line spacing to be theirs, not the gaps'
    before = ["Probes read the part of speech from", "the residual stream of every layer", "of the model."]
    after = ["Accuracy rises with depth and", "falls again near the output."]
    pdf = make_pages([[*before, GAP, (caption, size), GAP, *after]])
    assert blocks(pdf) == [" ".join(before), caption, " ".join(after)]


def test_a_label_alone_on_its_line_opens_a_caption_with_its_title_below() -> None:
    pdf = make_pages(
        [
            [
                "The autoencoder finds more features than the probes.",
                ("TABLE I", 10),  # IEEE's: the label over the title, both in small capitals
                ("FEATURES FOUND PER LAYER", 10),
                ("Layer Probe SAE", 9),
                ("4 12 31", 9),
                "Both grow with depth.",
                "Fewer are found near the output.",
                "Table 2",  # the label on a line of its own in the body font, the title under it
                "Features found by each seed",
                GAP,
                "The seeds agree.",
            ]
        ]
    )
    assert blocks(pdf) == [
        "The autoencoder finds more features than the probes.",
        "TABLE I FEATURES FOUND PER LAYER",
        "Layer Probe SAE 4 12 31",
        "Both grow with depth. Fewer are found near the output.",
        "Table 2 Features found by each seed",
        "The seeds agree.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Table 1 lists the features found at each layer,",
        "Fig. 2 shows how the accuracy of the probes changes,",
        "Table I shows the same for the second model,",
        "Figure 2 (left) plots the accuracy by layer,",
        "As Table 1 shows, the autoencoder finds more,",
        "In Fig. 2 we see the accuracy rise,",
    ],
)
def test_a_sentence_that_opens_a_line_with_a_label_is_running_text(line: str) -> None:
    pdf = make_pages([["Probes read the part of speech.", line, "and we return to it later."]])
    assert blocks(pdf) == [f"Probes read the part of speech. {line} and we return to it later."]


def test_a_bare_label_set_larger_than_the_text_is_a_heading() -> None:
    pdf = make_pages([["Probes read the part of speech.", ("Figure 4", 16), "Accuracy rises with depth."]])
    assert blocks(pdf) == ["Probes read the part of speech.", "## Figure 4", "Accuracy rises with depth."]
