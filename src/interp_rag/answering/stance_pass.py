"""The optional LLM stance pass (INTERP_RAG_LLM_STANCE): one call relabels the shown passages' stance
relative to the question; a reply it cannot read leaves the index's labels."""

from __future__ import annotations

import re
from dataclasses import replace

from ..settings import PromptSettings
from ..types import STANCES, Passage
from .llm import LLMClient
from .llm_wire import load_json
from .prompts import stance_messages


def refine_stances(
    question: str,
    passages: list[Passage],
    client: LLMClient,
    *,
    passage_chars: int = 1200,
    prompts: PromptSettings | None = None,
) -> tuple[list[Passage], str]:
    """The passages with their stance relative to `question`, as the LLM reads them (one call for all), and
    a notice when its reply held no labels (then every passage keeps the index's label) or labels for only
    some of them. Raises LLMError when the LLM cannot be reached or answers with no text."""
    if not passages:
        return passages, ""
    messages = stance_messages(question, passages, passage_chars=passage_chars, prompts=prompts)
    reply = client.complete(messages)  # LLMError propagates: the caller falls back as for the answer
    labels = parse_labels(reply, len(passages))
    if labels is None:
        return passages, "Passage stances are the index's: the LLM's labels could not be read."
    notice = ""
    if len(labels) < len(passages):
        notice = (
            f"The LLM labelled the stance of {len(labels)} of the {len(passages)} passages; the others keep "
            "the index's labels."
        )
    return [
        replace(p, stance=labels[i], stance_by="llm") if i in labels else p for i, p in enumerate(passages)
    ], notice


def parse_labels(reply: str, n: int) -> dict[int, str] | None:
    """{passage position: label} from a reply holding a JSON object of number -> label; None if there is
    no such object. Numbers out of range and labels not in the three are ignored."""
    for m in re.finditer(r"\{[^{}]*\}", reply):
        data = load_json(m.group())  # None for what is not JSON, or nests past what the parser recurses
        if not isinstance(data, dict):
            continue
        out = {}
        for k, v in data.items():
            num = int(k) if re.fullmatch(r"[0-9]{1,4}", str(k).strip()) else 0  # not "²", not 5,000 digits
            label = str(v).strip().lower()
            if 1 <= num <= n and label in STANCES:
                out[num - 1] = label
        if out:
            return out
    return None
