"""One Query value: every entry point (answer, answer_stream, retrieve, CLI, UI) validates through it."""

from __future__ import annotations

import pytest

from interp_rag.errors import ConfigError, QuestionError
from interp_rag.retrieval.query import Query
from interp_rag.settings import Settings


def test_a_query_is_normalised_once() -> None:
    q = Query("  Are probes useful?\x00 ", k=8.0, stance="skeptical", years=(2020, None), types=["essay"])
    assert q.question == "Are probes useful?"  # control characters and edges stripped
    assert (q.k, q.stance, q.years, q.types, q.sources) == (8, ("skeptical",), (2020, None), ("essay",), ())
    assert q.filtered and not Query("Are probes useful?").filtered
    assert Query("q?", k="5").k == 5  # digits from a form or an API client
    assert Query("q?", years=("2020.0", 2021.0)).years == (2020, 2021)  # a number box's whole number


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"k": "abc"}, r"k \(the number of passages\) must be a whole number, not 'abc'"),
        ({"k": 2.5}, "must be a whole number, not 2.5"),
        ({"k": True}, "must be a whole number, not True"),
        ({"k": 0}, "must be from 1 to 20; got 0"),
        ({"k": 10_000}, "must be from 1 to 20; got 10000"),
        ({"years": 2020}, r"years must be a pair \(first, last\)"),
        ({"years": ("a", "b")}, "A year must be a whole number, not 'a'"),
        ({"years": (2025, 2020)}, "Year range 2025-2020 is empty"),
        ({"years": (-5, None)}, "A year must be from 1 to 9999, not -5"),
        ({"years": (None, "0")}, "A year must be from 1 to 9999, not 0"),
        ({"stance": "sceptical"}, "Unknown stance 'sceptical': use enthusiastic, skeptical or neutral"),
        ({"types": ["essay", "tweet"]}, "Unknown source type 'tweet'"),
        ({"sources": 7}, "source id must be a name or a list of names"),
        # digits Python's str.isdigit takes and int() does not: a superscript, two signs, 5,000 digits
        ({"k": "²"}, "must be a whole number, not '²'"),
        ({"k": "--5"}, "must be a whole number, not '--5'"),
        ({"years": ("9" * 5000, None)}, "A year must be a whole number, not '9999"),
    ],
)
def test_bad_values_are_config_errors_that_say_what_to_do(kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Query("Are probes useful?", **kw)


@pytest.mark.parametrize("question", ["", " \n\t ", None, 42, "\x00\x07", "\ud800 sparse autoencoders"])
def test_bad_questions_are_question_errors(question: object) -> None:
    with pytest.raises(QuestionError):
        Query(question)  # type: ignore[arg-type]


def test_limits_come_from_the_settings() -> None:
    settings = Settings(web={"max_k": 50}, answer={"max_question_chars": 10})
    assert Query.of("Short one?", k=40, settings=settings).k == 40
    with pytest.raises(QuestionError, match="keep it under 10"):
        Query.of("A longer question?", settings=settings)
    with pytest.raises(ConfigError, match="from 1 to 20"):
        Query.of("Short one?", k=40)  # without settings: the default limit


def test_unknown_keywords_are_type_errors_naming_the_known_ones() -> None:
    with pytest.raises(TypeError, match="unexpected keyword.*kk.*k, stance, years, types, sources"):
        Query.of("Are probes useful?", kk=3)  # type: ignore[call-arg]


def test_questions_are_encoded_on_one_thread_and_the_builds_thread_count_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once torch is loaded (a server, a build), a question's vector is computed with QUERY_THREADS torch
    threads (another busy process made two threads 40x slower); questions asked at once from several
    threads leave torch as it was."""
    import threading

    import numpy as np
    import torch

    from interp_rag.ingest import embed
    from interp_rag.ingest.query_encoder import QueryEncoder

    torch.set_num_threads(2)
    seen: list[tuple[int, str | None]] = []
    real = QueryEncoder.encode

    def watching(self: QueryEncoder, text: str, backend: str | None = None) -> np.ndarray:
        seen.append((torch.get_num_threads(), backend))  # the real pass; records what it runs under
        return real(self, text, backend)

    monkeypatch.setattr(QueryEncoder, "encode", watching)
    vecs: list[np.ndarray] = []
    workers = [
        threading.Thread(target=lambda i=i: vecs.append(embed.encode_query(f"Are probes useful? {i}")))
        for i in range(6)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert seen and set(seen) == {(embed.QUERY_THREADS, "torch")}
    assert torch.get_num_threads() == 2
    assert len(vecs) == 6 and all(abs(float(np.linalg.norm(v)) - 1) < 1e-4 for v in vecs)
