"""The question as asked: validated once, with clear messages."""

from __future__ import annotations

from typing import Any

from ..errors import QuestionError
from ..settings import AnswerSettings

MAX_QUESTION_CHARS = AnswerSettings().max_question_chars


def validate_question(question: Any, max_chars: int = MAX_QUESTION_CHARS) -> str:
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    q = question.strip()
    if not q:
        raise QuestionError("The question is empty: type a question about interpretability research.")
    if len(q) > max_chars:
        raise QuestionError(f"The question is {len(q):,} characters long; keep it under {max_chars:,}.")
    return q
