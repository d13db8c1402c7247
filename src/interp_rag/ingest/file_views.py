"""A file's page, and where its host serves the file itself.

A page that shows a file is an app page holding little or none of it: GitHub draws a notebook in a frame
from another host and keeps a README inside a script's JSON; a Google Doc is written by script. The file is
one address away, and its own reader reads it (its name's suffix or its type telling the format): `add
https://github.com/o/r/blob/main/demo.ipynb`, the address a browser shows, fetches
raw.githubusercontent.com/o/r/main/demo.ipynb. The page's own query and fragment ("?plain=1", "#L10",
"?usp=sharing") say how to show the file, not which it is. The source keeps the address the user gave.

A new host is one line of `VIEWS`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import SourceError


class FileView(NamedTuple):
    host: str  # how a message names it
    page: re.Pattern[str]  # the address of the page that shows a file
    file: str  # where the file is (`page`'s groups expanded)
    # What answers for a file that is not shared with everyone (a sign-in page), or too large to be
    # scanned (a warning page): HTML where a document was asked for.
    html_is_refusal: bool = False

    def check(self, given: str, fetched_name: str) -> None:
        """SourceError when the host answered with a page where its file was asked for (see above)."""
        if self.html_is_refusal and fetched_name.endswith(".html"):
            raise SourceError(
                f"{given} gave {self.host}'s sign-in or warning page, not the file: a file shared with "
                "'Anyone with the link' is read; otherwise download it and add the file."
            )


def _view(host: str, page: str, file: str, html_is_refusal: bool = False) -> FileView:
    return FileView(host, re.compile(page, re.IGNORECASE), file, html_is_refusal)


VIEWS = [
    # the "blob" view of a code host → the raw file (served as text/plain, named by its suffix)
    _view(
        "GitHub",
        r"https?://(?:www\.)?github\.com/([^/?#]+)/([^/?#]+)/blob/([^?#]+)",
        r"https://raw.githubusercontent.com/\1/\2/\3",
    ),
    _view("GitLab", r"(https?://(?:www\.)?gitlab\.com/[^?#]+?)/-/blob/([^?#]+)", r"\1/-/raw/\2"),
    # a model's or dataset's file on the Hugging Face Hub (a model card, the notes of an SAE release)
    _view("Hugging Face", r"(https?://huggingface\.co/[^?#]+?)/blob/([^?#]+)", r"\1/resolve/\2"),
    # a Google Doc as a Word document (the Word reader reads it), Slides as a deck (their speaker notes
    # with them, which a PDF leaves out), a file on Drive
    _view(
        "Google Docs",
        r"https?://docs\.google\.com/document/d/([\w-]+)(?:[/?#].*)?",
        r"https://docs.google.com/document/d/\1/export?format=docx",
        html_is_refusal=True,
    ),
    _view(
        "Google Slides",
        r"https?://docs\.google\.com/presentation/d/([\w-]+)(?:[/?#].*)?",
        r"https://docs.google.com/presentation/d/\1/export/pptx",
        html_is_refusal=True,
    ),
    _view(
        "Google Drive",
        r"https?://drive\.google\.com/file/d/([\w-]+)(?:[/?#].*)?",
        r"https://drive.google.com/uc?export=download&id=\1",
        html_is_refusal=True,
    ),
]


def file_view(url: str) -> tuple[str, FileView | None]:
    """Where the file a page of it shows is served, and the view that said so; any other URL as given."""
    for view in VIEWS:
        if m := view.page.match(url):
            return m.expand(view.file), view
    return url, None
