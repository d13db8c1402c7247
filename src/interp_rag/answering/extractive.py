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

import numpy as np

from ..retrieval.policies import is_judgement
from ..settings import AnswerSettings
from ..store.index import Index
from ..text import BLOCK_BREAK, bm25_tokens, clean_for_embedding, split_sentences
from ..types import SIDES, Passage
from .prompts import missing_sentence

_SPEAKER = re.compile(r"^[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}\s*:\s+")
SIDE_LABELS = {"enthusiastic": "Enthusiastic sources", "skeptical": "Skeptical sources",
               "neutral": "Background and neutral sources"}  # fmt: skip


@dataclass
class Sentence:
    text: str
    num: int  # the passage's citation number
    pos: int  # order within the passage
    score: float
    stance: str


def sentences(text: str, params: AnswerSettings | None = None) -> list[tuple[str, int, int]]:
    """Whole, readable sentences of a passage with their offsets in it. Pieces cut by a chunk edge,
    questions (an interviewer's, usually), tables, speaker labels and sentences too short or too long to
    quote are left out."""
    params = params or AnswerSettings()
    out = []
    pos = 0
    for para in BLOCK_BREAK.split(text):
        base = text.find(para, pos)
        pos = base + len(para)
        for start, end in split_sentences(para):
            raw = para[start:end]
            s = clean_for_embedding(raw).lstrip("-*> ").strip()
            s = re.sub(r"\s+([.,;:!?])", r"\1", _SPEAKER.sub("", s))  # no gap where markup was cut out
            if s.count("|") > 2 or not s:
                continue
            words = len(s.split())
            if (
                params.min_words <= words <= params.max_words
                and s[0].isupper()
                and s[-1] in '.!"”’)'
                and not s.rstrip('"”’)').endswith("?")
            ):
                out.append((s, base + para.find(raw), base + para.find(raw) + len(raw)))
    return out


def _scored(
    question: str, passages: list[Passage], index: Index | None, params: AnswerSettings
) -> list[Sentence]:
    q_terms = set(bm25_tokens(question))
    vocab, idf = index.idf if index is not None else ({}, np.zeros(0))
    out = []
    for num, p in enumerate(passages, 1):
        focus = (p.focus[0] - p.start, p.focus[1] - p.start) if p.focus else None
        for pos, (s, a, b) in enumerate(sentences(p.text, params)):
            terms = set(bm25_tokens(s))
            hit = sum(idf[vocab[t]] for t in terms & q_terms if t in vocab) if len(idf) else 0.0
            lexical = hit / math.sqrt(len(terms)) if terms else 0.0
            in_focus = focus is not None and min(b, focus[1]) - max(a, focus[0]) > 0.5 * (b - a)
            in_core, stance = _own_chunk(index, p, p.start + (a + b) // 2)
            value = (
                lexical
                + params.relevance_weight * p.score
                + params.focus_bonus * in_focus
                + params.core_bonus * in_core  # a sentence of the retrieved chunk, not of its context
                - params.position_penalty * pos
            )
            out.append(Sentence(s, num, pos, value, stance if stance in SIDE_LABELS else "neutral"))
    return out


def _own_chunk(index: Index | None, p: Passage, offset: int) -> tuple[bool, str]:
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


def _pick(pool: list[Sentence], n: int, used: set[tuple[int, int]], per_passage: int) -> list[Sentence]:
    picks: list[Sentence] = []
    per: dict[int, int] = {}
    for s in sorted(pool, key=lambda x: -x.score):
        if (s.num, s.pos) in used or per.get(s.num, 0) >= per_passage:
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
    question: str,
    passages: list[Passage],
    missing: list[str],
    *,
    index: Index | None = None,
    params: AnswerSettings | None = None,
) -> tuple[str, list[int]]:
    """Markdown answer and the passage numbers it cites (1-based, display order)."""
    params = params or AnswerSettings()
    n, per = params.per_group, params.per_passage
    scored = _scored(question, passages, index, params)
    used: set[tuple[int, int]] = set()
    blocks: list[tuple[float, str, list[Sentence]]] = []
    stances = {s.stance for s in scored}
    if is_judgement(question):
        for side, label in SIDE_LABELS.items():
            picks = _pick([s for s in scored if s.stance == side], n, used, per)
            if picks:
                blocks.append((min(s.num for s in picks), label, picks))
        blocks.sort(key=lambda b: b[0])
        two_sided = set(SIDES) <= stances
        lead = (
            "The sources disagree. Here is what each side says, in the authors' words:"
            if two_sided
            else "What the sources say, in the authors' words:"
        )
    else:
        best = _pick(scored, n, used, per)
        if best:
            blocks.append((0, "From the sources", best))
        for side in SIDES:
            if side in {s.stance for s in best}:
                continue
            extra = _pick([s for s in scored if s.stance == side], 1, used, per)
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
