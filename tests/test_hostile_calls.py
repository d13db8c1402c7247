"""Careless calls of the library and the CLI (a fuzzing pass found each): a wrong collaborator, a question
that is not valid text, a damaged history row, a question or stance file that is not what `eval` reads,
one string where a list of passages belongs. Each is one clear error, never a traceback."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from interp_rag import answer, classify_stance
from interp_rag.answering.history import get_entry, recent, record_answer, reopen
from interp_rag.cli import main
from interp_rag.errors import ConfigError, QuestionError
from interp_rag.evaluation import QUESTION_FIELDS, STANCE_FIELDS, load_jsonl
from interp_rag.settings import Settings
from interp_rag.store.index import load_index
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"llm": "yes"}, "llm must be an LLMClient, True, False or None, not 'yes'"),
        ({"index": "index/"}, "index must be an Index, as load_index"),
        ({"settings": "x"}, "settings must be an interp_rag.Settings"),
        ({"settings": {}}, "settings must be an interp_rag.Settings"),  # was silently the defaults
    ],
)
def test_a_collaborator_of_the_wrong_kind_is_named(kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        answer("Are linear probes useful?", **kw)


def test_a_question_that_is_not_valid_text_is_refused_everywhere(mini_settings: Settings) -> None:
    with pytest.raises(QuestionError, match="not valid text"):
        answer("\ud800 sparse autoencoders", llm=False, settings=mini_settings)
    # bytes that are not UTF-8 on the command line reach Python as lone surrogates
    r = CliRunner().invoke(
        main, ["--index-dir", str(mini_settings.index_dir), "ask", "\udcff\udcfe sparse autoencoders"]
    )
    assert r.exit_code == 1 and "not valid text" in r.output, r.output


def test_one_string_is_not_read_as_passages_of_one_character() -> None:
    with pytest.raises(ConfigError, match=r"texts must be a list of passages \(for one, \[text\]\)"):
        classify_stance("Interpretability is hopeless.")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="each passage in texts must be a string"):
        classify_stance(["Probes work.", 5])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="source_ids must be a list as long as texts"):
        classify_stance(["Probes work.", "They do not."], source_ids=["a"])
    with pytest.raises(ConfigError, match="'bogus' is not one of"):
        classify_stance(["Probes work."], doc_stances=["bogus"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "holds no rows"),
        (b'{"id": "a", "question": "x"\n', r"line 1: not JSON"),
        (b'{"id": "a"}\n', "line 1: no 'question' field"),
        (b"[1, 2]\n", "line 1: each line must be a JSON object, not list"),
        (
            b'{"id": "a", "question": "q", "kind": "factual", "gold": [{"doc": "d"}]}\n',
            "'gold' must be a list",
        ),
        (b"\xff\xfe\x00\x81", "is not UTF-8 text"),
        # a field of the wrong kind ended the run in a traceback after every question was answered
        (
            b'{"id": "a", "question": "q", "kind": "factual", "gold": [{"doc": "d", "quote": 7}]}',
            "'gold' must",
        ),
        (b'{"id": "a", "question": "q", "kind": ["factual"], "gold": []}', "line 1: 'kind' must be text"),
        (b'{"id": ["a"], "question": "q", "kind": "factual", "gold": []}', "'id' must be text or a number"),
        (
            b'{"id": "a", "question": "q", "kind": "contested", "gold": [{"doc": "d", "quote": "x y"}]}',
            "each gold passage of a contested question needs a 'side', enthusiastic or skeptical",
        ),
        (
            b'{"id": 1, "question": "q", "kind": "factual", "gold": []}\n\n{"id": "1", "question": "r", '
            b'"kind": "factual", "gold": []}',
            "line 3: the id '1' is used twice",
        ),
    ],
)
def test_a_question_file_eval_cannot_read_is_named_with_its_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_jsonl(path, QUESTION_FIELDS)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": "s", "quote": "q", "label": "skeptical"}', "line 1: no 'doc' field"),
        (b'{"id": "s", "doc": "d", "quote": 4, "label": "skeptical"}', "'doc' and 'quote' must be text"),
        (
            b'{"id": "s", "doc": "d", "quote": "q", "label": "positive"}',
            "'label' must be one of enthusiastic, skeptical, neutral, not 'positive'",
        ),
        (b'{"id": "a", "question": "q", "kind": "factual", "gold": []}', "no 'doc' field"),  # the other file
    ],
)
def test_a_stance_file_eval_cannot_score_is_named_with_its_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    """A passage without its document, or with a number for a quote, ended the run in a traceback; a label
    that is no stance was scored as wrong."""
    path = tmp_path / "stance.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_jsonl(path, STANCE_FIELDS)


def test_eval_warns_when_the_stance_file_is_for_another_corpus(
    mini_settings: Settings, tmp_path: Path
) -> None:
    from interp_rag.evaluation import evaluate

    questions, stance = tmp_path / "q.jsonl", tmp_path / "s.jsonl"
    questions.write_text('{"id": "a", "question": "Are probes useful?", "kind": "factual", "gold": []}\n')
    rows = [("s1", "probes-skeptic"), ("s2", "a-paper-elsewhere"), ("s3", "another-one")]
    stance.write_text(
        "".join(
            f'{{"id": "{i}", "doc": "{d}", "quote": "Probes mislead.", "label": "skeptical"}}\n'
            for i, d in rows
        )
    )
    result = evaluate(questions, stance_file=stance, settings=mini_settings)
    assert any(
        w.startswith("2 of the 3 labelled passages come from documents not in the index (a-paper-elsewhere, ")
        for w in result["warnings"]
    ), result.get("warnings")


def test_eval_refuses_a_run_file_it_could_not_write_before_it_runs(
    mini_settings: Settings, tmp_path: Path
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "Are probes useful?", "kind": "factual", "gold": []}\n')
    r = CliRunner().invoke(
        main,
        [
            "--index-dir",
            str(mini_settings.index_dir),
            "eval",
            str(questions),
            "--run-out",
            "/no/such/dir/r.json",
        ],
    )
    assert r.exit_code == 1 and "the folder /no/such/dir does not exist" in r.output, r.output
    from interp_rag.evaluation import evaluate

    with pytest.raises(ConfigError, match="it is a folder; give a file name in it"):
        evaluate(questions, run_out=tmp_path, settings=mini_settings)  # the CLI's option refuses it too


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        (
            ['"a", "question": "Are probes useful?"', '"a", "question": "Are SAEs useful?"'],
            "line 2: the id 'a'",
        ),
        (['"a", "question": "Are probes useful?"', '"b", "question": "  "'], "line 2 ('b'): "),
    ],
)
def test_eval_checks_every_question_before_it_runs(
    mini_settings: Settings, tmp_path: Path, rows, says
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(f'{{"id": {r}, "kind": "factual", "gold": []}}\n' for r in rows))
    r = CliRunner().invoke(main, ["--index-dir", str(mini_settings.index_dir), "eval", str(questions)])
    assert r.exit_code == 1 and says in r.output, r.output


def test_eval_warns_when_gold_documents_are_not_in_the_index(mini_settings: Settings, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    gold = '[{"doc": "not-added-yet", "quote": "x", "side": "neutral"}]'
    questions.write_text(
        f'{{"id": "a", "question": "Are probes useful?", "kind": "factual", "gold": {gold}}}\n'
    )
    r = CliRunner().invoke(
        main, ["--index-dir", str(mini_settings.index_dir), "eval", str(questions), "--json"]
    )
    assert r.exit_code == 0 and "1 gold document(s) are not in the index (not-added-yet)" in r.output, (
        r.output
    )


def test_a_damaged_history_row_leaves_the_others_readable(mini_settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(
        mini_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns("history.sqlite*")
    )
    settings = make_settings(tmp_path)
    index = load_index(settings=settings)
    first = record_answer(settings, answer("Are probes useful?", k=3, llm=False, index=index), {}, 3)
    second = record_answer(settings, answer("What is saliency?", k=3, llm=False, index=index), {}, 3)
    with sqlite3.connect(settings.index_dir / "history.sqlite") as con:
        con.execute("UPDATE history SET filters = '{not json' WHERE id = ?", (first,))
    assert [e.id for e in recent(settings)] == [second]
    with pytest.raises(ConfigError, match=f"#{first} in the history is damaged"):
        get_entry(settings, first)
    with pytest.raises(ConfigError, match="No question #"):
        get_entry(settings, 10**23)  # past SQLite's integers: OverflowError before
    # a row whose filters hold a key no question takes, or a year as a number: reopened, or a clear error
    with sqlite3.connect(settings.index_dir / "history.sqlite") as con:
        con.execute("""UPDATE history SET filters = '{"k": 3, "colour": "red"}' WHERE id = ?""", (second,))
    assert reopen(settings, second, index=index).passages
    with sqlite3.connect(settings.index_dir / "history.sqlite") as con:
        con.execute("""UPDATE history SET filters = '{"years": 2020}' WHERE id = ?""", (second,))
    with pytest.raises(ConfigError, match="years must be a pair"):
        reopen(settings, second, index=index)


def test_serve_refuses_a_port_that_is_none(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["serve", "--port", "99999"])
    assert r.exit_code == 2 and "99999 is not in the range 1<=x<=65535" in r.output, r.output


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda ir: ir.index_stats(5), "index_dir must be a path"),
        (lambda ir: ir.load_index(settings={"index_dir": "x"}), "settings must be an interp_rag.Settings"),
        (lambda ir: ir.build_index(mirror=5), "mirror must be a path"),
        (lambda ir: ir.build_index(settings={"index_dir": "x"}), "not dict"),
        (lambda ir: ir.remove_source(None), "source_id must be a source's id"),
        (lambda ir: ir.add_sources(["x.md"], settings=object()), "not object"),
        (lambda ir: ir.evaluate(None), "questions must be a path"),
    ],
)
def test_public_functions_name_an_argument_of_the_wrong_kind(call, says) -> None:
    import interp_rag

    with pytest.raises(ConfigError, match=says):  # each was a raw TypeError or AttributeError
        call(interp_rag)
