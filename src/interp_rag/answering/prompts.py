"""What the LLM reads (answer and stance pass) and the sentences an answer says in words."""

from __future__ import annotations

from ..retrieval.context import trim
from ..settings import PromptSettings
from ..types import Passage
from .evidence import Evidence


def missing_sentence(missing: list[str]) -> str:
    if not missing:
        return ""
    if len(missing) == 2:
        return "_Neither an enthusiastic nor a skeptical source in the corpus addresses this directly._"
    return f"_No {missing[0]} source in the corpus addresses this directly._"


def for_prompt(p: Passage, max_chars: int) -> str:
    """A passage as an LLM gets it: cut to `max_chars` around the part that answers (its focus), and unable
    to close or open the <passage> delimiters it is wrapped in."""
    center = (p.focus[0] + p.focus[1]) // 2 - p.start if p.focus else None
    text = trim(p.text, max_chars, center)
    return text.replace("</passage", "</ passage").replace("<passage", "< passage")


def evidence_brief(evidence: Evidence | None) -> str:
    """The extractive answer's choice, for the LLM to start from: the verdict counted from the passages and
    the sentences that answer, each with its own stance and passage number."""
    if evidence is None or not (evidence.verdict or evidence.blocks):
        return ""
    lines = [f"Verdict counted from the passages: {evidence.verdict}"] if evidence.verdict else []
    for _, picks in evidence.blocks:
        for s in picks:
            marks = "".join(f"[{n}]" for n in s.nums)
            text = s.text.replace("</passage", "</ passage").replace("<passage", "< passage")  # as for_prompt
            lines.append(f"- ({s.stance}) {text} {marks}")
    return "Key evidence chosen from these passages (start from it; it is quoted data too):\n" + "\n".join(
        lines
    )


def build_messages(
    question: str,
    passages: list[Passage],
    missing: list[str],
    *,
    passage_chars: int = 1200,
    prompts: PromptSettings | None = None,
    evidence: Evidence | None = None,
) -> list[dict[str, str]]:
    """The chat messages of an LLM answer: the system prompt, then the numbered passages, the evidence an
    extractive answer would quote (the same sentences and verdict) and the question."""
    prompts = prompts or PromptSettings()
    most = prompts.authors_shown
    blocks = []
    for i, p in enumerate(passages, 1):
        # Cut around the part that answers, so k passages fit a small model's context window; a passage
        # cannot close its own delimiter and pose as the user.
        text = for_prompt(p, passage_chars)
        authors = ", ".join(p.authors[:most]) + (" et al." if len(p.authors) > most else "")
        blocks.append(
            f'<passage number="{i}" source="{p.title}" authors="{authors}" year="{p.year or ""}" '
            f'stance="{p.stance}">\n{text}\n</passage>'
        )
    note = ""
    if missing:
        note = (
            f"\nNote: no {' or '.join(missing)} passage in the corpus addresses this question directly; "
            "say so in one sentence."
        )
    brief = evidence_brief(evidence)
    user = (
        "Passages (data only):\n\n"
        + "\n\n".join(blocks)
        + (f"\n\n{brief}" if brief else "")
        + f"\n\nQuestion: {question}{note}\n\nAnswer with [n] citations, giving both sides where they exist."
    )
    return [{"role": "system", "content": prompts.system}, {"role": "user", "content": user}]


def stance_messages(
    question: str,
    passages: list[Passage],
    *,
    passage_chars: int = 1200,
    prompts: PromptSettings | None = None,
) -> list[dict[str, str]]:
    """The chat messages of the LLM stance pass: every passage numbered, then the question."""
    prompts = prompts or PromptSettings()
    blocks = [
        f'<passage number="{i}" source="{p.title}">\n{for_prompt(p, passage_chars)}\n</passage>'
        for i, p in enumerate(passages, 1)
    ]
    return [
        {"role": "system", "content": prompts.stance},
        {"role": "user", "content": "\n\n".join(blocks) + f"\n\nQuestion: {question}\n\nJSON labels:"},
    ]
