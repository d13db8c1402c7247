"""reStructuredText (a README, a Sphinx docs page) read for what it says: its sections as headings, Sphinx's
roles as their text, a note's or a "see also"'s prose kept, API and table-of-contents directives left out,
footnotes as notes, math as `$…$`; its title, authors and year from its fields; nothing outside the file
read; and one added end to end. The documents are written here, in our own words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.load import extract_text, guess_format, readable_formats
from interp_rag.ingest.metadata import document_metadata
from interp_rag.ingest.sources import fetch
from interp_rag.settings import Settings
from tests.support.adding import add_one, first_passage
from tests.support.http import Route, serve

PAGE = """\
Reading probes carefully
========================

:Authors: Ada Example; Grace Sample
:Date: 2025-03-02

.. contents:: On this page

Why accuracy misleads
---------------------

A linear probe that reaches high accuracy shows that a feature can be decoded from a layer, and no
more [#f1]_. Whether the model reads that direction is a question only an intervention on it answers;
see :py:func:`~probes.fit.intervene` and :ref:`the control task <controls>`.

.. note::

   A probe trained on random labels with the same vocabulary sets the selectivity baseline.

.. versionadded:: 0.3

.. autofunction:: probes.fit.train_probe

.. toctree::
   :maxdepth: 2

   api
   changelog

.. code-block:: python

   probe = fit_probe(activations, labels)
   print(probe.selectivity)

.. _controls:

The control task
----------------

Selectivity is the gap between accuracy on the task and on its control, :math:`a_t - a_c`:

.. math::

   s = a_t - a_c

.. seealso:: The chapter on causal interventions.

.. [#f1] Decodable is not the same as used.
"""


def read(text: str, name: str = "probes.rst") -> str:
    data = text.encode()
    return extract_text(data, guess_format(name, data))


def test_sections_become_headings_and_sphinx_markup_reads_as_its_text() -> None:
    text = read(PAGE)
    assert re.findall(r"(?m)^#+ .*", text) == [
        "# Reading probes carefully",
        "## Why accuracy misleads",
        "## The control task",
        "## Notes",
    ]
    assert "see intervene and the control task." in text  # Sphinx's roles: the text they show
    assert "no\nmore. Whether" in text or "no more. Whether" in text  # the footnote mark out of the sentence
    for markup in (":py:func:", ":ref:", "[#f1]_", ".. ", "::", "=====", ":Authors:"):
        assert markup not in text, markup


def test_prose_and_code_of_directives_stay_pointers_go() -> None:
    text = read(PAGE)
    assert "sets the selectivity baseline" in text  # a note
    assert "The chapter on causal interventions." in text  # a "see also"
    assert "```\nprobe = fit_probe(activations, labels)\nprint(probe.selectivity)\n```" in text
    assert "$a_t - a_c$" in text and "$$s = a_t - a_c$$" in text  # math as the UI draws it
    assert "[1] Decodable is not the same as used." in text  # the footnote, kept as a note
    for pointer in ("train_probe", "maxdepth", "changelog", "On this page", "0.3"):
        assert pointer not in text, pointer


def test_title_authors_and_year_come_from_the_fields() -> None:
    data = PAGE.encode()
    meta = document_metadata(data, "probes.rst", read(PAGE))
    assert meta == {
        "title": "Reading probes carefully",
        "authors": ["Ada Example", "Grace Sample"],
        "year": 2025,
    }
    single = "Notes on steering\n=================\n\n:Author: Ada Example\n\nSteering adds a vector.\n"
    assert document_metadata(single.encode(), "n.rst", read(single))["authors"] == ["Ada Example"]


def test_nothing_outside_the_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the contents of another file on this machine")
    hostile = (
        f"Title\n=====\n\nSome text about probes.\n\n.. include:: {secret}\n\n"
        f".. raw:: html\n\n   <script>alert('x')</script>\n\n"
        f".. csv-table:: Data\n   :file: {secret}\n\n.. literalinclude:: {secret}\n"
    )
    text = read(hostile)
    assert "Some text about probes." in text
    assert "another file" not in text and "script" not in text and "alert" not in text


def test_a_file_too_deeply_nested_is_refused_saying_so() -> None:
    nested = "".join("  " * i + "- item\n\n" for i in range(2000))
    try:
        text = read("Title\n=====\n\n" + nested)
    except SourceError as e:  # docutils recursing past Python's limit: refused, and why
        assert "reStructuredText" in str(e)
    else:
        assert "item" in text


def test_rst_is_a_format_of_its_own_known_by_name_and_as_served() -> None:
    assert guess_format("README.rst", b"Title\n=====\n") == "rst"
    assert "reStructuredText (.rst)" in readable_formats()
    with serve({"/docs/probes": Route(200, PAGE.encode(), "text/x-rst; charset=utf-8")}) as base:
        body, name = fetch(f"{base}/docs/probes")
    assert name.endswith(".rst") and "## Why accuracy misleads" in read(body.decode(), name)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_windows_line_endings_read_the_same(ending: str) -> None:
    assert read(PAGE.replace("\n", ending)) == read(PAGE)


def test_an_rst_page_is_added_and_answers_first(built: Settings, tmp_path: Path) -> None:
    index, source = add_one(built, tmp_path / "probes.rst", PAGE.encode(), "reading-probes-carefully")
    assert (source.title, source.authors, source.year) == (
        "Reading probes carefully",
        ["Ada Example", "Grace Sample"],
        2025,
    )
    first = first_passage(index, built, "What does a random-label control probe set as a baseline?")
    assert first.source_id == source.id and "selectivity baseline" in first.text
