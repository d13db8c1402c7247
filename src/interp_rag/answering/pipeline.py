"""answer(): retrieve both sides, then write a cited answer with an LLM, or extractively without one."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any, Protocol, Unpack

from ..errors import ConfigError, InterpRagError, LLMError
from ..retrieval.query import Query, QueryOptions
from ..retrieval.rerank import get_reranker
from ..retrieval.retrieve import retrieve
from ..settings import AnswerSettings, Settings, given_settings
from ..store.index import Index, get_index, given_index
from ..types import SIDES, Answer, Passage
from .citations import citations_for, stray_citations, validate_citations
from .extractive import choose, compose_extractive
from .llm import LLMClient, resolve_llm
from .prompts import LOW_RELEVANCE, beyond_k_sentence, build_messages, missing_sentence
from .stance_pass import refine_stances
from .stream import AnswerStream
from .support import check_support
from .timeline import build_timeline

log = logging.getLogger(__name__)


class Composer(Protocol):
    def __call__(
        self,
        question: str,
        passages: list[Passage],
        missing: list[str],
        *,
        index: Index | None,
        params: AnswerSettings,
    ) -> tuple[str, list[int]]:
        """Markdown answer and the passage numbers it cites (1-based, display order)."""
        ...


# Answers without an LLM (and what replaces a failed LLM answer), by `settings.answer.mode`. A new mode is
# one module with a Composer function and one line here.
ANSWER_MODES: dict[str, Composer] = {
    "extractive": compose_extractive,
}


class AnswerOptions(QueryOptions, total=False):
    """The keywords of answer() and answer_stream(): a query's, and how to answer it."""

    llm: LLMClient | bool | None  # None: the configured LLM if any; False: extractive; or a client
    index: Index | None  # None: the index of settings.index_dir, loaded once per process
    settings: Settings | None  # None: from the environment


def answer_stream(question: str | Query, **options: Unpack[AnswerOptions]) -> AnswerStream:
    """The answer's text as it is written (str deltas), then the final `Answer`; `.answer()` gives the
    final Answer at once. Keywords as for `answer`.

    The final Answer's text is authoritative: its citations are validated, and if the LLM failed
    mid-answer it is the extractive answer instead (with `notice` saying why)."""
    plan = _plan(question, dict(options))  # a bad argument is refused here, not at the first next()
    return AnswerStream(_answer_items(*plan), plan[0].question)


def _plan(question: str | Query, options: dict[str, Any]) -> tuple[Query, Settings, Any, Index | None]:
    """The query, settings, LLM client and index (None: the settings' own) of one answer, every argument
    checked."""
    llm, index = options.pop("llm", None), options.pop("index", None)
    settings = options.pop("settings", None)
    settings, index = given_settings(settings), given_index(index)
    # `llm` is read (and checked) by resolve_llm
    client = resolve_llm(settings, llm)
    query = question if isinstance(question, Query) else Query.of(question, settings, **options)
    check_choices(settings)
    return query, settings, client, index


def _answer_items(
    query: Query, settings: Settings, client: Any, index: Index | None
) -> Iterator[str | Answer]:
    t0 = time.perf_counter()
    q = query.question
    index = index if index is not None else get_index(settings)
    r = retrieve(index, query, tuning=settings.retrieval)
    passages, missing = r.passages, r.missing_sides
    timings = dict(r.timings)
    if not passages:
        text = "No passage in the corpus matches this question" + (
            " with these filters." if query.filtered else "."
        )
        yield text
        yield Answer(q, text, [], [], "extractive", list(missing), timings=timings)
        return
    if r.low_relevance:  # nothing to ground an answer in: say so rather than quote unrelated passages
        text = LOW_RELEVANCE.format(filtered=" within these filters" if query.filtered else "")
        yield text
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        yield Answer(q, text, passages, [], "extractive", timings=timings, low_relevance=True)
        return
    timeline = build_timeline(index, r.relevant)  # not for a low-relevance answer: it shows no timeline
    notice = beyond_k_sentence(r.beyond_k, len(passages))  # as many as shown: a filter may leave fewer
    if client is not None:
        parts: list[str] = []
        notes: list[str] = []
        try:
            # a stance filter chose the passages by the index's labels: relabelling them would undo it
            if settings.llm.stance and not query.stance:
                passages, notice = refine_stances(
                    q, passages, client, passage_chars=settings.llm.passage_chars, prompts=settings.prompts
                )
                if any(p.stance_by == "llm" for p in passages):  # some labels are the LLM's now
                    missing = [s for s in SIDES if all(p.stance != s for p in passages)]
            # The LLM starts from the evidence an extractive answer would quote (same sentences, verdict).
            evidence = choose(q, passages, missing, index=index, params=settings.answer)
            messages = build_messages(
                q,
                passages,
                missing,
                passage_chars=settings.llm.passage_chars,
                prompts=settings.prompts,
                evidence=evidence,
            )
            reply = client.stream(messages)
            for delta in reply:
                parts.append(delta)
                yield delta
            written = "".join(parts)
            text, cited = validate_citations(written, len(passages))
            strays = stray_citations(written, len(passages))
            if getattr(reply, "finish_reason", None) == "length":
                text = finished_part(text, getattr(client, "max_tokens", None))
                cited = [n for n in cited if f"[{n}]" in text]
                notes.append(LENGTH_NOTE.format(limit=getattr(client, "max_tokens", "?")))
            if strays:
                shown = ", ".join(strays[:4]) + (" …" if len(strays) > 4 else "")
                notes.append(
                    f"The LLM cited passages that were not shown ({shown}); those markers were removed."
                )
            if not re.search(r"[^\W\d_]{2}", re.sub(r"\[\d+\]", "", text)):  # nothing but markers, or empty
                raise LLMError(f"The LLM at {getattr(client, 'where', '?')} returned no usable text.")
            if not cited:  # nothing in it can be checked against a source
                raise LLMError(
                    "The LLM's answer cited none of the shown passages (every claim must cite one), "
                    "so it cannot be checked."
                )
            checked = check_support(text, passages, index.idf_weights, settings.llm.min_support)
            if checked.unsupported_share > settings.llm.max_unsupported:
                raise LLMError(
                    f"{checked.unborne} of the LLM answer's {checked.checked} sentences have few of their "
                    "words in the passages they cite (or, uncited, in any shown passage), so it cannot be "
                    "checked against them."
                )
            text, cited = checked.text, checked.cited(len(passages))
            notice = " ".join(x for x in (notice, *notes, checked.notice()) if x)
            tail = missing_sentence(missing)
            if tail:
                text += "\n\n" + tail
            timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 2)
            yield Answer(
                q,
                text,
                passages,
                citations_for(cited, passages),
                "llm",
                list(missing),
                notice,
                model=str(getattr(client, "model", "")),
                timings=timings,
                timeline=timeline,
            )
            return
        except Exception as e:  # what the stance pass said (if anything) still holds
            if not isinstance(e, InterpRagError):  # a client of the caller's own that broke: still an answer
                log.exception("the LLM client failed")
                e = LLMError(f"The LLM client failed ({type(e).__name__}: {str(e)[:200]}).")
            notice = " ".join(x for x in (notice, f"{e} Showing an extractive answer instead.") if x)
            if parts:  # a reader of the stream saw the LLM's text: say it is withdrawn, and why
                yield f"\n\n---\n\n*{SET_ASIDE} {e}*"
    mode = settings.answer.mode
    text, cited = ANSWER_MODES[mode](q, passages, missing, index=index, params=settings.answer)
    if notice:
        yield "\n\n"
    yield text
    timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    cites = citations_for(cited, passages)
    yield Answer(q, text, passages, cites, mode, list(missing), notice, timings=timings, timeline=timeline)


SET_ASIDE = "The answer above is set aside; the answer from the passages follows."
LENGTH_NOTE = (
    "The LLM's answer reached its length limit ({limit} tokens, INTERP_RAG_LLM_MAX_TOKENS) and was cut; its "
    "unfinished last sentence is left out. Raise the limit for a complete answer."
)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*+(?:\s*+\[\d+\])*+")


def finished_part(text: str, limit: int | None = None) -> str:
    """An answer cut off at the model's token limit, up to its last finished sentence (with the citation
    markers that follow it): "…[1]. Studies indicate that" loses "Studies indicate that". LLMError when
    not one sentence was finished."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not ends:
        raise LLMError(
            f"The LLM's answer reached its length limit ({limit or '?'} tokens, INTERP_RAG_LLM_MAX_TOKENS) "
            "before it finished a sentence; raise the limit."
        )
    return text[: ends[-1]].rstrip()


def check_choices(settings: Settings) -> None:
    """The answer mode and the reranker the settings name are registered: the web app checks them when it
    starts (not at its first question, as answer() does), since the settings cannot see the registries."""
    if settings.answer.mode not in ANSWER_MODES:
        raise ConfigError(
            f"Unknown answer mode {settings.answer.mode!r}: set INTERP_RAG_ANSWER__MODE to one of "
            f"{', '.join(ANSWER_MODES)}."
        )
    get_reranker(settings.retrieval.reranker)


def answer(question: str | Query, **options: Unpack[AnswerOptions]) -> Answer:
    """A cited answer that shows the enthusiastic and the skeptical side.

    Keywords: `k` (passages, default 8); filters `stance` (passage stance), `years` (first, last; either
    may be None), `types`, `sources`; `llm`: None uses the configured LLM (INTERP_RAG_LLM_BASE_URL) if
    any, False forces the extractive answer, or pass an LLMClient; `index`: None loads the index from
    settings (cached per process); `settings`. `question` may be a `Query` (question, k and filters
    validated once); the query keywords are then ignored."""
    return answer_stream(question, **options).answer()
