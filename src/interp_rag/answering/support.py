"""Does an LLM's answer say what the passages it cites say? Checked, not trusted.

`validate_citations` keeps the markers that point at a shown passage; it cannot see a marker that points at
the wrong one, or a quotation no passage holds. This module reads the answer sentence by sentence:

- a quotation (in “…” or "…", four words or more) must be in a shown passage, word for word once case and
  punctuation are set aside. One that a passage other than the cited ones holds gets that passage's marker
  beside it (the model cited the wrong number); one that no shown passage holds is marked as not found;
- a sentence with markers must share its content words with the passages it cites: the rarity-weighted
  share of its words (stop words out, stemmed) found in them is its support. A model paraphrases, so the
  bar is low (settings.llm.min_support, measured on people's paraphrases of the gold passages in
  `bench/citation_support.py`); a sentence below it is marked as unsupported by its markers. A sentence
  without a marker (every claim should have one) is held to the same bar against all shown passages;
- a line of a markdown blockquote ("> …") is a quotation, as are ‘…’ and the double quotes.

A word-level check: it cannot see a "not" added to a passage's own sentence.

What is marked stays in the answer (nothing the model wrote is lost); the notice says how much was marked,
and the pipeline falls back to the extractive answer when most checked sentences are unsupported
(settings.llm.max_unsupported). Code (inline or fenced) is not read for quotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..text import BLOCK_BREAK, bm25_tokens, split_sentences
from ..types import Passage

# Markers a sentence splitter left at the next sentence's start; matched at a position (no ^, which would
# mean the text's start).
_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_MARK = re.compile(r"\[(\d{1,4})\]")  # as validate_citations reads them: a longer number is no passage
# Blank runs are matched from their start only (the look-behind) and never given back (possessive): a long
# run of blanks tried at each of its positions made these searches quadratic (20,000 no-break spaces: 30 s).
_TRAILING_MARKS = re.compile(r"(?<!\s)\s*+(?:\[\d+\]\s*+)++[.!?]?\s*+$")
# A quotation: curly or straight double quotes around at least four words (a scare-quoted term is no quote).
# ‘…’ opens after a non-word character and closes before one: the ’ of "it’s" is an apostrophe.
_QUOTE = re.compile(r"“([^“”]+)”|\"([^\"\n]+)\"|(?<!\w)‘([^‘’]+)’(?!\w)")
_ELLIPSIS = re.compile(r"\.\s?\.\s?\.|…|\[\s*+(?:\.\.\.|…)\s*+\]")
# Inline code and fenced code blocks: strings in them are code, not quotations (masked before looking).
_CODE = re.compile(r"^```.*?(?:^```[^\n]*$|\Z)|`[^`\n]+`", re.M | re.S)
# An uncited sentence about the evidence itself ("No skeptical source addresses this.", "The passages
# disagree."), as the prompt asks a model to write when a side is missing, is no claim about the field.
_ABOUT_EVIDENCE = re.compile(r"\b(?:passages?|sources?)\b", re.I)
_WORDS = re.compile(r"[a-z0-9]+")
MIN_TERMS = 3  # content words a cited sentence needs before its support is judged
# An uncited sentence needs more: a model's framing ("As one review puts it:", "The sources disagree.") has
# few words of its own and is no claim.
MIN_UNCITED_TERMS = 5
QUOTE_WORDS = 4  # fewer words in quotes are a term or a title, not a quotation
# Share of a quotation's word pairs a passage must hold: a word changed or a typo mended still holds (one
# word in twelve costs two pairs of eleven); two changed words, or the same topic in other words, do not
# (bench/citation_support.py measures both).
QUOTE_HELD = 0.75


@dataclass
class Checked:
    """An LLM answer after the check: its text (markers corrected, marks added) and what was found."""

    text: str
    sentences: int = 0  # sentences with a citation marker
    uncited: int = 0  # sentences without one that have enough words to check
    unsupported: list[str] = field(default_factory=list)  # cited sentences their passages do not bear out
    unfounded: list[str] = field(default_factory=list)  # uncited sentences no shown passage bears out
    not_found: list[str] = field(default_factory=list)  # quotations no shown passage holds
    recited: list[str] = field(default_factory=list)  # quotations given the holding passage's marker

    def cited(self, n_passages: int) -> list[int]:
        """The passage numbers the checked text cites, in order of first use (corrections included)."""
        nums = (int(n) for n in _MARK.findall(self.text))
        return list(dict.fromkeys(n for n in nums if 1 <= n <= n_passages))

    @property
    def checked(self) -> int:
        return self.sentences + self.uncited

    @property
    def unborne(self) -> int:
        """Sentences the passages do not bear out, cited or not."""
        return len(self.unsupported) + len(self.unfounded)

    @property
    def unsupported_share(self) -> float:
        """The share of checked sentences that the passages do not bear out."""
        return self.unborne / self.checked if self.checked else 0.0

    def notice(self) -> str:
        """One sentence for the reader, or "" when everything checked out."""
        parts = []
        if self.not_found:
            n = len(self.not_found)
            parts.append(f"{n} quotation{'s' if n > 1 else ''} found in none of the shown passages")
        if self.unsupported:
            parts.append(
                f"{len(self.unsupported)} of {self.sentences} cited sentences with few of their words in the "
                "passages they cite"
            )
        if self.unfounded:
            n = len(self.unfounded)
            parts.append(
                f"{n} sentence{'s' if n > 1 else ''} without a citation that no shown passage bears out"
            )
        if self.recited:
            n = len(self.recited)
            parts.append(f"{n} quotation{'s' if n > 1 else ''} cited to the wrong passage (corrected)")
        if not parts:
            return ""
        return (
            "The LLM's answer was checked against the passages: "
            + "; ".join(parts)
            + " (marked in the text)."
        )


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def _grams(words: list[str], n: int = 2) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@lru_cache(maxsize=64)
def _passage_grams(text: str) -> frozenset[tuple[str, ...]]:
    """A passage's word pairs, read once per check however many quotations and sentences ask (a reply of
    thousands of them re-read every passage for each: 99 s for 1.8 MB)."""
    return frozenset(_grams(_words(text)))


@lru_cache(maxsize=64)
def _passage_terms(text: str) -> frozenset[str]:
    return frozenset(bm25_tokens(text))


def holds_quote(passage: str, quote: str) -> bool:
    """Does the passage hold the quotation, case and punctuation aside? Each part of a quotation cut with an
    ellipsis is looked for on its own; parts under four words are too short to tell and are not asked.
    `passage` is what a model may quote: the passage's text, and its title and headings."""
    grams = _passage_grams(passage)
    parts = [_words(p) for p in _ELLIPSIS.split(quote)]
    for part in (p for p in parts if len(p) >= QUOTE_WORDS):  # all parts too short: nothing to tell by
        want = _grams(part)
        if len(want & grams) < QUOTE_HELD * len(want):
            return False
    return True


def quotable(p: Passage) -> str:
    """What a model can quote from a passage: its title, its headings and its text (a title quoted is no
    invention)."""
    return "\n".join([p.title, *p.headings, p.text])


def quotations(sentence: str) -> list[tuple[str, int]]:
    """The quotations of a sentence (four words or more) and where each ends in it."""
    out = []
    for m in _QUOTE.finditer(sentence):
        body = _MARK.sub(" ", next(g for g in m.groups() if g is not None))  # a marker inside is no word
        if len(_words(body)) >= QUOTE_WORDS:
            out.append((body, m.end()))
    return out


def support(
    sentence: str, passages: list[str], weight: dict[str, float] | None = None, default: float | None = None
) -> float:
    """The rarity-weighted share of the sentence's content words that the passages hold (1 when it has too
    few to tell: "See [3].", "Probes mislead [1]."). `weight` maps a stemmed word to its idf; a word it
    lacks weighs `default`, else their median (a word the corpus never uses cannot be in a passage, and
    counts as much as a typical one)."""
    terms = set(bm25_tokens(_MARK.sub(" ", sentence)))
    if len(terms) < MIN_TERMS:
        return 1.0
    held = frozenset().union(*(_passage_terms(p) for p in passages)) if passages else frozenset()
    if default is None:
        default = float(np.median(list(weight.values()))) if weight else 1.0

    def w(t: str) -> float:
        return weight.get(t, default) if weight else 1.0

    total = sum(w(t) for t in terms)
    return sum(w(t) for t in terms & held) / total if total else 1.0


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of an answer, each with the markers that follow its full stop ("… so. [2][3] Next")."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for block in BLOCK_BREAK.split(text):
        base = text.find(block, pos)
        pos = base + len(block)
        for line in block.split("\n"):
            lbase = text.find(line, base)
            base = lbase + len(line)
            for a, b in split_sentences(line):
                a, b = lbase + a, lbase + b
                lead = _MARKERS.match(text, a)
                if lead and spans and lead.end() > a:
                    spans[-1] = (spans[-1][0], lead.end())
                    a = lead.end()
                if text[a:b].strip():
                    spans.append((a, b))
    return spans


def check_support(
    text: str,
    passages: list[Passage],
    weight: dict[str, float] | None = None,
    min_support: float = 0.25,
) -> Checked:
    """Check an answer whose markers already point at shown passages (`validate_citations`): quotations
    against every shown passage, cited sentences against the passages they cite, sentences without a
    marker against all of them. Returns the text with corrections and marks, and what was marked."""
    out = Checked(text)
    default = float(np.median(list(weight.values()))) if weight else 1.0
    masked = _CODE.sub(lambda m: " " * len(m.group()), text)  # same offsets, no code
    pieces: list[str] = []
    last = 0
    for a, b in _sentences(text):
        sentence = masked[a:b]
        if not sentence.strip():  # inside a code block
            continue
        cited = [int(n) for n in _MARK.findall(sentence) if 1 <= int(n) <= len(passages)]
        inserts: list[tuple[int, str]] = []  # (offset in the sentence, mark)
        # the passages the sentence is checked against: its cited ones with re-cited ones, or all of them
        bearers = dict.fromkeys(cited or range(1, len(passages) + 1))
        for quote, end in _quoted(text, a, sentence):
            holders = [i for i, p in enumerate(passages, 1) if holds_quote(quotable(p), quote)]
            if holders and (not cited or any(i in cited for i in holders)):
                continue  # where it says it is, or in some shown passage when it cites none
            if holders:
                out.recited.append(quote)
                inserts.append((end, "".join(f"[{i}]" for i in holders[:2])))
                bearers.update(dict.fromkeys(holders[:2]))
            else:
                out.not_found.append(quote)
                inserts.append((end, " _(quotation not found in the passages)_"))
        terms = len(set(bm25_tokens(_MARK.sub(" ", sentence))))
        checkable = terms >= (MIN_TERMS if cited else MIN_UNCITED_TERMS)
        checkable = checkable and (bool(cited) or not _ABOUT_EVIDENCE.search(sentence))
        out.sentences += bool(cited)
        out.uncited += not cited and checkable
        if (
            checkable
            and support(sentence, [passages[n - 1].text for n in bearers], weight, default) < min_support
        ):
            if cited:
                out.unsupported.append(text[a:b])
                ends = list(_MARK.finditer(sentence))
                which = "passages it cites" if len({m.group(1) for m in ends}) > 1 else "passage it cites"
                inserts.append((ends[-1].end(), f" _(few of its words are in the {which})_"))
            else:
                out.unfounded.append(text[a:b])
                inserts.append((len(sentence), " _(not found in the shown passages)_"))
        if inserts:
            pieces += [text[last:a], _insert(text[a:b], inserts)]
            last = b
    out.text = "".join([*pieces, text[last:]])
    return out


def _insert(sentence: str, inserts: list[tuple[int, str]]) -> str:
    """The sentence with each mark at its offset (offsets into the sentence as given; equal ones in order)."""
    out, at = [], 0
    for pos, mark in sorted(inserts, key=lambda x: x[0]):
        out += [sentence[at:pos], mark]
        at = pos
    return "".join([*out, sentence[at:]])


def _quoted(text: str, at: int, sentence: str) -> list[tuple[str, int]]:
    """The quotations of the sentence at offset `at` of `text`: those in quotation marks, or, on a markdown
    blockquote line ("> …"), the sentence itself (its end before any marker)."""
    line_start = text.rfind("\n", 0, at) + 1
    if text[line_start:at].lstrip().startswith(">") or sentence.lstrip().startswith(">"):
        body = _MARK.sub("", sentence).lstrip("> ").strip()
        if len(_words(body)) >= QUOTE_WORDS:
            end = m.start() if (m := _TRAILING_MARKS.search(sentence)) else len(sentence)
            return [(body, end)]
    return quotations(sentence)
