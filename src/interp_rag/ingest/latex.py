"""A LaTeX source (an arXiv paper's .tex) as the text a reader would read, by pylatexenc.

The text keeps what the other formats keep: sections as markdown headings (numbered, as the paper prints
them, so that "see Section 3" finds them), the title as the first heading, the abstract under its own,
figure and table captions ("Figure 2: …"), lists as markdown lists, and math as written (`$…$`, display
math as `$$…$$`), as markdown sources carry it. What a reader never sees goes: comments, citation keys of
parenthetical citations (as footnote numbers do in other formats), labels, graphics, the bibliography.
References print the number LaTeX would print ("Section 3", "Figure 2", "(4)"); a narrative citation
(`\\citet{smith2020probes}`) reads "Smith (2020)", from its key, or the sentence would lose its subject.
A footnote's text follows the paragraph it belongs to. Commands a paper defines (`\\newcommand{\\method}
{DictLearn}`, `\\newcommand{\\note}[1]{}`) are expanded with their arguments: papers name their method that
way, and hide their authors' notes to each other.

A file that only `\\input`s others cannot be read alone: that is said, with the files' names.
"""

from __future__ import annotations

import re
from typing import Any

from pylatexenc import latexwalker as lw
from pylatexenc.latex2text import EnvironmentTextSpec, LatexNodes2Text, MacroTextSpec
from pylatexenc.latex2text import get_default_latex_context_db as text_context
from pylatexenc.macrospec import EnvironmentSpec, MacroSpec

from ..errors import SourceError
from ..text import span_holder
from .latex_source import expand_simple_macros

_HEADINGS = {"part": 0, "chapter": 0, "section": 1, "subsection": 2, "subsubsection": 3}
_MATH_ENVS = ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "math")
# fmt: off
_FLOATS = {"figure": "Figure", "wrapfigure": "Figure", "table": "Table", "wraptable": "Table",
           "algorithm": "Algorithm"}
_STATEMENTS = ("theorem", "lemma", "proposition", "corollary", "definition", "assumption", "conjecture",
               "claim", "remark", "example", "proof")
# fmt: on
_REF_NAMES = {"section": "Section", "appendix": "Appendix", "figure": "Figure", "table": "Table"}
# Citations that stand for a bracketed number or "(Author, year)": dropped. Narrative ones are named (_cited).
# fmt: off
_PAREN_CITES = (
    "cite", "citep", "citealp", "Citep", "Citealp", "parencite", "autocite", "footcite",
    "nocite", "citeyearpar", "citeyear", "citenum", "supercite",
)
_TEXT_CITES = ("citet", "Citet", "citealt", "Citealt", "textcite", "Textcite", "citeauthor", "Citeauthor")
_DROP = (
    "bibliography", "bibliographystyle", "printbibliography", "includegraphics", "thanks", "maketitle",
    "pageref", "tableofcontents", "listoffigures", "listoftables", "newpage", "clearpage", "centering",
    "input", "include", "hline", "toprule", "midrule", "bottomrule", "cline", "todo", "appendix",
    # ICML's title block (its title is read as the title)
    "twocolumn", "icmltitle", "icmlauthor", "icmlaffiliation", "icmlcorrespondingauthor", "icmlkeywords",
    "icmlsetsymbol", "printAffiliationsAndNotice",
)
_REFS = ("ref", "autoref", "cref", "Cref", "eqref")
# Commands this reader interprets itself: a paper's own definition of one (a restyled \section) stays unused
_OWN = frozenset(
    {*_PAREN_CITES, *_TEXT_CITES, *_DROP, *_HEADINGS, *_REFS, "paragraph", "subparagraph", "label",
     "footnote", "url", "href", "item", "caption", "title", "author", "begin", "end"}
)
# fmt: on
_FOOTNOTE = ("\ue000", "\ue001")  # around a footnote's text until it is moved after its paragraph
_ITEM, _TERM = "\ue002", "\ue003"  # an item's start, and the end of its own mark
_MIN_WORDS = 30  # less prose than this in a file that \input's others: the prose is in those
PLAIN_RUN = 2_000  # characters of plain text the parser reads in one piece (break_plain_runs)


def latex_text(tex: str) -> str:
    """The readable text of a LaTeX document (see the module's docstring)."""
    try:
        return _convert(break_plain_runs(expand_simple_macros(tex, keep=_OWN)))
    except (RecursionError, lw.LatexWalkerError) as e:  # tolerant parsing, but a hostile nesting still fails
        raise SourceError(
            f"the LaTeX could not be read ({type(e).__name__}: groups or environments nested too deep, or "
            "broken markup); add the paper's PDF instead"
        ) from e


# A run of characters none of which means anything to LaTeX's parser (no command, group, math, comment …).
_PLAIN_RUN = re.compile(r"[^\\{}$%&#^_~\[\]]{" + str(2 * PLAIN_RUN) + r",}")
_CODE_EDGE = re.compile(r"\\(begin|end)\{(verbatim|lstlisting|minted|comment)\*?\}")


def _code_spans(tex: str) -> list[tuple[int, int]]:
    """Where code environments lie, from each \\begin to its \\end (or the file's end), in one pass."""
    spans, opened = [], None
    for m in _CODE_EDGE.finditer(tex):
        if m.group(1) == "begin" and opened is None:
            opened = (m.start(), m.group(2))
        elif m.group(1) == "end" and opened is not None and m.group(2) == opened[1]:
            spans.append((opened[0], m.end()))
            opened = None
    return spans + ([(opened[0], len(tex))] if opened is not None else [])


def break_plain_runs(tex: str) -> str:
    """`tex` with an empty group (`{}`, which prints nothing) after a space every PLAIN_RUN characters of a
    long run of plain text. pylatexenc gathers such a run one character at a time into a string it copies
    each time: a paragraph of 800,000 characters took 15 s to read, one of 1.6 million 98 s. Code blocks
    are left as written (their text is shown as it is)."""
    inside = span_holder(_code_spans(tex))

    def cut(m: re.Match[str]) -> str:
        if inside(m.start()) is not None:  # a run has no backslash: it is inside a code block or outside it
            return m.group()
        run, out, last = m.group(), [], 0
        for at in range(PLAIN_RUN, len(run), PLAIN_RUN):
            space = run.find(" ", at)
            if space < 0 or space <= last:
                continue
            out += [run[last : space + 1], "{}"]
            last = space + 1
        return "".join(out) + run[last:]

    return _PLAIN_RUN.sub(cut, tex)


def _convert(tex: str) -> str:
    walker = lw.LatexWalker(tex, latex_context=_walker_context(), tolerant_parsing=True)
    nodes, _, _ = walker.get_latex_nodes()
    body = next((n for n in _walk(nodes) if _is_env(n, "document")), None)
    title = next((n for n in _walk(nodes) if _is_macro(n, "title", "icmltitle")), None)
    inputs = [_arg_source(n, 0) for n in _walk(nodes) if _is_macro(n, "input", "include")]
    doc_nodes = body.nodelist if body is not None else nodes
    chapters = any(_is_macro(n, "chapter") for n in _walk(doc_nodes))
    converter = _Converter(*_number(doc_nodes, chapters))
    text = converter.nodelist_to_text(doc_nodes)
    if title is not None:
        heading = re.sub(r"\s+", " ", converter.node_arg_to_text(title, 0)).strip()
        if heading:
            text = f"# {heading}\n\n{text}"
    text = _tidy(text)
    if inputs and len(text.split()) < _MIN_WORDS:
        names = ", ".join(sorted({f"{i}.tex" if "." not in i else i for i in inputs})[:6])
        raise SourceError(
            f"this LaTeX file reads its text from other files ({names}), which are not beside it; add the "
            "paper's source folder or archive (.tar.gz), or its PDF"
        )
    return text


def _walk(nodes: list[Any] | None) -> Any:
    """Every node, depth first, in document order (macro arguments included)."""
    for n in nodes or []:
        if n is None:
            continue
        yield n
        if isinstance(n, (lw.LatexGroupNode, lw.LatexEnvironmentNode, lw.LatexMathNode)):
            yield from _walk(n.nodelist)
        if isinstance(n, (lw.LatexMacroNode, lw.LatexEnvironmentNode)) and n.nodeargd is not None:
            yield from _walk([a for a in n.nodeargd.argnlist if a is not None])


def _is_macro(n: Any, *names: str) -> bool:
    return isinstance(n, lw.LatexMacroNode) and n.macroname in names


def _is_env(n: Any, *names: str) -> bool:
    return isinstance(n, lw.LatexEnvironmentNode) and n.environmentname.rstrip("*") in names


def _arg_source(n: Any, k: int) -> str:
    """The LaTeX source of a macro's k-th argument, without its braces."""
    args = n.nodeargd.argnlist if n.nodeargd is not None else []
    arg = args[k] if k < len(args) else None
    if arg is None:
        return ""
    if isinstance(arg, lw.LatexGroupNode):
        return "".join(c.latex_verbatim() for c in arg.nodelist).strip()
    return arg.latex_verbatim().strip()


def _last_arg(n: Any) -> str:
    args = [a for a in (n.nodeargd.argnlist if n.nodeargd is not None else []) if a is not None]
    return _arg_source(n, n.nodeargd.argnlist.index(args[-1])) if args else ""


class _Numbering:
    """Section numbers as LaTeX prints them: 1, 1.2 (2.1 under chapters), lettered after \\appendix."""

    def __init__(self, chapters: bool) -> None:
        self.top = 0 if chapters else 1
        self.counts = [0, 0, 0, 0]
        self.appendix = False

    def start_appendix(self) -> None:
        self.appendix = True
        self.counts[self.top :] = [0] * (len(self.counts) - self.top)

    def heading(self, n: Any) -> str:
        """The number of the heading `n` opens ("" for a starred one or one above the numbered levels)."""
        level = _HEADINGS[n.macroname]
        if level < self.top or (n.nodeargd is not None and n.nodeargd.argnlist and n.nodeargd.argnlist[0]):
            return ""
        self.counts[level] += 1
        self.counts[level + 1 :] = [0] * (len(self.counts) - level - 1)
        parts = [str(c) for c in self.counts[self.top : level + 1]]
        if self.appendix and 0 < self.counts[self.top] <= 26:
            parts[0] = chr(ord("A") + self.counts[self.top] - 1)
        return ".".join(parts)


def _number(nodes: list[Any], chapters: bool) -> tuple[dict[str, tuple[str, str]], dict[int, str]]:
    """Sections, figures, tables and equations counted in document order, once: label -> (kind, number as
    LaTeX prints it), the kind naming the reference in \\autoref and \\cref; and id(node) -> number for
    each numbered heading and float, which the converter prints (so a reference and its target agree)."""
    sections = _Numbering(chapters)
    floats = dict.fromkeys(_FLOATS.values(), 0)
    equations = 0
    labels: dict[str, tuple[str, str]] = {}
    numbers: dict[int, str] = {}
    current: tuple[str, str] = ("section", "")

    def visit(ns: list[Any] | None, context: tuple[str, str] | None) -> None:
        nonlocal current, equations
        for n in ns or []:
            if _is_macro(n, "appendix"):
                sections.start_appendix()
            elif isinstance(n, lw.LatexMacroNode) and n.macroname in _HEADINGS:
                number = sections.heading(n)
                if number:
                    current = ("appendix" if sections.appendix else "section", number)
                    numbers[id(n)] = number
            elif _is_macro(n, "label"):
                labels[_arg_source(n, 0)] = context or current
            elif isinstance(n, lw.LatexEnvironmentNode):
                name = n.environmentname
                if name.rstrip("*") in _FLOATS:
                    kind = _FLOATS[name.rstrip("*")]
                    floats[kind] += 1
                    numbers[id(n)] = str(floats[kind])
                    visit(n.nodelist, (kind.lower(), numbers[id(n)]))
                elif name in _MATH_ENVS:  # starred ones are not numbered; an align numbers each row
                    for row in _rows(n.nodelist):
                        if not any(_is_macro(x, "nonumber", "notag") for x in _walk(row)):
                            equations += 1
                            visit(row, ("equation", f"({equations})"))
                else:
                    visit(n.nodelist, context)
            elif isinstance(n, lw.LatexGroupNode):
                visit(n.nodelist, context)

    visit(nodes, None)
    return labels, numbers


def _rows(nodes: list[Any]) -> list[list[Any]]:
    """A math environment's rows (split at \\\\), empty ones left out."""
    rows: list[list[Any]] = [[]]
    for n in nodes:
        if _is_macro(n, "\\"):
            rows.append([])
        else:
            rows[-1].append(n)
    return [r for r in rows if "".join(x.latex_verbatim() for x in r).strip()]


class _Converter(LatexNodes2Text):
    """pylatexenc's text conversion with the rules of the module's docstring."""

    def __init__(self, labels: dict[str, tuple[str, str]], numbers: dict[int, str]) -> None:
        self.labels = labels
        self.numbers = numbers
        super().__init__(latex_context=self._context(), math_mode="verbatim", strict_latex_spaces=True)

    def _context(self) -> Any:
        db = text_context()
        macros = [MacroTextSpec(m, simplify_repl="") for m in (*_PAREN_CITES, *_DROP, "label")]
        macros += [MacroTextSpec(m, simplify_repl=self._text_cite) for m in _TEXT_CITES]
        macros += [MacroTextSpec(m, simplify_repl=self._heading) for m in _HEADINGS]
        macros += [MacroTextSpec(m, simplify_repl=self._ref) for m in _REFS]
        macros += [
            MacroTextSpec("footnote", simplify_repl=self._footnote),
            MacroTextSpec("paragraph", simplify_repl=self._run_in),
            MacroTextSpec("url", simplify_repl=lambda n: _arg_source(n, 0)),
            MacroTextSpec("href", simplify_repl=lambda n: self.node_arg_to_text(n, 2)),
            MacroTextSpec("item", simplify_repl=self._item),
            MacroTextSpec("caption", simplify_repl=""),  # the float writes it
        ]
        envs = [
            EnvironmentTextSpec(e + star, simplify_repl=self._float) for e in _FLOATS for star in ("", "*")
        ]
        envs += [EnvironmentTextSpec(e, simplify_repl=self._statement) for e in _STATEMENTS]
        envs += [EnvironmentTextSpec(e, simplify_repl=self._display_math) for e in _MATH_ENVS]
        envs += [EnvironmentTextSpec(e + "*", simplify_repl=self._display_math) for e in _MATH_ENVS]
        envs += [
            EnvironmentTextSpec(e, simplify_repl=self._list) for e in ("itemize", "enumerate", "description")
        ]
        envs += [
            EnvironmentTextSpec("abstract", simplify_repl=self._abstract),
            EnvironmentTextSpec("thebibliography", discard=True),
            EnvironmentTextSpec("icmlauthorlist", discard=True),
            EnvironmentTextSpec("verbatim", simplify_repl=_code),
            EnvironmentTextSpec("lstlisting", simplify_repl=_code),
            EnvironmentTextSpec("minted", simplify_repl=_code),
        ]
        db.add_context_category("interp-rag", prepend=True, macros=macros, environments=envs)
        return db

    def _heading(self, n: Any) -> str:
        number = self.numbers.get(id(n), "")
        title = re.sub(r"\s+", " ", self.node_arg_to_text(n, 2)).strip()
        marks = "#" * (_HEADINGS[n.macroname] + 1)
        return f"\n\n{marks} {number} {title}\n\n".replace("  ", " ")

    def _abstract(self, n: Any) -> str:
        return f"\n\n## Abstract\n\n{self.nodelist_to_text(n.nodelist).strip()}\n\n"

    def _run_in(self, n: Any) -> str:
        title = re.sub(r"\s+", " ", self.node_arg_to_text(n, 2)).strip()
        return f"\n\n{title}. " if title and not title.endswith((".", ":", "?")) else f"\n\n{title} "

    def _ref(self, n: Any) -> str:
        kind, number = self.labels.get(_arg_source(n, 0).split(",")[0].strip(), ("", ""))
        if not number:
            return ""
        if n.macroname == "eqref" or (kind == "equation" and n.macroname == "ref"):
            return number if number.startswith("(") else f"({number})"
        if n.macroname in ("autoref", "cref", "Cref"):
            name = "Equation" if kind == "equation" else _REF_NAMES.get(kind, "")
            return f"{name} {number}".strip()
        return number

    def _text_cite(self, n: Any) -> str:
        keys = [k.strip() for k in _last_arg(n).split(",") if k.strip()]
        return ", ".join(_cited(k, with_year=not n.macroname.lower().startswith("citeauthor")) for k in keys)

    def _footnote(self, n: Any) -> str:
        note = self.nodelist_to_text([a for a in n.nodeargd.argnlist[-1:] if a is not None]).strip()
        return f"{_FOOTNOTE[0]}{note}{_FOOTNOTE[1]}" if note else ""

    def _item(self, n: Any) -> str:
        term = self.node_arg_to_text(n, 0).strip() if n.nodeargd and n.nodeargd.argnlist else ""
        return f"{_ITEM}{term}{_TERM}"

    def _list(self, n: Any) -> str:
        lines = []
        for k, item in enumerate(self.nodelist_to_text(n.nodelist).split(_ITEM)[1:], 1):
            term, _, text = (re.sub(r"\s+", " ", part).strip() for part in item.partition(_TERM))
            if n.environmentname == "description":
                lines.append(f"- {term}: {text}" if term else f"- {text}")
            elif term:  # an item with its own mark ("\\item[(b)]") keeps it
                lines.append(f"- {term} {text}")
            else:
                lines.append(f"{k}. {text}" if n.environmentname == "enumerate" else f"- {text}")
        return "\n\n" + "\n".join(lines) + "\n\n"

    def _float(self, n: Any) -> str:
        kind = _FLOATS[n.environmentname.rstrip("*")]
        # its own caption, not a sub-figure's
        caption = next((c for c in n.nodelist if _is_macro(c, "caption")), None) or next(
            (c for c in _walk(n.nodelist) if _is_macro(c, "caption")), None
        )
        body = ""
        if kind == "Table":  # a table's cells are text a question may ask about
            rows = self.nodelist_to_text([c for c in n.nodelist if not _is_macro(c, "caption")])
            body = "\n".join(" ".join(r.split()) for r in rows.splitlines() if r.strip(" |\t"))
        text = re.sub(r"\s+", " ", self.node_arg_to_text(caption, 2)).strip() if caption else ""
        name = f"{kind} {self.numbers[id(n)]}" if id(n) in self.numbers else kind
        head = f"{name}: {text}" if text else ""
        return "\n\n" + "\n\n".join(p for p in (head, body) if p) + "\n\n"

    def _statement(self, n: Any) -> str:
        name = n.environmentname.capitalize()
        return f"\n\n{name}. {' '.join(self.nodelist_to_text(n.nodelist).split())}\n\n"

    def _display_math(self, n: Any) -> str:
        inner = "".join(
            c.latex_verbatim() for c in n.nodelist if not _is_macro(c, "label", "nonumber", "notag")
        )
        return "\n\n$$\n" + inner.strip() + "\n$$\n\n"


def _cited(key: str, with_year: bool) -> str:
    """A narrative citation as natbib prints it, from what a key conventionally holds: "smith2020probes" or
    "smith_probes_2020" reads "Smith (2020)"; a key of another shape is shown as it is."""
    name = re.match(r"[A-Za-z][a-z]+", key)
    if name is None:
        return key
    year = re.search(r"(?:19|20)\d\d", key)
    who = name.group()[0].upper() + name.group()[1:]
    return f"{who} ({year.group()})" if year and with_year else who


def _code(n: Any) -> str:
    source = n.latex_verbatim()
    inner = re.sub(r"^\\begin\{[^}]*\}(\[[^\]]*\])?(\{[^}]*\})?|\\end\{[^}]*\}$", "", source).strip("\n")
    return f"\n\n```\n{inner}\n```\n\n"


# What the parser must know of commands and environments pylatexenc does not: their arguments.
# fmt: off
_MACRO_ARGS = (
    ("parencite", "*[[{"), ("textcite", "*[[{"), ("Textcite", "*[[{"), ("autocite", "*[[{"),
    ("footcite", "*[[{"), ("supercite", "*[[{"), ("caption", "*[{"), ("subcaption", "*[{"),
    ("bibliographystyle", "{"), ("thanks", "{"), ("href", "[{{"), ("nocite", "{"), ("pageref", "{"),
    ("nameref", "{"), ("cline", "{"), ("footnotemark", "["), ("printbibliography", "["),
    ("paragraph", "*[{"), ("appendix", ""), ("todo", "[{"), ("twocolumn", "["), ("icmltitle", "{"),
    ("icmlauthor", "{{"), ("icmlaffiliation", "{{"), ("icmlcorrespondingauthor", "{{"), ("icmlkeywords", "{"),
    ("icmlsetsymbol", "{{"), ("printAffiliationsAndNotice", "{"),
)
_ENV_ARGS = (
    ("subfigure", "[{"), ("minipage", "[[[{"), ("wrapfigure", "[{[{"), ("wraptable", "[{[{"),
    ("algorithm", "["), ("algorithmic", "["), ("figure*", "["), ("table*", "["),
    *((e, "[") for e in _STATEMENTS),
)
# fmt: on


def _walker_context() -> Any:
    db = lw.get_default_latex_context_db()
    db.add_context_category(
        "interp-rag",
        prepend=True,
        macros=[MacroSpec(m, spec) for m, spec in _MACRO_ARGS],
        environments=[EnvironmentSpec(e, spec) for e, spec in _ENV_ARGS],
    )
    return db


def _tidy(text: str) -> str:
    """Footnotes after their paragraph, no space before punctuation left by a dropped citation, no empty
    "(Section )" left by a label that was never defined, no runs of blank lines."""
    paragraphs = []
    for para in re.split(r"\n\s*\n", text):
        notes = re.findall(f"{_FOOTNOTE[0]}(.*?){_FOOTNOTE[1]}", para, flags=re.S)
        para = re.sub(f"{_FOOTNOTE[0]}.*?{_FOOTNOTE[1]}", "", para, flags=re.S)
        paragraphs.append(para)
        paragraphs += [" ".join(n.split()) for n in notes]
    text = "\n\n".join(p.strip("\n") for p in paragraphs if p.strip())
    text = re.sub(r"\(\s*(?:(?:Section|Figure|Table|Appendix|Equation|Eq\.|Fig\.|Sec\.)s?\s*)?\)", "", text)
    text = re.sub(r"[ \t\u00a0]+([.,;:!?)])", r"\1", text)
    text = re.sub(r"(?<=[A-Za-z]\.)\.(?!\.)", "", text)  # "et al.~\\cite{x}." read "et al.."
    text = re.sub(r"[ \t\u00a0]{2,}", " ", text)
    text = "\n".join(line.rstrip() for line in text.replace("\u00a0", " ").splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip()
