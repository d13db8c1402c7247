"""Citations: markers `[n]` in an answer's text checked against the passages shown."""

from __future__ import annotations

import re

from ..types import Citation, Passage

_MARKER = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")


def validate_citations(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Drop markers that point to no passage; normalise `[1, 3]` to `[1][3]`; list the cited numbers."""
    cited: list[int] = []

    def fix(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.split(r"[,;]", m.group(1))]
        good = [n for n in nums if 1 <= n <= n_passages]
        for n in good:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    fixed = _MARKER.sub(fix, text)
    # a removed marker leaves no stray space
    fixed = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", re.sub(r"[ \t]+([.,;:])", r"\1", fixed))
    return fixed.strip(), cited


def citations_for(numbers: list[int], passages: list[Passage]) -> list[Citation]:
    return [
        Citation(
            n, passages[n - 1].chunk_id, passages[n - 1].source_id, passages[n - 1].title, passages[n - 1].url
        )
        for n in numbers
    ]
