"""`interp-rag remove`, `history`, `sources` and `stats`, registered on the main group by cli.py, and
`user_errors`, the translation of library errors both modules use."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from .answering import history as hist
from .errors import InterpRagError
from .progress import build_progress, console, out, plain_text, print_report, safe, shown, stance_style
from .settings import Settings
from .store.catalogue import find_sources, list_sources, remove_source
from .text import strip_control
from .types import SOURCE_STANCES, SOURCE_TYPES, Answer


@contextmanager
def user_errors() -> Iterator[None]:
    """Library errors become one readable line and exit status 1, never a traceback."""
    try:
        yield
    except InterpRagError as e:
        raise click.ClickException(strip_control(str(e))) from e
    except KeyboardInterrupt:
        # By now the command has let go of everything (build lock, half-written version, cache connection).
        # Tearing down an interpreter with torch loaded costs ~2 s of CPU, half a minute on a busy machine:
        # a Ctrl-C exits at once instead.
        click.echo("Aborted!", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def show_answer(a: Answer, fmt: str, plain: bool, *, on_screen: bool = False) -> None:
    """An answer as `ask` and `history --show` print it: `fmt` md, json or bib byte-clean on stdout; text as
    markdown rendered for a terminal, or `plain` (a pipe, a file), then the numbered sources its [n] markers
    point at. `on_screen`: the text was rendered live as it streamed."""
    from .answering.prompts import LOW_RELEVANCE_LABEL

    if fmt != "text":  # byte-clean: straight to stdout, nothing rich may colour or wrap
        text = {"json": lambda: json.dumps(a.to_dict(), ensure_ascii=False, indent=2), "md": a.to_markdown}
        click.echo({**text, "bib": a.to_bibtex}[fmt]().rstrip("\n"))
        return
    heading = (LOW_RELEVANCE_LABEL if a.low_relevance else "Sources") if a.passages else ""
    if plain:
        click.echo(strip_control(plain_text(a.text)))
        if a.notice:
            click.echo(f"\nnote: {strip_control(a.notice)}", err=True)
        if heading:
            click.echo(f"\n{heading}")
    else:
        if not on_screen:
            out.print(Markdown(shown(a.text)))
        if a.notice:
            console.print(f"\n[yellow]note:[/] {safe(a.notice)}")
        if heading:
            out.print(f"\n[bold]{heading}[/]")
    cited = {c.number for c in a.citations}
    for i, p in enumerate(a.passages, 1):
        mark = "*" if i in cited else " "
        where = "".join(f" — {h}" for h in p.sections(1))
        how = {"llm": "(LLM)", "label": "(label)"}.get(p.stance_by, f"{p.stance_confidence:.2f}")
        if plain:
            line = f"{mark}[{i}] {p.title} ({p.year or 'n.d.'}){where}  {p.stance} {how}\n      {p.url}"
            click.echo(strip_control(line))
            continue
        out.print(
            f"{mark}[{i}] [bold]{safe(p.title)}[/] ({safe(p.year or 'n.d.')}){safe(where)}  "
            f"[{stance_style(p.stance)}]{safe(p.stance)} {how}[/]\n      {safe(p.url)}"
        )


# remove and history translate library errors themselves (without user_errors' quick exit on Ctrl-C).


@click.command()
@click.argument("source_id")
@click.pass_obj
def remove(settings: Settings, source_id: str) -> None:
    """Take SOURCE_ID out of the source list and the index (incremental: nothing is re-embedded)."""
    try:
        with build_progress() as progress:
            report = remove_source(source_id, settings=settings, on_progress=progress)
    except InterpRagError as e:
        raise click.ClickException(str(e)) from e
    print_report(report)


@click.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--show", "show_id", type=int, help="Answer question #ID again (re-read from the index).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json", "bib"]),
    default="text",
    show_default=True,
    help="With --show: as `ask --format`; json also lists the history.",
)
@click.option(
    "--plain", is_flag=True, help="With --show: clean text (the default when stdout is not a terminal)."
)
@click.option("--clear", "clear_all", is_flag=True, help="Forget every stored question (asks first).")
@click.option("--yes", is_flag=True, help="With --clear: do not ask.")
@click.pass_obj
def history(
    settings: Settings, limit: int, show_id: int | None, fmt: str, plain: bool, clear_all: bool, yes: bool
) -> None:
    """Questions asked before (INTERP_RAG_HISTORY=false turns history off)."""
    if clear_all and show_id is not None:
        raise click.UsageError("--clear forgets every question; it does not go with --show.")
    if fmt in ("md", "bib") and show_id is None:
        raise click.UsageError(
            f"--format {fmt} shows one answer: give --show ID (json or text list them all)."
        )
    try:
        if clear_all:
            n = len(hist.recent(settings, 1_000_000))
            if n and not yes:
                click.confirm(f"Forget all {n} stored question(s)?", abort=True, err=True)
            out.print(f"Forgot {hist.clear(settings)} question(s).")
            return
        if show_id is not None:
            a = hist.reopen(settings, show_id)
            show_answer(a, fmt, plain or not sys.stdout.isatty())
            return
        entries = hist.recent(settings, limit)
    except InterpRagError as e:
        raise click.ClickException(str(e)) from e
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    if not settings.history:
        console.print("History is off (INTERP_RAG_HISTORY=false).")
    for e in entries:
        extra = e.filters_line()
        out.print(
            f"#{e.id}  {e.asked_at}  {escape(e.question)}  [dim]({len(e.cited)} cited)"
            f"{escape('  ' + extra if extra else '')}[/]"
        )


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats(settings: Settings, as_json: bool) -> None:
    """Sources by stance and type, chunks, index size, model, when built."""
    from .store.index import index_stats

    with user_errors():
        st = index_stats(settings=settings)
    if as_json:
        out.print_json(json.dumps(st))
        return
    t = Table(show_header=False, box=None)
    for key in ("index_dir", "built_at", "model", "dense_index", "sources", "chunks"):
        t.add_row(key, safe(st[key]))
    t.add_row("chunking", safe(", ".join(f"{k}={v}" for k, v in (st["chunking"] or {}).items())))
    for key in ("sources_by_stance", "sources_by_type", "chunks_by_stance"):
        t.add_row(key.replace("_", " "), safe(", ".join(f"{k} {v}" for k, v in st[key].items())))
    t.add_row("size", f"{st['size_bytes'] / 1e6:.1f} MB")
    bare = st["sources_without_questions"]
    if bare:
        hint = " (with an LLM configured, `interp-rag build --write-questions` writes them)"
        t.add_row(
            "sources without questions",
            safe(f"{len(bare)}: {', '.join(bare[:5])}{' …' * (len(bare) > 5)}") + hint,
        )
    if st["failed"]:
        t.add_row("failed at last build", safe(", ".join(st["failed"])))
    if st["stale"]:
        t.add_row("[red]stale[/]", safe(st["stale"]))
    out.print(t)


@click.command()
@click.argument("query", required=False, default="")
@click.option("--stance", type=click.Choice(SOURCE_STANCES), help="Only sources of this stance.")
@click.option("--type", "kind", type=click.Choice(SOURCE_TYPES), help="Only sources of this type.")
@click.option("--json", "as_json", is_flag=True, help="Every field of each source, as JSON.")
@click.pass_obj
def sources(settings: Settings, query: str, stance: str | None, kind: str | None, as_json: bool) -> None:
    """The sources in the index, newest first: their ids (for `remove` and `ask --source`), titles, years,
    types, stances and chunks. QUERY keeps those whose id, title, authors, stance note or year hold it."""
    with user_errors():
        rows = list_sources(settings=settings)
    keep = find_sources(rows, query, stance or "", kind or "")
    if as_json:
        click.echo(json.dumps(keep, ensure_ascii=False, indent=2))
        return
    if not sys.stdout.isatty():  # for a pipe, one tab-separated line a source: cut -f1 gives the ids
        for r in keep:
            fields = (r["id"], r["year"] or "n.d.", r["type"], r["stance"], r["chunks"], r["title"])
            click.echo("\t".join(strip_control(str(f)).replace("\t", " ") for f in fields))
    elif keep:
        t = Table(box=None, header_style="bold")
        t.add_column("id", no_wrap=True)  # what `remove` and `ask --source` take: never cut
        t.add_column("title", overflow="fold", ratio=1)
        for name in ("year", "type", "stance", "chunks"):
            t.add_column(name, no_wrap=True)
        for r in keep:
            t.add_row(
                safe(r["id"]),
                safe(r["title"]),
                safe(r["year"] or "n.d."),
                safe(r["type"]),
                f"[{stance_style(r['stance'])}]{safe(r['stance'])}[/]",
                str(r["chunks"]),
            )
        out.print(t)
    # the count goes to stderr, so a pipe reads the sources only
    console.print(f"{len(keep)} of {len(rows)} sources" + ("" if keep else " match"), highlight=False)
