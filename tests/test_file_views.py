"""A file's page (a code host's "blob" view, a model card on the Hugging Face Hub, a Google Doc, Slides or a
Drive file) is read as the file it shows, and a host that answers with its sign-in or warning page instead is
refused saying what to do. httpx's own in-process transport stands in for the hosts (no site is reachable
here); the fetch code, its redirects, size and deadline checks included, is the real one."""

from __future__ import annotations

import httpx
import pytest

from interp_rag.errors import SourceError
from interp_rag.ingest.fetch import fetch
from interp_rag.ingest.file_views import file_view
from interp_rag.ingest.load import extract_text, guess_format
from tests.test_formats_docx import DRAFT

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("page", "file"),
    [
        (
            "https://github.com/ada/probes/blob/v1.2/docs/README.rst?plain=1#L10",
            "https://raw.githubusercontent.com/ada/probes/v1.2/docs/README.rst",
        ),
        (
            "https://gitlab.com/ada/tools/probes/-/blob/main/notes.md#usage",
            "https://gitlab.com/ada/tools/probes/-/raw/main/notes.md",
        ),
        (
            "https://huggingface.co/ada/probe-saes/blob/main/README.md",
            "https://huggingface.co/ada/probe-saes/resolve/main/README.md",
        ),
        (
            "https://huggingface.co/datasets/ada/probe-labels/blob/main/README.md",
            "https://huggingface.co/datasets/ada/probe-labels/resolve/main/README.md",
        ),
        (
            "https://docs.google.com/document/d/1AbC-d_EF/edit?usp=sharing",
            "https://docs.google.com/document/d/1AbC-d_EF/export?format=docx",
        ),
        (
            "https://docs.google.com/presentation/d/1XyZ/edit#slide=id.p",
            "https://docs.google.com/presentation/d/1XyZ/export/pptx",
        ),
        (
            "https://drive.google.com/file/d/1QwE/view?usp=drive_link",
            "https://drive.google.com/uc?export=download&id=1QwE",
        ),
        # a repository's or a folder's page, a spreadsheet, any other page: the page itself
        ("https://github.com/ada/probes", "https://github.com/ada/probes"),
        ("https://github.com/ada/probes/tree/main/docs", "https://github.com/ada/probes/tree/main/docs"),
        ("https://docs.google.com/spreadsheets/d/1X/edit", "https://docs.google.com/spreadsheets/d/1X/edit"),
        ("https://example.org/blob/notes.md", "https://example.org/blob/notes.md"),
    ],
)
def test_a_files_page_maps_to_the_file(page: str, file: str) -> None:
    assert file_view(page)[0] == file


def hosts(answers: dict[str, httpx.Response], asked: list[str]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return answers.get(str(request.url), httpx.Response(404, text="not found"))

    return httpx.Client(transport=httpx.MockTransport(answer), follow_redirects=False)


def test_a_shared_google_doc_is_read_as_its_word_export() -> None:
    asked: list[str] = []
    export = "https://docs.google.com/document/d/1AbC/export?format=docx"
    with hosts({export: httpx.Response(200, content=DRAFT, headers={"content-type": DOCX})}, asked) as client:
        body, name = fetch("https://docs.google.com/document/d/1AbC/edit?usp=sharing", client=client)
    assert asked == [export]
    assert name.endswith(".docx") and "## Motivation" in extract_text(body, guess_format(name, body))


@pytest.mark.parametrize(
    ("page", "file"),
    [
        # a Doc not shared with everyone: the export sends the reader to sign in
        (
            "https://docs.google.com/document/d/1AbC/edit",
            "https://docs.google.com/document/d/1AbC/export?format=docx",
        ),
        # a large file on Drive: a page warning that it cannot be scanned, with a button
        ("https://drive.google.com/file/d/1QwE/view", "https://drive.google.com/uc?export=download&id=1QwE"),
    ],
)
def test_a_sign_in_or_warning_page_is_refused_saying_what_to_do(page: str, file: str) -> None:
    sign_in = "https://accounts.google.com/ServiceLogin?continue=x"
    answers = {
        file: httpx.Response(302, headers={"location": sign_in}),
        sign_in: httpx.Response(200, text="<html><title>Sign in</title><form>Email</form></html>"),
    }
    with (
        hosts(answers, []) as client,
        pytest.raises(SourceError, match=r"sign-in or warning page.*Anyone with"),
    ):
        fetch(page, client=client)
