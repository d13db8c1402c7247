"""The query: a question, how many passages, and the filters, validated once with messages that say what
to do. `answer`, `answer_stream`, `retrieve`, the CLI and the UI all build one `Query`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from ..errors import ConfigError, QuestionError
from ..settings import AnswerSettings, Settings, WebSettings
from ..text import strip_control
from ..types import SOURCE_TYPES, STANCES

MAX_QUESTION_CHARS = AnswerSettings().max_question_chars
MAX_K = WebSettings().max_k

Years = tuple[int | None, int | None]
# Typed digits: ASCII only (str.isdigit takes "²"), one sign, and few enough for int() ("9" × 5,000 raises);
# "2020.0" as a form's number box may send a whole number, as the float 2020.0 is read
_DIGITS = re.compile(r"-?[0-9]{1,9}(?:\.0*)?")


class QueryOptions(TypedDict, total=False):
    """The keywords a question may come with (answer, answer_stream, retrieve): validated by Query."""

    k: int  # passages to show (default 8, at most settings.web.max_k)
    stance: list[str] | str | None  # only passages of these stances
    years: Years | None  # (first, last), either may be None
    types: list[str] | str | None  # only sources of these types
    sources: list[str] | str | None  # only these source ids


def validate_question(question: Any, max_chars: int = MAX_QUESTION_CHARS) -> str:
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    q = strip_control(question).strip()
    if any("\ud800" <= c <= "\udfff" for c in q):
        # a lone surrogate: bytes that were not UTF-8 (a terminal's argument, a JSON "\ud800"); no tokenizer
        # or page can take it
        raise QuestionError(
            "The question is not valid text (it holds bytes that are not UTF-8); type it again."
        )
    if not q:
        raise QuestionError("The question is empty: type a question about interpretability research.")
    if len(q) > max_chars:
        raise QuestionError(f"The question is {len(q):,} characters long; keep it under {max_chars:,}.")
    return q


def _whole(value: Any, what: str) -> int | None:
    """An int from an int, a whole float (a UI slider's 8.0) or digits; None for None or ""."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a whole number, not {value!r:.40}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    raise ConfigError(f"{what} must be a whole number, not {value!r:.40}.")


def _names(value: Any, what: str, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
    """A tuple of names from None, one name, or a list of names; each one of `allowed` if given."""
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)) or not all(isinstance(x, str) for x in items):
        raise ConfigError(f"{what} must be a name or a list of names, not {value!r}.")
    names = tuple(dict.fromkeys(x.strip() for x in items if x.strip()))
    if allowed is not None:
        known = tuple(allowed)
        bad = [x for x in names if x not in known]
        if bad:
            raise ConfigError(f"Unknown {what} {bad[0]!r}: use {', '.join(known[:-1])} or {known[-1]}.")
    return names


def _years(value: Any) -> Years | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(
            f"years must be a pair (first, last), either of which may be None; got {value!r}. "
            "For one year use (2020, 2020)."
        )
    lo, hi = (_whole(y, "A year") for y in value)
    for y in (lo, hi):
        if y is not None and not 1 <= y <= 9999:  # "-5" or "0" in a year box is a slip, not "any year"
            raise ConfigError(f"A year must be from 1 to 9999, not {y}.")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"Year range {lo}-{hi} is empty: the first year is after the last.")
    return None if lo is None and hi is None else (lo, hi)


@dataclass(frozen=True)
class Query:
    """What to retrieve. Construction validates and normalises every field (a bad value raises
    QuestionError or ConfigError); `max_k` and `max_chars` are the limits it was checked against."""

    question: str
    k: int = 8
    stance: tuple[str, ...] = ()
    years: Years | None = None
    types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    max_k: int = field(default=MAX_K, repr=False, compare=False)
    max_chars: int = field(default=MAX_QUESTION_CHARS, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalised values are set once, here
        set_(self, "question", validate_question(self.question, self.max_chars))
        k = _whole(self.k, "k (the number of passages)")
        if k is None or not 1 <= k <= self.max_k:
            raise ConfigError(f"k (the number of passages) must be from 1 to {self.max_k}; got {self.k!r}.")
        set_(self, "k", k)
        set_(self, "stance", _names(self.stance, "stance", STANCES))
        set_(self, "years", _years(self.years))
        set_(self, "types", _names(self.types, "source type", SOURCE_TYPES))
        set_(self, "sources", _names(self.sources, "source id"))

    @classmethod
    def of(cls, question: Any, settings: Settings | None = None, **options: Unpack[QueryOptions]) -> Query:
        """A Query from a question and its keywords, checked against the settings' limits (question
        length, most passages); without settings, the default limits."""
        unknown = sorted(set(options) - set(QueryOptions.__annotations__))
        if unknown:
            raise TypeError(f"unexpected keyword(s) {', '.join(unknown)}; a query takes {_KEYWORDS}")
        limits = {}
        if settings is not None:
            limits = {"max_k": settings.web.max_k, "max_chars": settings.answer.max_question_chars}
        return cls(question, **options, **limits)  # type: ignore[arg-type]

    @property
    def filtered(self) -> bool:
        return bool(self.stance or self.years or self.types or self.sources)


_KEYWORDS = ", ".join(QueryOptions.__annotations__)
