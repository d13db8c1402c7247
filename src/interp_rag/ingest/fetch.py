"""Downloading a source: one URL (an arXiv abs page's paper) within a size limit, a deadline and, for a
shared instance's web form, never to this machine or its private network."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpcore
import httpx

from ..errors import SourceError
from ..settings import Settings
from .file_views import file_view
from .landing import landing_pdf
from .latexml import is_latexml
from .load import readable_suffixes
from .parts import Limits

# Seconds a whole download may take when the caller gives none: the setting's default (fetch_deadline)
FETCH_DEADLINE: float = Settings.model_fields["fetch_deadline"].default
ARXIV_ABS = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/abs/([^?#]+)")
ARXIV = "https://arxiv.org"  # where an abs page's paper and metadata are fetched (settings.arxiv_url)


_WEB_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)


# A paper named as researchers write it: "arXiv:2301.05217" (or the bare id, with a version or not, or an
# old-style "arXiv:cs/0112017"), a DOI ("10.1038/s41586-024-07487-w", "doi:…", arXiv's own DOI
# "10.48550/arXiv.2301.05217")
_ARXIV_NAME = re.compile(r"^(?:arxiv:\s*|10\.48550/arxiv\.)?(\d{4}\.\d{4,5}(?:v\d+)?)$", re.IGNORECASE)
_ARXIV_OLD = re.compile(r"^arxiv:\s*([a-z-]+(?:\.[a-z]{2})?/\d{7}(?:v\d+)?)$", re.IGNORECASE)
_DOI = re.compile(r"^(?:doi:\s*)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def paper_name_url(location: str) -> str:
    """The URL of a paper named by its arXiv id or its DOI (see _ARXIV_NAME), or "" for anything else."""
    name = location.strip()
    if m := _ARXIV_NAME.match(name) or _ARXIV_OLD.match(name):
        return f"https://arxiv.org/abs/{m.group(1)}"
    if m := _DOI.match(name):
        return f"https://doi.org/{m.group(1)}"
    return ""


def normal_location(location: str) -> str:
    """A location as `add` reads it: a URL's scheme in lower case ("HTTP://example.org/x" is a URL, not
    a file of that name on this machine); a file:// URL (how the source list stores an added file) as the
    path it names; a paper's arXiv id or DOI as its URL, unless a file of that name is here; anything else
    as given."""
    if location[:7].lower() == "file://":
        return unquote(urlparse(location).path) or location
    if (url := paper_name_url(location)) and not _exists(location):
        return url
    return _WEB_SCHEME.sub(lambda m: m.group(1).lower() + "://", location, count=1)


def _exists(path: str) -> bool:
    try:
        return Path(path).expanduser().exists()
    except (OSError, RuntimeError, ValueError):
        return False


@dataclass(frozen=True)
class Fetched:
    body: bytes
    name: str  # a file-like name whose suffix tells the format ("download.pdf")
    landing_page: bytes = b""  # the landing page the paper was found from (landing.py), when it was
    url: str = ""  # where the body came from, redirects followed


def fetch(url: str, **options: Any) -> tuple[bytes, str]:
    """Download a URL as `fetch_document` does (the same keyword options); the body and a name whose suffix
    tells its format."""
    got = fetch_document(url, **options)
    return got.body, got.name


def fetch_document(
    url: str,
    *,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    max_bytes: int = 100_000_000,
    arxiv: str = ARXIV,
    deadline: float = FETCH_DEADLINE,
    private: bool = True,
    landing: bool = True,
) -> Fetched:
    """Download a URL. An arXiv abs page is a landing page: its paper is read from `arxiv`
    (settings.arxiv_url), from the paper's HTML view where arXiv has one, else from its PDF (`paper_urls`);
    with `arxiv=""` the page itself. A file's page (GitHub, GitLab, the Hugging Face Hub, Google Docs, Slides
    and Drive) is read as the file (file_views.py). Any other paper's landing page that names its PDF
    (landing.py: an OpenReview forum, a proceedings page) is read as that PDF, unless not `landing` or the
    PDF cannot be fetched. `timeout` bounds each wait, `deadline` each whole download (seconds).
    `private=False`: no request (redirects included) goes to this machine or its private network
    (`refuse_private`)."""
    given = normal_location(url)
    url, view = file_view(given)
    urls = paper_urls(url, arxiv) if arxiv else [url]
    if not urls[-1].startswith(("http://", "https://")):
        raise SourceError(f"{url!r} is not an http(s) URL or an existing file.")
    own = client is None
    client = client or make_client(timeout, private=private)
    hooks = client.event_hooks["request"]
    if not private and not own:  # for this fetch only: a client passed in keeps its own hooks afterwards
        client.event_hooks["request"] = [*hooks, refuse_private]
    try:
        for candidate in urls[:-1]:
            # arXiv's HTML view: 404 for a paper it could not convert, and then the PDF is the paper
            found = _download(client, candidate, timeout, max_bytes, deadline, missing_ok=True)
            if found is not None and found.name.endswith(".html") and is_latexml(_head(found.body)):
                return found
        found = _download(client, urls[-1], timeout, max_bytes, deadline)
        if found is None:  # only a download that may be missing returns None; kept honest for the types
            raise SourceError(f"nothing was fetched from {urls[-1]}")
        if view is not None:
            view.check(given, found.name)
        # (its PDF's address read against where the page was, a DOI's redirect followed)
        if landing and found.name.endswith(".html") and (pdf := landing_pdf(found.body, found.url)):
            # the PDF it names, if it is one (not a login page): else the landing page is all there is
            paper = _download(client, pdf, timeout, max_bytes, deadline, missing_ok=True)
            if paper is not None and paper.body[:1024].lstrip().startswith(b"%PDF"):
                return Fetched(paper.body, "download.pdf", landing_page=found.body, url=paper.url)
        return found
    finally:
        client.event_hooks["request"] = hooks
        if own:
            client.close()


def _download(
    client: httpx.Client,
    url: str,
    timeout: float,
    max_bytes: int,
    deadline: float,
    *,
    missing_ok: bool = False,
) -> Fetched | None:
    """One GET: the body, a name whose suffix tells its format and the URL it came from (None for an HTTP
    error status when `missing_ok`)."""
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code >= 400:
                if missing_ok:
                    return None
                raise SourceError(f"HTTP {resp.status_code} fetching {url}")
            body = _read_capped(resp, max_bytes, url, deadline)
    except httpx.TimeoutException as e:
        raise SourceError(f"timed out after {timeout:g} s fetching {url}") from e
    except httpx.InvalidURL as e:  # not an HTTPError: "http://[::1]:80x/"
        raise SourceError(f"{url!r} is not a valid URL ({e})") from e
    except httpx.HTTPError as e:
        raise SourceError(f"could not fetch {url}: {type(e).__name__}: {e}") from e
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    named = Path(urlparse(str(resp.url)).path).suffix.lower()
    if ctype in ("text/plain", "application/json") and named in readable_suffixes():
        # a raw file's generic type: GitHub serves a notebook as text/plain
        return Fetched(body, "download" + named, url=str(resp.url))
    suffix = {
        "application/pdf": ".pdf",
        "text/html": ".html",
        "application/xhtml+xml": ".html",
        "text/markdown": ".md",
        "text/plain": ".txt",
        "application/x-tex": ".tex",
        "text/x-tex": ".tex",
        "application/x-ipynb+json": ".ipynb",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
        "application/epub+zip": ".epub",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
        "text/x-rst": ".rst",
        "text/prs.fallenstein.rst": ".rst",  # reStructuredText's registered type
        "text/vtt": ".vtt",  # a talk's captions, as a video host serves them
        "application/x-subrip": ".srt",
        "multipart/related": ".mhtml",  # a page saved as one file, served as it was saved
        "application/x-mimearchive": ".mhtml",
        "message/rfc822": ".mhtml",
    }.get(ctype, named or ".html")
    return Fetched(body, "download" + suffix, url=str(resp.url))


def _head(body: bytes) -> str:
    """The start of a page, enough to tell LaTeXML's markup (its main element's class comes early)."""
    return body[:200_000].decode("utf-8", "replace")


def _read_capped(resp: httpx.Response, max_bytes: int, url: str, deadline: float) -> bytes:
    """The body, stopping as soon as it passes the limit (a server may send no or a false length) or the
    download passes `deadline` seconds (a server may trickle a few bytes at a time, for ever)."""
    limits = Limits(max_bytes=max_bytes)
    limits.check_bytes(int(resp.headers.get("content-length") or 0), url)
    parts, n, start = [], 0, time.monotonic()
    for part in resp.iter_bytes():
        n += len(part)
        limits.check_bytes(n, url)
        parts.append(part)
        if time.monotonic() - start > deadline:
            raise SourceError(
                f"{url} sent {n:,} bytes in {deadline:g} s and had not finished; try again later, or raise "
                "INTERP_RAG_FETCH_DEADLINE"
            )
    return b"".join(parts)


def paper_urls(url: str, arxiv: str = ARXIV) -> list[str]:
    """Where a URL's paper is read, in order of preference: for an arXiv abs page (a landing page) the
    paper's HTML view (LaTeXML's pages: sections, footnotes after their paragraph, formulas as LaTeX, no
    bibliography; a PDF's text has none of that structure), then its PDF; any other URL as it is. Giving
    the PDF's own URL (…/pdf/ID) reads the PDF."""
    paper = arxiv_id(url)
    if not paper:
        return [url]
    base = arxiv.rstrip("/")
    return [f"{base}/html/{paper}", f"{base}/pdf/{paper}"]


def arxiv_id(url: str) -> str:
    """The paper an arXiv abs page shows ("2401.12345v2"), or ""."""
    m = ARXIV_ABS.match(url)
    return m.group(1) if m else ""


def refuse_private(request: httpx.Request) -> None:
    """An httpx request hook: SourceError when the request's host is, or resolves to, an address of this
    machine or its private network. Run for each request, so a redirect there is refused too; the client
    `make_client(private=False)` makes also checks the address it connects to (`GuardedBackend`)."""
    host = request.url.host
    try:
        infos = socket.getaddrinfo(host, request.url.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return  # the connection fails with its own message
    for info in infos:
        _refuse_address(host, info[4][0])


def _refuse_address(host: str, address: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(str(address).split("%")[0])
    if not ip.is_global or ip.is_multicast:
        raise SourceError(
            f"{host} is an address of this machine or its private network ({ip}); this server does not "
            "fetch those for its web form (INTERP_RAG_WEB__PRIVATE_URLS=true allows it)"
        )
    return ip


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses, checked as they are connected to. The request hook resolves the
    name before the connection resolves it again, so a name answering a public address first and a private
    one next (DNS rebinding) passed the hook and reached the private one; here the name is resolved once,
    every address checked, and the connection made to a checked address itself (TLS still verifies the
    name)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as e:
            raise httpcore.ConnectError(f"{host}: {e}") from e
        addresses = list(dict.fromkeys(_refuse_address(host, info[4][0]) for info in infos))
        for i, ip in enumerate(addresses):
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError:
                if i == len(addresses) - 1:
                    raise
        raise httpcore.ConnectError(f"{host} resolves to no address")


def make_client(timeout: float, user_agent: str = "interp-rag/0.1", *, private: bool = True) -> httpx.Client:
    """An httpx client; `private=False`: one that never connects to this machine or its private network
    (each request's host checked by `refuse_private`, each connection's address by `GuardedBackend`)."""
    transport = None
    if not private:
        transport = httpx.HTTPTransport()
        # httpx has no public setting for httpcore's network backend; test_hostile_add checks it holds
        transport._pool._network_backend = GuardedBackend()  # type: ignore[attr-defined]
    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": user_agent},
        transport=transport,
        event_hooks={"request": [] if private else [refuse_private]},
    )
