"""Adding to the library of sources: several at once (files, URLs, folders, a reading list) with one build.

Adding reads each document once, before anything changes; its metadata (title, authors, year) comes from
the document itself (`ingest/metadata.py`: PDF metadata, HTML meta tags, LaTeX \\title/\\author, the first
heading) unless the caller gives it. One location goes through `build.add_source`, the same path the UI's
upload takes; several are read one by one and indexed by one build that reads only them (`build.add_read`),
the source list written after the index. Removing and listing sources live in catalogue.py.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError, InterpRagError, SourceError
from ..ingest.doc2query import Completer
from ..ingest.fetch import normal_location
from ..ingest.latex_source import paper_parts
from ..ingest.load import readable_formats, readable_suffixes
from ..ingest.parts import Limits
from ..ingest.reading_list import MAX_BIB_BYTES, Listed, reading_list
from ..ingest.sources import (
    check_given,
    given_authors,
    given_location,
    load_sources,
    read_local,
)
from ..settings import Settings, given_settings
from ..types import UNKNOWN_STANCE, BuildReport, Source
from .add import NEW_ID, Addition, addition_of, path_kind, read_checked, source_url
from .build import add_read, add_source, build_lock
from .resolve import Progress


@dataclass
class AddResult:
    location: str
    ok: bool
    id: str = ""
    title: str = ""
    reason: str = ""


@dataclass
class AddReport:
    results: list[AddResult] = field(default_factory=list)
    build: BuildReport | None = None
    # files in a folder given that are of no format interp-rag reads (a .csv, slides): not read, and said
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- adding


class Expanded(NamedTuple):
    locations: list[str]  # each to add
    bad: list[AddResult]  # given locations (or a reading list's entries) that name nothing to add
    skipped: list[str]  # a folder's files of no format interp-rag reads
    listed: dict[str, Listed]  # the locations a reading list gave, with what its entries state


def expand_locations(locations: list[str]) -> Expanded:
    """URLs and files as given; a .bib file the papers it lists (ingest/reading_list.py: by arXiv id, URL or
    DOI, each an entry that names none reported as not added); a directory becomes the readable files in it
    (recursively, sorted), none hidden or in a hidden folder: Jupyter keeps a copy of each notebook in
    .ipynb_checkpoints/, which was added first, and the notebook itself then refused as its duplicate. Also
    the files a folder holds of no format interp-rag reads (sorted), which a user would otherwise not know
    were left out."""
    out: list[str] = []
    bad: list[AddResult] = []
    skipped: list[str] = []
    stated: dict[str, Listed] = {}
    for loc in locations:
        try:
            kind = path_kind(loc)
        except SourceError as e:
            bad.append(AddResult(loc, False, reason=str(e)))
            continue
        if kind == "file" and loc.lower().endswith(".bib"):  # a reading list: the papers it lists
            try:
                listed = reading_list(read_local(Path(loc).expanduser(), Limits(max_bytes=MAX_BIB_BYTES)))
            except SourceError as e:
                bad.append(AddResult(loc, False, reason=str(e)))
                continue
            stated.update({p.location: p for p in listed if p.location and p.location not in stated})
            out += [p.location for p in listed if p.location]
            why = "its entry names no arXiv id, http(s) URL or DOI to read the paper from"
            bad += [AddResult(f"{loc}: {p.key}", False, reason=why) for p in listed if not p.location]
        elif loc.startswith(("http://", "https://")) or kind == "file":
            out.append(loc)
        elif kind == "dir":
            suffixes = set(readable_suffixes())
            root = Path(loc).expanduser()
            shown = [
                f
                for f in root.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(root).parts)
            ]
            found = [f for f in shown if f.suffix.lower() in suffixes]
            skipped += sorted(str(f) for f in shown if f.suffix.lower() not in suffixes)
            parts = paper_parts(found)  # a paper's source folder is one source: its main .tex file
            files = sorted(str(f) for f in found if f.resolve() not in parts)
            if not files:
                why = f"the folder has no file interp-rag reads ({readable_formats('or')})"
                bad.append(AddResult(loc, False, reason=why))
            out += files
        else:
            bad.append(AddResult(loc, False, reason="neither an http(s) URL nor an existing file or folder"))
    return Expanded(out, bad, skipped, stated)


def add_sources(
    locations: list[str],
    *,
    title: str | None = None,
    authors: list[str] | str | None = None,
    year: int | None = None,
    id: str | None = None,
    type: str | None = None,
    stance: str = UNKNOWN_STANCE,
    stance_note: str = "",
    settings: Settings | None = None,
    on_progress: Progress | None = None,
    llm_questions: Completer | None = None,
) -> AddReport:
    """Add files, URLs or folders and index them with one build. Each one's result is reported (ok, or
    failed with the reason); a failed one changes nothing. Options override the document's own metadata;
    `id` and `title` only make sense for a single source. `llm_questions` (an `LLMClient`) writes the
    questions each new passage answers, indexed like hand-written expansions (ingest/doc2query.py)."""
    settings = given_settings(settings)
    if isinstance(locations, str | os.PathLike):  # one location: a string is not a list of one-letter paths
        locations = [locations]
    if not isinstance(locations, list | tuple):
        raise ConfigError(f"locations must be a list of URLs or file paths, not {locations!r:.60}.")
    check_given(type=type, stance=stance, year=year, stance_note=stance_note, title=title, id=id)
    authors = given_authors(authors)
    todo, report_bad, skipped, stated = expand_locations(
        [normal_location(given_location(loc)) for loc in locations]
    )
    report = AddReport(results=report_bad, skipped=skipped)
    if len(todo) > 1 and (id or title):
        raise ConfigError("--id and --title name one source; leave them out when adding several.")
    request = AddRequest(settings, authors, year, type, stance, stance_note, on_progress, llm_questions)
    if len(todo) == 1:
        # One location: `add_source`, the path the UI's upload takes (it reads the document once, its
        # metadata filling what the caller left out) and whose errors name the location.
        _add_one(todo[0], request, report, id=id, title=title, listed=stated.get(todo[0]))
        return report
    # the lock from the start: a second add is refused before it reads (a long PDF took minutes, then was
    # refused), and what the list holds cannot change between the checks below and the build
    with build_lock(settings.index_dir):
        _add_several(todo, request, report, stated)
    return report


@dataclass(frozen=True)
class AddRequest:
    """What an `add_sources` call asks for every location it adds: the metadata the caller gives (each
    document's own fills the rest), checked before anything is read, and where and with what to add."""

    settings: Settings
    authors: list[str]
    year: int | None
    type: str | None
    stance: str
    stance_note: str
    on_progress: Progress | None
    llm_questions: Completer | None

    def progress(self, stage: str, done: int, total: int, detail: str) -> None:
        if self.on_progress:
            self.on_progress(stage, done, total, detail)

    def draft(self, location: str) -> Source:
        """The source `location` becomes, before its document fills in its title, id and what else the
        caller left out."""
        return Source(
            id=NEW_ID, title=location, url=source_url(location), authors=list(self.authors),
            year=self.year, type=self.type or "", stance=self.stance, stance_note=self.stance_note,
        )  # fmt: skip


def _add_one(
    loc: str,
    request: AddRequest,
    report: AddReport,
    *,
    id: str | None,
    title: str | None,
    listed: Listed | None,
) -> None:
    r = request
    title, authors, year = _with_listed(listed, title, r.authors, r.year)
    try:
        report.build = add_source(
            loc, id=id, title=title, authors=authors, year=year, type=r.type, stance=r.stance,
            stance_note=r.stance_note, settings=r.settings, on_progress=r.on_progress,
            llm_questions=r.llm_questions,
        )  # fmt: skip
    except InterpRagError as e:  # the result names the location already
        report.results.append(AddResult(loc, False, reason=str(e).removeprefix(f"Cannot add {loc}: ")))
        return
    src = added(r.settings, loc)
    report.results.append(AddResult(loc, True, src.id if src else "", src.title if src else ""))


def _with_listed(
    listed: Listed | None, title: str | None, authors: list[str], year: int | None
) -> tuple[str | None, list[str], int | None]:
    """Title, authors and year: what the caller gives, else what a reading list's entry states (the
    document's own metadata fills what both leave out)."""
    if listed is None:
        return title, authors, year
    return title or listed.title, authors or list(listed.authors), year or listed.year


def _add_several(todo: list[str], request: AddRequest, report: AddReport, stated: dict[str, Listed]) -> None:
    """`add_sources` for several locations: each read and checked, then one build for those that passed."""
    settings = request.settings
    existing = load_sources(settings.sources_file) if settings.sources_file.exists() else []
    taken = {s.id for s in existing}
    urls = {s.url for s in existing}
    additions: list[Addition] = []
    added_with: dict[str, str] = {}  # the text of each document read so far, and where it came from

    def pages(done: int, total: int, name: str) -> None:  # a PDF's pages as they are read
        request.progress("pages", done, total, name)

    for i, loc in enumerate(todo, 1):
        request.progress("resolve", i, len(todo), loc)
        src = request.draft(loc)
        title, src.authors, src.year = _with_listed(stated.get(loc), "", src.authors, src.year)
        if src.url in urls:
            report.results.append(AddResult(loc, False, reason=f"already in {settings.sources_file}"))
            continue
        try:
            doc = read_checked(loc, src, settings, existing, taken, pages, title, added_with=added_with)
        except (SourceError, ConfigError) as e:
            report.results.append(AddResult(loc, False, reason=str(e)))
            continue
        taken.add(src.id)
        urls.add(src.url)
        additions.append(addition_of(doc, settings, src.url if loc == src.url else ""))
        report.results.append(AddResult(loc, True, src.id, src.title))
    if additions:
        # Only the new documents are read (the others keep the index's text), and the source list is
        # written after the index: a failed or killed add leaves both as they were.
        report.build = add_read(
            additions, settings=settings, on_progress=request.on_progress, llm_questions=request.llm_questions
        )
        for r in report.results:  # a source the build could not index after all
            if r.ok and r.id in report.build.sources_failed:
                r.ok, r.reason = False, report.build.sources_failed[r.id]


def added(settings: Settings, location: str) -> Source | None:
    """The source list's entry for `location` (a URL, or a file by its absolute path), if it has one."""
    url = source_url(location)
    if not settings.sources_file.exists():
        return None
    return next((s for s in load_sources(settings.sources_file) if s.url == url), None)
