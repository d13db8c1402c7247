"""Citations: markers `[n]` in an answer's text checked against the passages shown (in whatever form a
model writes them)."""

from __future__ import annotations

import re

from ..types import Citation, Passage

# A citation marker in any of the forms models write: [1], [1, 3], [1; 3], [2-4], [passage 2], [Passages 1
# and 3], 【2】, [^2]. The quantifiers are possessive (`*+`, `++`): white space that one `\s*` took is not
# handed to the next when a match fails, which made an unclosed "[1,  1,  1, …" of a reply take time
# exponential in its length (14 items: 2.9 s; docs/benchmarks.md, Nineteenth pass).
_NUM = r"(?:passages?|sources?|p\.)?+\s*+\d++"
_MARKER = re.compile(
    rf"(?:\[\^?|【)\s*+(?P<body>{_NUM}(?:\s*+(?:[,;&]|\band\b|[-–—]|to)\s*+{_NUM})*+)\s*+(?:\]|】)", re.I
)
_GONE = "\x00"  # stands in for a removed marker while the text around it is tidied
_JOIN = r"\s*(?:[,;&]|\band\b|\bor\b)?\s*"


def validate_citations(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Keep the markers that point at a shown passage, as `[n]`; remove the rest cleanly; list the cited
    numbers in order of first use.

    Models write citations many ways: `[1, 3]`, `[1; 3]`, ranges `[2-4]`, `[passage 2]`, `【2】`, footnote
    style `[^2]`. A range is kept only when both ends point at passages. A removed marker takes the word or
    comma that joined it to a neighbouring marker with it, so "[1] and [99] and [98]" becomes "[1]", not
    "[1] and and". A bracketed year (`[2020]`) is not a citation and stays."""
    cited: list[int] = []

    def fix(m: re.Match[str]) -> str:
        if _is_year(m):
            return m.group(0)  # a year, not a citation
        good, _ = _numbers(m.group("body"), n_passages)
        for n in good:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in good) or _GONE

    fixed = _MARKER.sub(fix, text)
    # A removed marker beside another marker goes with the connector between them.
    before = None
    while before != fixed:
        before = fixed
        fixed = re.sub(rf"{_GONE}(?:{_JOIN})?(?={_GONE}|\[\d+\])", "", fixed)
        fixed = re.sub(rf"(?<=\])(?:{_JOIN})?{_GONE}", "", fixed)
    fixed = fixed.replace(_GONE, "")
    fixed = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", fixed)  # "[1][1][1]" cites once
    fixed = re.sub(r"\(\s*(?:(?:see|cf\.?|e\.g\.,?)\s*)?\)", "", fixed, flags=re.I)  # "(see [99])"
    # from the start of a run of blanks only: tried at every blank of a long run, the search was quadratic
    fixed = re.sub(r"(?<![ \t])[ \t]++([.,;:!?)])", r"\1", fixed)
    fixed = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", fixed)
    return fixed.strip(), cited


def _is_year(m: re.Match[str]) -> bool:
    return bool(re.fullmatch(r"\s*(1[89]|20)\d\d\s*", m.group("body"))) and m.group(0).startswith("[")


def _numbers(body: str, n_passages: int) -> tuple[list[int], int]:
    """The passage numbers a marker's body points at (in order, once each), and how many of its parts
    point at none."""
    good: list[int] = []
    bad = 0
    for part in re.split(r"\s*(?:[,;&]|\band\b)\s*", body.strip()):
        # a number of more than four digits is no passage (and int() refuses 4,300 digits and more)
        nums = [int(x) if len(x) <= 4 else 0 for x in re.findall(r"\d+", part)]
        if not nums:
            continue
        lo, hi = nums[0], nums[-1]
        if lo > hi or lo < 1 or hi > n_passages:
            bad += 1  # an out-of-range number, or a range that reaches past the passages
            continue
        good.extend(range(lo, hi + 1))
    return list(dict.fromkeys(good)), bad


def stray_citations(text: str, n_passages: int) -> list[str]:
    """The markers (as written) that point, wholly or in part, at no shown passage: validate_citations
    removes those parts, and the reader is told it did."""
    return list(
        dict.fromkeys(
            m.group(0)
            for m in _MARKER.finditer(text)
            if not _is_year(m) and _numbers(m.group("body"), n_passages)[1]
        )
    )


def citations_for(numbers: list[int], passages: list[Passage]) -> list[Citation]:
    return [
        Citation(
            n, passages[n - 1].chunk_id, passages[n - 1].source_id, passages[n - 1].title, passages[n - 1].url
        )
        for n in numbers
    ]
