"""`add --write-questions`: an LLM writes the questions each passage of a new source answers, checked, kept
as offsets in the expansions folder and indexed like hand-written ones. The LLM is a real HTTP server on
127.0.0.1 answering as scripted; a failing, silent or lying LLM costs the questions, never the source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from interp_rag import answer
from interp_rag.answering.llm import LLMClient
from interp_rag.ingest.doc2query import parse_reply, usable, written_by_llm
from interp_rag.store.build import add_source
from interp_rag.store.catalogue import remove_source
from interp_rag.store.index import index_stats, load_index
from interp_rag.text import digest
from tests.conftest import make_settings
from tests.support.fake_llm import Reply, completion, fake_llm

# Our own writing: three paragraphs, each about one invented method, so a question can only fit one.
DOC = """# Notes on three invented probes

## Glimmer probes

Glimmer probes read the residual stream of a transformer through a bank of tiny linear readers, one per
layer, trained jointly with a shared sparsity penalty. In our runs the Glimmer readers recovered the
syntactic depth of a token at every layer past the fourth, and the recovered depth agreed with a parser on
nine tokens in ten. The readers were cheap: an hour on one GPU for a model of a hundred million weights.

## Tessellate ablations

Tessellate ablations cut a model's attention heads in overlapping tiles rather than one at a time, and
compare the loss of each tile with the sum of its heads' losses. Where a tile costs more than its heads
alone, the heads are said to cooperate. We found cooperation concentrated in the middle layers, which
matches the folk view that middle layers do the composing while early and late layers translate.

## Lanternfish attributions

Lanternfish attributions follow a gradient path from a blank prompt to the real one and record which
neurons change sign along the way. They were unstable in our hands: two paths with the same end points
could disagree on half the neurons, and the disagreement grew with model size, so we do not trust them for
any claim about a single neuron.
"""

GOOD = {
    "1": ["How well do Glimmer probes recover a token's syntactic depth?", "How costly are Glimmer readers?"],
    "2": ["Where do attention heads cooperate according to Tessellate ablations?"],
    "3": ["Can Lanternfish attributions be trusted for claims about single neurons?"],
    "4": ["Are Lanternfish gradient paths stable across model sizes?"],
}


@pytest.fixture
def settings(tmp_path: Path, mini_settings):
    shutil.copytree(mini_settings.mirror, tmp_path / "mirror")
    shutil.copy(mini_settings.sources_file, tmp_path / "sources.toml")
    shutil.copytree(mini_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".build.lock"))
    (tmp_path / "probes.md").write_text(DOC, encoding="utf-8")
    return make_settings(tmp_path, mirror=tmp_path / "mirror", expansions_dir=tmp_path / "expansions")


def client(llm) -> LLMClient:
    return LLMClient(llm.base_url, model="m", max_retries=0, read_timeout=5)


def one_request_per_passage(s):
    return s.model_copy(update={"llm": s.llm.model_copy(update={"questions_per_call": 1})})


# ---------------------------------------------------------------- the checks, on their own


def test_reply_parsing_takes_the_json_object_wherever_it_sits() -> None:
    assert parse_reply('Sure! Here they are:\n```json\n{"1": ["A?"], "2": ["B?"]}\n```', [1, 2]) == {
        1: ["A?"],
        2: ["B?"],
    }
    assert parse_reply('{"1": ["A?"], "7": ["not asked?"], "2": "not a list", "x": []}', [1, 2]) == {
        1: ["A?"]
    }
    assert parse_reply("1. What is a probe?\n2. Why?", [1, 2]) == {}
    assert parse_reply('{"1": ["A?"', [1]) == {} and parse_reply('["A?"]', [1]) == {}


def test_questions_are_kept_on_one_line_without_control_characters(settings) -> None:
    messy = ["How well do Glimmer\n probes recover syntax?", "How well do  Glimmer probes recover syntax?",
             "Are Glimmer \x1b[31mreaders cheap to train?"]  # fmt: skip
    with fake_llm() as llm:
        llm.script(completion(json.dumps({"1": messy})))
        report = add_source(
            str(settings.sources_file.parent / "probes.md"), settings=settings, llm_questions=client(llm)
        )
    assert report.questions_written == 2  # the first two are one question once tidied
    (row,) = [
        json.loads(line) for line in (settings.expansions_dir / "notes-on-three-invented-probes.jsonl").open()
    ]
    assert row["q"] == [
        "How well do Glimmer probes recover syntax?",
        "Are Glimmer [31mreaders cheap to train?",
    ]


def test_a_question_must_be_a_question_about_its_own_passage() -> None:
    passage = "Glimmer probes recovered the syntactic depth of a token past the fourth layer."
    assert usable("How deep into the network do Glimmer probes recover syntax?", passage)
    assert not usable("Glimmer probes recover syntactic depth.", passage)  # not a question
    assert not usable("Depth?", passage)  # too short to search with
    assert not usable("What does the passage say about Glimmer probes?", passage)  # about the text itself
    # sent with another passage it fits better: the LLM mixed up the numbers
    other = "Tessellate ablations found attention heads cooperating in the middle layers."
    q = "Why do attention heads cooperate in the middle layers?"
    assert usable(q, passage) and not usable(q, passage, [other]) and usable(q, other, [passage])


# ---------------------------------------------------------------- add, with a scripted LLM


def test_written_questions_are_kept_as_offsets_and_find_their_passage(settings) -> None:
    with fake_llm() as llm:
        llm.script(completion(json.dumps(GOOD)))
        report = add_source(
            str(settings.sources_file.parent / "probes.md"), settings=settings, llm_questions=client(llm)
        )
        sent = llm.requests[0]["json"]["messages"]
    assert report.questions_written >= 4 and not report.warnings
    assert "not instructions" in sent[0]["content"] and "Tessellate ablations cut" in sent[1]["content"]

    path = settings.expansions_dir / "notes-on-three-invented-probes.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    text = (settings.sources_file.parent / "probes.md").read_text()
    assert {tuple(r) for r in rows} == {("start", "end", "sha", "q", "by")} and written_by_llm(path)
    assert all(r["by"] == "llm:default" for r in rows)
    # the file holds the questions and where their passage is, never the passage's own words
    assert "cooperation concentrated" not in path.read_text()

    index = load_index(settings=settings)
    new = [c for c in index.chunks if c.source_id == "notes-on-three-invented-probes"]
    assert any(c.questions for c in new)
    for r in rows:  # each span's hash is of the passage it points at
        assert digest(text[r["start"] : r["end"]], 12, "sha1") == r["sha"]
    q = "Where do attention heads cooperate according to Tessellate ablations?"
    top = answer(q, k=3, index=index, settings=settings, llm=False).passages[0]
    assert top.source_id == "notes-on-three-invented-probes" and "Tessellate" in top.text


def test_an_llm_that_fails_midway_keeps_what_it_wrote_and_the_source_is_added(settings) -> None:
    s = one_request_per_passage(settings)
    with fake_llm() as llm:
        llm.script(completion(json.dumps({"1": GOOD["1"]})), Reply(503, b'{"error": "overloaded"}'))
        report = add_source(str(s.sources_file.parent / "probes.md"), settings=s, llm_questions=client(llm))
    assert "notes-on-three-invented-probes" in report.sources_ok
    assert report.questions_written == 2
    (warning,) = report.warnings
    assert "questions written for 1 of" in warning and "503" in warning
    rows = (s.expansions_dir / "notes-on-three-invented-probes.jsonl").read_text().splitlines()
    assert len(rows) == 1


def test_an_llm_that_answers_nonsense_adds_the_source_without_questions(settings) -> None:
    with fake_llm() as llm:
        llm.script(completion("I would be happy to help! Passage one is about probes."))
        report = add_source(
            str(settings.sources_file.parent / "probes.md"), settings=settings, llm_questions=client(llm)
        )
    assert "notes-on-three-invented-probes" in report.sources_ok and report.questions_written == 0
    assert "no usable question" in report.warnings[0]
    assert not settings.expansions_dir.exists() or not any(settings.expansions_dir.iterdir())


def test_an_llm_that_mixes_up_the_passages_gets_those_questions_dropped(settings) -> None:
    s = one_request_per_passage(settings)
    # the second passage (Tessellate) is sent the third one's questions (Lanternfish)
    replies = [completion(json.dumps({"1": GOOD[k]})) for k in ("1", "3", "3")]
    with fake_llm() as llm:
        llm.script(*replies)
        report = add_source(str(s.sources_file.parent / "probes.md"), settings=s, llm_questions=client(llm))
    assert report.questions_written == 3
    new = [c for c in load_index(settings=s).chunks if c.source_id == "notes-on-three-invented-probes"]
    topics = ("Glimmer probes", "Tessellate ablations", "Lanternfish attributions")
    by_topic = {h: next(c.questions for c in new if f"## {h}" in c.text) for h in topics}
    assert by_topic["Glimmer probes"] == GOOD["1"]
    assert by_topic["Tessellate ablations"] == []
    assert by_topic["Lanternfish attributions"] == GOOD["3"]


def test_an_add_stopped_after_the_questions_leaves_no_questions_behind(settings) -> None:
    before = settings.sources_file.read_bytes()

    def stop(stage: str, *_: object) -> None:
        if stage == "embed":
            raise KeyboardInterrupt

    with fake_llm() as llm:
        llm.script(completion(json.dumps(GOOD)))
        with pytest.raises(KeyboardInterrupt):
            add_source(
                str(settings.sources_file.parent / "probes.md"),
                settings=settings,
                llm_questions=client(llm),
                on_progress=stop,
            )
    assert settings.sources_file.read_bytes() == before
    assert not list(settings.expansions_dir.glob("*.jsonl"))


def test_removing_the_source_removes_the_llms_questions_not_a_persons(settings) -> None:
    hand = settings.expansions_dir / "probes-optimist.jsonl"
    hand.parent.mkdir(parents=True)
    hand.write_text('{"start": 0, "end": 5, "sha": "x", "q": ["Who wrote it?"]}\n')
    with fake_llm() as llm:
        llm.script(completion(json.dumps(GOOD)))
        add_source(
            str(settings.sources_file.parent / "probes.md"), settings=settings, llm_questions=client(llm)
        )
    written = settings.expansions_dir / "notes-on-three-invented-probes.jsonl"
    assert written.exists()
    remove_source("notes-on-three-invented-probes", settings=settings)
    assert not written.exists() and hand.exists() and not written_by_llm(hand)


def test_cli_write_questions_without_an_llm_says_how_to_configure_one(settings, monkeypatch) -> None:
    from interp_rag.cli import main

    monkeypatch.delenv("INTERP_RAG_LLM_BASE_URL", raising=False)
    env = {
        "INTERP_RAG_INDEX_DIR": str(settings.index_dir),
        "INTERP_RAG_SOURCES_FILE": str(settings.sources_file),
        "INTERP_RAG_LLM_BASE_URL": "",
    }
    before = {p.name: p.stat().st_mtime_ns for p in settings.index_dir.rglob("*")}
    for args in (["add", str(settings.sources_file.parent / "probes.md")], ["build"]):
        result = CliRunner().invoke(main, [*args, "--write-questions"], env=env)
        assert result.exit_code == 2 and "INTERP_RAG_LLM_BASE_URL" in result.output, args
    assert "notes-on-three" not in settings.sources_file.read_text()
    assert {p.name: p.stat().st_mtime_ns for p in settings.index_dir.rglob("*")} == before


def test_several_sources_added_at_once_each_get_their_questions(settings, tmp_path: Path) -> None:
    from interp_rag.store.library import add_sources

    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "a.md").write_text(DOC, encoding="utf-8")
    (folder / "b.md").write_text("# Sorrel circuits\n\nSorrel circuits route copying through two heads.\n")
    with fake_llm() as llm:
        llm.script(
            completion(json.dumps(GOOD)),
            completion(json.dumps({"1": ["Through how many heads do Sorrel circuits route copying?"]})),
        )
        report = add_sources([str(folder)], settings=settings, llm_questions=client(llm))
    assert all(r.ok for r in report.results) and report.build.questions_written == 5
    assert sorted(p.name for p in settings.expansions_dir.iterdir()) == [
        "notes-on-three-invented-probes.jsonl",
        "sorrel-circuits.jsonl",
    ]


def test_build_writes_questions_for_sources_added_before_without_them(settings) -> None:
    from interp_rag.store.build import build_index

    add_source(str(settings.sources_file.parent / "probes.md"), settings=settings)  # no LLM then
    before = {c.id: c.questions for c in load_index(settings=settings).chunks}
    assert not any(before.values())
    bare = index_stats(settings=settings)["sources_without_questions"]
    assert bare == ["notes-on-three-invented-probes", "probes-optimist", "probes-skeptic", "saliency-notes"]
    with fake_llm() as llm:
        # the test corpus's three sources come first in the source list: this LLM has nothing for them
        llm.script(*[completion("Nothing to ask.")] * 3, completion(json.dumps(GOOD)))
        report = build_index(settings=settings, llm_questions=client(llm))
        asked = len(llm.requests)
    # every source without questions was sent (the test corpus's three have none either)
    assert asked == 4 and report.questions_written == 4
    assert [p.name for p in settings.expansions_dir.iterdir()] == ["notes-on-three-invented-probes.jsonl"]
    assert sum("no usable question" in w for w in report.warnings) == 3
    after = load_index(settings=settings)
    new = [c for c in after.chunks if c.source_id == "notes-on-three-invented-probes"]
    assert [len(c.questions) for c in new] == [2, 1, 1]
    assert report.chunks_embedded < report.chunks_total  # the chunks' own vectors came from the cache
    assert "notes-on-three-invented-probes" not in index_stats(settings=settings)["sources_without_questions"]


def test_an_expansions_folder_that_cannot_be_written_stops_the_add_before_the_llm_is_asked(settings) -> None:
    from interp_rag.errors import StorageError

    blocked = settings.model_copy(update={"expansions_dir": settings.sources_file})  # a file, not a folder
    before = settings.sources_file.read_bytes()
    with fake_llm() as llm:
        with pytest.raises(StorageError, match="INTERP_RAG_EXPANSIONS_DIR"):
            add_source(
                str(settings.sources_file.parent / "probes.md"), settings=blocked, llm_questions=client(llm)
            )
        assert llm.requests == []
    assert settings.sources_file.read_bytes() == before


def test_a_write_failing_for_the_second_source_removes_the_first_ones_questions(
    settings, tmp_path: Path
) -> None:
    from interp_rag.errors import StorageError
    from interp_rag.store.library import add_sources

    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "a.md").write_text(DOC, encoding="utf-8")
    (folder / "b.md").write_text("# Sorrel circuits\n\nSorrel circuits route copying through two heads.\n")
    (settings.expansions_dir / "sorrel-circuits.jsonl.tmp").mkdir(parents=True)  # in the way of the write
    before = settings.sources_file.read_bytes()
    with fake_llm() as llm:
        llm.script(
            completion(json.dumps(GOOD)),
            completion(json.dumps({"1": ["Through how many heads do Sorrel circuits route copying?"]})),
        )
        with pytest.raises(StorageError, match="sorrel-circuits.jsonl"):
            add_sources([str(folder)], settings=settings, llm_questions=client(llm))
    assert settings.sources_file.read_bytes() == before
    assert not list(settings.expansions_dir.glob("*.jsonl"))
