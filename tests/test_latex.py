"""A LaTeX source reads as the paper does (ingest/latex.py): the file a researcher gets from arXiv."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from tests.test_load import load_file

PAPER = r"""\documentclass{article}
\usepackage{amsmath}
\newcommand{\method}{\textsc{SeedCheck}\xspace}
\newcommand\sae{SAE}
\def\etal{et al.}
\newcommand{\norm}[1]{\lVert #1 \rVert}
% a note to co-authors that no reader sees
\title{Seeds and \method:\\ a replication\thanks{Work done while testing.}}
\author{A. Tester}
\begin{document}
\maketitle
\begin{abstract}
We ask whether dictionary features survive a change of seed.
\end{abstract}
\section*{Preface}
We call our tool \method{} throughout; it compares \sae{}s trained by Smith~\etal~\cite{smith}.\footnote{Code
will be released after review.} The next sentence ends the paragraph.

Narrative: \citet{smith_seeds_2020, DBLP:x} showed that \sae features split~\citep[p.~4]{jones}.
See \autoref{sec:res}, \cref{tab:main}, \eqref{eq:loss} and Appendix~\ref{app:extra};
a dangling reference (Figure~\ref{fig:none}).
\section{Results}\label{sec:res}
\subsection{Loss}
The loss is
\begin{align}
L &= \norm{x - \hat x}^2 + \lambda \norm{f}_1 \label{eq:loss}
\end{align}
where $\lambda > 0$ and 12\% of features die --- fewer than before.
\begin{figure}[t]
\centering
\includegraphics[width=\linewidth]{fig/a.pdf}
\caption{Share of stable features by kind.}\label{fig:share}
\end{figure}
\begin{table}[h]
\caption{Main results.}\label{tab:main}
\begin{tabular}{lc}
Concrete & 81\% \\
Abstract & 29\% \\
\end{tabular}
\end{table}
\begin{enumerate}
\item First finding.
\item Second finding.
\end{enumerate}
\begin{description}
\item[Stable] found again under a new seed.
\end{description}
Visit \href{https://example.org}{our page}. Caf\'e, ``quoted''.
\begin{verbatim}
x = 100 % kept in code
\end{verbatim}
\appendix
\section{Extra}\label{app:extra}
More in the appendix.
\bibliographystyle{plain}
\begin{thebibliography}{9}
\bibitem{smith} J. Smith. A paper nobody should index. 2020.
\end{thebibliography}
\end{document}
"""


@pytest.fixture(scope="module")
def paper(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tex") / "paper.tex"
    path.write_text(PAPER)
    return load_file(path)


def test_title_abstract_and_numbered_sections_are_headings(paper: str) -> None:
    assert paper.startswith("# Seeds and SeedCheck: a replication\n\n## Abstract\n\nWe ask whether")
    assert "\n## Preface\n" in paper  # \section* has no number
    assert "\n## 1 Results\n" in paper and "\n### 1.1 Loss\n" in paper
    assert "\n## A Extra\n" in paper  # lettered after \appendix


def test_references_print_what_latex_prints(paper: str) -> None:
    flat = " ".join(paper.split())
    assert "See Section 1, Table 1, (1) and Appendix A;" in flat
    assert "a dangling reference." in flat  # an undefined label leaves no "(Figure )"


def test_citations_and_markup_go_but_narrative_subjects_stay(paper: str) -> None:
    assert "trained by Smith et al. The next sentence" in paper  # \cite gone, no "et al.."
    assert "Narrative: Smith (2020), DBLP:x showed that SAE features split." in paper
    for gone in (
        "\\",
        "jones",
        "p. 4",
        "co-authors",
        "Work done",
        "nobody should index",
        "plain",
        "fig/a.pdf",
    ):
        assert gone not in re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", paper, flags=re.S)  # outside formulas


def test_footnotes_follow_their_paragraph(paper: str) -> None:
    assert "ends the paragraph.\n\nCode will be released after review.\n\nNarrative:" in paper


def test_math_is_kept_as_written_and_text_is_unescaped(paper: str) -> None:
    # the paper's \norm as it defines it (latex2mathml can draw that), no \label inside
    assert "$$\nL &= \\lVert x - \\hat x \\rVert^2 + \\lambda \\lVert f \\rVert_1\n$$" in paper
    assert "where $\\lambda > 0$ and 12% of features die — fewer than before." in paper
    assert "Café, “quoted”." in paper
    assert "```\nx = 100 % kept in code\n```" in paper


def test_floats_lists_and_links(paper: str) -> None:
    assert "Figure 1: Share of stable features by kind." in paper
    assert "Table 1: Main results.\n\nConcrete 81%\nAbstract 29%" in paper
    assert "1. First finding.\n2. Second finding." in paper
    assert "- Stable: found again under a new seed." in paper
    assert "Visit our page." in paper


def test_a_file_that_only_inputs_others_says_which(tmp_path: Path) -> None:
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\\begin{document}\\title{A paper}\\maketitle\n"
        "\\input{sections/intro}\n\\include{sections/method.tex}\n\\end{document}\n"
    )
    with pytest.raises(SourceError, match=r"other files \(sections/intro\.tex, sections/method\.tex\)"):
        load_file(tmp_path / "main.tex")


@pytest.mark.parametrize(
    "tex",
    [
        r"\section{Unclosed {brace and text \emph{x",
        r"\begin{itemize}\item an item never closed",
        r"}}}} \end{document} stray closers",
        r"$unclosed math and \[ display",
        "\\newcommand{\\a}{\\a}\\a a command defined as itself",
    ],
)
def test_broken_latex_still_reads(tmp_path: Path, tex: str) -> None:
    (tmp_path / "broken.tex").write_text(tex)
    text = load_file(tmp_path / "broken.tex")
    assert text and "\ue000" not in text and "\ue002" not in text


def test_commands_with_arguments_read_as_defined(tmp_path: Path) -> None:
    """Authors hide their notes to each other by defining the note command as nothing; a method's name takes
    an optional argument; math uses the paper's own operators. Each reads as the paper prints it."""
    (tmp_path / "args.tex").write_text(
        "\\documentclass{article}\n"
        "\\newcommand{\\jd}[1]{}\n\\newcommand{\\tool}[1][ProbeKit]{\\textsc{#1}}\n"
        "% \\newcommand{\\tool}[1][OldKit]{#1}  an old definition, commented out: not the paper's\n"
        "\\newcommand{\\swap}[2]{#2 before #1}\n\\DeclareMathOperator*{\\argmax}{arg\\,max}\n"
        "\\def\\pair#1#2{(#1, #2)}\n"  # TeX's own definition, with parameters
        "\\renewcommand{\\section}[1]{\\refstepcounter{section}\\textbf{#1}}\n"  # restyled: still a section
        "\\begin{document}\n\\section{Setup}\n"
        "We trained probes\\jd{check {this} number again} on every layer with \\tool{} and \\tool[Lens].\n"
        "The order is \\swap{second}{first}, and $\\argmax_x f(x)$ is the probe's choice; $\\pair ab$.\n"
        "\\end{document}\n"
    )
    text = load_file(tmp_path / "args.tex")
    assert "## 1 Setup\n\nWe trained probes on every layer with ProbeKit and Lens." in text
    assert (
        "The order is first before second, and $\\operatorname{arg\\,max}_x f(x)$ is the probe's choice; "
        "$(a, b)$." in text
    )
    assert "check" not in text and "number again" not in text


def test_xparse_commands_and_let_aliases_read_as_defined(tmp_path: Path) -> None:
    """Newer papers define commands with xparse (\\NewDocumentCommand) and alias them with TeX's \\let."""
    (tmp_path / "xparse.tex").write_text(
        "\\documentclass{article}\n"
        "\\NewDocumentCommand{\\probe}{O{linear} m}{#1 probe on #2}\n\\NewDocumentCommand\\hide{+m}{}\n"
        "\\let\\oldemph\\emph\n\\let\\tool=\\method\n\\newcommand{\\method}{ProbeKit}\n"
        "\\begin{document}\n\\section{Setup}\n"
        "We trained a \\probe{layer 3} and a \\probe[sparse]{layer 5}\\hide{ask Sam}. "
        "\\oldemph{Both} used \\tool{}.\n\\end{document}\n"
    )
    text = load_file(tmp_path / "xparse.tex")
    assert "We trained a linear probe on layer 3 and a sparse probe on layer 5." in text
    assert "Both" in text and "used ProbeKit." in text and "Sam" not in text


def test_reference_commands_a_template_defines_print_their_numbers(tmp_path: Path) -> None:
    """ICLR's template defines \\figref{…} as figure~\\ref{…}: unexpanded, the text read "As fig:a shows"."""
    (tmp_path / "refs.tex").write_text(
        "\\documentclass{article}\n\\newcommand{\\figref}[1]{figure~\\ref{#1}}\n"
        "\\newcommand{\\twofigref}[2]{figures \\ref{#1} and \\ref{#2}}\n"
        "\\newcommand{\\Secref}[1]{Section~\\ref{#1}}\n\\begin{document}\n"
        "\\section{Method}\\label{sec:m}\nAs \\figref{fig:a} shows, and \\twofigref{fig:a}{fig:b} confirm "
        "(see \\Secref{sec:m}), the probe is linear.\n"
        "\\begin{figure}\\caption{First.}\\label{fig:a}\\end{figure}\n"
        "\\begin{figure}\\caption{Second.}\\label{fig:b}\\end{figure}\n\\end{document}\n"
    )
    text = load_file(tmp_path / "refs.tex")
    assert "As figure 1 shows, and figures 1 and 2 confirm (see Section 1), the probe is linear." in text


def test_a_command_calling_itself_or_missing_its_arguments_stays_bounded(tmp_path: Path) -> None:
    import time

    (tmp_path / "loop.tex").write_text(
        "\\newcommand{\\twice}[1]{\\twice{#1}\\twice{#1}}\\newcommand{\\note}[1]{}\\newcommand{\\opt}[1][a]{#1}"
        + "Text \\twice{x} and \\opt[b \\note} closes. " * 5_000
        + " the end \\note"
    )
    t0 = time.perf_counter()
    text = load_file(tmp_path / "loop.tex")
    assert time.perf_counter() - t0 < 20 and text.startswith("Text") and len(text) < 2_000_000
    # a file of unclosed arguments: read at once, or refused with the clear error of hostile nesting
    (tmp_path / "open.tex").write_text("\\newcommand{\\note}[1]{}" + "Text and \\note{" * 20_000)
    t0 = time.perf_counter()
    with pytest.raises(SourceError, match="nested too deep"):
        load_file(tmp_path / "open.tex")
    assert time.perf_counter() - t0 < 20
    # one line of many definitions: each is checked for a comment before it on its line (25 s when that
    # check scanned the line each time; 0.1 s)
    from interp_rag.ingest.latex_source import expand_simple_macros

    t0 = time.perf_counter()
    assert expand_simple_macros("\\let\\a\\b " * 20_000 + "\\a " * 20_000).split() == ["\\b"] * 20_000
    assert time.perf_counter() - t0 < 5


def paper_folder(root: Path) -> Path:
    """An arXiv-style source folder: a main file that \\input's one file per section."""
    (root / "sections").mkdir(parents=True)
    (root / "main.tex").write_text(
        "\\documentclass{article}\\title{Split Across Files}\\begin{document}\\maketitle\n"
        "\\input{sections/intro}\n% \\input{sections/old}\n\\include{sections/results.tex}\n"
        "\\input{../outside}\n\\end{document}\n"
    )
    (root / "sections" / "intro.tex").write_text(
        "\\section{Intro}\nProbes read what a layer holds; the intro says so, and says it at the length of "
        "a real introduction, which names the question, the method and the answer before any section does.\n"
        "\\input{sections/loop}\n"
    )
    (root / "sections" / "loop.tex").write_text("A nested part.\\input{main}\n")  # includes the main file
    (root / "sections" / "results.tex").write_text("\\section{Results}\nThe results section reports.\n")
    (root / "sections" / "old.tex").write_text("A draft nobody should index.\n")
    (root.parent / "outside.tex").write_text("A file outside the paper's folder.\n")
    return root


def test_a_main_file_is_read_with_the_files_it_inputs(tmp_path: Path) -> None:
    from interp_rag.ingest.sources import Limits, read_local

    main = paper_folder(tmp_path / "paper") / "main.tex"
    text = load_file_bytes(read_local(main, Limits()))
    assert "## 1 Intro\n\nProbes read what a layer holds" in text and "A nested part." in text
    assert "## 2 Results\n\nThe results section reports." in text
    assert "draft" not in text and "outside" not in text and text.count("Split Across Files") == 1
    with pytest.raises(SourceError, match="main.tex with the files it includes is"):
        read_local(main, Limits(max_bytes=main.stat().st_size + 10))


def test_a_folder_adds_a_paper_once_not_its_section_files(tmp_path: Path) -> None:
    from interp_rag.ingest.latex_source import included_files, paper_parts

    folder = paper_folder(tmp_path / "paper")
    main = folder / "main.tex"
    assert {p.name for p in included_files(main)} == {
        "intro.tex",
        "loop.tex",
        "results.tex",
    }  # not the commented one
    files = sorted(folder.rglob("*.tex"))
    assert {p.name for p in paper_parts(files)} == {"intro.tex", "loop.tex", "results.tex", "old.tex"}
    # a folder of fragments with no main file: each is a document
    assert paper_parts([folder / "sections" / "old.tex", folder / "sections" / "results.tex"]) == set()


def load_file_bytes(data: bytes) -> str:
    from interp_rag.ingest.load import extract_text

    return extract_text(data, "latex")


def test_the_title_is_read_with_the_papers_own_commands() -> None:
    from interp_rag.ingest.metadata import document_metadata

    data = PAPER.encode()
    meta = document_metadata(data, "paper.tex", load_file_bytes(data))
    assert meta == {"title": "Seeds and SeedCheck: a replication", "authors": ["A. Tester"]}


def test_wide_floats_subfigures_algorithms_and_statements(tmp_path: Path) -> None:
    (tmp_path / "floats.tex").write_text(
        r"""\begin{document}
\begin{figure*}[t]\centering
\begin{subfigure}[b]{0.48\textwidth}\includegraphics{a.png}\caption{Left panel.}\end{subfigure}
\caption{Two panels side by side.}\label{fig:two}
\end{figure*}
\begin{wrapfigure}{r}{0.4\textwidth}\includegraphics{b.png}\caption{Wrapped.}\label{fig:w}\end{wrapfigure}
\begin{algorithm}[t]\caption{Greedy search}
\begin{algorithmic}[1]\State $x \gets 0$\end{algorithmic}\end{algorithm}
\begin{theorem}[Probes]\label{thm:a} Every probe is a classifier.\end{theorem}
\begin{minipage}{0.5\linewidth}Inside a minipage.\end{minipage}
See Figure~\ref{fig:two} and Figure~\ref{fig:w}.
\end{document}"""
    )
    assert load_file(tmp_path / "floats.tex") == (
        "Figure 1: Two panels side by side.\n\nFigure 2: Wrapped.\n\nAlgorithm 1: Greedy search\n\n"
        "Theorem. Every probe is a classifier.\n\nInside a minipage.\nSee Figure 1 and Figure 2."
    )


@pytest.mark.parametrize("tex", ["{" * 20000 + "x" + "}" * 20000, "\\begin{itemize}" * 3000 + "x"])
def test_hostile_nesting_is_a_clear_error(tmp_path: Path, tex: str) -> None:
    (tmp_path / "deep.tex").write_text(tex)
    with pytest.raises(SourceError, match="nested too deep.*add the paper's PDF instead"):
        load_file(tmp_path / "deep.tex")


def tar_gz(files: dict[str, str]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_an_arxiv_source_archive_is_read_as_its_paper(tmp_path: Path, monkeypatch) -> None:
    """What arXiv serves as a paper's source: a gzipped tar (or one gzipped .tex), read in memory."""
    import gzip

    archive = tar_gz({
        "macros.tex": "\\newcommand{\\tool}{ProbeKit}",  # no \documentclass: a part, not the paper
        "ms.tex": "\\documentclass{article}\\input{macros}\\title{An Archived Paper}\n"
        "\\begin{document}\\maketitle\n\\input{sec/intro}\n\\end{document}\n",
        "sec/intro.tex": "\\section{Intro}\nWe release \\tool{} and describe what it finds in models.\n",
        "figs/plot.pdf": "%PDF-1.4 not text",
    })  # fmt: skip
    (tmp_path / "2401.00001.tar.gz").write_bytes(archive)
    import tarfile

    opened = []
    real_open = tarfile.open
    monkeypatch.setattr(tarfile, "open", lambda *a, **k: opened.append(1) or real_open(*a, **k))
    text = load_file(tmp_path / "2401.00001.tar.gz")
    assert text.startswith("# An Archived Paper\n\n## 1 Intro\n\nWe release ProbeKit and describe")
    from interp_rag.ingest.metadata import document_metadata

    assert document_metadata(archive, "2401.00001.tar.gz", text) == {"title": "An Archived Paper"}
    assert len(opened) == 1  # `add` reads the text and the authors from one unpacking of the archive
    single = gzip.compress(PAPER.encode())
    assert load_file_bytes_as(single, "download") == load_file_bytes(PAPER.encode())  # found by its bytes


def test_archives_without_a_paper_or_damaged_or_too_big_are_clear_errors(tmp_path: Path) -> None:
    from interp_rag.ingest.latex_source import archive_source

    with pytest.raises(SourceError, match="holds no LaTeX document"):
        load_file_bytes_as(tar_gz({"notes.txt": "just notes"}), "x.tar.gz")
    with pytest.raises(SourceError, match="damaged"):
        load_file_bytes_as(tar_gz({"ms.tex": PAPER})[:200], "x.tar.gz")
    with pytest.raises(SourceError, match="more than 1,000 bytes"):
        archive_source(tar_gz({"ms.tex": PAPER}), max_bytes=1000)


def load_file_bytes_as(data: bytes, name: str) -> str:
    from interp_rag.ingest.load import extract_text, guess_format

    return extract_text(data, guess_format(name, data))


def test_an_align_numbers_each_row_it_does_not_exempt(tmp_path: Path) -> None:
    (tmp_path / "eq.tex").write_text(
        r"""\begin{document}\begin{align}
a &= b \label{eq:a}\\
c &= d \nonumber\\
e &= f \label{eq:e}
\end{align}
\begin{equation} g = h \label{eq:g}\end{equation}
\begin{align*} x = y \end{align*}
See \eqref{eq:a}, \eqref{eq:e} and \eqref{eq:g}.\end{document}"""
    )
    text = load_file(tmp_path / "eq.tex")
    assert text.endswith("See (1), (2) and (3).") and "\\nonumber" not in text


ICML = r"""\documentclass{article}
\usepackage{icml2024}
\begin{document}
\twocolumn[
\icmltitle{Probes in Practice: A \texorpdfstring{$k$}{k}-Layer Study}
\icmlsetsymbol{equal}{*}
\begin{icmlauthorlist}
\icmlauthor{Ada Tester}{equal,uni}
\icmlauthor{Ben Writer}{uni}
\end{icmlauthorlist}
\icmlaffiliation{uni}{Some University}
\icmlcorrespondingauthor{Ada Tester}{ada@example.org}
\icmlkeywords{probing, interpretability}
\vskip 0.3in
]
\printAffiliationsAndNotice{\icmlEqualContribution}
\begin{abstract}We study probes.\end{abstract}
\section{Introduction}
Probes are classifiers.\todo{cite more}
\end{document}"""


def test_icmls_title_block_is_the_title_and_its_authors() -> None:
    from interp_rag.ingest.metadata import document_metadata

    text = load_file_bytes(ICML.encode())
    assert text == (
        "# Probes in Practice: A k-Layer Study\n\n## Abstract\n\nWe study probes.\n\n"
        "## 1 Introduction\n\nProbes are classifiers."
    )
    meta = document_metadata(ICML.encode(), "paper.tex", text)
    assert meta == {"title": "Probes in Practice: A k-Layer Study", "authors": ["Ada Tester", "Ben Writer"]}


def test_an_author_block_gives_names_not_affiliations() -> None:
    """NeurIPS-style: \\And between authors, each one's affiliation and address on the lines after."""
    from interp_rag.ingest.metadata import document_metadata

    tex = r"""\documentclass{article}\title{Probes}\author{
  Ada Tester\thanks{Equal contribution. See \url{https://example.org}.} \\
  Department of Computer Science\\ Some University\\ \texttt{ada@example.org} \\
  \And
  Ben Writer$^{2}$ \\ Other Lab \\
  \AND
  Cy Third \\ Place
}\begin{document}\maketitle\section{Intro}Probes read what layers hold.\end{document}"""
    meta = document_metadata(tex.encode(), "p.tex", load_file_bytes(tex.encode()))
    assert meta == {"title": "Probes", "authors": ["Ada Tester", "Ben Writer", "Cy Third"]}


def test_a_source_archive_fetched_by_url_is_read_as_its_paper() -> None:
    """What arXiv's e-print URL serves: a gzipped tar with no file name, found by its bytes."""
    from interp_rag.ingest.sources import resolve
    from interp_rag.types import Source
    from tests.support.http import Route, serve

    archive = tar_gz({"ms.tex": PAPER})
    with serve({"/e-print/2401.00001": Route(body=archive, content_type="application/x-eprint-tar")}) as base:
        src = Source(id="eprint", title="An e-print", url=f"{base}/e-print/2401.00001")
        text = resolve(src, mirror=None, cache_dir=None).text
    assert text == load_file_bytes(PAPER.encode())
