"""The web UI: ask a question, read a cited answer, see both sides' passages and where the sources stand.

Handlers are plain functions returning HTML strings (built in render.py from escaped text), testable
without a browser; `build_ui` only lays out and wires; `serve` builds or loads the index in the background.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
from rich.markup import escape
from starlette.middleware import Middleware

from ..answering.llm import LLMClient, resolve_llm
from ..answering.pipeline import answer_stream, check_choices
from ..errors import InterpRagError
from ..progress import console
from ..retrieval.query import Query
from ..settings import Settings, get_settings
from ..store.index import Index, index_stats
from ..types import SOURCE_TYPES, STANCES, Answer
from .access import BodyLimit, auth_pairs, check_address, exposure_warning
from .api import KnownEndpoints, api_parameters, ask_api, endpoints
from .library import layout_sources_tab, wire_sources_tab
from .render import (
    highlight,
    question_terms,
    render_answer,
    render_balance,
    render_card,
    render_column,
    render_markdown,
    render_mode,
    render_notice,
    safe_url,
)
from .sending import postprocessed
from .status import WAIT_FOR_INDEX_S, IndexStatus, prepare_index
from .workbench import EXTRAS, extras, layout_answer_tools, layout_history, record, wire_history

# Rendering helpers are part of the UI's tested surface; they live in render.py.
__all__ = [
    "IndexStatus",
    "View",
    "ask",
    "build_ui",
    "highlight",
    "launch_options",
    "poll",
    "prepare_index",
    "question_terms",
    "render_balance",
    "render_card",
    "render_column",
    "render_markdown",
    "render_mode",
    "render_notice",
    "safe_url",
    "serve",
]

log = logging.getLogger(__name__)

EXAMPLES = (
    "Are sparse autoencoders actually useful?",
    "Can interpretability detect a deceptive model?",
    "Is superposition a real phenomenon or an artifact?",
    "Does mechanistic interpretability scale to frontier models?",
    "What is activation patching?",
)


class View(NamedTuple):
    """What an answer updates, in the order of the outputs wired in `_wire`."""

    notice: str = ""
    answer: str = ""
    balance: str = ""
    enthusiastic: str = ""
    skeptical: str = ""
    neutral: str = ""


# ---------------------------------------------------------------- handlers


def ask(
    question: str,
    stance: list[str] | None = None,
    year_from: float | str | None = None,
    year_to: float | str | None = None,
    types: list[str] | None = None,
    k: float = 8,
    sources: list[str] | None = None,
    *,
    settings: Settings | None = None,
    index: Index | None = None,
    llm: LLMClient | bool | None = None,
    status: IndexStatus | None = None,
    on_final: Callable[[Answer, dict[str, Any], int], None] | None = None,
) -> Iterator[View]:
    """Yield Views: the answer while it streams, then the final answer, the balance and the cards.
    `sources`: only these source ids; `on_final(answer, filters, k)` sees the final Answer."""
    # A question asked while the index is built or loaded (Enter works while Ask is greyed out) waits for it
    # and is answered then; the status banner shows the progress meanwhile.
    if status is not None and not status.wait(WAIT_FOR_INDEX_S):
        late = (
            f"The index was not ready after {WAIT_FOR_INDEX_S / 60:.0f} minutes; see the server's terminal."
        )
        yield View(notice=render_notice(status.message() if status.error else late, "error"))
        return
    parts: list[str] = []
    last = time.monotonic()  # an answer complete within 0.1 s (extractive) is sent once, not streamed
    settings = settings or get_settings()
    try:
        query = Query.of(  # API clients can send anything: Query says what is wrong with it
            question,
            k=k or 8,
            stance=stance or None,
            years=None if year_from in (None, "") and year_to in (None, "") else (year_from, year_to),
            types=types or None,
            sources=sources or None,
            settings=settings,
        )
        stream = answer_stream(query, llm=llm, index=index, settings=settings)
        for delta in stream.deltas():
            parts.append(delta)
            if time.monotonic() - last > 0.1:  # re-render the partial answer at most ~10 times a second
                last = time.monotonic()
                yield View(answer=render_answer("".join(parts), query.k))
        final = stream.answer()
        if on_final is not None:
            filters = {"stance": list(query.stance), "years": query.years, "types": list(query.types)}
            on_final(final, {**filters, "sources": list(query.sources)}, query.k)
    except InterpRagError as e:
        yield View(notice=render_notice(str(e), "error"))
        return
    except Exception as e:  # a bug: the server log gets the traceback, the page one sentence
        log.exception("answering %r failed", question)
        yield View(
            notice=render_notice(f"Something went wrong ({type(e).__name__}); see the server log.", "error")
        )
        return
    ps, q, cited = final.passages, final.question, {c.number for c in final.citations}
    yield View(
        render_notice(final.notice, "warning"),
        render_answer(final.text, len(ps), final),
        render_balance(ps, final.missing_sides, list(stance or []), final.low_relevance),
        *(render_column(s, ps, q, cited) for s in STANCES),
    )


def poll(status: IndexStatus) -> tuple[str, Any, Any]:
    """The status banner, the Ask button and the polling timer while the index is built or loaded."""
    banner = render_notice(status.message(), "error" if status.error else "info")
    return banner, gr.update(interactive=status.ready), gr.Timer(active=not (status.ready or status.error))


# ---------------------------------------------------------------- layout, wiring, serving

CSS_FILE = Path(__file__).parents[1] / "data" / "ui.css"  # package data, beside the stance model
# a status region that announces answers, aria-busy while one streams, aria-expanded on accordions
JS_FILE = CSS_FILE.with_name("page.js")
NEVER = 10**12  # events between two analytics summaries (see quiet_gradio)
WELCOME = (
    '<div class="answer"><div class="answer-body"><p>Ask a question, or pick an example above. The answer '
    "cites numbered passages <b>[n]</b>; below it are the passages, enthusiastic and skeptical side by side."
    "</p></div></div>"
)


def theme() -> gr.themes.Base:
    # System fonts only: a local research tool should not fetch fonts from a third party, and works offline.
    fonts = {"font": ["ui-sans-serif", "system-ui", "sans-serif"], "font_mono": ["ui-monospace", "monospace"]}
    # Soft's light defaults fail WCAG's 4.5:1 for text: labels indigo-500 on indigo-100 (3.6:1), hints and
    # the slider's ends slate-400 on white (2.6:1), white on the indigo-500 Ask button and tab (4.5:1, 4.3:1).
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", **fonts).set(
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        body_text_color_subdued="*neutral_500",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        color_accent="*primary_600",
    )


def _layout(types: list[str], ready: bool, settings: Settings) -> dict[str, Any]:
    c: dict[str, Any] = {}
    gr.HTML(
        '<div id="hero"><h1>interp-rag</h1><p>Ask the mechanistic-interpretability literature. See what the '
        "enthusiastic and the skeptical sources say, side by side, with citations.</p></div>"
    )
    c["status"] = gr.HTML(elem_id="status")
    with gr.Tab("Ask", elem_id="tab-ask"):
        _layout_ask(c, types, ready, settings)
    with gr.Tab("Sources", elem_id="tab-sources"):
        layout_sources_tab(c, settings)
    c["timer"] = gr.Timer(1.0, active=not ready)
    return c


def _layout_ask(c: dict[str, Any], types: list[str], ready: bool, settings: Settings) -> None:
    max_k = settings.web.max_k
    with gr.Row(equal_height=True):
        hint = "Ask a question about interpretability research…"
        c["question"] = gr.Textbox(  # the label is not shown; the API's description reads it
            label="Question", placeholder=hint, show_label=False, scale=8, elem_id="question", autofocus=True
        )
        c["ask"] = gr.Button(
            "Ask", variant="primary", scale=1, min_width=90, interactive=ready, elem_id="ask"
        )
    with gr.Row(elem_id="examples"):
        c["examples"] = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
    with gr.Accordion("Filters", open=False), gr.Row():
        c["stance"] = gr.CheckboxGroup(
            list(STANCES), label="Passage stance", info="None ticked: all", elem_id="stance-filter"
        )
        c["types"] = gr.CheckboxGroup(
            types, label="Source type", info="None ticked: all", elem_id="type-filter"
        )
        # Empty means no limit. Text boxes, not gr.Number: Gradio shows an empty Number as 0 and then refuses
        # 0 as "less than minimum value 1900"; the Query built in ask() reads and checks the years.
        # One row of their own: wrapped with the others, "From year" sat beside the types on a phone and
        # "To year" a screen below it.
        with gr.Row(elem_id="years"):
            for key, label in (("year_from", "From year"), ("year_to", "To year")):
                c[key] = gr.Textbox(
                    label=label, placeholder="any", max_lines=1, min_width=100, elem_id=key.replace("_", "-")
                )
        c["k"] = gr.Slider(1, max_k, value=8, step=1, label="Passages (k)", elem_id="k")
    c["restriction"] = gr.HTML(elem_id="restriction")  # the Sources tab's restriction, said where one asks
    c["notice"] = gr.HTML(elem_id="notice")
    c["answer"] = gr.HTML(WELCOME, elem_id="answer")
    c["balance"] = gr.HTML(elem_id="balance")
    layout_answer_tools(c)
    with gr.Row(equal_height=False, elem_id="cols"):
        c["enthusiastic"] = gr.HTML(elem_id="col-enthusiastic")
        c["skeptical"] = gr.HTML(elem_id="col-skeptical")
    c["neutral"] = gr.HTML(elem_id="col-neutral")
    layout_history(c, settings)
    with gr.Accordion("Mode and index", open=False):
        c["mode"] = gr.HTML(elem_id="mode")


def _wire(
    demo: gr.Blocks,
    c: dict[str, Any],
    settings: Settings,
    index: Index | None,
    llm: LLMClient | bool | None,
    status: IndexStatus,
) -> None:
    inputs = [c["question"], c["stance"], c["year_from"], c["year_to"], c["types"], c["k"], c["only_sources"]]
    outputs = [c[name] for name in View._fields] + [c[name] for name in EXTRAS]
    context = {"settings": settings, "index": index, "llm": llm, "status": status}

    def on_final(a: Answer, filters: dict[str, Any], k: int, box: dict[str, Any]) -> None:
        box["answer"] = a
        if settings.history:
            record(settings, a, filters, k)

    # Each answer also updates the workbench (timeline, export, recent questions): EXTRAS after the View.
    # The values go out as Gradio would send them, made here (sending.py): the events say postprocess=False.
    @api_parameters(ask_api)
    def on_ask_streamed(*args: Any) -> Iterator[tuple[Any, ...]]:
        box: dict[str, Any] = {}
        skip = tuple(gr.skip() for _ in EXTRAS)
        for view in ask(*args, **context, on_final=lambda *a: on_final(*a, box)):
            more = extras(box["answer"], settings) if "answer" in box else skip
            yield postprocessed(outputs, (*view, *more))

    @api_parameters(ask_api)
    def on_ask_at_once(*args: Any) -> tuple[Any, ...]:
        box: dict[str, Any] = {}
        *_, last = ask(*args, **context, on_final=lambda *a: on_final(*a, box))
        return postprocessed(outputs, (*last, *extras(box.get("answer"), settings)))

    # Extractive answers arrive whole: a plain function spares Gradio's generator machinery (two thread
    # hops and a stream per request), which measured as a third of the server's CPU per question.
    on_ask = on_ask_streamed if resolve_llm(settings, llm) is not None else on_ask_at_once

    def on_load() -> tuple[str, Any, Any, str]:
        return (*poll(status), render_mode(settings, llm, index))

    progress = {"show_progress": "minimal", "show_progress_on": [c["answer"]], "postprocess": False}
    gr.on([c["ask"].click, c["question"].submit], on_ask, inputs, outputs, api_name="ask", **progress)
    # Housekeeping events show no progress timer: a status line flickering "0.1s" every second reads as noise.
    private = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}
    for button in c["examples"]:
        # the example's question is answered as /ask answers it, not through five more public endpoints; the
        # page itself puts it in the question box (a request to the server for that cost a round trip)
        button.click(None, button, c["question"], js="(q) => q", **private).then(
            on_ask, inputs, outputs, api_visibility="private", **progress
        )
    wire_sources_tab(c, settings, demo)
    wire_history(c, settings, index, outputs, demo)
    for event in (demo.load, c["timer"].tick):
        event(on_load, None, [c["status"], c["ask"], c["timer"], c["mode"]], **private)


def build_ui(
    settings: Settings | None = None,
    *,
    index: Index | None = None,
    llm: LLMClient | bool | None = None,
    status: IndexStatus | None = None,
) -> gr.Blocks:
    """The app. `index`: the Index to answer from (default: settings.index_dir, reloaded when a build swaps
    it); `llm`: None uses the settings, False forces extractive answers; `status`: the readiness of an
    index being built in the background. Launch it with `**launch_options(settings, demo)` (style, host,
    port, the API's checks)."""
    settings = settings or get_settings()
    status = status or IndexStatus(ready=True)
    try:  # the source types actually in the index, for the filter
        types = sorted({s.type for s in index.sources.values()}) if index else None
        types = types or sorted(index_stats(settings=settings)["sources_by_type"])
    except (InterpRagError, OSError, ValueError):
        types = []
    # every type a source can have: the API checks a value against the choices the page started with
    types = sorted({*SOURCE_TYPES, *types})
    with gr.Blocks(title="interp-rag · both sides of interpretability", analytics_enabled=False) as demo:
        _wire(demo, _layout(types, status.ready, settings), settings, index, llm, status)
    demo.queue(default_concurrency_limit=settings.web.concurrency)
    return demo


def launch_options(settings: Settings, demo: gr.Blocks | None = None) -> dict[str, Any]:
    """demo.launch()'s options: style, host, port, log-in, and the middleware that bounds request bodies
    (access.BodyLimit) and, given the app, checks calls to its API (api.KnownEndpoints)."""
    host, port = settings.web.host, settings.web.port
    middleware = [Middleware(BodyLimit, max_bytes=settings.web.max_request_bytes)]
    pairs = auth_pairs(settings.web.auth)
    # With a log-in, Gradio's own check comes first: a caller without it learns nothing of the endpoints.
    if demo is not None and not pairs:
        public = tuple(n.lstrip("/") for n in demo.get_api_info()["named_endpoints"])
        known = {"endpoints": endpoints(demo), "public": public, "events": len(demo.fns)}
        middleware.append(Middleware(KnownEndpoints, **known))
    opts = {
        "server_name": host,
        "server_port": port,
        "css": CSS_FILE.read_text(encoding="utf-8"),
        "theme": theme(),
        "js": JS_FILE.read_text(encoding="utf-8"),
        "show_error": True,
        "enable_monitoring": False,  # /monitoring/summary told anyone how many questions were asked
        "app_kwargs": {"middleware": middleware},
    }
    if pairs:  # Gradio's log-in page; every endpoint then needs the session
        opts["auth"] = pairs
    return opts


def quiet_gradio() -> None:
    """Gradio's environment for serving (set when serving, not on import; a value already set wins)."""
    # A local research tool reports to no one.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # After every event (each question, twice) Gradio's queue rebuilt a pandas table of the last 10,000 events
    # for its monitoring page, which launch_options turns off: 3-4 ms a question on a fresh server, ~15 ms
    # after 10,000 events. Read when the queue is made (build_ui), so set before it.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(NEVER))


def serve(settings: Settings | None = None) -> None:
    """`interp-rag serve` and `python app.py`: serve at once, build or load the index in the background."""
    settings = settings or get_settings()
    check_choices(settings)  # a misspelt answer mode or reranker stops here, not at every question
    quiet_gradio()
    check_address(settings.web.host, settings.web.port)
    warning = exposure_warning(settings)
    if warning:  # once, on the terminal (it was logged as well, so shown twice)
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    status = IndexStatus(ready=False)
    demo = build_ui(settings, status=status)
    threading.Thread(target=prepare_index, args=(settings, status), daemon=True, name="prepare-index").start()
    # quiet: Gradio's own lines advise share=True, which no user of the CLI or app.py can set
    demo.launch(**launch_options(settings, demo), quiet=True, prevent_thread_lock=True)
    console.print(f"Serving on {demo.local_url} (Ctrl-C stops)")
    demo.block_thread()
