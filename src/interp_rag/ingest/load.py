"""Bytes of a file or a download -> plain (markdown-ish) text. Markdown and text stay byte-identical,
so character offsets of chunks point into exactly what the author wrote."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..errors import SourceError
from ..text import strip_control
from .docx import DOCX_MEMBER, ZIP_MAGIC, zip_kind, zip_names
from .epub import CONTAINER
from .mhtml import is_saved_page
from .parts import over_budget
from .slides import PPTX_MEMBER

Loader = Callable[[bytes], str]
# format name -> the function that turns a file's bytes into text; suffix -> format name; format name -> how
# messages name it to a user (in the order registered).
LOADERS: dict[str, Loader] = {}
_SUFFIX: dict[str, str] = {}
_LABEL: dict[str, str] = {}


def register(name: str, *suffixes: str, label: str | None = None) -> Callable[[Loader], Loader]:
    """Register a loader for a format and the file suffixes that name it: a new format is one function
    with this decorator, in this module (its reading in a module of its own). `label` names the format in
    the messages that list what interp-rag reads ("" for none: a form of a format listed already)."""

    def deco(fn: Loader) -> Loader:
        LOADERS[name] = fn
        _SUFFIX.update(dict.fromkeys(suffixes, name))
        _LABEL[name] = name if label is None else label
        return fn

    return deco


def readable_suffixes() -> list[str]:
    """The file suffixes a loader reads (".md", ".pdf", …): what a folder is scanned for, an upload takes."""
    return list(_SUFFIX)


def readable_formats(last: str = "and") -> str:
    """The formats interp-rag reads, for a message: "markdown, plain text, … and PDF"."""
    labels = list(dict.fromkeys(v for v in _LABEL.values() if v))
    return f"{', '.join(labels[:-1])} {last} {labels[-1]}" if len(labels) > 1 else "".join(labels)


def guess_format(name: str, data: bytes) -> str:
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"\x1f\x8b") or data[257:262] == b"ustar":  # gzip or tar: a paper's LaTeX source
        return "latex-archive"
    # a Word document, a book, a deck, whatever its name (Google Docs' and Slides' export URLs name none):
    # by the member only that kind holds, from one read of the archive's directory
    names = zip_names(data)
    for member, kind in ((DOCX_MEMBER, "docx"), (CONTAINER, "epub"), (PPTX_MEMBER, "pptx")):
        if member in names:
            return kind
    fmt = _SUFFIX.get(Path(name).suffix.lower())
    if fmt in (None, "text", "html") and is_saved_page(head):  # a saved page downloaded or renamed
        return "mhtml"
    if fmt in (None, "text"):  # subtitles saved as .txt, or downloaded as text/plain: their shape says so
        from .transcript import subtitles_format

        fmt = subtitles_format(head) or fmt
    if fmt:
        return fmt
    low = head.lower()
    if low.startswith((b"<!doctype html", b"<html")) or b"<body" in low:
        return "html"
    return "text"


# A short text in a legacy code page is often read by charset_normalizer as another one whose letter
# statistics a few lines cannot rule out: a French subtitle in Windows-1252 came back as Windows-1250
# ("naïve" as "naďve", "à" as "ŕ"), Baltic or Vietnamese. Writing on interpretability is mostly English and
# Western European, so Windows-1252 is read wherever its reading looks like such writing: every character
# beyond ASCII a Western letter or typographic mark, and no symbol wedged inside a word (Polish read as
# Windows-1252 gives "Za¿ó³æ"). Š and Ž are left out of the letters: with them, Czech in Windows-1250
# would also read as Western. Most of Western writing's letters are ASCII (French has about one accented
# letter in twenty-five), while Cyrillic or Greek read as Windows-1252 are accented letters throughout.
# A Baltic text can still read as Western: rare here, and the price of the rule.
WESTERN = "cp1252"
WESTERN_MAX_ACCENTED = 0.25
_WESTERN_LETTERS = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ffŒœ]")
_WESTERN_MARKS = set("\u00a0‘’‚“”„–—…•€†‡‰‹›™") | {chr(c) for c in range(0xA1, 0xC0)}


def reads_western(text: str) -> bool:
    """Whether `text` reads as Western European writing: see WESTERN."""
    letters = sum(ch.isalpha() for ch in text)
    if sum(ch.isalpha() and not ch.isascii() for ch in text) > WESTERN_MAX_ACCENTED * letters:
        return False
    for i, ch in enumerate(text):
        if ch < " " and ch not in "\t\n\r\f":  # NULs: UTF-16, or not text at all
            return False
        if ch.isascii() or _WESTERN_LETTERS.match(ch):
            continue
        if ch not in _WESTERN_MARKS:
            return False
        wedged = 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()
        if wedged and ch not in "’‘\u00b7":  # an apostrophe, or Catalan's middle dot ("l·l"), is in a word
            return False
    return True


def legacy_encoding(data: bytes, guessed: str | None) -> str:
    """The encoding to read non-UTF-8 `data` with: Windows-1252 where its reading looks Western (WESTERN),
    else charset_normalizer's guess, else Windows-1252 all the same."""
    try:
        if reads_western(data.decode(WESTERN)):
            return WESTERN
    except UnicodeDecodeError:  # a byte Windows-1252 leaves undefined
        pass
    return guessed or WESTERN


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) first; otherwise the most likely legacy encoding (legacy_encoding)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return data.decode(legacy_encoding(data, best and best.encoding), errors="replace")


# Signatures of common binary files, to name what was refused. Only signatures with bytes no text has.
_MAGIC = {
    b"\x7fELF": "an ELF executable",
    ZIP_MAGIC: "a zip archive (.zip, .epub, .odt, .jar, …)",  # a .docx is read (guess_format)
    # Office's older format (OLE2), which a password-protected .docx is saved in too
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Office 97-2003 file (.doc, .xls, .ppt) or a locked .docx",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"\xfd7zXZ": "an xz archive",
    b"SQLite format 3\x00": "an SQLite database",
    b"\x00asm": "a WebAssembly module",
    b"\xca\xfe\xba\xbe": "a Mach-O or Java class file",
    b"\xcf\xfa\xed\xfe": "a Mach-O executable",
}
# C0 controls other than whitespace, backspace, form feed and ESC: text has next to none, binaries plenty.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\b\x1b") + b"\x7f"


def refuse_binary(data: bytes) -> None:
    """SourceError unless the bytes look like text (any encoding). The suffix alone proves nothing: an
    executable renamed to .txt would otherwise be chunked and embedded as hundreds of junk passages."""
    head = data[:65536]
    what = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    if head.startswith(ZIP_MAGIC):  # slides, a workbook, a book: named, not "a zip archive"
        what = zip_kind(data) or what
    if what is None and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs
        # NUL counts among the controls: a stray one in a long text is damage to strip, not a binary; an
        # executable or random bytes hold far more than 1 % of them
        controls = sum(head.count(bytes([c])) for c in _CONTROL)
        if controls > 0.01 * len(head):
            what = "binary data"
    if what:
        raise SourceError(f"this is {what}, not a document; interp-rag reads {readable_formats()}")


def extract_text(data: bytes, fmt: str) -> str:
    if not data.strip():
        raise SourceError("the file is empty")
    # PDFs and archives are binary by nature (their loaders say when they are not readable), but a file
    # named .pdf (.docx) without a PDF's header (a zip's) is whatever its bytes say: an executable is named
    # as one.
    binary = {
        "pdf": data[:1024].lstrip().startswith(b"%PDF"),
        "docx": data.startswith(ZIP_MAGIC),
        "epub": data.startswith(ZIP_MAGIC),
        "pptx": data.startswith(ZIP_MAGIC),
        "latex-archive": True,
    }
    if not binary.get(fmt):
        refuse_binary(data)
    load = LOADERS.get(fmt)
    if load is None:
        raise SourceError(f"no loader for the format {fmt!r} (known: {', '.join(sorted(LOADERS))})")
    text = strip_control(load(data))  # no control characters past ingest (titles come from headings too)
    if not text.strip():
        raise SourceError(f"no text could be extracted ({fmt})")
    return text


@register("text", ".txt", ".text", label="plain text")
@register("markdown", ".md", ".markdown", ".mdx")
def _plain_text(data: bytes) -> str:
    # byte-identical apart from line endings: chunk offsets point into what the author wrote
    return decode(data).replace("\r\n", "\n")


@register("pdf", ".pdf", label="PDF")
def _pdf_text(data: bytes) -> str:
    from .pdf import pdf_text

    return pdf_text(data)


@register("html", ".html", ".htm", ".xhtml", label="HTML")
def _html_text(data: bytes) -> str:
    return html_markdown(decode(data))


@register("mhtml", ".mhtml", ".mht", label="saved web pages (.mhtml)")
def _mhtml_text(data: bytes) -> str:
    from .mhtml import saved_page

    return html_markdown(saved_page(data).html)


def html_markdown(html: str, title: bool = True) -> str:
    """An HTML page's main text as markdown, headed by the page's title unless `title` is False (a page
    made by a converter, whose title is no part of what its document shows)."""
    import trafilatura

    from .html_notes import drop_footnote_refs
    from .latexml import prepare

    _check_shown_text(html)
    # arXiv's HTML view of a paper: footnotes, equations, figures, bibliography; any page: footnote marks
    html = drop_footnote_refs(prepare(html))
    _check_depth(html)
    if not _CONTAINER.search(html):
        # A bare document (a markdown export: headings and paragraphs straight in the body): trafilatura
        # looks for the main text in a container and, finding none, dropped every section heading
        body = re.search(r"<body\b[^>]*>", html, re.I)
        if body:
            end = html.lower().rfind("</body>")
            end = end if end > body.end() else len(html)
            html = f"{html[: body.end()]}<article>{html[body.end() : end]}</article>{html[end:]}"
        elif first := re.search(r"<(?:h[1-6]|p|ul|ol|pre|blockquote|table|figure|dl)\b", html, re.I):
            # no <body> tag: the document's head (doctype, meta, title, style) stays before the article
            html = f"{html[: first.start()]}<body><article>{html[first.start() :]}</article></body>"
    text = trafilatura.extract(
        html, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
    )
    if text and text.strip():
        text = unescape_markdown(text)
        meta = trafilatura.extract_metadata(html) if title else None
        if meta is not None and meta.title and not text.lstrip().startswith("#"):
            text = f"# {meta.title}\n\n{text}"
        return text
    # Pages too short for trafilatura's main-text heuristics: take the visible text.
    from lxml import html as lh

    try:
        tree = lh.fromstring(html)
    except Exception as e:  # lxml raises several unrelated types on junk
        raise SourceError(f"not parseable HTML ({e})") from e
    for bad in tree.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    return re.sub(r"\n\s*\n+", "\n\n", tree.text_content()).strip()


_CONTAINER = re.compile(r"<(?:article|main|section|div|nav|header|footer|aside)\b", re.I)
_ESCAPED = re.compile(r"(?<!\\)\\([_*\[\]])")


def unescape_markdown(text: str) -> str:
    """trafilatura's markdown escapes taken out outside code blocks: "$\\theta\\_{1:T}$" is the page's
    "$\\theta_{1:T}$", "\\[digit image 6\\]" its "[digit image 6]"; they broke formulas and quotes."""
    parts = re.split(r"(^```.*?^```)", text, flags=re.M | re.S)
    return "".join(p if p.startswith("```") else _ESCAPED.sub(r"\1", p) for p in parts)


# A page may show at most this many times the text a source may have (settings.max_source_chars) before
# its main text is extracted: extraction keeps most of an article's text and drops menus and comments.
SHOWN_TEXT_SLACK = 2
_HIDDEN = frozenset({"script", "style", "noscript", "template"})


class _ShownText:
    """An lxml parser target counting the characters a reader would see (no tree is built)."""

    def __init__(self) -> None:
        self.chars, self.hidden = 0, 0

    def start(self, tag: str, attrib: object) -> None:
        if tag in _HIDDEN:
            self.hidden += 1

    def end(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1

    def data(self, text: str) -> None:
        if not self.hidden:
            self.chars += len(text)

    def comment(self, text: str) -> None:
        pass

    def close(self) -> int:
        return self.chars


def _check_shown_text(html: str) -> None:
    """SourceError when a page shows far more text than a source may have, said before it is read: a 61 MB
    page took trafilatura 35 s and 1.1 GB before the length of its text refused it. Counting is one pass of
    libxml2 with no tree (0.1 s for that page), and only for a page long enough to pass the limit."""
    from lxml import etree

    budget = over_budget(len(html) // SHOWN_TEXT_SLACK)  # a page cannot show more characters than it has
    if budget is None:
        return
    try:
        shown = etree.fromstring(html, etree.HTMLParser(target=_ShownText(), huge_tree=True))
    except (etree.Error, ValueError):  # junk is the readers' to refuse, with their own message
        return
    if isinstance(shown, int) and shown > SHOWN_TEXT_SLACK * budget:
        raise SourceError(
            f"the page shows {shown:,} characters of text, more than {SHOWN_TEXT_SLACK} times the limit of "
            f"{budget:,} (INTERP_RAG_MAX_SOURCE_CHARS); save the part you want as text or PDF and add that, "
            "or raise the limit"
        )


def _check_depth(html: str) -> None:
    """SourceError when the page's elements nest deeper than libxml2 reads (255): the parser stops there,
    silently, and everything inside (a whole page's text, past a tower of <div>s) would be lost."""
    from lxml import html as lh

    parser = lh.HTMLParser()
    try:
        lh.fromstring(html, parser=parser)
    except Exception:  # junk is the readers' to refuse, with their own message
        return
    if any("Excessive depth" in e.message for e in parser.error_log):
        raise SourceError(
            "its HTML elements nest more than 255 deep, past what the HTML parser reads, so most of its text "
            "would be lost; save the page as PDF or text and add that"
        )


@register("latex", ".tex", ".latex", label="LaTeX")
def _latex_text(data: bytes) -> str:
    """A LaTeX source as a reader reads it: sections as markdown headings, math as written (latex.py)."""
    from .latex import latex_text

    return latex_text(decode(data))


@register("latex-archive", ".gz", ".tgz", ".tar", label="")  # a form of LaTeX
def _latex_archive_text(data: bytes) -> str:
    """A paper's LaTeX source archive (arXiv's "source" download): its main file, read as `latex`."""
    from .latex import latex_text
    from .latex_source import archive_source

    return latex_text(archive_source(data))


def _subtitles(fmt: str) -> Loader:
    """The loader of a talk's subtitles (ingest/transcript.py): its cues as a transcript's paragraphs and
    speakers' turns. `fmt`, what the file's name says, only names what was expected when it is neither."""

    def load(data: bytes) -> str:
        from .transcript import transcript_text

        return transcript_text(decode(data), fmt)

    return load


register("webvtt", ".vtt", label="subtitles (.vtt, .srt)")(_subtitles("webvtt"))
register("srt", ".srt", label="")(_subtitles("srt"))  # named with .vtt


@register("notebook", ".ipynb", label="Jupyter notebooks (.ipynb)")
def _notebook_text(data: bytes) -> str:
    from .notebook import notebook_text

    return notebook_text(data)


@register("epub", ".epub", label="EPUB books (.epub)")
def _epub_text(data: bytes) -> str:
    from .epub import epub_text

    return epub_text(data, lambda html: html_markdown(html, title=False))  # a chapter's <title> is the book's


@register("rst", ".rst", ".rest", label="reStructuredText (.rst)")
def _rst_text(data: bytes) -> str:
    from .rst import rst_html

    return html_markdown(rst_html(decode(data)), title=False)  # docutils writes the title as a heading


@register("pptx", ".pptx", label="slide decks (.pptx)")
def _pptx_text(data: bytes) -> str:
    from .slides import pptx_text

    return pptx_text(data)


@register("docx", ".docx", label="Word documents (.docx)")
def _docx_text(data: bytes) -> str:
    from .docx import docx_html

    return html_markdown(docx_html(data), title=False)  # the title is the document's Title paragraph
