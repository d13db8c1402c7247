"""Jupyter notebooks (.ipynb) as a reader reads them: markdown cells with their headings, code fenced, the
short printed results kept and every plot, widget, traceback and base64 blob left out; a damaged or foreign
JSON is refused by name. The notebooks are written here, as nbformat writes them, with our own sentences."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.chunk import _default_chunker
from interp_rag.ingest.load import extract_text, guess_format
from interp_rag.ingest.metadata import document_metadata
from interp_rag.ingest.notebook import MAX_OUTPUT_LINES
from interp_rag.types import Document, Source

# 13 kB of base64: a plot's PNG as a notebook holds it
PNG = base64.b64encode(bytes(range(256)) * 40).decode()


def lines(text: str) -> list[str]:
    return text.splitlines(True)  # nbformat writes multiline fields as lists of lines


def md(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": "m", "metadata": {}, "source": lines(text)}


def code(text: str, *outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": "c",
        "execution_count": 1,
        "metadata": {},
        "outputs": list(outputs),
        "source": lines(text),
    }


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": lines(text)}


def result(data: dict[str, Any], kind: str = "execute_result") -> dict[str, Any]:
    out = {"output_type": kind, "metadata": {}, "data": data}
    return out | ({"execution_count": 1} if kind == "execute_result" else {})


def notebook(*cells: dict[str, Any], **metadata: Any) -> bytes:
    meta = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.4"},
        **metadata,
    }
    return json.dumps(
        {"cells": list(cells), "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1
    ).encode()


TUTORIAL = notebook(
    md(
        "# Steering with a difference of means\n\nWe build a steering vector from two sets of prompts and "
        "add it to the residual stream.\n\n![sketch](attachment:sketch.png)"
    ),
    md(
        "## Building the vector\n\nThe vector is the mean activation on cheerful prompts minus the mean on "
        "gloomy ones, taken at a middle layer where sentiment is already linear."
    ),
    code(
        "# Average the activations of each set\nvector = acts['cheerful'].mean(0) - acts['gloomy'].mean(0)\n"
        "print(vector.norm())",
        stream("tensor(12.5000)\n"),
        stream("\r  0%|   | 0/64\r100%|###| 64/64\nUserWarning: slow tokenizer\n", name="stderr"),
    ),
    code(
        "plot(vector)",
        result({"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}, "display_data"),
    ),
    code(
        "show_widget(vector)",
        result(
            {
                "application/vnd.jupyter.widget-view+json": {"model_id": "f00"},
                "text/plain": ["HBox(children=(FloatProgress(value=0.0),))"],
            },
            "display_data",
        ),
    ),
    code(
        "steer(model, vector, scale=4)",
        {
            "output_type": "error",
            "ename": "ValueError",
            "evalue": "scale too large",
            "traceback": [
                "\x1b[0;31m----------------------------------\x1b[0m",
                "\x1b[0;31mValueError\x1b[0m  Traceback (most recent call last)",
            ],
        },
    ),
    code(
        "model.generate('The weather today')",
        result({"text/plain": ["'The weather today is bright and lovely.'"]}),
    ),
    code("print(model)", stream("".join(f"  (block {i}): TransformerBlock()\n" for i in range(40)))),
    {"cell_type": "raw", "id": "r", "metadata": {}, "source": ["{{ nbconvert_template }}"]},
    md(
        "## What we saw\n\nAt a scale of two the completions turned cheerful without losing fluency; at "
        "eight they repeated a single happy word."
    ),
)
TUTORIAL_JSON = json.loads(TUTORIAL)
TUTORIAL_JSON["cells"][0]["attachments"] = {"sketch.png": {"image/png": PNG}}
TUTORIAL = json.dumps(TUTORIAL_JSON, indent=1).encode()


def test_a_notebook_reads_as_markdown_with_its_code_fenced_and_short_text_outputs() -> None:
    text = extract_text(TUTORIAL, guess_format("steering.ipynb", TUTORIAL))
    assert text.startswith("# Steering with a difference of means\n\nWe build a steering vector")
    assert "\n## Building the vector\n\nThe vector is the mean activation" in text
    assert "~~~python\n# Average the activations of each set\nvector = acts['cheerful']" in text
    assert "~~~output\ntensor(12.5000)\n~~~" in text  # what print showed
    assert "~~~output\n'The weather today is bright and lovely.'\n~~~" in text  # a cell's value
    assert "~~~python\nplot(vector)\n~~~" in text  # the code stays, its picture does not
    for junk in (
        PNG[:40],
        "Figure size",
        "HBox",
        "ValueError",
        "Traceback",
        "[0;31m",
        "UserWarning",
        "100%",
        "TransformerBlock",
        "nbconvert_template",
        "attachment:",
        '"cell_type"',
        '"source"',
        "\\n",
    ):
        assert junk not in text, junk
    assert text.count("~~~") % 2 == 0


def test_a_notebooks_passages_hold_prose_and_code_never_json_or_base64() -> None:
    text = extract_text(TUTORIAL, "notebook")
    chunks = _default_chunker().chunk(Document(Source(id="nb", title="Steering"), text, "file:x", "h"))
    assert chunks and all(c.text == text[c.start : c.end] for c in chunks)
    joined = "\n".join(c.text for c in chunks)
    assert "cheerful prompts" in joined and "happy word" in joined
    assert not re.search(r'"\w+": |[A-Za-z0-9+/]{100}', joined)
    # the headings are the passages' headings
    assert ["Steering with a difference of means", "What we saw"] in [c.headings for c in chunks]


def test_code_fences_are_tildes_so_no_passage_opens_with_a_closing_fence() -> None:
    """The chunker splits a long section before each "```\\n" (every closing backtick fence): a notebook
    fenced with backticks had passages that opened with the closing fence of the code before them."""
    cells = [md("# Many small cells")]
    for i in range(12):
        cells.append(md(f"Step {i} patches head {i} and records how much of the clean answer comes back."))
        cells.append(
            code(f"restored[{i}] = patch(model, head={i})\nprint(restored[{i}])", stream(f"0.{i}1\n"))
        )
    text = extract_text(notebook(*cells), "notebook")
    chunks = _default_chunker().chunk(Document(Source(id="nb", title="Steps"), text, "file:x", "h"))
    assert len(chunks) > 2  # the section was split
    assert not [c.text for c in chunks if re.match(r"(?:~~~|```)\n", c.text)]


def test_a_long_or_binary_looking_output_is_left_out_and_a_short_one_kept() -> None:
    long_lines = "".join(f"step {i}\n" for i in range(MAX_OUTPUT_LINES + 1))
    text = extract_text(
        notebook(
            md("# Outputs"),
            code("a()", stream(long_lines)),
            code("b()", stream("key " + "x9" * 100 + "\n")),
            code("c()", stream("\x1b[1mdone\x1b[0m in 3 steps\n")),
            code("d()", result({"text/plain": ["<__main__.Probe at 0x7f12ab34cd56>"]})),
            code(
                "e()",
                result(
                    {
                        "text/html": ["<table><tr><td>3</td></tr></table>"],
                        "text/plain": ["   heads\n0      3"],
                    }
                ),
            ),
        ),
        "notebook",
    )
    assert "step 0" not in text and "x9x9" not in text and "0x7f12" not in text
    assert "~~~output\ndone in 3 steps\n~~~" in text
    assert "~~~output\n   heads\n0      3\n~~~" in text  # a table's text beside its HTML is the table


def test_an_nbformat_3_notebook_is_read_too() -> None:
    nb3 = {
        "metadata": {"name": ""},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["Logit lens, old style"]},
                    {
                        "cell_type": "markdown",
                        "metadata": {},
                        "source": ["Each layer's residual is read through the unembedding."],
                    },
                    {
                        "cell_type": "code",
                        "collapsed": False,
                        "input": ["print(top_tokens(3))"],
                        "language": "python",
                        "metadata": {},
                        "outputs": [
                            {"output_type": "stream", "stream": "stdout", "text": ["Paris\n"]},
                            {"output_type": "pyout", "prompt_number": 1, "metadata": {}, "text": ["'Rome'"]},
                            {
                                "output_type": "display_data",
                                "metadata": {},
                                "png": PNG,
                                "text": ["<Figure size 4x3>"],
                            },
                            {"output_type": "pyerr", "ename": "E", "evalue": "x", "traceback": ["oops"]},
                        ],
                    },
                ]
            }
        ],
    }
    text = extract_text(json.dumps(nb3).encode(), "notebook")
    assert text.startswith(
        "# Logit lens, old style\n\nEach layer's residual is read through the unembedding."
    )
    assert "~~~python\nprint(top_tokens(3))\n~~~\n\n~~~output\nParis\n'Rome'\n~~~" in text
    assert PNG[:40] not in text and "oops" not in text and "Figure" not in text


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (TUTORIAL[: len(TUTORIAL) // 2], r"its JSON is damaged \(.* at line \d+, column \d+\)"),
        (b'{"name": "my-package", "version": "1.0.0"}', "has no nbformat version"),
        (b'{"nbformat": 4, "metadata": {}}', "has no list of cells"),
        (b'{"nbformat": 5, "cells": []}', "nbformat 5 .*versions 3 and 4"),
        (b'["a", "list"]', "no object with cells"),
        (b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests deeper than Python's parser reads"),
        ("Probe notes in Latin-1: caf\u00e9 na\u00efve.".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_a_damaged_or_foreign_json_is_refused_as_no_notebook(data: bytes, why: str) -> None:
    with pytest.raises(SourceError, match=f"this .ipynb is not a Jupyter notebook: .*{why}.*; save it again"):
        extract_text(data, guess_format("broken.ipynb", data))


def test_a_notebook_with_only_empty_cells_has_no_text() -> None:
    with pytest.raises(SourceError, match="no text could be extracted"):
        extract_text(notebook(md(""), code("   \n")), "notebook")


def test_a_notebooks_title_is_its_first_heading_or_what_its_metadata_says() -> None:
    text = extract_text(TUTORIAL, "notebook")
    assert document_metadata(TUTORIAL, "steering.ipynb", text) == {
        "title": "Steering with a difference of means"
    }
    titled = notebook(
        md("Some notes without a heading."),
        title="Steering notes",
        authors=[{"name": "Ada Example"}, {"name": "bot"}, "junk"],
    )
    meta = document_metadata(titled, "notes.ipynb", extract_text(titled, "notebook"))
    assert meta == {"title": "Steering notes", "authors": ["Ada Example"]}  # "bot" reads as no name


def test_a_raw_notebook_served_as_plain_text_is_read_as_a_notebook() -> None:
    from interp_rag.ingest.fetch import fetch
    from tests.support.http import Route, serve

    with serve({"/u/repo/raw/steering.ipynb": Route(body=TUTORIAL, content_type="text/plain")}) as base:
        body, name = fetch(f"{base}/u/repo/raw/steering.ipynb")
    assert name.endswith(".ipynb") and "~~~python" in extract_text(body, guess_format(name, body))


def test_a_notebooks_page_on_github_is_read_from_its_raw_file() -> None:
    """GitHub's page of a notebook (its "blob" view) is an app page that does not hold the notebook (GitHub
    draws it in a frame from elsewhere): `add` of that address, the one a browser shows, fetches the raw
    file instead. httpx's own in-process transport stands in for the two hosts (nothing leaves this
    machine); the fetch code, its size and deadline checks included, is the real one."""
    import httpx

    from interp_rag.ingest.fetch import fetch
    from interp_rag.ingest.file_views import file_view

    asked: list[str] = []

    def host(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.host == "raw.githubusercontent.com":
            return httpx.Response(
                200, content=TUTORIAL, headers={"content-type": "text/plain; charset=utf-8"}
            )
        return httpx.Response(200, content=b"<html><body><div id=app></div></body></html>")

    page = "https://github.com/ada/steering/blob/main/notebooks/steering.ipynb?plain=1#L3"
    with httpx.Client(transport=httpx.MockTransport(host)) as client:
        body, name = fetch(page, client=client)
    assert asked == ["https://raw.githubusercontent.com/ada/steering/main/notebooks/steering.ipynb"]
    assert name.endswith(".ipynb") and "~~~python" in extract_text(body, guess_format(name, body))
    assert file_view("https://gitlab.com/ada/tools/steering/-/blob/v2/README.md#usage")[0] == (
        "https://gitlab.com/ada/tools/steering/-/raw/v2/README.md"
    )
    for other in ("https://github.com/ada/steering", "https://github.com/ada/steering/tree/main/docs"):
        assert file_view(other) == (other, None)  # a repository's or a folder's page is the page


def test_a_word_document_downloaded_from_an_export_url_is_read() -> None:
    from interp_rag.ingest.fetch import fetch
    from tests.support.http import Route, serve
    from tests.test_formats_docx import DRAFT

    ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    with serve({"/document/d/abc/export": Route(body=DRAFT, content_type=ctype)}) as base:
        body, name = fetch(f"{base}/document/d/abc/export")
    assert name.endswith(".docx") and "## Motivation" in extract_text(body, guess_format(name, body))


def test_a_folder_of_notebooks_adds_each_once_and_not_jupyters_checkpoint_copies(tmp_path) -> None:
    """Jupyter saves a copy of each notebook in .ipynb_checkpoints/: a folder's scan took it (first, as it
    sorts first), and the notebook itself was then refused as a duplicate of its own checkpoint. A folder
    that is itself hidden (~/.notes) is still scanned."""
    from pathlib import Path

    from interp_rag.store.library import expand_locations

    root = tmp_path / ".notes"
    (root / ".ipynb_checkpoints").mkdir(parents=True)
    (root / "probes" / ".git").mkdir(parents=True)
    (root / "steering.ipynb").write_bytes(TUTORIAL)
    (root / ".ipynb_checkpoints" / "steering-checkpoint.ipynb").write_bytes(TUTORIAL)
    (root / "probes" / "notes.md").write_text("# Probes\n\nA note of ours.\n")
    (root / "probes" / ".git" / "description.txt").write_text("Unnamed repository.\n")
    files, bad, _, _ = expand_locations([str(root)])
    assert [Path(f).relative_to(root).as_posix() for f in files] == ["probes/notes.md", "steering.ipynb"]
    assert bad == []


@pytest.mark.parametrize(
    "first", ["import torch\nx = torch.zeros(3)", "# !pip install transformer_lens\nimport torch"]
)
def test_a_notebook_of_code_alone_is_titled_by_its_files_name_not_by_a_fence_or_a_comment(first: str) -> None:
    """No markdown cell: a comment in the code was read as a heading ("!pip install transformer_lens"), and
    with none the fence's first line was the title ("~~~python", id "python")."""
    from interp_rag.store.add import fallback_title

    data = notebook(code(first), code("print(x)", stream("tensor([0., 0., 0.])\n")))
    text = extract_text(data, "notebook")
    assert document_metadata(data, "sae_feature_probe.ipynb", text) == {"title": "sae feature probe"}
    assert document_metadata(data, "download.ipynb", text) == {}  # a URL's generic name says nothing
    assert fallback_title(text, "https://example.org/nb") == "https://example.org/nb"  # no prose: the URL
    # a markdown cell's heading after the code is still the title
    titled = notebook(code(first), md("## Probing a feature\n\nWhat it reads."))
    assert document_metadata(titled, "x.ipynb", extract_text(titled, "notebook")) == {
        "title": "Probing a feature"
    }
