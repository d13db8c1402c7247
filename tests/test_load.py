"""Loaders on every format, and fetching from a real local HTTP server (404, timeout, refused)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.load import extract_text, guess_format, legacy_encoding, reads_western
from interp_rag.ingest.pdf import tidy
from interp_rag.ingest.sources import fetch, resolve
from interp_rag.types import Source
from tests.support.http import Route, serve
from tests.support.pdf import COLUMN, FOOT, Sideways, make_pages, make_pdf

HTML = b"""<!doctype html><html><head><title>Circuits in Practice</title>
<script>var tracking = "do not index me";</script></head><body>
<nav>Home | About | Archive</nav>
<article><h1>Circuits in Practice</h1>
<p>Reverse engineering a small vision model taught us that curve detectors are assembled from earlier edge
detectors, and that the weights between them follow a tidy geometric pattern across orientations.</p>
<h2>What surprised us</h2>
<p>The same motif appeared again in a second model trained from a different random seed, which suggests the
circuit reflects the task rather than an accident of one training run.</p>
</article><footer>Copyright notice and cookie banner</footer></body></html>"""


def load_file(path: Path) -> str:
    data = path.read_bytes()
    return extract_text(data, guess_format(path.name, data))


def test_markdown_is_kept_byte_for_byte(tmp_path: Path) -> None:
    text = "# Title\n\nSome *markdown* with a [link](https://example.org).\n"
    (tmp_path / "a.md").write_text(text)
    assert load_file(tmp_path / "a.md") == text


def test_html_main_text_without_boilerplate() -> None:
    text = extract_text(HTML, "html")
    assert "curve detectors are assembled" in text
    assert "What surprised us" in text
    assert "do not index me" not in text


def test_latex_sections_become_headings(tmp_path: Path) -> None:
    tex = r"""\documentclass{article}
\begin{document}
\section{Introduction}
We study \emph{induction heads} in small transformers. % a comment that must vanish
\subsection{Setup}
Two-layer attention-only models~\cite{elhage}.
\end{document}"""
    (tmp_path / "p.tex").write_text(tex)
    text = load_file(tmp_path / "p.tex")
    assert "## 1 Introduction" in text and "### 1.1 Setup" in text
    assert "induction heads" in text
    assert "comment" not in text and "\\emph" not in text


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    (tmp_path / "paper.pdf").write_bytes(make_pdf(["Sparse autoencoders find features.", "Second line."]))
    text = load_file(tmp_path / "paper.pdf")
    assert "Sparse autoencoders find features." in text
    assert "Second line." in text


def test_pdf_headings_and_page_breaks_are_restored() -> None:
    """A paper's PDF reads like its markdown would: headings on their own, no page numbers or running
    headers, and a sentence carried over a page joined to its start."""
    pages: list[list[str | tuple[str, int]]] = [
        [
            "Draft, do not cite",
            ("Probing Sparse Features", 20),
            "Sparse autoencoders split activations into",
            "many features that people can name.",
            ("1 Introduction", 16),
            ("(2) = 1 + 1", 18),  # a display formula set large: no heading
            "The method works well on small models and",
            "fails on",
            "1",
        ],
        ["Draft, do not cite", "larger ones, where most features stay unnamed.", "A claim ends here.", "2"],
        ["Draft, do not cite", "The third page starts a new thought.", "3"],
    ]
    text = extract_text(make_pages(pages), "pdf")
    assert text.startswith("## Probing Sparse Features\n\nSparse autoencoders split")
    assert "name.\n\n## 1 Introduction\n\n(2) = 1 + 1\nThe method" in text
    assert "models and\nfails on\nlarger ones, where" in text  # one sentence, across the page break
    assert "Draft" not in text and not any(line.strip().isdigit() for line in text.splitlines())
    assert text.endswith("A claim ends here.\n\nThe third page starts a new thought.")


def test_a_pdf_footnote_leaves_the_sentence_the_page_break_cut() -> None:
    """A typeset paper's footnote sits at the page's foot, between the halves of a sentence carried over
    to the next page: it follows that sentence as a paragraph of its own, and its raised mark goes from the
    text (as other formats' footnote numbers do), while an exponent stays."""
    pages: list = [
        [
            ("Probing Sparse Features", 20),
            [("Linear probes read features from activations", 12, 0), ("1", 8, 4), (" and they", 12, 0)],
            [("work in many layers, with a cost of n", 12, 0), ("2", 8, 4), (" in the width. The", 12, 0)],
            "last sentence of this page runs on to the next page",
            FOOT,
            [("1", 6, 3), ("We use the residual stream at every", 9, 0)],
            ("layer; other choices gave similar results.", 9),
            [("2", 6, 3), ("A second note on the same page.", 9, 0)],
            "1",
        ],
        ["and ends here, after the page break.", "A new sentence starts and ends.", "2"],
    ]
    text = extract_text(make_pages(pages), "pdf")
    assert "from activations and they\nwork in many layers, with a cost of n2 in the width." in text
    assert "runs on to the next page\nand ends here, after the page break.\n\n" in text
    assert text.endswith(
        "after the page break.\n\nWe use the residual stream at every\nlayer; other choices gave similar "
        "results.\n\nA second note on the same page.\n\nA new sentence starts and ends."
    )


def test_a_footnote_at_a_columns_foot_leaves_the_paragraph_going_on_in_the_next() -> None:
    pages: list = [
        [
            [("The first column holds a claim", 12, 0), ("3", 8, 4), (" that", 12, 0)],
            "goes on past its foot",
            FOOT,
            [("3", 6, 3), ("A note at the foot of the first column.", 9, 0)],
            COLUMN,
            "and into the second column. It ends there.",
        ]
    ]
    text = extract_text(make_pages(pages), "pdf")
    assert text == (
        "The first column holds a claim that\ngoes on past its foot\nand into the second column. It ends "
        "there.\n\nA note at the foot of the first column."
    )


def test_small_lines_that_are_no_footnotes_stay_where_they_are() -> None:
    """A caption at a page's foot opens with no mark; small marked lines with body text below them are a
    table or a list in the column, not its foot; a lowered digit is a subscript ("log2"), and a raised one
    after a single letter or a bracket an exponent."""
    pages: list = [
        [
            "Body text opens the page and makes its point.",
            [("1", 6, 3), ("A small marked line in the middle.", 9, 0)],
            [
                ("The cost grows as log", 12, 0),
                ("2", 8, -3),
                (" of the width, or as (a+b)", 12, 0),
                ("2", 8, 4),
                (".", 12, 0),
            ],
            "More body text follows it here.",
            FOOT,
            ("Figure 1: A caption set small at the foot.", 9),
        ]
    ]
    text = extract_text(make_pages(pages), "pdf")
    assert text.splitlines() == [
        "Body text opens the page and makes its point.",
        "A small marked line in the middle.",
        "The cost grows as log2 of the width, or as (a+b)2.",
        "More body text follows it here.",
        "",  # a caption is a paragraph of its own (tests/test_pdf_captions.py)
        "Figure 1: A caption set small at the foot.",
    ]


def test_a_pages_footnotes_wait_for_the_sentence_it_cut_and_no_longer() -> None:
    from interp_rag.ingest.pdf import join_pages

    # the sentence ends before a heading: the note comes before the heading, not after the next sentence
    assert join_pages(["A sentence runs", "on.\n\n## 2 Method\n\nWe go."], [["A note."], []]) == [
        "A sentence runs\non.",
        "A note.",
        "## 2 Method\n\nWe go.",
    ]
    # a page that is one unfinished sentence: its notes and the next page's wait for its end
    assert join_pages(["It runs", "and runs", "to here. Then more."], [["One."], ["Two."], []]) == [
        "It runs\nand runs\nto here.",
        "One.",
        "Two.",
        "Then more.",
    ]


def test_a_stamp_up_the_margin_is_no_part_of_the_text() -> None:
    """arXiv stamps a paper's first page with its id and date, set sideways up the left margin and drawn
    after the page's text: it read as a line inside the sentence carried over to the next page."""
    pages: list = [
        ["A page of body text whose last sentence runs", "on to the next page", Sideways(STAMP, 20)],
        ["and ends there.", "Another sentence."],
    ]
    assert extract_text(make_pages(pages), "pdf") == (
        "A page of body text whose last sentence runs\non to the next page\nand ends there.\n"
        "Another sentence."
    )


def test_a_page_set_sideways_as_a_whole_keeps_its_text() -> None:
    """A landscape table is set sideways on its page: its text is the page's, not a stamp beside it."""
    rows = [
        "Table 2: Probe accuracy by layer.",
        "Layer one reads 0.61 and layer two 0.74.",
        "Layer three 0.80.",
    ]
    pages: list = [
        ["A page of body text ends here."],
        [Sideways(row, 12, 200 + 14 * i) for i, row in enumerate(rows)],
    ]
    text = extract_text(make_pages(pages), "pdf")
    assert all(row in text for row in rows), text


STAMP = "arXiv:2401.00001v1  [cs.LG]  2 Jan 2024"


def test_pdf_ligatures_and_broken_words_are_mended() -> None:
    assert tidy("We \ufb01nd the e\ufb00ect in\ufb02uences inter-\npretability.\n\n\n\nNext.") == (
        "We find the effect influences interpretability.\n\nNext."
    )


def test_a_two_page_pdf_loses_its_running_header_too() -> None:
    pages: list[list[str | tuple[str, int]]] = [
        ["Workshop draft 2", "The first page makes a claim.", "1 of 2"],
        ["Workshop draft 2", "The second page makes another.", "2 of 2"],
    ]
    assert extract_text(make_pages(pages), "pdf") == (
        "The first page makes a claim.\n\nThe second page makes another."
    )


def test_pdf_of_one_size_is_left_as_lines() -> None:
    """Nothing is taken for a heading or a running header where the layout says nothing."""
    lines = ["Short line one.", "Short line two", "continues here.", "7", "Table rows end.", "More text."]
    assert extract_text(make_pdf(lines), "pdf") == "\n".join(lines)


def test_pdf_detected_by_magic_bytes_not_suffix() -> None:
    data = make_pdf(["Hello from a PDF without a suffix."])
    assert guess_format("download", data) == "pdf"


def test_broken_pdf_is_a_clear_error() -> None:
    data = make_pdf(["Sparse autoencoders find features."])[:120]
    with pytest.raises(SourceError, match="PDF"):
        extract_text(data, "pdf")
    with pytest.raises(SourceError, match="PDF"):
        extract_text(b"%PDF-1.4\nthis is not really a pdf\n%%EOF", "pdf")
    # a filter the parser does not know (pypdf raises NotImplementedError): the same clear error
    unknown = make_pdf(["Sparse autoencoders."]).replace(b"<< /Length", b"<< /Filter /NoSuch /Length")
    with pytest.raises(SourceError, match="not a readable PDF"):
        extract_text(unknown, "pdf")


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        load_file(tmp_path / "empty.md")
    (tmp_path / "blank.txt").write_bytes(b"  \n\n ")
    with pytest.raises(SourceError, match="empty"):
        load_file(tmp_path / "blank.txt")


def test_non_utf8_text_is_decoded(tmp_path: Path) -> None:
    text = "Die Interpretierbarkeit neuronaler Netze ist schwierig, sagt Müller; Größe zählt nicht. " * 3
    (tmp_path / "latin.txt").write_bytes(text.encode("cp1252"))
    assert load_file(tmp_path / "latin.txt") == text
    (tmp_path / "bom.txt").write_bytes("\ufeffcafé au lait".encode())
    assert load_file(tmp_path / "bom.txt") == "café au lait"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Naïve probes, “superposition” and the Señor’s déjà vu.\n", "cp1252"),  # read as cp1250 before
        ("Voilà: the neurons fire à peu près où l'on s'y attend, è così.\n", "cp1252"),  # as cp1258 before
        ("Źródło: pięć łabędzi nad zbiornikiem, żółta łódź i ćma nocą.\n", "cp1250"),
    ],
)
def test_a_short_legacy_text_is_read_in_the_code_page_it_was_written_in(
    tmp_path: Path, text: str, encoding: str
) -> None:
    (tmp_path / "short.txt").write_bytes(text.encode(encoding))
    assert load_file(tmp_path / "short.txt") == text


def test_the_legacy_encoding_rule() -> None:
    french = "Naïve probes, l’état de l’art, déjà vu: « voilà »."
    assert reads_western(french) and reads_western("Señor, ¿qué es la superposición? 20 °C, 5 €.")
    assert not reads_western("Za¿ó³æ gêœl¹ jaŸñ")  # Polish read in the wrong code page
    assert not reads_western("Pøíliš žluouèký kùò")  # Czech: š and ž are not taken as Western
    assert legacy_encoding(french.encode("cp1252"), "cp1250") == "cp1252"
    assert legacy_encoding("Źródło: żółta łódź.".encode("cp1250"), "cp1250") == "cp1250"
    for text, code_page in [("Это текст о нейронных сетях.", "cp1251"), ("Это текст о сетях.", "koi8_r")]:
        assert legacy_encoding(text.encode(code_page), code_page) == code_page  # all accented as Western


def test_fetch_html_pdf_and_text_from_a_real_server() -> None:
    routes = {
        "/post": Route(body=HTML),
        "/paper": Route(body=make_pdf(["A fetched PDF about circuits."]), content_type="application/pdf"),
        "/notes.txt": Route(body=b"Plain notes about probes.", content_type="text/plain"),
    }
    with serve(routes) as base:
        src = Source(id="post", title="Circuits in Practice", url=f"{base}/post")
        assert "curve detectors" in resolve(src, mirror=None, cache_dir=None).text
        src = Source(id="paper", title="A paper", url=f"{base}/paper")
        assert "A fetched PDF about circuits." in resolve(src, mirror=None, cache_dir=None).text
        assert fetch(f"{base}/notes.txt")[0] == b"Plain notes about probes."


def test_fetched_text_is_cached_and_reused(tmp_path: Path) -> None:
    with serve({"/post": Route(body=HTML)}) as base:
        src = Source(id="post", title="Circuits in Practice", url=f"{base}/post")
        first = resolve(src, mirror=None, cache_dir=tmp_path)
    # the server is gone: the cache answers
    again = resolve(src, mirror=None, cache_dir=tmp_path)
    assert again.text == first.text and again.origin.startswith("cache:")


def test_404_is_reported_with_the_status() -> None:
    with serve({}) as base:
        src = Source(id="gone", title="Gone", url=f"{base}/missing")
        with pytest.raises(SourceError, match="HTTP 404"):
            resolve(src, mirror=None, cache_dir=None)


def test_timeout_is_reported() -> None:
    with serve({"/slow": Route(body=HTML, delay=3.0)}) as base:
        src = Source(id="slow", title="Slow", url=f"{base}/slow")
        with pytest.raises(SourceError, match="timed out"):
            resolve(src, mirror=None, cache_dir=None, timeout=0.5)


def test_connection_refused_is_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = Source(id="down", title="Down", url=f"http://127.0.0.1:{port}/x")
    with pytest.raises(SourceError, match="could not fetch"):
        resolve(src, mirror=None, cache_dir=None, timeout=2)


def test_mirror_is_read_before_the_url(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text("# Mirrored\n\nText from the mirror.\n")
    src = Source(id="doc", title="Doc", url="http://127.0.0.1:9/never-fetched", file="doc.md")
    doc = resolve(src, mirror=tmp_path, cache_dir=None)
    assert doc.origin.startswith("mirror:") and "Text from the mirror." in doc.text


def test_a_pdf_reports_each_page_it_reads_to_whoever_listens() -> None:
    from interp_rag.ingest.parts import reading_parts

    data = make_pages([["First page about probes."], ["Second page about heads."], ["Third page."]])
    heard: list[tuple[int, int]] = []
    with reading_parts(lambda done, total: heard.append((done, total))):
        extract_text(data, "pdf")
    assert heard == [(1, 3), (2, 3), (3, 3)]
    extract_text(data, "pdf")  # nobody listening: read all the same
    assert len(heard) == 3


def test_arxiv_abs_pages_resolve_to_the_html_view_then_the_pdf() -> None:
    from interp_rag.ingest.fetch import paper_urls

    assert paper_urls("https://arxiv.org/abs/1810.03292") == [
        "https://arxiv.org/html/1810.03292",
        "https://arxiv.org/pdf/1810.03292",
    ]
    assert paper_urls("https://arxiv.org/abs/2502.20914v2")[-1] == "https://arxiv.org/pdf/2502.20914v2"
    assert paper_urls("https://distill.pub/2020/circuits/") == ["https://distill.pub/2020/circuits/"]
    assert paper_urls("https://arxiv.org/pdf/2401.00001") == ["https://arxiv.org/pdf/2401.00001"]
    assert paper_urls("https://arxiv.org/abs/2401.00001", "https://export.arxiv.org/") == [
        "https://export.arxiv.org/html/2401.00001",
        "https://export.arxiv.org/pdf/2401.00001",
    ]


def test_binary_content_is_refused_whatever_the_suffix(tmp_path: Path) -> None:
    import shutil

    elf = Path(shutil.which("ls") or "/bin/ls").read_bytes()
    for name in ("ls.txt", "ls.md", "ls.html", "ls.tex", "ls", "ls.pdf"):  # .pdf: no PDF header, no pass
        (tmp_path / name).write_bytes(elf)
        with pytest.raises(SourceError, match="ELF executable, not a document"):
            load_file(tmp_path / name)
    (tmp_path / "noise.txt").write_bytes(bytes(range(1, 32)) * 200)  # control bytes, no NUL
    with pytest.raises(SourceError, match="binary data"):
        load_file(tmp_path / "noise.txt")


def test_a_damaged_pdf_is_one_reason_without_the_parsers_log(tmp_path: Path, caplog) -> None:
    (tmp_path / "cut.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")  # no xref, no EOF marker
    with pytest.raises(SourceError, match="not a readable PDF"):
        load_file(tmp_path / "cut.pdf")
    # pypdf's warnings ("EOF marker not found") reached stderr above the one-line reason
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_text_in_other_encodings_is_not_mistaken_for_binary(tmp_path: Path) -> None:
    text = "Superposition lets a layer store more features than it has neurons — Größe, café, 神经元.\n" * 5
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))  # with a BOM, and a NUL in every other byte
    assert load_file(tmp_path / "utf16.txt") == text
    # form feeds and the odd terminal escape occur in real text files
    (tmp_path / "ff.txt").write_bytes(("Page one.\f\nPage two \x1b[1mbold\x1b[0m.\n" * 20).encode())
    assert "Page two" in load_file(tmp_path / "ff.txt")


def test_a_line_end_hyphen_is_kept_where_the_word_has_one() -> None:
    from interp_rag.ingest.pdf import rejoin_hyphens

    text = (
        "Probes need 140-\n280 gigabytes for Llama-3.1-\n405b. A high-\ndimensional space; the "
        "high-dimensional case. Typeset inter-\npretability. A t-\nSNE plot, t-SNE again."
    )
    assert rejoin_hyphens(text) == (
        "Probes need 140-280 gigabytes for Llama-3.1-405b. A high-dimensional space; the "
        "high-dimensional case. Typeset interpretability. A t-SNE plot, t-SNE again."
    )


def test_pdf_headings_wrapped_over_two_lines_or_asking_a_question_are_headings() -> None:
    body = "Probes are trained on activations and read what a layer holds in its residual stream."
    pages: list = [
        [
            ("How to read the training dynamics of", 20),  # a title wrapped after "of"
            ("small transformers", 20),
            body,
            ("2 Method", 16),
            ("2.1 Setup", 16),  # the same size, its own heading
            body,
            ("How do I use a probe?", 16),  # a question is a heading too
            body,
            ("Method by Wachter et al.", 16),  # and an abbreviation's full stop
            body,
        ]
    ]
    text = extract_text(make_pages(pages), "pdf")
    heads = [ln[3:] for ln in text.splitlines() if ln.startswith("## ")]
    assert heads == [
        "How to read the training dynamics of small transformers",
        "2 Method",
        "2.1 Setup",
        "How do I use a probe?",
        "Method by Wachter et al.",
    ]


def test_a_bare_html_document_keeps_its_headings_and_its_formulas() -> None:
    para = (
        "Linear probes read what a layer holds, and they are cheap to train on any model's activations. " * 4
    )
    page = (
        "<!doctype html><meta charset='utf-8'><title>probe-notes</title><h1>Notes on Probes</h1>"
        "<p>Ada Lovelace — Notes on Machines, 2024</p>"
        f"<h2>Strengths</h2><p>{para}</p><p>The loss is $\\theta_{{1:T}}$ over [all steps].</p>"
        f"<h2>Limitations</h2><p>{para}</p>"
    )  # a markdown export: no container, no <body> tag
    text = extract_text(page.encode(), "html")
    assert [ln for ln in text.splitlines() if ln.startswith("#")] == [
        "# Notes on Probes",
        "## Strengths",
        "## Limitations",
    ]
    assert "$\\theta_{1:T}$ over [all steps]" in text  # not "\\_" and "\\[" escapes
    from interp_rag.ingest.metadata import document_metadata

    meta = document_metadata(page.encode(), "probe-notes.html", text)
    assert (meta["title"], meta["authors"], meta["year"]) == ("Notes on Probes", ["Ada Lovelace"], 2024)


def test_a_pages_title_with_its_sites_name_is_the_heading_it_opens_with() -> None:
    from interp_rag.ingest.metadata import document_metadata

    para = (
        "Linear probes read what a layer holds, and they are cheap to train on any model's activations. " * 4
    )
    head = "<html><head><title>LIME | Interpretable ML</title></head>"
    page = f"{head}<body><h1>LIME</h1><p>{para}</p></body></html>"
    text = extract_text(page.encode(), "html")
    assert document_metadata(page.encode(), "lime.html", text)["title"] == "LIME"
    other = page.replace("<h1>LIME</h1>", "<h1>Local surrogates</h1>")  # a heading that is not the title's
    assert document_metadata(other.encode(), "lime.html", extract_text(other.encode(), "html"))["title"] == (
        "LIME | Interpretable ML"
    )
