"""The Sources tab of the web UI: every source (search, filters), restricting the next question to some,
adding one by URL or file upload, removing one.

Add and remove run the same library functions as the CLI (`store.build.add_source`,
`store.library.remove_source`); when the app is read-only (INTERP_RAG_READ_ONLY) they are neither shown
nor served (no component, no API endpoint) and the handlers refuse too.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import gradio as gr

from ..answering.llm import LLMClient
from ..answering.timeline import SIDES
from ..errors import InterpRagError
from ..ingest.fetch import paper_name_url
from ..ingest.load import readable_formats, readable_suffixes
from ..settings import Settings
from ..store.build import add_source
from ..store.catalogue import UPLOADS, find_sources, list_sources, remove_source
from ..store.index import get_index
from ..store.library import added
from ..types import SOURCE_STANCES, SOURCE_TYPES, UNKNOWN_STANCE
from .access import is_loopback
from .api import add_source_api, api_parameters, remove_source_api
from .render import esc, render_notice, safe_url, source_link

log = logging.getLogger(__name__)

UPLOAD_TYPES = readable_suffixes()  # every format a loader reads (ingest/load.py's registry)
READ_ONLY = "This instance is read-only (INTERP_RAG_READ_ONLY): sources cannot be added or removed."


def library_rows(settings: Settings, index: Any = None) -> list[dict[str, Any]]:
    try:
        return list_sources(index if index is not None else get_index(settings))
    except InterpRagError:
        return []


def render_library(rows: list[dict[str, Any]], query: str = "", stance: str = "", kind: str = "") -> str:
    """The sources as a table: title (linked), authors, year, type, stance and its note, chunks, added."""
    keep = find_sources(rows, query, stance, kind)
    body = []
    for r in keep:
        authors = ", ".join(r["authors"][:3]) + (" et al." if len(r["authors"]) > 3 else "")
        st = r["stance"] if r["stance"] in (*SIDES, "mixed") else "neutral"
        link = source_link(r["url"], r["title"], "title") if safe_url(r["url"]) else esc(r["title"])
        body.append(
            f'<tr data-id="{esc(r["id"])}"><td>{link}<div class="src-id">{esc(r["id"])}</div></td>'
            f"<td>{esc(authors)}</td><td>{esc(r['year'] or 'n.d.')}</td><td>{esc(r['type'])}</td>"
            f'<td><span class="badge {st}">{esc(r["stance"])}</span><div class="note">'
            f"{esc(r['stance_note'])}</div></td><td>{r['chunks']}</td><td>{esc(r['added'] or '—')}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("Title", "Authors", "Year", "Type", "Stance", "Chunks", "Added"))
    count = f'<p class="muted">{len(keep)} of {len(rows)} sources</p>'
    table = f'<table class="library"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    # a box of its own that scrolls sideways on a narrow screen (focusable, so the keyboard can scroll it)
    return f'{count}<div class="library-wrap" role="region" aria-label="Sources" tabindex="0">{table}</div>'


def render_restriction(chosen: list[str] | None, rows: list[dict[str, Any]]) -> str:
    """A line on the Ask tab while the next question is restricted to some sources (set in the Sources
    tab, where it is easily forgotten): which ones; empty when none."""
    if not chosen:
        return ""
    titles = {r["id"]: r["title"] for r in rows}
    named = [titles.get(x, x) for x in chosen]
    shown = "; ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    who = "this source answers" if len(named) == 1 else "these sources answer"
    return (
        f'<p class="muted" id="restricted">Only {who}: {esc(shown)} '
        "(Sources tab, “Restrict the next question”).</p>"
    )


def source_choices(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (f"{r['title']} ({r['year'] or 'n.d.'})", r["id"]) for r in sorted(rows, key=lambda r: r["title"])
    ]


def add_upload(
    url: str | None,
    upload: str | None,
    stance: str,
    kind: str,
    *,
    settings: Settings,
    progress: Any = None,
    write_questions: bool = False,
) -> str:
    """Add a source from a URL or an uploaded file through `add_source` (the CLI's path), with the
    document's own metadata; `write_questions`: the configured LLM writes the questions each passage
    answers (`add --write-questions`). Returns a notice; on failure nothing is changed (the upload copy
    removed)."""
    if settings.web.read_only:
        raise InterpRagError(READ_ONLY)
    if not (is_loopback(settings.web.host) or settings.web.private_urls):
        # any client of a shared instance could have it fetch an internal page and read it back
        settings = settings.model_copy(update={"fetch_private": False})
    llm = LLMClient.required(settings, "Writing questions") if write_questions else None
    location = (url or "").strip()
    location = paper_name_url(location) or location  # "arXiv:2301.05217", a DOI: the paper's URL
    kept: Path | None = None
    if upload and location:
        raise InterpRagError("Give a URL or a file, not both.")
    if location and not location.lower().startswith(("http://", "https://")):
        # A path typed here would be read on the server: any client could pull a file it can read (a
        # .env, someone's notes) into the index and then read it back as a passage.
        raise InterpRagError(
            "The URL box takes an http(s) URL, an arXiv id or a DOI; to add a file from your computer, "
            "choose it under the box."
        )
    if upload:
        # Gradio's upload folder is temporary: the source list must point at a copy that stays.
        kept = keep_copy(Path(upload), settings.sources_file.parent / UPLOADS)
        location = str(kept)
    if not location:
        raise InterpRagError(f"Paste a URL or choose a file ({readable_formats('or')}) to add.")

    def on_progress(stage: str, done: int, total: int, detail: str) -> None:
        if progress is not None:
            progress((done, total or 1), desc=f"{stage}: {detail}"[:60])

    try:
        report = add_source(  # the document's own title, authors and year are read with its text
            location,
            type=kind or None,
            stance=stance or UNKNOWN_STANCE,
            settings=settings,
            on_progress=on_progress,
            llm_questions=llm,
        )
    except InterpRagError as e:
        if kept is None:
            raise
        kept.unlink(missing_ok=True)
        # the file by the name the user chose, not by the server's copy of it
        raise type(e)(str(e).replace(str(kept), Path(upload or "").name)) from e
    except BaseException:
        if kept is not None:
            kept.unlink(missing_ok=True)
        raise
    src = added(settings, location)
    title = src.title if src else Path(location).name
    done = f"{report.chunks_total} chunks in the index, {report.chunks_embedded} newly embedded"
    if report.questions_written:
        n = report.questions_written
        done += f"; the LLM wrote {n} question{'s' if n != 1 else ''} for its passages"
    notes = "".join(f" Note: {w}" for w in report.warnings)
    return f"Added “{title}”: {done}.{notes}"


def keep_copy(upload: Path, folder: Path) -> Path:
    """A copy of `upload` in `folder` under its own name, numbered past the names taken ("notes-2.md").
    Each name is claimed by creating the file exclusively: two uploads of one name at the same moment (the
    app adds several at once) both took "notes.md", one overwrote the other, and the one then refused
    deleted the file the other source is listed with."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        kept = folder / (upload.name if n == 1 else f"{upload.stem}-{n}{upload.suffix}")
        try:
            out = kept.open("xb")
        except FileExistsError:
            n += 1
            continue
        try:
            with out, upload.open("rb") as src:
                shutil.copyfileobj(src, out)
        except BaseException:
            kept.unlink(missing_ok=True)
            raise
        return kept


def remove(source_id: str | None, *, settings: Settings) -> str:
    if settings.web.read_only:
        raise InterpRagError(READ_ONLY)
    if not source_id:
        raise InterpRagError("Choose the source to remove.")
    report = remove_source(source_id, settings=settings)
    return f"Removed {source_id}: the index now has {report.chunks_total} chunks."


# ---------------------------------------------------------------- layout and wiring


def layout_sources_tab(c: dict[str, Any], settings: Settings) -> None:
    rows = library_rows(settings)
    with gr.Row():
        c["lib_query"] = gr.Textbox(
            label="Search the sources",
            placeholder="Search title, author, year, id, note…",
            show_label=False,
            scale=4,
        )
        # "" is every stance / type: named so, not a blank row
        c["lib_stance"] = gr.Dropdown([("any stance", ""), *SOURCE_STANCES], value="",
                                      label="Stance", scale=1)  # fmt: skip
        kinds = sorted({*SOURCE_TYPES, *(r["type"] for r in rows)})
        c["lib_type"] = gr.Dropdown([("any type", ""), *kinds], value="", label="Type", scale=1)
    c["only_sources"] = gr.Dropdown(
        source_choices(rows),
        multiselect=True,
        label="Restrict the next question to these sources",
        info="Empty: all sources",
        elem_id="only-sources",
        # the choices of page load: a source added since (or removed) reaches the question's own check,
        # which names an unknown id, instead of Gradio's refusal of a value not among its choices
        allow_custom_value=True,
    )
    c["lib_notice"] = gr.HTML(elem_id="lib-notice")
    c["library"] = gr.HTML(render_library(rows), elem_id="library")
    c["can_edit"] = not settings.web.read_only
    if settings.web.read_only:  # not rendered, so neither shown nor reachable through the API
        gr.HTML(f'<p class="muted">{esc(READ_ONLY)}</p>')
        return
    with gr.Accordion("Add a source", open=True, elem_id="add-box"), gr.Row():
        c["add_url"] = gr.Textbox(
            label="URL", placeholder="https://…, arXiv:2301.05217 or a DOI", scale=3, elem_id="add-url"
        )
        c["add_file"] = gr.File(label="or a file", file_types=UPLOAD_TYPES, type="filepath", scale=2,
                                elem_id="add-file")  # fmt: skip
        with gr.Column(scale=1, min_width=160):
            c["add_stance"] = gr.Dropdown(list(SOURCE_STANCES), value=UNKNOWN_STANCE, label="Stance",
                                          info="If you know it", elem_id="add-stance")  # fmt: skip
            kinds = [
                ("from the document", ""),
                "paper",
                "blog",
                "essay",
                "docs",
                "review",
                "transcript",
                "other",
            ]
            c["add_type"] = gr.Dropdown(kinds, value="", label="Type")
            # shown only with an LLM to write them; always an input, so /add_source takes the same values
            c["add_questions"] = gr.Checkbox(False, label="LLM writes search questions",
                                             visible=bool(settings.llm.base_url),
                                             elem_id="add-questions")  # fmt: skip
            c["add"] = gr.Button("Add", variant="primary", elem_id="add")
    with gr.Accordion("Remove a source", open=False, elem_id="remove-box"), gr.Row():
        # nothing chosen at first: Gradio's Dropdown otherwise starts on the first choice, and one click on
        # Remove (or a /remove_source call without an id) removed that source
        c["remove_id"] = gr.Dropdown(source_choices(rows), value=None, label="Source", scale=4,
                                     elem_id="remove-id")  # fmt: skip
        c["remove"] = gr.Button("Remove", variant="stop", scale=1, elem_id="remove")


def wire_sources_tab(c: dict[str, Any], settings: Settings, demo: gr.Blocks) -> None:
    filters = [c["lib_query"], c["lib_stance"], c["lib_type"]]
    quiet = {"show_progress": "hidden", "api_visibility": "private"}

    def refresh(query: str = "", stance: str = "", kind: str = "") -> tuple[Any, ...]:
        rows = library_rows(settings)
        ch = source_choices(rows)
        out = [render_library(rows, query, stance, kind), gr.update(choices=ch)]
        return (*out, gr.update(choices=ch, value=None)) if c["can_edit"] else tuple(out)

    lib_outputs = [c["library"], c["only_sources"]] + ([c["remove_id"]] if c["can_edit"] else [])
    for comp in filters:
        comp.change(lambda *f: render_library(library_rows(settings), *f), filters, c["library"], **quiet)
    # a page opened later shows the sources as they are now, not as they were when the server started
    demo.load(refresh, None, lib_outputs, **quiet)
    c["only_sources"].change(
        lambda chosen: render_restriction(chosen, library_rows(settings)),
        c["only_sources"],
        c["restriction"],
        **quiet,
    )
    if not c["can_edit"]:
        return

    def keep_known(chosen: list[str] | None) -> list[str]:
        """The restriction without sources no longer in the library (one just removed)."""
        ids = {r["id"] for r in library_rows(settings)}
        return [x for x in chosen or [] if x in ids]

    @api_parameters(add_source_api)
    def on_add(url: Any, upload: Any, stance: Any, kind: Any, *rest: Any) -> tuple[Any, ...]:
        *f, write, progress = rest  # the list's filters, the checkbox, Gradio's progress tracker
        # after an add the form starts again; after a failure it keeps the URL, stance and type given, to
        # be corrected (a file that failed is no better a second time)
        form: tuple[Any, ...] = (gr.skip(), None, gr.skip(), gr.skip())
        try:
            done = add_upload(
                url, upload, stance, kind, settings=settings, progress=progress, write_questions=bool(write)
            )
            notice = render_notice("✓ " + done, "success")
            form = ("", None, UNKNOWN_STANCE, "")
        except InterpRagError as e:
            why = str(e).rstrip()
            notice = render_notice(
                f"{why}{'' if why.endswith(('.', '!', '?')) else '.'} Nothing was changed.", "error"
            )
        except Exception as e:
            log.exception("adding a source failed")
            why = f"Adding failed ({type(e).__name__}); see the server log. Nothing was changed."
            notice = render_notice(why, "error")
        return (notice, *refresh(*f), *form)

    @api_parameters(remove_source_api)
    def on_remove(source_id: Any, *f: Any) -> tuple[Any, ...]:
        try:
            notice = render_notice("✓ " + remove(source_id, settings=settings), "success")
        except InterpRagError as e:
            notice = render_notice(str(e), "error")
        return (notice, *refresh(*f))

    add_in = [c["add_url"], c["add_file"], c["add_stance"], c["add_type"], *filters, c["add_questions"]]
    add_out = [c["lib_notice"], *lib_outputs, c["add_url"], c["add_file"], c["add_stance"], c["add_type"]]
    shown = {"show_progress": "full", "show_progress_on": [c["lib_notice"]]}
    c["add"].click(on_add, add_in, add_out, api_name="add_source", **shown)
    c["remove"].click(on_remove, [c["remove_id"], *filters], [c["lib_notice"], *lib_outputs],
                      api_name="remove_source").then(keep_known, c["only_sources"], c["only_sources"],
                                                     **quiet)  # fmt: skip
