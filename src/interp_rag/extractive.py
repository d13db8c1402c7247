"""The answer without an LLM: the most relevant sentences of the shown passages, a short cited paragraph
per side, so a reader sees the enthusiastic and the skeptical case at a glance."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from .chunk import clean_for_embedding
from .types import Passage

_SENT = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
GROUPS = (
    ("enthusiastic", "Enthusiastic sources"),
    ("skeptical", "Skeptical sources"),
    ("neutral", "Background and neutral sources"),
)
PER_GROUP = 3
PER_PASSAGE = 2


def idf_table(index: Any) -> tuple[dict[str, int], np.ndarray]:
    """Inverse document frequency of each BM25 term, from the BM25 index's own postings."""
    cached = getattr(index, "_idf", None)
    if cached is None:
        indptr = np.asarray(index.bm25.scores["indptr"])
        df = np.diff(indptr).astype(np.float64)
        n = max(len(index.chunks), 1)
        cached = (index.bm25.vocab_dict, np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        index._idf = cached
    return cached


def sentences(text: str) -> list[str]:
    """Whole, readable sentences of a passage (chunk edges can cut a sentence: those pieces are dropped)."""
    out = []
    paragraphs = [p for p in re.split(r"\n\s*\n|\n(?=\s*[-*>#|])", text) if p.strip()]
    for para in paragraphs:
        clean = clean_for_embedding(para)
        if clean.startswith("|") or clean.count("|") > 3:  # a table row
            continue
        for s in _SENT.split(clean):
            s = s.strip().lstrip("-*> ").strip()
            words = len(s.split())
            if 6 <= words <= 80 and s[0].isupper() and s[-1] in '.!?"”’)':
                out.append(s)
    return out


def score_sentence(sentence: str, q_terms: set[str], vocab: dict[str, int], idf: np.ndarray) -> float:
    from .index import bm25_tokens

    terms = set(bm25_tokens(sentence))
    if not terms:
        return 0.0
    hit = sum(idf[vocab[t]] for t in terms & q_terms if t in vocab)
    return hit / math.sqrt(len(terms))


def compose_extractive(
    question: str, passages: list[Passage], missing: list[str], *, index: Any = None
) -> tuple[str, list[int]]:
    """Markdown answer and the passage numbers it cites (1-based, display order)."""
    from .answer import missing_sentence
    from .index import bm25_tokens

    q_terms = set(bm25_tokens(question))
    vocab, idf = idf_table(index) if index is not None else ({}, np.zeros(0))
    scored: dict[str, list[tuple[float, int, int, str]]] = {g: [] for g, _ in GROUPS}
    for num, p in enumerate(passages, 1):
        group = p.stance if p.stance in scored else "neutral"
        for pos, s in enumerate(sentences(p.text)):
            lexical = score_sentence(s, q_terms, vocab, idf) if len(idf) else 0.0
            # Lexical overlap decides within a passage; the passage's rank keeps strong passages first.
            value = lexical + 3.0 * p.score - 0.05 * pos
            scored[group].append((value, num, pos, s))
    paragraphs: list[tuple[int, str]] = []
    cited: list[int] = []
    for group, label in GROUPS:
        picks: list[tuple[float, int, int, str]] = []
        per: dict[int, int] = {}
        for item in sorted(scored[group], key=lambda x: -x[0]):
            if per.get(item[1], 0) >= PER_PASSAGE:
                continue
            picks.append(item)
            per[item[1]] = per.get(item[1], 0) + 1
            if len(picks) >= PER_GROUP:
                break
        if not picks:
            continue
        picks.sort(key=lambda x: (x[1], x[2]))  # reading order: by passage, then within it
        body = " ".join(f"{_as_quote(s)} [{num}]" for _, num, _, s in picks)
        for _, num, _, _ in picks:
            if num not in cited:
                cited.append(num)
        paragraphs.append((min(x[1] for x in picks), f"**{label}.** {body}"))
    if not paragraphs:  # passages with no whole sentence (tables, lists): cite them as they are
        lines = [f"- {clean_for_embedding(p.text)[:300]}… [{i}]" for i, p in enumerate(passages[:3], 1)]
        paragraphs = [(1, "The closest passages:\n" + "\n".join(lines))]
        cited = list(range(1, min(3, len(passages)) + 1))
    paragraphs.sort(key=lambda x: x[0])
    lead = _lead(passages, missing)
    parts = [lead] + [p for _, p in paragraphs]
    tail = missing_sentence(missing)
    if tail:
        parts.append(tail)
    return "\n\n".join(x for x in parts if x), sorted(cited)


def _as_quote(sentence: str) -> str:
    return f"“{sentence.strip(chr(34))}”" if not sentence.startswith(("“", '"')) else sentence


def _lead(passages: list[Passage], missing: list[str]) -> str:
    stances = {p.stance for p in passages}
    if {"enthusiastic", "skeptical"} <= stances:
        return "The sources disagree. Here is what each side says, in the authors' words:"
    if missing and len(missing) == 2:
        return "The closest passages in the corpus, in the authors' words:"
    return "What the sources say, in the authors' words:"
