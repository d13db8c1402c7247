"""The researcher's workbench under each answer in the web UI: the timeline of the answer's sources,
taking the answer away (copy as Markdown, download Markdown or BibTeX), and recent questions.

Handlers are plain functions (testable without a browser); `layout_*` create components and `wire_*` connect
them; app.py calls these. The Sources tab is web/library.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from ..answering.history import recent, record_answer, reopen
from ..answering.timeline import SIDES, timeline_note
from ..errors import InterpRagError
from ..settings import Settings
from ..text import digest
from ..types import STANCES, Answer
from .render import esc, render_answer, render_balance, render_column, render_notice

log = logging.getLogger(__name__)

SIDE_COLORS = {"enthusiastic": "#16a34a", "skeptical": "#ea580c", "neutral": "#7c93ad"}


# ---------------------------------------------------------------- the timeline


def timeline_frame(a: Answer | None) -> pd.DataFrame:
    """One row per year and side: how many relevant sources, and their titles (the bar's tooltip)."""
    rows = []
    if a is not None and len(a.timeline) > 1:
        shown = {p.source_id: p.title for p in a.passages}
        for year, row in a.timeline.items():
            titles = {**row.get("titles", {}), **shown}
            for side in SIDES:
                if row[side]:
                    ids = row["sources"][side]
                    names = "; ".join(titles.get(s, s) for s in ids)
                    rows.append({"year": str(year), "side": side, "sources": row[side], "titles": names})
    return pd.DataFrame(rows, columns=["year", "side", "sources", "titles"])


def render_timeline(a: Answer | None, years: list[int] | None = None) -> str:
    """Under the chart: each year's sources by side, each linked to its card when the answer shows one
    (else named by its title, its id on hover), or the sentence that replaces the chart (one year, nothing
    dated)."""
    if a is None or not a.passages:
        return ""
    note = timeline_note(a.timeline)
    if note:
        return f'<div class="timeline"><p class="timeline-note">{esc(note)}</p></div>'
    card = {}
    for n, p in enumerate(a.passages, 1):
        card.setdefault(p.source_id, (n, p))
    shown_years = [y for y in a.timeline if not years or int(y) in years]
    lines = []
    for year in shown_years:
        row = a.timeline[year]
        cells = []
        for side in SIDES:
            links = []
            for sid in row["sources"][side]:
                if sid in card:
                    n, p = card[sid]
                    links.append(f'<a class="tl-card" href="#passage-{n}">[{n}] {esc(p.title)}</a>')
                else:
                    title = row.get("titles", {}).get(sid) or sid
                    links.append(f'<span class="tl-source" title="{esc(sid)}">{esc(title)}</span>')
            if links:
                cells.append(f'<span class="tl-side"><i class="dot {side}"></i>{", ".join(links)}</span>')
        lines.append(f"<li><b>{esc(year)}</b> {' '.join(cells)}</li>")
    picked = f" · {', '.join(map(str, sorted(years)))} (double-click the chart for all)" if years else ""
    head = "Relevant sources by year" + picked
    summary = f'<p id="{CHART_SUMMARY}" class="vh">{esc(chart_summary(a))}</p>'
    listed = f'<div class="timeline-head">{head}</div><ul>{"".join(lines)}</ul>'
    return f'<div class="timeline">{summary}{listed}</div>'


CHART_SUMMARY = "timeline-summary"  # page.js points the chart's aria-describedby here


def chart_summary(a: Answer) -> str:
    """The chart in words, for a screen reader (the chart's own SVG read out as its axis ticks, legend and
    title run together): each year's bars, as the chart draws them."""
    years = [
        f"{year}: " + ", ".join(f"{row[side]} {side}" for side in SIDES if row[side])
        for year, row in a.timeline.items()
        if any(row[side] for side in SIDES)
    ]
    return "Relevant sources by year and side. " + "; ".join(years) + "."


# ---------------------------------------------------------------- taking the answer away


def export_files(a: Answer | None, markdown: str | None = None) -> tuple[str | None, str | None]:
    """The answer as a .md and a .bib file, for the download buttons (None before any answer). `markdown`:
    `a.to_markdown()` when the caller has it already."""
    if a is None or not a.passages:
        return None, None
    text, bibtex = markdown if markdown is not None else a.to_markdown(), a.to_bibtex()
    # One folder per distinct answer (named by its content): asking again reuses it, nothing piles up
    # per request, and two answers at once never overwrite each other's file. Inside Gradio's own file
    # folder, so Gradio serves them as they are: elsewhere it checked, hashed and copied both files into
    # that folder after every answer (~1 ms of the request, and every export on disk twice).
    folder = Path(get_upload_folder()) / "interp-rag-exports" / digest(text + bibtex)
    folder.mkdir(parents=True, exist_ok=True)
    md, bib = folder / "answer.md", folder / "answer.bib"
    md.write_text(text, encoding="utf-8")
    bib.write_text(bibtex, encoding="utf-8")
    return str(md), str(bib)


COPY_JS = """(md) => { const b = document.querySelector('#copy-md');
  const said = (ok) => { if (!b) return; b.dataset.label = b.dataset.label || b.innerText;
    b.innerText = ok ? 'Copied ✓' : 'Copy failed: use Download .md';
    setTimeout(() => { b.innerText = b.dataset.label; }, 1500); };
  if (!md) return [];
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(md).then(() => said(true), () => said(false));
  } else {  // plain http beyond localhost has no clipboard API: the older copy command
    const t = document.createElement('textarea'); t.value = md; document.body.appendChild(t); t.select();
    let ok = false; try { ok = document.execCommand('copy'); } catch (e) {} t.remove(); said(ok);
  }
  return []; }"""


# ---------------------------------------------------------------- history


def _short(question: str, most: int = 160) -> str:
    """A question as one line of the list: a 4,600-character question was an entry 726 px tall."""
    one = " ".join(question.split())
    return one if len(one) <= most else one[: most - 1].rstrip() + "…"


def history_choices(settings: Settings) -> list[tuple[str, int]]:
    try:
        return [
            (" · ".join(x for x in (_short(e.question), e.filters_line(), e.asked_at[5:16]) if x), e.id)
            for e in recent(settings, 15)
        ]
    except Exception:  # a broken history file must not break answering
        log.exception("reading the history failed")
        return []


def record(settings: Settings, a: Answer, filters: dict[str, Any], k: int) -> None:
    try:
        record_answer(settings, a, filters, k)
    except Exception:  # history is a convenience: an unwritable file costs it, not the answer
        log.exception("recording the question failed")


# ---------------------------------------------------------------- layout and wiring


def layout_answer_tools(c: dict[str, Any]) -> None:
    """Under the balance bar: the timeline chart and its list, then copy and download."""
    with gr.Group(elem_id="timeline-box"):
        c["timeline_plot"] = gr.BarPlot(
            timeline_frame(None),
            x="year",
            y="sources",
            color="side",
            color_map=SIDE_COLORS,
            title="The field over time: relevant sources by year and side",
            tooltip=["year", "side", "sources", "titles"],
            y_title="sources",
            height=220,
            elem_id="timeline-plot",
            visible=False,
        )
        c["timeline"] = gr.HTML(elem_id="timeline")
    c["shown"] = gr.State()  # the Answer on screen, for the chart's selection
    with gr.Row(elem_id="export"):
        c["markdown"] = gr.Textbox(visible=False, elem_id="answer-md")
        c["copy_md"] = gr.Button("Copy as Markdown", size="sm", elem_id="copy-md", interactive=False)
        # Shown and hidden together, by their row: an update of a button's props makes Gradio build the
        # button anew and its API schema with it (~0.6 ms each, every answer); a row has no schema.
        with gr.Row(elem_id="downloads", visible=False) as c["downloads"]:
            c["download_md"] = gr.DownloadButton("Download .md", size="sm", elem_id="download-md")
            c["download_bib"] = gr.DownloadButton("Download .bib", size="sm", elem_id="download-bib")


# `recent` stays last: wire_history updates everything but it.
EXTRAS = (
    "timeline_plot",
    "timeline",
    "markdown",
    "copy_md",
    "download_md",
    "download_bib",
    "downloads",
    "shown",
    "recent",
)


def extras(a: Answer | None, settings: Settings) -> tuple[Any, ...]:
    """The values of EXTRAS after an answer (or an error: everything cleared)."""
    frame = timeline_frame(a)
    has = a is not None and bool(a.passages)
    markdown = a.to_markdown() if a is not None and has else ""  # once: copied, and the .md file
    md, bib = export_files(a, markdown)
    return (
        gr.update(value=frame, visible=not frame.empty),
        render_timeline(a),
        markdown,
        gr.update(interactive=has),
        md,
        bib,
        gr.update(visible=has),
        a if has else None,
        gr.update(choices=history_choices(settings), value=None),
    )


def layout_history(c: dict[str, Any], settings: Settings) -> None:
    if not settings.history:
        c["recent"] = gr.Radio([], label="Recent questions", visible=False)
        return
    with gr.Accordion("Recent questions", open=False, elem_id="recent-box"):
        c["recent"] = gr.Radio(
            history_choices(settings), label="Recent questions", show_label=False, elem_id="recent"
        )


def wire_history(
    c: dict[str, Any], settings: Settings, index: Any, outputs: list[Any], demo: gr.Blocks
) -> None:
    """Choosing a recent question shows its answer again (re-read from the index). `outputs`: the ask
    event's (app.View's fields, then EXTRAS, the last of which is the recent-questions list)."""
    c["copy_md"].click(None, [c["markdown"]], None, js=COPY_JS, api_visibility="private")
    quiet = {"api_visibility": "private", "show_progress": "hidden"}

    def on_select(a: Answer | None, evt: gr.SelectData) -> str:
        # dragging across the bars selects years (Gradio gives the x values); their sources, linked to cards
        years = [int(y) for y in evt.index] if isinstance(evt.index, list) else None
        return render_timeline(a, years)

    c["timeline_plot"].select(on_select, c["shown"], c["timeline"], **quiet)
    c["timeline_plot"].double_click(render_timeline, c["shown"], c["timeline"], **quiet)
    if not settings.history:
        return

    skip2 = (gr.skip(), gr.skip())
    # a page opened later lists the questions asked since the server started
    demo.load(lambda: gr.update(choices=history_choices(settings), value=None), None, c["recent"], **quiet)

    def on_pick(entry_id: int | None) -> tuple[Any, ...]:
        if entry_id is None:
            return tuple(gr.skip() for _ in range(len(outputs) + 1))
        try:
            a = reopen(settings, int(entry_id), index=index)
        except InterpRagError as e:
            empty = (render_notice(str(e), "error"), "", "", "", "", "")  # an app.View
            return (*empty, *extras(None, settings)[:-1], *skip2)
        ps, cited = a.passages, {x.number for x in a.citations}
        view = (  # an app.View: notice, answer, balance, then the three columns
            render_notice(a.notice, "warning"),
            render_answer(a.text, len(ps), a),
            render_balance(ps, a.missing_sides, []),
            *(render_column(s, ps, a.question, cited) for s in STANCES),
        )
        out = extras(a, settings)
        return (*view, *out[:-1], gr.skip(), gr.update(value=a.question))

    c["recent"].input(on_pick, c["recent"], [*outputs[:-1], c["recent"], c["question"]], api_name="reopen")
