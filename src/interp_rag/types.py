"""The nouns of the pipeline. Chunk ids (`<source-id>:<n>`) double as citation keys.

An Answer also writes itself out for a researcher to take away (`to_markdown`, `to_bibtex`, at the end of
this module): pure functions of the Answer, kept here so the core has no import cycle."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from .text import strip_site_markup

Stance = Literal["enthusiastic", "skeptical", "neutral"]
STANCES: tuple[Stance, ...] = ("enthusiastic", "skeptical", "neutral")
# The two sides an answer shows side by side (neutral passages are background).
SIDES: tuple[Stance, ...] = ("enthusiastic", "skeptical")
# Document-level labels in the manifest also include "mixed".
DOC_STANCES = ("enthusiastic", "skeptical", "mixed", "neutral")
# A source's stance as its list records it: one of DOC_STANCES, or "unknown" when whoever added it did not
# say. An unknown document gives its passages' stance reading no prior, where "neutral" would pull them
# towards neutral: measured on unseen-dev (docs/benchmarks.md, Seventeenth pass), passage stance 0.75
# unknown / 0.70 neutral / 0.783 the true label; answer_evidence 0.55 / 0.45 / 0.55.
UNKNOWN_STANCE = "unknown"
SOURCE_STANCES = (*DOC_STANCES, UNKNOWN_STANCE)
SOURCE_TYPES = ("essay", "blog", "paper", "docs", "review", "transcript", "other")


REPR_CHARS = 80  # longest text a repr shows of a field


class Record:
    """A noun of the pipeline as plain data: `to_dict()` for JSON (the CLI's --json, chunks.jsonl, ...)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def __repr__(self) -> str:
        """Every field, a long text cut and a long list counted: a printed Answer was 4.6 kB, a Document
        its whole text (`to_dict()` has everything)."""
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            shown = repr(value)
            if isinstance(value, str) and len(value) > REPR_CHARS:
                shown = repr(value[: REPR_CHARS - 1] + "…")
            elif isinstance(value, list | dict) and len(shown) > REPR_CHARS:
                shown = f"<{len(value)} {'items' if isinstance(value, list) else 'keys'}>"
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass
class Source(Record):
    """One entry of the source list (metadata only; the text is resolved at build time)."""

    id: str
    title: str
    url: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    type: str = "other"
    stance: str = UNKNOWN_STANCE
    stance_note: str = ""
    file: str = ""  # file name inside a mirror directory, or a local path for `add`ed files


@dataclass(repr=False)
class Document(Record):
    source: Source
    text: str
    origin: str  # where the text came from: "mirror:<path>", "cache:<path>", "url:<url>", "file:<path>"
    content_hash: str


@dataclass(repr=False)
class Chunk(Record):
    id: str  # "<source-id>:<n>"
    source_id: str
    n: int
    text: str  # exact slice text[start:end] of the extracted document text
    start: int
    end: int
    headings: list[str] = field(default_factory=list)
    hash: str = ""  # hash of what is embedded (context + text): the embedding-cache key
    stance: str = "neutral"
    stance_confidence: float = 0.0
    # "classifier", or "label": the stance comes from a hand label of a passage this chunk holds
    # (corpus/stance/labels-*.jsonl, training data), so it is no evidence of the classifier's accuracy.
    stance_by: str = "classifier"
    questions: list[str] = field(default_factory=list)  # question expansions this chunk answers
    question_spans: list[list[int]] = field(default_factory=list)  # [start, end] of each one's passage


@dataclass(repr=False)
class Passage(Record):
    """A chunk as shown to a user: chunk text plus its source's metadata and its retrieval score."""

    source_id: str
    chunk_id: str
    title: str
    authors: list[str]
    year: int | None
    url: str
    text: str
    stance: str
    stance_confidence: float
    score: float
    type: str = "other"
    headings: list[str] = field(default_factory=list)
    start: int = 0
    end: int = 0
    # The part of the passage that answers best: the span of the expansion question closest to the user's
    # question (offsets into the source's text, like start/end).
    focus: list[int] | None = None
    # "classifier" (the index's label, `stance_confidence` its probability), "label" (a hand label of the
    # training data, see Chunk.stance_by) or "llm": relabelled relative to the question by the configured LLM
    # (INTERP_RAG_LLM_STANCE); `stance_confidence` then still holds the index's confidence for its own
    # label, which is why the UI shows "LLM" instead of it.
    stance_by: str = "classifier"

    def sections(self, n: int = 2) -> list[str]:
        """The last `n` headings above the passage, as a reader names where it is: without attribute
        blocks (an index built before they were dropped still holds them) and without the document's own
        title, which a page often opens with as its first heading ("Title (2024) — Title"), also when the
        title adds to it ("Probes (Book, ch. 3)" under the heading "Probes")."""
        heads = [strip_site_markup(h).strip() for h in self.headings]
        return [h for h in heads if h and not _names_title(h, self.title)][-n:]


def _names_title(heading: str, title: str) -> bool:
    """Is the heading the title, or the title's first part before a bracket, colon or dash?"""
    h, t = (" ".join(x.lower().split()) for x in (heading, title))
    return t == h or (t.startswith(h) and re.match(r"\s*[(\[:|—–]|\s+-\s", t[len(h) :]) is not None)


@dataclass
class Citation(Record):
    """Marker `[number]` in an answer's text points at `passages[number - 1]`."""

    number: int
    chunk_id: str
    source_id: str
    title: str
    url: str


@dataclass(repr=False)
class Answer(Record):
    question: str
    text: str
    passages: list[Passage]
    citations: list[Citation]
    mode: str  # "llm", or the answer mode that wrote it without one ("extractive")
    missing_sides: list[str] = field(default_factory=list)
    notice: str = ""
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # year -> counts by side and source ids, over every relevant candidate (answering/timeline.py)
    timeline: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Nothing cleared the relevance floor (INTERP_RAG_RELEVANCE_FLOOR): `passages` are only the closest ones,
    # which may not answer the question, and the text says so instead of quoting them.
    low_relevance: bool = False

    def to_markdown(self) -> str:
        """The answer with its [n] markers, a References list and each reference's passage quoted."""
        return to_markdown(self)

    def to_bibtex(self) -> str:
        """One BibTeX entry per cited source, stable keys, @article / @online / @misc by source type."""
        return to_bibtex(self)


@dataclass
class BuildReport(Record):
    sources_ok: list[str] = field(default_factory=list)
    sources_failed: dict[str, str] = field(default_factory=dict)
    sources_removed: list[str] = field(default_factory=list)
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    index_dir: str = ""
    changed: bool = True
    warnings: list[str] = field(default_factory=list)  # repairs done on the way (damaged index, cache)
    questions_written: int = 0  # expansion questions an LLM wrote for the added sources (`--write-questions`)


# ---------------------------------------------------------------- taking an answer away: Markdown, BibTeX

_STOP = frozenset({"a", "an", "the", "on", "of", "in", "to", "and", "for", "is", "are", "why", "how", "what"})
ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/([0-9]{4}\.[0-9]{4,5}|[a-z-]+/[0-9]{7})", re.I)


def authors_line(authors: list[str]) -> str:
    if not authors:
        return "Unknown author"
    if len(authors) <= 3:
        return ", ".join(authors[:-1]) + (" and " if len(authors) > 1 else "") + authors[-1]
    return f"{authors[0]} et al."


def _quote(p: Passage) -> str:
    text = re.sub(r"\n[ \t]*\n\s*", "\n\n", strip_site_markup(p.text)).strip()
    lines = [ln.rstrip() for ln in text.splitlines()]
    return "\n".join(f"   > {ln}" if ln else "   >" for ln in lines)


def to_markdown(a: Answer) -> str:
    """The question as a heading, the answer with its [n] markers, then References: for every passage
    `[n]` its authors, year, title and URL, and the passage quoted. Numbers match the answer's markers."""
    cited = {c.number for c in a.citations}
    out = [f"# {a.question}", "", a.text.strip(), ""]
    if a.notice:
        out += [f"> Note: {a.notice}", ""]
    if a.passages:
        out += ["## References", ""]
    for n, p in enumerate(a.passages, 1):
        where = " › ".join(p.sections())
        where = f" — § {where}" if where else ""
        url = f" <{p.url}>" if p.url else ""
        mark = "" if n in cited else " (shown, not cited)"
        out.append(f"[{n}] {authors_line(p.authors)} ({p.year or 'n.d.'}). *{p.title}*.{url}{where}")
        out.append(f"   Stance of this passage: {p.stance}{mark}.")
        out.append("")
        out.append(_quote(p))
        out.append("")
    how = f"LLM ({a.model or 'server default model'})" if a.mode == "llm" else "extractive"
    out.append(f"_Answered by interp-rag ({how} answer)._")
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- BibTeX


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def bibtex_key(p: Passage) -> str:
    """Author-year-word, e.g. `olah2020zoom`: the same source always gets the same key."""
    # no author: the id's first word ("scoped-rules-anchors-…" gave a 50-letter key of the whole id)
    last = p.authors[0].split()[-1] if p.authors and p.authors[0].split() else p.source_id.split("-")[0]
    words = [
        w for w in re.findall(r"[a-z0-9]+", _ascii(p.title).lower()) if w not in _STOP and not w.isdigit()
    ]
    base = re.sub(r"[^a-z0-9]", "", _ascii(last).lower()) or "anon"
    return f"{base}{p.year or 'nd'}{words[0] if words else ''}"


def _value(text: str) -> str:
    """Text as a braced BibTeX value: LaTeX specials escaped, so the field parses and typesets."""
    text = text.replace("\\", "/")  # a lone backslash would start a LaTeX command
    text = re.sub(r"[{}]", "", text)  # unbalanced braces would end the field
    text = re.sub(r"([&%$#_])", r"\\\1", text)
    return text.replace("~", r"\textasciitilde{}").replace("^", r"\textasciicircum{}")


def _raw_url(url: str) -> str:
    return re.sub(r"[{}\s]", "", url)


def entry_type(p: Passage) -> str:
    """article for papers and reviews, online for blogs, essays and docs on the web, misc otherwise."""
    if p.type in ("paper", "review"):
        return "article"
    if p.type in ("blog", "essay", "docs") and p.url.startswith(("http://", "https://")):
        return "online"
    return "misc"


def to_bibtex(a: Answer) -> str:
    """One entry per cited source (every shown source when nothing is cited, none when nothing in the corpus
    comes close: those passages were not taken as sources of the answer), in citation order, with stable
    keys; two sources that would share a key get suffixes b, c, … by source id."""
    numbers = [c.number for c in a.citations]
    if not numbers and not a.low_relevance:
        numbers = list(range(1, len(a.passages) + 1))
    seen: dict[str, Passage] = {}
    for n in numbers:
        p = a.passages[n - 1]
        seen.setdefault(p.source_id, p)
    keys: dict[str, str] = {}
    by_base: dict[str, list[str]] = {}
    for sid in sorted(seen):
        by_base.setdefault(bibtex_key(seen[sid]), []).append(sid)
    for base, sids in by_base.items():
        for i, sid in enumerate(sids):
            keys[sid] = base + ("" if i == 0 else chr(ord("a") + i))
    entries = []
    for sid, p in seen.items():
        kind = entry_type(p)
        fields = [("title", p.title)]
        if p.authors:
            fields.append(("author", " and ".join(p.authors)))
        if p.year:
            fields.append(("year", str(p.year)))
        m = ARXIV.search(p.url)
        if kind == "article":
            fields.append(("journal", f"arXiv preprint arXiv:{m.group(1)}" if m else "Preprint"))
            if m:
                fields += [("eprint", m.group(1)), ("archiveprefix", "arXiv")]
        web = p.url.startswith(("http://", "https://"))
        if web:  # a file:// URL is a path on this machine (an added file's), nowhere a reader can go
            fields.append(("url", p.url))
        if kind == "misc" and (how := "Transcript" if p.type == "transcript" else "Online" if web else ""):
            fields.append(("howpublished", how))
        fields.append(("note", f"interp-rag source {sid}; passage stance: {p.stance}"))
        # URLs stay verbatim (the url package reads them raw); other fields are escaped for LaTeX
        body = ",\n".join(f"  {k} = {{{_raw_url(v) if k == 'url' else _value(v)}}}" for k, v in fields)
        entries.append(f"@{kind}{{{keys[sid]},\n{body}\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")
