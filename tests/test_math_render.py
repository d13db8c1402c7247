"""Formulas in passages and answers drawn as MathML (web/math.py), and never a way into the page."""

from __future__ import annotations

import re

import pytest

from interp_rag.web.math import split_math, to_mathml
from interp_rag.web.render import question_terms, readable, render_card, render_markdown
from tests.test_markup import passage


def kinds(text: str) -> list[tuple[str, bool]]:
    return [(t, mml is not None) for t, mml in split_math(text)]


def test_what_counts_as_a_formula() -> None:
    assert kinds("features in $D_\\text{rand}$.") == [
        ("features in ", False),
        ("$D_\\text{rand}$", True),
        (".", False),
    ]
    for prose in (
        "costs $5 and $10 a month",
        "from $5-$10",
        "a $ b $ c",
        "Smith et al. \\[2020\\] and \\[1\\]",
    ):
        assert kinds(prose) == [(prose, False)]  # dollars, and brackets an HTML page's reader escaped
    assert kinds("see \\(x_i\\) and \\[ a^2 + b^2 \\]")[1::2] == [
        ("\\(x_i\\)", True),
        ("\\[ a^2 + b^2 \\]", True),
    ]
    assert 'display="block"' in (to_mathml("a^2", display=True) or "")


@pytest.mark.parametrize(
    "tex",
    [
        "\\text{<img src=x onerror=alert(1)>}",
        "\\href{javascript:alert(1)}{x}",
        "\\style{background:url(javascript:alert(1))}{y}",
        "\\text{<script>alert(1)</script>}",
        "\\unicode{x}",
    ],
)
def test_a_formula_never_carries_markup_of_its_own(tex: str) -> None:
    out = render_markdown(f"“A claim with ${tex}$ in it.” [1]", 1)
    tags = re.findall(r"<[^>]*>", out)  # what the browser reads as markup (the rest is escaped text)
    assert not [t for t in tags if re.search(r"<(img|script)|onerror|style=|javascript", t)], tags
    mml = to_mathml(tex)
    assert mml is None or ("href" not in mml and "style" not in mml and "<img" not in mml)


def test_answers_and_cards_draw_formulas_and_keep_their_markdown_and_marks() -> None:
    out = render_markdown("**Skeptical sources.** “Robust in $D_\\text{rand}$, not in $a_b$_.” [1]", 2)
    assert out.count("<math") == 2 and "<strong>Skeptical sources.</strong>" in out and "<em>" not in out
    assert "<mtext>rand</mtext>" in out and '<a class="cite" href="#passage-1">[1]</a>' in out
    card = render_card(
        passage(text="The width $m_i$ of a layer is _only_ one number."), 1, question_terms("width")
    )
    assert "<mark>width</mark>" in card and "<msub><mi>m</mi><mi>i</mi></msub>" in card
    assert "is only one number" in card  # markdown emphasis with underscores is not shown as underscores


def test_underscore_emphasis_goes_but_names_and_formulas_keep_theirs() -> None:
    text = (
        'the paper _"Probes"._ You can _only_ see snake_case_names, $\\mathcal{D}_{det}$ or $\\hat{x}_{r}$.'
    )
    assert readable(text) == (
        'the paper "Probes". You can only see snake_case_names, $\\mathcal{D}_{det}$ or $\\hat{x}_{r}$.'
    )


def test_the_terminal_shows_formulas_as_written() -> None:
    """Rich's markdown and the --plain text would read "}_{" as emphasis and eat the underscores."""
    from rich.console import Console
    from rich.markdown import Markdown

    from interp_rag.progress import plain_text, shown

    answer = "“Unlike $\\widehat{\\mathcal{D}}_{det}$, the $\\mathcal{D}_{r}$ set, *so*, cost $5 or $10.” [2]"
    assert plain_text(answer) == answer.replace("*so*", "so")
    console = Console(width=200, record=True, color_system=None)
    console.print(Markdown(shown(answer)))
    printed = console.export_text()
    assert "$\\widehat{\\mathcal{D}}_{det}$" in printed and "$\\mathcal{D}_{r}$" in printed
    assert "*so*" not in printed and "cost $5 or $10" in printed


def test_a_passage_full_of_unclosed_brackets_is_read_in_linear_time() -> None:
    """Each "\\(" that never closes costs a bounded look ahead (it cost a scan to the end of the text, which
    took minutes for 100 kB)."""
    import time

    from interp_rag.text import outside_math, protect_math

    for hostile in ("\\( a_" * 20000, "\\[ a_" * 20000, "\\(" * 50000):
        start = time.perf_counter()
        assert split_math(hostile) == [(hostile, None)]
        assert outside_math(hostile, str.upper) == hostile.upper() and protect_math(hostile) == hostile
        assert time.perf_counter() - start < 10


def test_a_papers_ensuremath_inside_a_formula_is_not_printed() -> None:
    """A paper's `\\newcommand{\\vx}{\\ensuremath{\\mathbf{x}}}` expanded inside a formula."""
    out = to_mathml(r"\ell(\ensuremath{\mathbf{x}})")
    assert out is not None and "ensuremath" not in out and "<mi>𝐱</mi>" in out
