"""`interp-rag remove` and `interp-rag history`, registered on the main group by cli.py."""

from __future__ import annotations

import json

import click
from rich.markup import escape

from .answering import history as hist
from .errors import InterpRagError
from .progress import build_progress, console, out, print_report
from .settings import Settings
from .store.library import remove_source

# cli.py registers these on its group, so this module cannot import cli.py (its user_errors): a library
# error becomes click's one-line error here the same way.


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
    "--format", "fmt", type=click.Choice(["text", "md", "json", "bib"]), default="text", show_default=True
)
@click.option("--clear", "clear_all", is_flag=True, help="Forget every stored question.")
@click.pass_obj
def history(settings: Settings, limit: int, show_id: int | None, fmt: str, clear_all: bool) -> None:
    """Questions asked before (INTERP_RAG_HISTORY=false turns history off)."""
    try:
        if clear_all:
            out.print(f"Forgot {hist.clear(settings)} question(s).")
            return
        if show_id is not None:
            a = hist.reopen(settings, show_id)
            if fmt == "text":
                out.print(a.text, markup=False)
                if a.notice:
                    console.print(f"\n[yellow]note:[/] {escape(a.notice)}")
            else:
                text = {"json": lambda: json.dumps(a.to_dict(), indent=2), "md": a.to_markdown}
                click.echo({**text, "bib": a.to_bibtex}[fmt]().rstrip("\n"))
            return
        entries = hist.recent(settings, limit)
    except InterpRagError as e:
        raise click.ClickException(str(e)) from e
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if not settings.history:
        console.print("History is off (INTERP_RAG_HISTORY=false).")
    for e in entries:
        f = {k: v for k, v in e.filters.items() if k != "k"}
        extra = "  " + " ".join(f"{k}={v}" for k, v in f.items()) if f else ""
        out.print(
            f"#{e.id}  {e.asked_at}  {escape(e.question)}  [dim]({len(e.cited)} cited){escape(extra)}[/]"
        )
