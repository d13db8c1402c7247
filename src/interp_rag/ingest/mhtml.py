"""A web page saved as one file (.mhtml, .mht): what Chrome and Edge write for "Save page as… Webpage,
Single File", the way a researcher keeps a post as they read it. The file is a MIME message (RFC 2557): the
page's HTML, quoted-printable or base64, then its images, styles and frames, each a part of its own. As
text, the file was MIME headers and "=3D"-escaped markup; here its HTML part is read as any HTML page is.

The standard library's email parser reads the message; nothing else is needed."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass

from ..errors import SourceError

# A saved page opens with its message's headers ("From: <Saved by Blink>", "MIME-Version: 1.0", …), and
# they declare a multipart/related body: a shape no prose or markup takes.
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]")
_HEADERS_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class SavedPage:
    html: str  # the page's own HTML, decoded
    title: str  # the Subject header: the page's title when it was saved


def is_saved_page(head: bytes) -> bool:
    """Whether the start of a file (its first kilobyte) is a saved web page's MIME message: header lines from
    the first, declaring a multipart/related body, whatever the file is named."""
    headers = _HEADERS_END.split(head.lstrip(), maxsplit=1)[0]
    return bool(_HEADER_LINE.match(headers)) and b"multipart/related" in headers.lower()


def saved_page(data: bytes) -> SavedPage:
    """The page a .mhtml file holds: its HTML part (the one at the page's own address where parts name
    theirs, else the first HTML part) and its title. SourceError when it holds no HTML."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    url = str(msg.get("Snapshot-Content-Location", "") or "").strip()  # where the page was saved from
    pages = [p for p in msg.walk() if p.get_content_type() == "text/html"]
    if not pages:
        raise SourceError("this saved web page (.mhtml) holds no HTML part: save the page again, as HTML")
    own = [p for p in pages if url and str(p.get("Content-Location", "")).strip() == url]
    part = (own or pages)[0]
    raw = part.get_payload(decode=True)  # quoted-printable or base64 undone
    if not isinstance(raw, bytes):
        raise SourceError("the saved page's HTML part could not be decoded: save the page again, as HTML")
    return SavedPage(html=_decoded(raw, part.get_content_charset()), title=_one_line(msg.get("Subject")))


def _decoded(raw: bytes, charset: str | None) -> str:
    """The HTML part's text: in the charset its header states; else UTF-8, which Chrome and Edge write;
    else Windows-1252, what browsers read an unlabelled legacy page as."""
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return raw.decode(encoding)
            except (LookupError, UnicodeDecodeError):  # a charset Python does not know, or a false one
                continue
    return raw.decode("cp1252", errors="replace")


def _one_line(value: object) -> str:
    return " ".join(str(value or "").split())
