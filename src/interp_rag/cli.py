"""`interp-rag build|ask|add|remove|history|serve|stats|eval`: parse, call one library function, render."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from .cli_library import show_answer, user_errors
from .errors import ConfigError, InterpRagError
from .ingest.load import readable_formats
from .progress import (
    build_progress,
    console,
    out,
    print_report,
    render_live,
    safe,
)
from .settings import Settings, get_settings
from .text import strip_control
from .types import SOURCE_STANCES, SOURCE_TYPES, STANCES, UNKNOWN_STANCE


@click.group()
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index directory (INTERP_RAG_INDEX_DIR).")
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(path_type=Path),
    help="Source list (INTERP_RAG_SOURCES_FILE).",
)
@click.version_option(package_name="interp-rag")
@click.pass_context
def main(ctx: click.Context, index_dir: Path | None, sources_file: Path | None) -> None:
    """Ask questions of the interpretability literature; see both the enthusiastic and the skeptical side."""
    stop_like_ctrl_c()
    try:
        ctx.obj = get_settings(index_dir=index_dir, sources_file=sources_file)
    except InterpRagError as e:  # names the variable that holds the bad value
        raise click.ClickException(strip_control(str(e))) from e
    except Exception as e:  # e.g. an unreadable .env file
        raise click.ClickException(strip_control(f"Invalid setting: {e}")) from e


def stop_like_ctrl_c() -> None:
    """`kill PID`, a service manager's stop and a closed terminal (SIGTERM, SIGHUP) stop a command as Ctrl-C
    does: by default they ended the process on the spot, and a `remove` stopped in its build left the source
    list without the source and the index with it (the list is put back only when an exception unwinds)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:  # a handler someone installed stays (nohup's SIG_IGN too)
            signal.signal(sig, interrupt)


def question_writer(settings: Settings, wanted: bool) -> Any:
    """The LLM that writes questions (`--write-questions`), or None when not asked for."""
    from .answering.llm import LLMClient

    try:
        return LLMClient.required(settings, "--write-questions") if wanted else None
    except ConfigError as e:  # a flag that cannot be used as given: click's usage error (exit status 2)
        raise click.UsageError(str(e)) from e


@main.command()
@click.option(
    "--mirror",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory with the sources' files (e.g. ../shared/corpus); read before fetching URLs.",
)
@click.option("--full", is_flag=True, help="Re-read and re-chunk every source (cached vectors are reused).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
@click.option(
    "--write-questions",
    is_flag=True,
    help="Ask the configured LLM for the questions each passage answers, for every source that has none "
    "(sources you added; the shipped ones have theirs).",
)
@click.pass_obj
def build(settings: Settings, mirror: Path | None, full: bool, as_json: bool, write_questions: bool) -> None:
    """Build or update the index (incremental: only new or changed sources are embedded)."""
    from .store.build import build_index

    llm = question_writer(settings, write_questions)
    with user_errors(), build_progress() as progress:
        report = build_index(
            settings=settings, mirror=mirror, full=full, on_progress=progress, llm_questions=llm
        )
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        print_report(report)


@main.command()
@click.argument("locations", nargs=-1, required=True)
@click.option(
    "--id", "source_id", help="Stable id (lowercase letters, digits, ., _ and -); default: from the title."
)
@click.option("--title", help="Default: the document's own (PDF metadata, HTML meta tags, first heading).")
@click.option("--authors", help="Comma-separated author names (default: the document's own, if stated).")
@click.option("--year", type=int, help="Default: the document's own date, if stated.")
@click.option(
    "--type",
    "source_type",
    default=None,
    type=click.Choice(SOURCE_TYPES),
    help="Default: transcript for subtitles, paper for a paper (arXiv, or an abstract at its start), "
    "else other.",
)
@click.option(
    "--stance",
    default=UNKNOWN_STANCE,
    show_default=True,
    type=click.Choice(SOURCE_STANCES),
    help="The document's overall stance toward interpretability research, if you know it (unknown: its "
    "passages' stance is read from their own words alone).",
)
@click.option("--stance-note", default="", help="One sentence on why.")
@click.option(
    "--write-questions",
    is_flag=True,
    help="Ask the configured LLM for the questions each passage answers and index them with it (kept in "
    "the expansions folder; about one request per 4 passages).",
)
@click.pass_obj
def add(
    settings: Settings,
    locations: tuple[str, ...],
    source_id: str | None,
    title: str | None,
    authors: str | None,
    year: int | None,
    source_type: str | None,
    stance: str,
    stance_note: str,
    write_questions: bool,
) -> None:
    """Add URLs, local files or folders of them; one build for all. A file may be {formats}, or a paper's
    LaTeX source archive. A paper may also be named by its arXiv id (arXiv:2301.05217) or its DOI, and a
    reading list (.bib) adds the papers its entries point to.

    Each is listed as ok or failed with the reason; exit status 1 if any failed. Ctrl-C stops the add and
    changes nothing (exit status 130), unless the new index is already in use: then it stops only the
    deleting of old index versions, the add is reported as done, and the next build or add deletes them."""
    from .store.library import add_sources

    llm = question_writer(settings, write_questions)
    names = [a.strip() for a in authors.split(",") if a.strip()] if authors else None
    with user_errors(), build_progress() as progress:
        report = add_sources(
            list(locations),
            id=source_id,
            title=title,
            authors=names,
            year=year,
            type=source_type,
            stance=stance,
            stance_note=stance_note,
            settings=settings,
            on_progress=progress,
            llm_questions=llm,
        )
    for r in report.results:
        if r.ok:
            out.print(f"[green]ok[/]      {safe(r.id)}  {safe(r.title)}  ({safe(r.location)})")
        else:
            out.print(f"[red]failed[/]  {safe(r.location)}: {safe(r.reason)}")
    if report.skipped:  # a folder's files of other formats: said, not failed
        n = len(report.skipped)
        names = ", ".join(Path(f).name for f in report.skipped[:5]) + (" …" if n > 5 else "")
        out.print(f"[yellow]skipped[/] {n} file(s) of a format interp-rag does not read: {safe(names)}")
        if any(f.lower().endswith(".bib") for f in report.skipped):  # a paper's bibliography, most likely
            out.print("  (a .bib in a folder is not read; name it on its own to add the papers it lists)")
    if report.build is not None:
        print_report(report.build)
    if any(not r.ok for r in report.results):
        raise click.exceptions.Exit(1)


# the formats as the loaders' registry names them: a new format is listed with no edit here
add.help = (add.help or "").replace("{formats}", readable_formats("or"))


def _filters(
    stance: tuple[str, ...],
    year_from: int | None,
    year_to: int | None,
    types: tuple[str, ...],
    source: tuple[str, ...],
) -> dict[str, Any]:
    years = (year_from, year_to) if year_from is not None or year_to is not None else None
    return {
        "stance": list(stance) or None,
        "years": years,
        "types": list(types) or None,
        "sources": list(source) or None,
    }


filter_options = [
    click.option(
        "--stance",
        multiple=True,
        type=click.Choice(STANCES),
        help="Only passages of this stance (repeatable).",
    ),
    click.option("--year-from", type=int),
    click.option("--year-to", type=int),
    click.option("--type", "types", multiple=True, help="Only sources of this type (repeatable)."),
    click.option("--source", multiple=True, help="Only these source ids (repeatable)."),
]


def with_filters(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(filter_options):
        f = opt(f)
    return f


@main.command()
@click.argument("question")
@click.option(
    "--k", default=8, show_default=True, type=int, help="Passages to show (at most INTERP_RAG_WEB__MAX_K)."
)
@with_filters
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json", "bib"]),
    default="text",
    show_default=True,
    help="md: the answer, references and quoted passages as Markdown; json: the Answer (with its "
    "timeline); bib: BibTeX of the cited sources.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--plain",
    is_flag=True,
    help="Clean text, no markup or colour (the default when stdout is not a terminal).",
)
@click.option("--no-llm", is_flag=True, help="Extractive answer even if an LLM is configured.")
@click.pass_obj
def ask(
    settings: Settings,
    question: str,
    k: int,
    stance: tuple[str, ...],
    year_from: int | None,
    year_to: int | None,
    types: tuple[str, ...],
    source: tuple[str, ...],
    fmt: str,
    as_json: bool,
    plain: bool,
    no_llm: bool,
) -> None:
    """Answer QUESTION with cited passages from both sides ("-": read it from stdin)."""
    from .answering.history import record_answer
    from .answering.llm import resolve_llm
    from .answering.pipeline import answer_stream
    from .retrieval.query import Query

    if question == "-":  # the question from stdin, as a file or a heredoc gives it
        question = sys.stdin.read().strip()
    if as_json and fmt not in ("text", "json"):
        raise click.UsageError(f"--json and --format {fmt} ask for two formats; give one.")
    fmt = "json" if as_json else fmt
    llm = resolve_llm(settings, not no_llm)
    plain = plain or not _is_terminal()  # a pipe or a file gets text, never escape codes
    filters = _filters(stance, year_from, year_to, types, source)
    with user_errors():
        query = Query.of(question, k=k, settings=settings, **filters)
        stream = answer_stream(query, llm=llm or False, settings=settings)
        if fmt == "text" and not plain and llm is not None:
            render_live(stream)
        final = stream.answer()
        record_answer(settings, final, filters, k)
    show_answer(final, fmt, plain, on_screen=llm is not None)


def _is_terminal() -> bool:
    return sys.stdout.isatty()


@main.command(name="eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", default=8, show_default=True, type=int, help="Passages per question.")
@click.option(
    "--stance-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled passages (passage_stance_*.jsonl) to measure stance accuracy on.",
)
@click.option(
    "--run-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the run (shown passages per question) as JSON, for score.py.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def eval_cmd(
    settings: Settings, questions: Path, k: int, stance_file: Path | None, run_out: Path | None, as_json: bool
) -> None:
    """Retrieval metrics on QUESTIONS.jsonl (passage_recall, mrr, gold_coverage, both_sides_on_contested)
    and the extractive answer's (answer_evidence, sentences and duplicates per answer, sides' stance)."""
    from .evaluation import evaluate

    with user_errors():
        result = evaluate(questions, k=k, stance_file=stance_file, run_out=run_out, settings=settings)
    for warning in result.get("warnings", []):
        console.print(f"[yellow]warning:[/] {safe(warning)}")
    if as_json:
        out.print_json(json.dumps(result))
        return
    t = Table(title=f"{safe(questions.name)} (k={k})")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for key, value in result["retrieval"].items():
        if isinstance(value, dict):
            value = ", ".join(f"{a} {b}" for a, b in value.items())
        t.add_row(key, str(value))
    for key, value in result.get("answer", {}).items():
        if isinstance(value, dict):
            value = "; ".join(
                f"{a} {', '.join(f'{x} {y}' for x, y in b.items()) if isinstance(b, dict) else b}"
                for a, b in value.items()
            )
        t.add_row(f"answer {key}", str(value))
    if "stance" in result:
        st, hand = result["stance"], result["stance"]["hand_labelled"]
        t.add_row(f"stance accuracy, classifier ({st['passages']} passages)", str(st["accuracy"]))
        t.add_row(
            f"stance agreement, hand-labelled ({hand['passages']} passages, not the classifier)",
            str(hand["accuracy"]) if hand["passages"] else "none of these passages has a hand label",
        )
        t.add_row(
            "stance recall by label, classifier",
            ", ".join(f"{a} {b}" for a, b in result["stance"]["recall_by_label"].items()),
        )
    for key, value in result.get("latency_ms", {}).items():
        t.add_row(f"latency {key} (ms)", str(value))
    out.print(t)


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default 7860).")
@click.option(
    "--mirror",
    type=click.Path(path_type=Path, file_okay=False),
    help="Mirror directory used if the index has to be built first.",
)
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, mirror: Path | None) -> None:
    """Serve the web UI (builds the index first if there is none)."""
    from .web.app import serve as run_server

    if host:
        settings.web.host = host
    if port is not None:
        settings.web.port = port
    if mirror:
        settings.mirror = mirror
    with user_errors():
        run_server(settings)


def _register() -> None:
    # The library's commands (remove, history, sources, stats) live in cli_library.py to keep this small.
    from .cli_library import history, remove, sources, stats

    main.add_command(remove)
    main.add_command(history)
    main.add_command(stats)
    main.add_command(sources)


_register()

if __name__ == "__main__":
    main()
