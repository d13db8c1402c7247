"""HTML for the web UI, built from escaped text: pure functions, testable without a browser.

Passage text, titles and LLM output are data, never markup (a corpus document or a model reply may carry
`<script>` or `<img onerror>`): everything is escaped first, and the only tags in the output are the ones
made here. Links are followed only for http(s) URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from ..answering.llm import LLMClient, public_url, resolve_llm
from ..answering.prompts import LOW_RELEVANCE_LABEL, missing_sentence
from ..errors import InterpRagError
from ..settings import Settings, WebSettings
from ..store.index import Index, index_stats
from ..text import SPACE_OR_CONTROL, bm25_tokens, outside_math, strip_site_markup
from ..types import SIDES, STANCES, Answer, Passage
from .math import split_math

# Words too common in this literature to be worth highlighting even when the question uses them.
_NO_MARK = frozenset(
    {"actual", "actually", "use", "useful", "really", "real", "way", "thing", "work", "make"}
)
_WORD = re.compile(r"\w+")
_CITE = re.compile(r"\[(\d{1,3})\]")
_INLINE = (  # run on escaped text, so the only tags in the result are these
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"<em>\1</em>"),
    (re.compile(r"(?<![\w&])_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"<em>\1</em>"),
)
# Markdown syntax that only gets in a reader's way in a quoted passage: link targets, emphasis, #, fences.
_INLINE_TAGS = "em|strong|b|i|u|s|mark|small|sup|sub|span|a|code|kbd|abbr|cite|q|font|img|picture|source"
_BLOCK_TAGS = (
    "br|hr|p|div|details|summary|figure|figcaption|table|thead|tbody|tr|td|th|ul|ol|li|dl|dt|dd|"
    "blockquote|center|section|article|header|footer|aside|h[1-6]"
)
# A link's (or image's) label holds no bracket, innermost first: a badge is an image inside a link
# ("[![Open In Colab](badge.svg)](colab-url)"), and one pattern over both left "![Open In Colab](colab-url)"
_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^)\s]*\)")
# Each rule: the strings one of which any match contains (a rule whose strings are not in the text cannot
# match it, and is skipped: most passages hold no markup, and each pattern tried at every position of a
# ~2,000-character passage cost ~20-40 us, ~1.6 ms an answer's eight cards), the pattern, its replacement.
_PLAIN: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("](",), _LINK, r"\1"),
    (("](",), _LINK, r"\1"),
    (("**", "__"), re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (("*",), re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    # never inside a word: snake_case
    (("_",), re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), r"\1"),
    # a heading may be indented by up to three spaces (as a passage joined across a dropped " \n\n" shows it)
    (("#", "```", "~~~"), re.compile(r"^[ \t]{0,3}#{1,6}\s+|^(?:```|~~~).*$", re.M), ""),
    # Distill's citation tags and empty anchors are invisible on the page they come from; other markup in a
    # passage stays visible (as escaped text), so a reader sees what the source really says.
    (
        ("<d-cite", "<a "),
        re.compile(r"\s*<d-cite\b[^>]{0,300}>\s*</d-cite>|<a (?:name|id)=\"[^\"<>]{0,100}\">\s*</a>"),
        "",
    ),
    # ... but the tags that only format text or lay it out show as what they format, as on their page: a
    # review written in markdown with inline HTML showed "Engels <em>et al.</em>" and "<strong>(b)</strong>"
    (("<",), re.compile(rf"</?(?:{_INLINE_TAGS})\b[^<>]{{0,300}}>", re.I), ""),
    (("<",), re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^<>]{{0,300}}>", re.I), " "),
)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def safe_url(url: str) -> str | None:
    """The URL if it is a plain http(s) link; None for javascript:, data:, file:, or control characters."""
    url = (url or "").strip()
    if not url or SPACE_OR_CONTROL.search(url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def source_link(url: str, label: str, cls: str) -> str:
    href = safe_url(url)
    if href is None:  # shown, never followed
        return f'<span class="{cls} plain">{esc(label)}</span>'
    return f'<a class="{cls}" href="{esc(href)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if word.lower() in _NO_MARK:
        return ""
    toks = bm25_tokens(word)  # the retriever's view of a word: lowercased, stop words dropped, stemmed
    return toks[0] if toks else ""


def question_terms(question: str) -> frozenset[str]:
    return frozenset(s for w in _WORD.findall(question or "") if (s := _stem(w)))


def highlight(text: str, terms: frozenset[str]) -> str:
    """Escaped text, whole words whose stem is a question term in <mark>. Escaping piece by piece means a
    match can never fall inside an entity or a tag."""
    out, pos = [], 0
    for m in _WORD.finditer(text) if terms else ():
        if _stem(m.group()) in terms:
            out += [esc(text[pos : m.start()]), f"<mark>{esc(m.group())}</mark>"]
            pos = m.end()
    return "".join([*out, esc(text[pos:])])


def readable(text: str) -> str:
    """Passage text for reading: markdown syntax dropped, hard-wrapped lines (a long line, then one newline
    and more prose) joined as markdown would join them; lists, headings and transcripts keep their lines."""
    text = strip_site_markup(text)

    def plain(t: str) -> str:
        for needs, pattern, repl in _PLAIN:
            if any(n in t for n in needs):  # the text as it is now: a rule before may have made a match
                t = pattern.sub(repl, t)
        return t

    def prose(t: str) -> str:
        t = outside_math(t, plain)  # "$x_{i}$ … $y_{j}$" is no emphasis
        return re.sub(r"(?m)^(.{60,}\S)\n(?=[^\n\s#>|*+-])(?!\d+[.)]\s)", r"\1 ", t)

    # Code keeps its lines and characters: a long line of code was joined to the next as wrapped prose, and
    # `__init__` lost its underscores as emphasis. Only the fence lines themselves go.
    shown = "".join(t if code else prose(t) for t, code in fenced(text))
    return re.sub(r"\n{3,}", "\n\n", shown).strip()


_FENCE_LINE = re.compile(r"^[ \t]{0,3}(```|~~~)[ \t]*([^\s`]*)[^\n]*(?:\n|$)", re.M)


def fenced(text: str) -> list[tuple[str, bool]]:
    """`text` as (piece, is code) in order, the fence lines left out. A fence with a language ("```python")
    always opens a block; a bare one closes the open block, else opens one. A passage cut inside a block (a
    chunk often starts there) begins with code when its first fence is bare and its fences are odd in
    number: that fence closes."""
    out: list[tuple[str, bool]] = []
    marks = list(_FENCE_LINE.finditer(text))
    starts_inside = len(marks) % 2 == 1 and not marks[0].group(2)
    pos, open_mark = 0, marks[0].group(1) if starts_inside else ""
    for m in marks:
        mark, info = m.group(1), m.group(2)
        if open_mark and mark == open_mark and not info:
            out.append((text[pos : m.start()], True))
            open_mark = ""
        elif not open_mark:
            out.append((text[pos : m.start()], False))
            open_mark = mark
        else:
            continue  # a fence of the other kind (or with a language) inside a block is code
        pos = m.end()
    out.append((text[pos:], bool(open_mark)))
    return [(t, code) for t, code in out if t]


def with_math(text: str, prose: Callable[[str], str]) -> str:
    """`prose(piece)` for the text between formulas; each formula as MathML (web/math.py), or as escaped
    LaTeX when it cannot be drawn. Markdown's `_` and `*` inside a formula are never emphasis."""
    return "".join(prose(t) if mml is None else mml or esc(t) for t, mml in split_math(text))


def _inline(text: str, n_passages: int) -> str:
    def prose(piece: str) -> str:
        s = esc(piece)
        for pattern, repl in _INLINE:
            s = pattern.sub(repl, s)
        return s

    s = with_math(text, prose)

    def cite(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f'<a class="cite" href="#passage-{n}">[{n}]</a>' if 1 <= n <= n_passages else m.group()

    return _CITE.sub(cite, s)


def render_markdown(text: str, n_passages: int) -> str:
    """The markdown answers use (paragraphs, lists, headings, bold, italics, code) with `[n]` linked to
    its passage card. Markdown links and raw HTML stay visible text."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    kind = ""

    def flush() -> None:
        if para:
            out.append("<p>" + "<br>".join(_inline(x, n_passages) for x in para) + "</p>")
        if items:
            out.append(
                f"<{kind}>" + "".join(f"<li>{_inline(x, n_passages)}</li>" for x in items) + f"</{kind}>"
            )
        para.clear()
        items.clear()

    for line in (text or "").splitlines():
        s = line.strip()
        item = re.match(r"(?:([-*+])|\d{1,3}[.)])\s+(.*)", s)
        heading = re.match(r"#{1,6}\s+(.*)", s)
        if not s or heading:
            flush()
            # h3: under the answer's own h2
            out.extend([f"<h3>{_inline(heading.group(1), n_passages)}</h3>"] if heading else [])
        elif item:
            if para or (items and kind != ("ul" if item.group(1) else "ol")):
                flush()
            kind = "ul" if item.group(1) else "ol"
            items.append(item.group(2))
        elif items and line[:1].isspace():  # an indented continuation of a list item
            items[-1] += " " + s
        else:
            if items:
                flush()
            para.append(s)
    flush()
    return "".join(out)


def render_answer(text: str, n_passages: int, final: Answer | None = None) -> str:
    """The answer, streaming (final=None: partial text, a cursor) or final (with how it was made)."""
    if final is None:
        meta, cls = "Writing the answer…", "answer streaming"
    else:
        how = f"LLM answer · {final.model or 'server default model'}" if final.mode == "llm" else "Extractive"
        ms = final.timings.get("total_ms")
        took = (f" · {ms:.0f} ms" if ms < 1000 else f" · {ms / 1000:.1f} s") if ms else ""
        meta = f"{how} · {len(final.passages)} passages{took}"
        if final.low_relevance:
            meta = f"No close match · {len(final.passages)} closest passages{took}"
        meta, cls = (meta if final.passages else ""), "answer"
    body = f'<div class="answer-body">{_named_cites(render_markdown(text, n_passages), final)}</div>'
    # A heading a screen reader can jump to (the page is otherwise h1, then the columns); seen, it is noise.
    head = f'<h2 class="vh">Answer</h2><div class="answer-meta">{esc(meta)}</div>'
    return f'<div class="{cls}">{head}{body}</div>'


_CITE_LINK = re.compile(r'<a class="cite" href="#passage-(\d+)">')


def _named_cites(body: str, final: Answer | None) -> str:
    """Each [n] of a final answer names its source on hover and to a screen reader (as its description):
    "[4]" alone sent the reader down the page to find out whose claim it was."""
    ps = final.passages if final is not None else []

    def name(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f'{m.group()[:-1]} title="{esc(ps[n - 1].title)}">' if 1 <= n <= len(ps) else m.group()

    return _CITE_LINK.sub(name, body)


def render_notice(message: str, kind: str = "warning") -> str:
    """kind: info, warning or error. The message is text (error messages may quote user input)."""
    if not message:
        return ""
    spinner = '<i class="spinner"></i>' if kind == "info" else ""  # CSS, not an emoji: no font needed
    return f'<div class="notice notice-{kind}" role="status">{spinner}{esc(message)}</div>'


def render_balance(
    passages: list[Passage],
    missing: list[str],
    stance_filter: list[str] | None = None,
    low_relevance: bool = False,
) -> str:
    """A stacked bar of the shown passages' stances with counts, and a sentence for each missing side; for
    passages that are only the closest there are (nothing cleared the relevance floor), a warning instead."""
    if not passages:
        return ""
    if low_relevance:
        head = f'<h2 class="balance-head">{esc(LOW_RELEVANCE_LABEL)}</h2>'
        return f'<div class="balance low-relevance">{head}</div>'
    counts = {s: sum(p.stance == s for p in passages) for s in ("enthusiastic", "neutral", "skeptical")}
    bar = "".join(
        f'<span class="seg {s}" style="width:{100 * c / len(passages):.1f}%" title="{c} {s}"></span>'
        for s, c in counts.items()
        if c
    )
    legend = "".join(f'<span><i class="dot {s}"></i>{s.title()} <b>{c}</b></span>' for s, c in counts.items())
    notes = [missing_sentence(missing).strip("_")] if missing else []
    hidden = [s for s in SIDES if stance_filter and s not in stance_filter]
    notes += [f"{s.title()} passages are hidden by the stance filter." for s in hidden if s not in missing]
    label = ", ".join(f"{c} {s}" for s, c in counts.items())
    notes_html = "".join(f'<p class="missing">{esc(n)}</p>' for n in notes)
    return (
        f'<div class="balance"><h2 class="balance-head">Where the sources stand <span class="muted">· '
        f'{len(passages)} passages shown</span></h2><div class="bar" role="img" aria-label="{label}">{bar}'
        f'</div><div class="legend">{legend}</div>{notes_html}</div>'
    )


def render_card(
    p: Passage, number: int, terms: frozenset[str], cited: bool = False, web: WebSettings | None = None
) -> str:
    """One passage: citation number, title (linked if http(s)), authors, year, stance badge, text, URL."""
    most = (web or WebSettings()).authors_shown
    authors = ", ".join(p.authors[:most]) + (" et al." if len(p.authors) > most else "")
    meta = " · ".join(esc(x) for x in (authors, p.year or "n.d.", p.type) if x)
    where = " › ".join(p.sections())
    where = f'<div class="where">§ {esc(where)}</div>' if where else ""
    u = urlsplit(safe_url(p.url) or "")
    shown = (u.netloc + u.path).rstrip("/") or p.url
    link = source_link(p.url, shown if len(shown) < 80 else shown[:79] + "…", "url") if p.url else ""
    st = p.stance if p.stance in STANCES else "neutral"
    if p.stance_by == "llm":
        how, tip = "LLM", "stance relative to the question, read by the LLM"
    elif p.stance_by == "label":
        how, tip = "label", "stance labelled by hand (training data), not the classifier's guess"
    else:
        how, tip = f"{p.stance_confidence:.0%}", "stance classifier confidence"
    # "stance" is said, not only coloured: a screen reader otherwise reads "blog enthusiastic · label cited"
    badge = f'<span class="badge {st}" title="{tip}"><span class="vh">stance: </span>{st} · {how}'
    badge += "</span>"
    badge += '<span class="chip">cited</span>' if cited else ""
    return (
        # tabindex -1: following a citation [n] moves the focus (and a screen reader) to its card, not only
        # the scroll; the title is a heading, so cards can be skimmed heading by heading
        f'<article class="card {st}" id="passage-{number}" tabindex="-1"><h3 class="card-head">'
        f'<span class="num">[{number}]</span>{source_link(p.url, p.title, "title")}</h3>'
        f'<div class="card-meta">{meta} {badge}'
        # the text box scrolls, so the browser makes it a Tab stop: named, it says whose text it holds
        f'</div>{where}<div class="text" role="region" aria-label="Passage [{number}] text">'
        f"{with_math(readable(p.text), lambda t: highlight(t, terms))}</div>"
        f'<div class="card-foot">{link}</div></article>'
    )


def render_column(stance: str, passages: list[Passage], question: str, cited: set[int]) -> str:
    """The cards of one stance; a card's number is its position in the answer's passages, as in `[n]`."""
    terms = question_terms(question)
    cards = [render_card(p, i, terms, i in cited) for i, p in enumerate(passages, 1) if p.stance == stance]
    if not passages or (stance == "neutral" and not cards):
        return ""
    body = "".join(cards) or f'<p class="empty">No {stance} passage among the results.</p>'
    title = "Background and neutral" if stance == "neutral" else stance.title()
    count = f"{len(cards)} passage{'s' * (len(cards) != 1)}"
    head = f'<h2><i class="dot {stance}"></i>{title} <span class="muted">· {count}</span></h2>'
    return f'<section class="column {stance}">{head}{body}</section>'


def render_mode(settings: Settings, llm: LLMClient | bool | None, index: Index | None = None) -> str:
    """How answers are made (LLM model and base URL, or extractive) and what is in the index."""
    client = resolve_llm(settings, llm)
    if client is None:
        why = "LLM turned off" if llm is False else "no LLM configured (INTERP_RAG_LLM_BASE_URL is empty)"
        mode = f"extractive — {why}"
    else:  # no user:password@, ?query or #fragment: that is where tokens hide
        mode = f"LLM: {client.model or '(server default model)'} at {public_url(client.base_url)}"
    rows = [("Answers", mode)]
    try:
        st = index_stats(index.path.parent if index is not None else None, settings=settings)
    except (InterpRagError, OSError, ValueError) as e:
        rows.append(("Index", str(e)))
    else:
        size = f"{st['sources']} sources · {st['chunks']:,} chunks · {st['size_bytes'] / 1e6:.1f} MB"
        rows += [("Index", f"{size} · built {st['built_at']}")]
        for name, key in (("Sources", "sources_by_stance"), ("Passages", "chunks_by_stance")):
            rows.append((f"{name} by stance", " · ".join(f"{k} {v}" for k, v in st[key].items())))
        rows.append(("Sources by type", " · ".join(f"{k} {v}" for k, v in st["sources_by_type"].items())))
        rows += [("Embedding model", st["model"]), ("Index directory", st["index_dir"])]
        rows += [("Stale", st["stale"])] if st["stale"] else []
    return '<dl class="about">' + "".join(f"<dt>{esc(a)}</dt><dd>{esc(b)}</dd>" for a, b in rows) + "</dl>"
