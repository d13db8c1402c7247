"""Terminal output shared by the CLI and the web server's console: build progress bars and the build
report, and an answer rendered in the terminal (below both, so neither imports the other)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .text import outside_math, protect_math, strip_control
from .types import BuildReport

console = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

STAGE_LABEL = {
    "resolve": "reading sources",
    "pages": "reading pages",
    "questions": "LLM questions",
    "chunk": "chunking",
    "embed": "embedding",
    "expansions": "embedding questions",
    "write": "writing index",
}


def safe(value: object) -> str:
    """Text for rich markup: no control characters (a document's ESC sequences must not reach the
    terminal) and no markup."""
    return escape(strip_control(str(value)))


@contextmanager
def build_progress() -> Iterator[Callable[[str, int, int, str], None]]:
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console,
        transient=False,
        # a log file or a pipe gets the report, not the bars' last frames in box characters
        disable=not console.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int, detail: str) -> None:
            if total == 0:  # nothing to do in this stage (all cached): show it as done
                done, total, detail = 1, 1, "all cached"
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGE_LABEL.get(stage, stage), total=total, detail="")
            bar.update(tasks[stage], completed=done, total=total, detail=safe(detail[:40]))

        yield update


def print_report(report: BuildReport) -> None:
    if not report.changed:
        out.print(
            f"Index up to date ({report.chunks_total} chunks, {report.seconds:.2f} s): nothing to embed."
        )
    else:
        out.print(
            f"Built {report.index_dir}/ in {report.seconds:.1f} s: {len(report.sources_ok)} sources ok, "
            f"{len(report.sources_failed)} failed; chunks {report.chunks_total} total, "
            f"{report.chunks_embedded} embedded, {report.chunks_reused} reused."
        )
    if report.questions_written:
        n = report.questions_written
        out.print(f"The LLM wrote {n} question{'s' if n != 1 else ''} for the added passages.")
    if report.sources_removed:
        out.print(f"Removed from the index: {safe(', '.join(report.sources_removed))}")
    for warning in report.warnings:  # repairs done on the way (a damaged index, a corrupt cache)
        console.print(f"[yellow]warning:[/] {safe(warning)}")
    for sid, why in report.sources_failed.items():
        out.print(f"  [yellow]failed[/] {safe(sid)}: {safe(why)}")


def render_live(stream: Any, screen: Console | None = None) -> None:
    """An LLM answer rendered as markdown while it streams; the final (checked) text replaces it."""
    from rich.live import Live

    screen = screen or out
    parts: list[str] = []
    # Wrapped by rich, not soft-wrapped by the terminal: Live redraws by counting lines, and cropped every
    # line of a soft-wrapping console at the screen's width (the rest of each paragraph was lost).
    wrap, screen.soft_wrap = screen.soft_wrap, False
    try:
        with Live(Markdown(""), console=screen, refresh_per_second=8, vertical_overflow="visible") as live:
            for delta in stream.deltas(on_final=lambda a: live.update(Markdown(shown(a.text)))):
                parts.append(delta)
                live.update(Markdown(shown("".join(parts))))
    finally:
        screen.soft_wrap = wrap


_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\3(?![\w*])", re.S)


def shown(markdown: str) -> str:
    """An answer's markdown as the terminal renders it: no control characters, formulas as written."""
    return protect_math(strip_control(markdown))


def plain_text(markdown: str) -> str:
    """An answer's markdown as clean text: emphasis markers dropped, lists and [n] markers kept."""
    text = outside_math(  # a formula's "_" and "*" are no emphasis
        markdown, lambda t: _EMPHASIS.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(4), t)
    )
    return re.sub(r"^#{1,6}\s+", "", text, flags=re.M)


def stance_style(stance: str) -> str:
    return {"enthusiastic": "green", "skeptical": "red"}.get(stance, "blue")
