"""What converters leave in a document (Pandoc, Quarto and kramdown attribute blocks, Pandoc citation keys)
never reaches a reader, and a passage's section is not its document's title again. The texts are our own."""

from __future__ import annotations

from interp_rag.ingest.chunk import headings_index
from interp_rag.text import clean_for_embedding, strip_site_markup
from interp_rag.types import Answer, Passage, to_markdown
from interp_rag.web.render import fenced, readable, render_card

BOOK_CHAPTER = """# Counterfactual probes {#counterfactual-probes}

A probe reads a property; a counterfactual edits it and watches the output.

## When edits mislead {#when-edits-mislead .unnumbered}

::: {.callout-note}
An edit far from the data tells you about the edit, not the model.
:::

The score sums over tokens, $\\sum_{i=1}^{n} s_i$, and code keeps its braces: `f = {"a": 1}`.
Edits were proposed before [@kim2019edits; @ng2021, p. 4], and criticised [-@lee2022].
Write to [team@example.org] or follow [@probe_lab](https://example.org/probe_lab).
"""


def passage(**kw: object) -> Passage:
    base: dict[str, object] = {
        "source_id": "s1",
        "chunk_id": "s1:0",
        "title": "Counterfactual probes",
        "authors": ["A. Author"],
        "year": 2026,
        "url": "https://example.org/ch",
        "text": BOOK_CHAPTER,
        "stance": "neutral",
        "stance_confidence": 0.6,
        "score": 1.0,
    }
    return Passage(**{**base, **kw})  # type: ignore[arg-type]


def test_attribute_blocks_are_markup_but_braces_of_math_and_code_stay() -> None:
    clean = clean_for_embedding(BOOK_CHAPTER)
    assert "{#" not in clean and "{.callout" not in clean and ".unnumbered" not in clean
    assert "When edits mislead An edit far" not in clean  # only the block goes, not the words around it
    assert "When edits mislead" in clean and "\\sum_{i=1}^{n}" in clean and '{"a": 1}' in clean
    assert "proposed before, and criticised." in clean and "@kim" not in clean and "@lee" not in clean
    assert "[team@example.org]" in clean and "@probe_lab" in clean  # an address, a link's text
    assert strip_site_markup("## Methods {: #methods .wide}") == "## Methods"
    assert strip_site_markup("a set {x, y} and {.5: 1}") == "a set {x, y} and {.5: 1}"


def test_headings_are_read_without_their_attributes() -> None:
    _, paths = headings_index(BOOK_CHAPTER)
    assert paths == [["Counterfactual probes"], ["Counterfactual probes", "When edits mislead"]]


def test_a_section_is_named_without_attributes_and_without_the_title() -> None:
    # as an index built before attribute blocks were dropped still stores them
    p = passage(headings=["Counterfactual probes {#counterfactual-probes}", "When edits mislead {#w .x}"])
    assert p.sections() == ["When edits mislead"]
    assert p.sections(1) == ["When edits mislead"]
    assert passage(headings=["Counterfactual Probes"]).sections() == []  # the title again, in other case
    book = passage(
        title="Counterfactual probes (A Probing Handbook, ch. 4)", headings=["Counterfactual probes"]
    )
    assert book.sections() == []
    assert passage(title="Probes - a field note", headings=["Probes"]).sections() == []
    assert passage(title="Introduction to probes", headings=["Introduction"]).sections() == ["Introduction"]
    assert passage(title="A-team notes", headings=["A"]).sections() == ["A"]
    assert passage(headings=["Part I", "Probes", "Edits"]).sections() == ["Probes", "Edits"]
    assert passage(headings=[]).sections() == []


def test_reader_views_show_neither_attributes_nor_the_title_as_section() -> None:
    p = passage(headings=["Counterfactual probes {#counterfactual-probes}"])
    card = render_card(p, 1, frozenset())
    assert "{#" not in card and "{.callout" not in card
    assert 'class="where"' not in card  # the only heading is the title: no "§ Counterfactual probes"
    assert "{#" not in readable(BOOK_CHAPTER) and "\\sum_{i=1}" in readable(BOOK_CHAPTER)
    a = Answer(
        question="Do edits mislead?", text="They can [1].", passages=[p], citations=[], mode="extractive"
    )
    md = to_markdown(a)
    assert "{#" not in md and "§" not in md


def test_named_footnote_marks_leave_the_quoted_sentence_and_code_keeps_its_classes() -> None:
    # Pandoc and kramdown name footnotes ("[^causal-graph]"); bookdown books do so throughout, and the mark
    # was quoted inside the sentence it follows.
    from interp_rag.answering.extractive import sentences

    chapter = (
        "Counterfactuals explain one prediction at a time.[^causal-graph][^2] Drawn as a graph, the inputs "
        "cause the output and nothing else does.[^note_2]\n\n"
        "[^causal-graph]: The model's inputs cause its prediction even when the world's do not.\n\n"
        'Strip letters with `re.sub(r"[^a-z]", "", word)` and spaces with `[^\\s]`.'
    )
    got = [s for s, _, _ in sentences(chapter)]
    assert got[:3] == [
        "Counterfactuals explain one prediction at a time.",
        "Drawn as a graph, the inputs cause the output and nothing else does.",
        "The model's inputs cause its prediction even when the world's do not.",
    ]
    clean = clean_for_embedding(chapter)
    assert "[^" not in clean.split("Strip")[0] and "[^a-z]" in clean and "[^\\s]" in clean


def test_a_card_shows_inline_html_as_its_page_does_and_other_markup_as_written() -> None:
    text = (
        'Engels <em>et al.</em> <d-cite key="engels"></d-cite> define it <strong>(b)</strong>; see '
        '<a href="/assets/patching.pdf" target="_blank">(View PDF)</a>.<br>Then <span class="x">this</span>.'
        "\n\n<details><summary>Solution</summary>\n\nThe <code>hook</code> runs.</details>"
        '\n\nA payload: <script id="s">alert(1)</script> and a < b > c.'
    )
    shown = readable(text)
    assert "Engels et al. define it (b); see (View PDF)." in shown and "Then this." in shown
    assert "Solution" in shown and "The hook runs." in shown and "<summary>" not in shown
    # what a page would not draw as formatting stays visible, escaped on the card: a reader sees it
    assert '<script id="s">alert(1)</script>' in shown and "a < b > c" in shown
    card = render_card(passage(text=text), 1, frozenset())
    assert "&lt;script" in card and "<script" not in card and "&lt;em&gt;" not in card


def test_markup_an_earlier_rule_leaves_behind_is_read_as_well() -> None:
    """Each rule runs only when the text holds what it matches, checked on the text as the rules before left
    it: two empty links removed leave `**` around a word, which is then emphasis, as it was before the
    check (a check on the passage as it came would keep the stars)."""
    assert readable("It is *[](a)*plain*[](b)* text.") == "It is plain text."


def test_a_badge_inside_a_link_reads_as_its_label() -> None:
    """A notebook's "Open in Colab" badge is an image inside a link; a card showed "![Open In Colab](…)"."""
    text = (
        "Run it: [![Open In Colab](https://colab.example/badge.svg)](https://colab.example/nb.ipynb), read "
        "[the docs](https://docs.example) and see ![a chart](chart.png)."
    )
    assert readable(text) == "Run it: Open In Colab, read the docs and see a chart."


FENCE = "`" * 3


def test_code_keeps_its_lines_and_underscores_and_prose_is_still_unwrapped() -> None:
    text = (
        "A line of prose long enough to have been wrapped by its author at this point\nand continued.\n\n"
        f"{FENCE}python\ndef __init__(self, width, depth, dictionary_size, sparsity_penalty=0.01, seed=0):\n"
        "    self.scale = 2 * width\n"
        f"{FENCE}\n\nThen **bold** prose."
    )
    shown = readable(text)
    assert "at this point and continued." in shown  # prose joined as markdown joins it
    code = "def __init__(self, width, depth, dictionary_size, sparsity_penalty=0.01, seed=0):\n    self"
    assert code in shown
    assert "Then bold prose." in shown and FENCE not in shown


def test_a_passage_cut_inside_a_block_starts_with_code() -> None:
    text = f"    return x * 2\n{FENCE}\n\nThe *function* doubles.\n\n~~~\nprint(__name__)\n~~~\n"
    assert [code for _, code in fenced(text)] == [True, False, True]
    shown = readable(text)
    assert "print(__name__)" in shown and "The function doubles." in shown


def test_a_heading_after_a_table_row_shows_without_its_hashes() -> None:
    """A Word table read as markdown ends its rows with a space; a passage joined across the blank line after
    it opens the next line with a space, and the card showed "### Open questions" hashes and all."""
    text = "| Method | Unit | \n| Neuron | one unit | \n\n ### Open questions\n\nWhether features are real."
    assert "Open questions" in readable(text) and "#" not in readable(text)
