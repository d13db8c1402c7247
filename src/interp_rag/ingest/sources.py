"""The source list (`corpus/sources.toml`) and resolving an entry to its text.

Resolution order: a local mirror directory, the cache of earlier fetches, then the URL itself.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import tomli_w

from ..errors import ConfigError, SourceError
from ..settings import Settings
from ..text import digest, one_line, strip_control
from ..types import SOURCE_STANCES, Document, Source
from .latex_source import read_with_inputs
from .latexml import is_latexml
from .load import extract_text, guess_format
from .parts import text_budget

# Seconds a whole download may take when the caller gives none: the setting's default (fetch_deadline)
FETCH_DEADLINE: float = Settings.model_fields["fetch_deadline"].default
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
ARXIV_ABS = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/abs/([^?#]+)")
ARXIV = "https://arxiv.org"  # where an abs page's paper and metadata are fetched (settings.arxiv_url)

_HEADER = """\
# Sources of the interp-rag corpus: metadata only, never the texts.
# Each [[source]] is resolved at build time from a mirror directory (INTERP_RAG_MIRROR / --mirror,
# file named by `file`), from corpus/cache/, or by fetching `url`.
# stance is the document-level label: enthusiastic | skeptical | mixed | neutral.
"""


def load_sources(path: Path) -> list[Source]:
    """Read and validate the source list. A malformed list is a ConfigError naming the entry."""
    if not path.exists():
        raise ConfigError(f"Source list {path} not found. Create it, or run `interp-rag add URL_OR_PATH`.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"Source list {path} is not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"Source list {path} is not UTF-8 text ({e.reason} at byte {e.start}).") from e
    except OSError as e:  # a folder, a file without read permission
        raise ConfigError(f"Source list {path} cannot be read: {e.strerror or e}.") from e
    sources: list[Source] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("source", []), 1):
        try:
            src = Source(**entry)
        except TypeError as e:
            raise ConfigError(f"{path}: entry #{i} has an unknown or missing field: {e}") from e
        src = clean_source(src)
        validate_source(src, where=f"{path}: entry #{i}")
        if src.id in seen:
            raise ConfigError(f"{path}: id {src.id!r} appears twice; ids must be unique.")
        seen.add(src.id)
        sources.append(src)
    return sources


def validate_source(src: Source, where: str = "source") -> None:
    if not ID_RE.match(src.id or ""):
        raise ConfigError(f"{where}: id {src.id!r} must be lowercase letters, digits, '.', '_' or '-'.")
    if not (src.title or "").strip():
        raise ConfigError(f"{where} ({src.id}): title is empty (or only control characters).")
    if src.year is not None and not is_year(src.year):
        raise ConfigError(
            f"{where} ({src.id}): year {src.year!r} is not a year from {FIRST_YEAR} to {_last_year()}."
        )
    if src.stance not in SOURCE_STANCES:
        raise ConfigError(
            f"{where} ({src.id}): stance {src.stance!r} is not one of {', '.join(SOURCE_STANCES)}."
        )
    if not (src.url or src.file):
        raise ConfigError(f"{where} ({src.id}): needs a url or a file.")


FIRST_YEAR = 1800  # a source's year, as a check on what is typed: the field's writing is much younger


def _last_year() -> int:
    return time.gmtime().tm_year + 1  # a paper dated next year (a journal issue) is not a typo


def is_year(value: object) -> bool:
    """Could `value` be a source's year (an int from FIRST_YEAR to next year)?"""
    return isinstance(value, int) and not isinstance(value, bool) and FIRST_YEAR <= value <= _last_year()


def write_sources(path: Path, sources: list[Source]) -> None:
    """Write the whole list (used to create it); `append_source` keeps a hand-edited file as it is."""
    body = "\n".join(_toml_entry(s) for s in sources)
    atomic_write(path, _HEADER + "\n" + body)


def append_source(path: Path, src: Source) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    sep = "" if existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
    atomic_write(path, existing + sep + _toml_entry(src))


def clean_source(src: Source) -> Source:
    """The source with no control characters in its title, authors or note: they are shown in the
    terminal and the page, and a title guessed for `add` comes from a document's first heading."""

    def clean(v: object) -> object:
        return strip_control(v) if isinstance(v, str) else v

    authors = [a for a in map(clean, src.authors) if a] if isinstance(src.authors, list) else src.authors
    # a title is one line: a document's heading or a pasted title may carry newlines and runs of spaces
    title = one_line(src.title) if isinstance(src.title, str) else src.title
    return replace(src, title=title, stance_note=clean(src.stance_note), authors=authors)


def _toml_entry(src: Source) -> str:
    clean = clean_source(src)
    validate_source(clean)  # never write an entry that load_sources would refuse: every later add would fail
    d = {k: v for k, v in clean.to_dict().items() if v not in ("", None, [])}
    return tomli_w.dumps({"source": [d]})


def atomic_write(path: Path, text: str) -> None:
    """`text` to `path` whole or not at all: written beside it, then renamed over it. A write that fails
    (a full disk, Ctrl-C) leaves the old file as it was and no half-written one beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # the rename must not publish a file whose bytes are still in flight
        tmp.replace(path)
    except BaseException:
        if tmp.is_file():
            tmp.unlink()
        raise


def summary(src: Source) -> str:
    """What a source is and argues, in a line: its title and stance note (embedded as the source's vector)."""
    return f"{src.title}. {src.stance_note}".strip()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "source"


def local_path(src: Source) -> Path | None:
    """The local file a `file://` url points at (sources added from the user's disk)."""
    if src.url.startswith("file://"):
        return Path(unquote(urlparse(src.url).path))
    return None


def resolve(
    src: Source,
    *,
    mirror: Path | None,
    cache_dir: Path | None,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    limits: Limits | None = None,
    arxiv: str = ARXIV,
    deadline: float = FETCH_DEADLINE,
) -> Document:
    """Text of a source: from the mirror, a local file, the cache, or its URL (cached on success; an arXiv
    abs page's paper from `arxiv`; the download within `deadline` seconds)."""
    limits = limits or Limits()
    if mirror is not None and src.file:
        p = mirror / src.file
        if p.is_file():
            return read_file(src, p, "mirror", limits)
    lp = local_path(src)
    if lp is not None:
        if not lp.is_file():
            raise SourceError(f"{src.id}: local file {lp} does not exist.")
        return read_file(src, lp, "file", limits)
    if cache_dir is not None:
        cached = cache_dir / f"{src.id}.txt"
        if cached.is_file():
            text = strip_control(cached.read_text(encoding="utf-8"))
            return Document(src, limits.check_text(text, src.id), f"cache:{cached}", digest(text))
    if not src.url:
        where = f"mirror {mirror}" if mirror else "a mirror (--mirror DIR)"
        raise SourceError(f"{src.id}: no url, and {src.file!r} is not in {where}.")
    data, name = fetch(
        src.url, client=client, timeout=timeout, max_bytes=limits.max_bytes, arxiv=arxiv, deadline=deadline
    )
    doc = read_document(src, data, name, f"url:{src.url}", limits)
    if cache_dir is not None:
        write_cache(cache_dir, src.id, src.url, doc.text)
    return doc


def write_cache(cache_dir: Path, source_id: str, url: str, text: str) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(cache_dir / f"{source_id}.txt", text)
    meta = {"url": url, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write(cache_dir / f"{source_id}.json", json.dumps(meta))


@dataclass(frozen=True)
class Limits:
    """How big one source may be (settings.max_source_chars / max_source_bytes): a huge file would take
    hours to embed and gigabytes of memory, and the user should hear so at once, not after."""

    max_chars: int = 2_000_000
    max_bytes: int = 100_000_000

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(settings.max_source_chars, settings.max_source_bytes)

    def check_bytes(self, n: int, what: str) -> None:
        if n > self.max_bytes:
            raise SourceError(
                f"{what} is {n:,} bytes, more than the limit of {self.max_bytes:,} "
                "(INTERP_RAG_MAX_SOURCE_BYTES); split it, or raise the limit."
            )

    def check_text(self, text: str, what: str) -> str:
        if len(text) > self.max_chars:
            raise SourceError(
                f"{what} has {len(text):,} characters of text, more than the limit of {self.max_chars:,} "
                "(INTERP_RAG_MAX_SOURCE_CHARS); split it, or raise the limit."
            )
        return text


def read_local(path: Path, limits: Limits) -> bytes:
    """A file's bytes, refused before reading when it is over the size limit."""
    limits.check_bytes(path.stat().st_size, str(path))  # before reading it into memory
    if path.suffix.lower() in (".tex", ".latex"):  # a paper's main file, with the section files it \inputs
        return read_with_inputs(path, limits.check_bytes)
    return path.read_bytes()


def read_file(src: Source, path: Path, where: str, limits: Limits) -> Document:
    """`src`'s document from the file at `path`; its origin is "`where`:`path`" ("mirror" or "file")."""
    return read_document(src, read_local(path, limits), path.name, f"{where}:{path}", limits)


def read_document(src: Source, data: bytes, name: str, origin: str, limits: Limits | None = None) -> Document:
    """`src`'s document from bytes already read (`name`'s suffix or the bytes tell the format); a
    SourceError, prefixed with the source's id, when it cannot be read or is over the size limit."""
    limits = limits or Limits()
    try:
        with text_budget(limits.max_chars):  # a loader reading in parts stops at the part that passes it
            text = extract_text(data, guess_format(name, data))
        limits.check_text(text, "it")
    except SourceError as e:
        raise SourceError(f"{src.id}: {e}") from e
    return Document(src, text, origin, digest(text))


_WEB_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)


def normal_location(location: str) -> str:
    """A location as `add` reads it: a URL's scheme in lower case ("HTTP://example.org/x" is a URL, not
    a file of that name on this machine); anything else as given."""
    return _WEB_SCHEME.sub(lambda m: m.group(1).lower() + "://", location, count=1)


def fetch(
    url: str,
    *,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    max_bytes: int = 100_000_000,
    arxiv: str = ARXIV,
    deadline: float = FETCH_DEADLINE,
    private: bool = True,
) -> tuple[bytes, str]:
    """Download a URL; returns the body and a file-like name whose suffix tells the format. An arXiv abs
    page is a landing page: its paper is read from `arxiv` (settings.arxiv_url), from the paper's HTML view
    where arXiv has one, else from its PDF (`paper_urls`); with `arxiv=""` the page itself. `timeout` bounds
    each wait, `deadline` each whole download (seconds). `private=False`: no request (redirects included)
    goes to this machine or its private network (`refuse_private`)."""
    url = normal_location(url)
    urls = paper_urls(url, arxiv) if arxiv else [url]
    if not urls[-1].startswith(("http://", "https://")):
        raise SourceError(f"{url!r} is not an http(s) URL or an existing file.")
    own = client is None
    client = client or make_client(timeout)
    hooks = client.event_hooks["request"]
    if not private:  # for this fetch only: a client passed in keeps its own hooks afterwards
        client.event_hooks["request"] = [*hooks, refuse_private]
    try:
        for candidate in urls[:-1]:
            # arXiv's HTML view: 404 for a paper it could not convert, and then the PDF is the paper
            found = _download(client, candidate, timeout, max_bytes, deadline, missing_ok=True)
            if found is not None and found[1].endswith(".html") and is_latexml(_head(found[0])):
                return found
        found = _download(client, urls[-1], timeout, max_bytes, deadline)
        if found is None:  # only a download that may be missing returns None; kept honest for the types
            raise SourceError(f"nothing was fetched from {urls[-1]}")
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
) -> tuple[bytes, str] | None:
    """One GET: the body and a name whose suffix tells its format (None for an HTTP error status when
    `missing_ok`)."""
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
    suffix = {
        "application/pdf": ".pdf",
        "text/html": ".html",
        "application/xhtml+xml": ".html",
        "text/markdown": ".md",
        "text/plain": ".txt",
        "application/x-tex": ".tex",
        "text/x-tex": ".tex",
    }.get(ctype, Path(urlparse(str(resp.url)).path).suffix or ".html")
    return body, "download" + suffix


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
    machine or its private network. Run for each request, so a redirect there is refused too. (A name
    that resolves differently between this check and the connection is beyond it.)"""
    host = request.url.host
    try:
        infos = socket.getaddrinfo(host, request.url.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return  # the connection fails with its own message
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise SourceError(
                f"{host} is an address of this machine or its private network ({ip}); this server does not "
                "fetch those for its web form (INTERP_RAG_WEB__PRIVATE_URLS=true allows it)"
            )


def make_client(timeout: float, user_agent: str = "interp-rag/0.1") -> httpx.Client:
    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": user_agent},
    )


def resolve_all(
    sources: list[Source],
    *,
    mirror: Path | None,
    cache_dir: Path | None,
    timeout: float,
    user_agent: str = "interp-rag/0.1",
    on_progress: Callable[[int, int, str], None] | None = None,
    limits: Limits | None = None,
    arxiv: str = ARXIV,
    deadline: float = FETCH_DEADLINE,
) -> tuple[list[Document], dict[str, str]]:
    """Resolve every source; failures are collected with their reason instead of stopping the build."""
    docs: list[Document] = []
    failed: dict[str, str] = {}
    with make_client(timeout, user_agent) as client:
        for i, src in enumerate(sources, 1):
            try:
                docs.append(
                    resolve(
                        src,
                        mirror=mirror,
                        cache_dir=cache_dir,
                        client=client,
                        timeout=timeout,
                        limits=limits,
                        arxiv=arxiv,
                        deadline=deadline,
                    )
                )
            except SourceError as e:
                failed[src.id] = str(e).removeprefix(f"{src.id}: ")
            if on_progress:
                on_progress(i, len(sources), src.id)
    return docs, failed
