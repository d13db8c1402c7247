"""The answer without an LLM: the most relevant sentences of the shown passages, each cited.

For a question of judgement ("Are SAEs useful?") a short paragraph per side, so a reader sees the
enthusiastic and the skeptical case at a glance; for a question of fact the best sentences first, then
what the other side's passages add. A sentence scores by the question's words it contains (weighted by
rarity), by its passage's relevance, and most of all by lying in the part of the passage whose expansion
question matched the user's question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .chunk import clean_for_embedding
from .types import Passage

_PARA = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*>#|]|\d+[.)]\s))")
_SENT_END = re.compile(r"(?<=[.!?])[\"”’)\]*]*\s+(?=[\"“‘(\[*]?[A-Z0-9])")
_SPEAKER = re.compile(r"^[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}\s*:\s+")
SIDE_LABELS = {"enthusiastic": "Enthusiastic sources", "skeptical": "Skeptical sources",
               "neutral": "Background and neutral sources"}  # fmt: skip
PER_GROUP = 3
PER_PASSAGE = 2
FOCUS_BONUS = 1.5
CORE_BONUS = 1.0  # a sentence of the retrieved chunk itself, not of its context


@dataclass
class Sentence:
    text: str
    num: int  # the passage's citation number
    pos: int  # order within the passage
    score: float
    stance: str


def idf_table(index: Any) -> tuple[dict[str, int], np.ndarray]:
    """Inverse document frequency of each BM25 term, from the BM25 index's own postings."""
    cached = getattr(index, "_idf", None)
    if cached is None:
        df = np.diff(np.asarray(index.bm25.scores["indptr"])).astype(np.float64)
        n = max(len(index.chunks), 1)
        cached = (index.bm25.vocab_dict, np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        index._idf = cached
    return cached


def sentences(text: str) -> list[tuple[str, int, int]]:
    """Whole, readable sentences of a passage with their offsets in it. Pieces cut by a chunk edge,
    questions (an interviewer's, usually), tables and speaker labels are left out."""
    out = []
    pos = 0
    for para in _PARA.split(text):
        base = text.find(para, pos)
        pos = base + len(para)
        start = 0
        for m in [*_SENT_END.finditer(para), None]:
            end = m.start() + 1 if m else len(para)
            raw = para[start:end]
            start = m.end() if m else start
            s = clean_for_embedding(raw).lstrip("-*> ").strip()
            s = re.sub(r"\s+([.,;:!?])", r"\1", _SPEAKER.sub("", s))  # no gap where markup was cut out
            if s.count("|") > 2 or not s:
                continue
            words = len(s.split())
            if (
                6 <= words <= 60
                and s[0].isupper()
                and s[-1] in '.!"”’)'
                and not s.rstrip('"”’)').endswith("?")
            ):
                out.append((s, base + para.find(raw), base + para.find(raw) + len(raw)))
    return out


def _scored(question: str, passages: list[Passage], index: Any) -> list[Sentence]:
    from .index import bm25_tokens

    q_terms = set(bm25_tokens(question))
    vocab, idf = idf_table(index) if index is not None else ({}, np.zeros(0))
    out = []
    for num, p in enumerate(passages, 1):
        focus = (p.focus[0] - p.start, p.focus[1] - p.start) if p.focus else None
        for pos, (s, a, b) in enumerate(sentences(p.text)):
            terms = set(bm25_tokens(s))
            hit = sum(idf[vocab[t]] for t in terms & q_terms if t in vocab) if len(idf) else 0.0
            lexical = hit / math.sqrt(len(terms)) if terms else 0.0
            in_focus = focus is not None and min(b, focus[1]) - max(a, focus[0]) > 0.5 * (b - a)
            in_core, stance = _own_chunk(index, p, p.start + (a + b) // 2)
            value = lexical + 3.0 * p.score + FOCUS_BONUS * in_focus + CORE_BONUS * in_core - 0.05 * pos
            out.append(Sentence(s, num, pos, value, stance if stance in SIDE_LABELS else "neutral"))
    return out


def _own_chunk(index: Any, p: Passage, offset: int) -> tuple[bool, str]:
    """Is the source offset inside the passage's retrieved chunk, and the stance of the chunk it is in.

    A passage shows its chunk with the sentences around it (context.py); those come from neighbouring
    chunks, whose own stance labels them: a critical aside before an upbeat paragraph stays critical."""
    pos = index.by_id.get(p.chunk_id) if index is not None else None
    if pos is None:
        return True, p.stance
    core = index.chunks[pos]
    if core.start <= offset < core.end:
        return True, p.stance
    step = 1 if offset >= core.end else -1
    j = pos + step
    while 0 <= j < len(index.chunks) and index.chunks[j].source_id == core.source_id:
        c = index.chunks[j]
        if c.start <= offset < c.end:
            return False, c.stance
        if (step > 0 and c.start > offset) or (step < 0 and c.end <= offset):
            break
        j += step
    return False, p.stance


def _pick(pool: list[Sentence], n: int, used: set[tuple[int, int]]) -> list[Sentence]:
    picks: list[Sentence] = []
    per: dict[int, int] = {}
    for s in sorted(pool, key=lambda x: -x.score):
        if (s.num, s.pos) in used or per.get(s.num, 0) >= PER_PASSAGE:
            continue
        picks.append(s)
        per[s.num] = per.get(s.num, 0) + 1
        used.add((s.num, s.pos))
        if len(picks) == n:
            break
    return sorted(picks, key=lambda x: (x.num, x.pos))  # reading order: by passage, then within it


def _paragraph(label: str, picks: list[Sentence]) -> str:
    return f"**{label}.** " + " ".join(f"“{s.text.strip(chr(34))}” [{s.num}]" for s in picks)


def compose_extractive(
    question: str, passages: list[Passage], missing: list[str], *, index: Any = None
) -> tuple[str, list[int]]:
    """Markdown answer and the passage numbers it cites (1-based, display order)."""
    from .answer import missing_sentence
    from .retrieve import is_judgement

    scored = _scored(question, passages, index)
    used: set[tuple[int, int]] = set()
    blocks: list[tuple[float, str, list[Sentence]]] = []
    stances = {s.stance for s in scored}
    if is_judgement(question):
        for side, label in SIDE_LABELS.items():
            picks = _pick([s for s in scored if s.stance == side], PER_GROUP, used)
            if picks:
                blocks.append((min(s.num for s in picks), label, picks))
        blocks.sort(key=lambda b: b[0])
        two_sided = {"enthusiastic", "skeptical"} <= stances
        lead = (
            "The sources disagree. Here is what each side says, in the authors' words:"
            if two_sided
            else "What the sources say, in the authors' words:"
        )
    else:
        best = _pick(scored, PER_GROUP, used)
        if best:
            blocks.append((0, "From the sources", best))
        for side in ("enthusiastic", "skeptical"):
            if side in {s.stance for s in best}:
                continue
            extra = _pick([s for s in scored if s.stance == side], 1, used)
            if extra:
                blocks.append((1, f"From the {side} side", extra))
        lead = "What the sources say, in the authors' words:"
    cited = sorted({s.num for _, _, picks in blocks for s in picks})
    parts = [lead] + [_paragraph(label, picks) for _, label, picks in blocks]
    if not blocks:  # passages with no whole sentence (tables, lists): point at them as they are
        lines = [f"- {clean_for_embedding(p.text)[:300]}… [{i}]" for i, p in enumerate(passages[:3], 1)]
        parts = ["The closest passages in the corpus:\n" + "\n".join(lines)]
        cited = list(range(1, min(3, len(passages)) + 1))
    tail = missing_sentence(missing)
    if tail:
        parts.append(tail)
    return "\n\n".join(parts), cited
