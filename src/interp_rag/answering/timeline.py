"""The field over time: the sources relevant to a question, by year and side.

Computed from the relevant candidates of retrieval (every chunk that addresses the question), not only the
k passages shown, so a chart shows how the debate moved even where the answer quotes a few voices.
"""

from __future__ import annotations

from typing import Any

from ..store.index import Index
from ..types import STANCES as SIDES

# Timeline: {year: {"enthusiastic": n, "skeptical": n, "neutral": n,
#                   "sources": {"enthusiastic": [source ids], ...}, "titles": {source id: title}}},
# years ascending. The titles name the sources the answer does not show (a reader does not know ids).
Timeline = dict[int, dict[str, Any]]


def build_timeline(index: Index, positions: list[int]) -> Timeline:
    """Each source counts once, on the side of its most relevant chunk (`positions` are chunk positions,
    best first); sources without a year are left out (a chart has nowhere to put them)."""
    side_of: dict[str, str] = {}
    for pos in positions:
        c = index.chunks[pos]
        side_of.setdefault(c.source_id, c.stance if c.stance in SIDES else "neutral")
    out: Timeline = {}
    for sid, side in side_of.items():
        year = index.sources[sid].year
        if not year:
            continue
        row = out.setdefault(
            year, {**dict.fromkeys(SIDES, 0), "sources": {s: [] for s in SIDES}, "titles": {}}
        )
        row[side] += 1
        row["sources"][side].append(sid)
        row["titles"][sid] = index.sources[sid].title
    return {y: out[y] for y in sorted(out)}


def timeline_note(timeline: Timeline) -> str:
    """What to say instead of a chart: nothing dated, or a single year (a chart of one bar shows no
    movement). Empty when there is a chart to draw."""
    if not timeline:
        return "None of the sources relevant to this question has a year, so there is no timeline to draw."
    if len(timeline) == 1:
        ((year, row),) = timeline.items()
        counts = ", ".join(f"{row[s]} {s}" for s in SIDES if row[s])
        return (
            f"All the dated sources relevant to this question are from {year} ({counts}): "
            "no change over time to show."
        )
    return ""
