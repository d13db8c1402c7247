"""A Jupyter notebook (.ipynb, nbformat 4 or 3) as markdown a reader would read: its markdown cells as
written, code cells as fenced code, and only the short plain-text outputs (what a `print` or a cell's last
value shows). Images, HTML and widget outputs, tracebacks, stderr (warnings, progress bars) and attachments
are left out: as raw JSON a notebook was escaped newlines, `"cell_type"` keys and base64 plots.

A small JSON reader rather than the `nbformat` library: it would bring nine packages (jsonschema and its
Rust extension among them) and a schema check that refuses notebooks with a field out of place, for a
format this module reads in a hundred lines."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import SourceError

# Code cells are fenced with tildes, not backticks: the chunker's separators split a long section before
# each "```\n", which is every closing fence, so a passage ended inside a code block and the next opened with
# its closing fence (183 of the 381 fenced passages of the shipped index opened with one, until
# chunk.mend_fences moved such fences back to their code). "~~~" is no separator, so code is cut less
# often, and it is as much a fence to the chunker's heading index, to markdown and to the UI. A tutorial-like
# notebook of 14 code and output blocks: 16 passages with backticks, 5 opening with a closing fence and 6
# blocks in no one passage; 14 with tildes, none and 3 (the chunker still splits code before a "# comment"
# line, as before a heading).
FENCE = "~~~"
# An output longer than this is a dump (a model's architecture, a tensor, a log), not a result to read.
MAX_OUTPUT_LINES = 12
MAX_OUTPUT_CHARS = 1_000
# A "word" this long is base64, a hash or a hex dump.
_BLOB = re.compile(r"\S{120,}")
# ANSI escape sequences (colours in tracebacks and logs): strip_control would leave "[0;31m" behind.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# A value's repr that says nothing but its type: "<Figure size 640x480 with 1 Axes>", "<… at 0x7f…>".
_BARE_REPR = re.compile(r"\A\s*<[^<>\n]*(?:\bat 0x[0-9a-f]+|Figure size|object|Axes)[^<>\n]*>\s*\Z", re.I)
# Representations that make the text/plain beside them a placeholder for a picture, a widget or a chart
# (application/vnd.: Jupyter widgets, Plotly, Vega). Not text/html: a table has both, and its text is the
# table; a bare repr beside HTML ("<IPython.core.display.HTML object>") is caught by _BARE_REPR.
_RICH = ("image/", "application/vnd.", "application/javascript")
# An image a markdown cell embeds from its attachments or as data: nothing for a reader of text.
_EMBEDDED_IMAGE = re.compile(
    r"!\[[^\]\n]*\]\(\s*(?:attachment:|data:)[^)]*\)|<img\b[^>]*\bsrc\s*=\s*[\"']?(?:attachment:|data:)[^>]*>",
    re.I,
)


def notebook_text(data: bytes) -> str:
    """The notebook as markdown; SourceError when the bytes are no Jupyter notebook."""
    nb = _parse(data)
    language = _language(nb)
    blocks = [b for cell in _cells(nb) for b in _cell_blocks(cell, language)]
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def notebook_properties(data: bytes) -> dict[str, Any]:
    """The title and authors the notebook's metadata states (JupyterLab's "title", nbformat's "authors",
    a list of {"name": …}); {} when it states none or is no notebook: they are a nicety."""
    try:
        meta = _parse(data).get("metadata")
    except SourceError:
        return {}
    if not isinstance(meta, dict):
        return {}
    title = meta.get("title") if isinstance(meta.get("title"), str) else ""
    authors = meta.get("authors") if isinstance(meta.get("authors"), list) else []
    names = [a.get("name") for a in authors if isinstance(a, dict)]
    return {"title": " ".join(title.split())[:200], "authors": [n for n in names if isinstance(n, str)]}


def _not_a_notebook(why: str) -> SourceError:
    return SourceError(f"this .ipynb is not a Jupyter notebook: {why}; save it again from Jupyter or Colab")


def _parse(data: bytes) -> dict[str, Any]:
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise _not_a_notebook("it is not UTF-8 text") from e
    except json.JSONDecodeError as e:
        raise _not_a_notebook(f"its JSON is damaged ({e.msg} at line {e.lineno}, column {e.colno})") from e
    except RecursionError as e:  # Python's JSON parser recurses once a level: "[[[[…" a million deep
        raise _not_a_notebook("its JSON nests deeper than Python's parser reads") from e
    if not isinstance(nb, dict):
        raise _not_a_notebook("its JSON is no object with cells")
    version = nb.get("nbformat")
    if version not in (3, 4):
        if "nbformat" not in nb:
            raise _not_a_notebook("its JSON has no nbformat version")
        raise _not_a_notebook(f"nbformat {version!r} (interp-rag reads versions 3 and 4)")
    key = "cells" if version == 4 else "worksheets"
    if not isinstance(nb.get(key), list):
        raise _not_a_notebook(f"its JSON has no list of {key}")
    return nb


def _cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    if nb["nbformat"] == 4:
        cells = nb["cells"]
    else:  # nbformat 3: cells in worksheets (in practice one)
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in ws.get("cells") or []]
    return [c for c in cells if isinstance(c, dict)]


def _language(nb: dict[str, Any]) -> str:
    """The language of the code cells, for the fences' info string ("python" when the notebook says none)."""
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    for field, key in (("language_info", "name"), ("kernelspec", "language")):
        value = meta.get(field, {}).get(key) if isinstance(meta.get(field), dict) else None
        if isinstance(value, str) and re.fullmatch(r"[\w+#.-]{1,30}", value):
            return value.lower()
    return "python"


def _text(value: Any) -> str:
    """A multiline field: nbformat writes it as one string or as a list of lines."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _cell_blocks(cell: dict[str, Any], language: str) -> list[str]:
    kind = cell.get("cell_type")
    if kind == "markdown":
        return [_EMBEDDED_IMAGE.sub("", _text(cell.get("source"))).strip("\n")]
    if kind == "heading":  # nbformat 3 only: a heading cell with its level
        level = cell.get("level") if isinstance(cell.get("level"), int) else 1
        title = " ".join(_text(cell.get("source")).split())
        return [f"{'#' * min(max(level, 1), 6)} {title}"] if title else []
    if kind != "code":  # raw cells are for nbconvert, not for readers
        return []
    code = _text(cell.get("source") if "source" in cell else cell.get("input")).strip("\n")
    if not code.strip():
        return []
    lang = cell.get("language") if isinstance(cell.get("language"), str) else language  # nbformat 3
    blocks = [_fenced(code, lang)]
    shown = [t for out in cell.get("outputs") or [] if isinstance(out, dict) and (t := _output_text(out))]
    if shown:
        blocks.append(_fenced("\n".join(shown), "output"))
    return blocks


def _fenced(body: str, info: str) -> str:
    # a line of the body that is itself a fence of ours would close the block early: indent it
    body = re.sub(rf"^(?={FENCE})", " ", body, flags=re.M)
    return f"{FENCE}{info}\n{body.rstrip()}\n{FENCE}"


def _output_text(out: dict[str, Any]) -> str:
    """The text an output shows a reader, when it is short plain text worth reading; else ""."""
    kind = out.get("output_type")
    if kind == "stream":
        # stderr: warnings, progress bars, logs (nbformat 3 calls the stream's name "stream")
        if out.get("name", out.get("stream", "stdout")) != "stdout":
            return ""
        text = _text(out.get("text"))
    elif kind in ("execute_result", "display_data", "pyout"):  # pyout: nbformat 3
        bundle = out.get("data") if isinstance(out.get("data"), dict) else out  # nbformat 3: flat
        if any(k.startswith(_RICH) or k in ("png", "jpeg", "svg", "javascript") for k in bundle):
            return ""  # a plot, a table drawn as HTML, a widget: the text beside it is a placeholder
        text = _text(bundle.get("text/plain", bundle.get("text")))
    else:  # errors (tracebacks) and anything newer
        return ""
    text = _ANSI.sub("", text)
    # a progress line rewritten in place ("\r 40 %\r 80 %"): only what it last showed
    text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n")).strip("\n")
    if (
        not text.strip()
        or text.count("\n") >= MAX_OUTPUT_LINES
        or len(text) > MAX_OUTPUT_CHARS
        or _BLOB.search(text)
        or _BARE_REPR.match(text)
    ):
        return ""
    return text
