"""The CLI: each command parses, calls the library, renders; errors are one readable line, exit status 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from interp_rag.cli import main
from tests.conftest import MINI
from tests.support.labels import hand_label, write_labels


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(MINI, tmp_path / "mirror")
    shutil.copy(MINI / "sources.toml", tmp_path / "sources.toml")
    monkeypatch.setenv("INTERP_RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("INTERP_RAG_SOURCES_FILE", str(tmp_path / "sources.toml"))
    monkeypatch.setenv("INTERP_RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("INTERP_RAG_LLM_BASE_URL", raising=False)
    return tmp_path


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_build_stats_ask(workdir: Path) -> None:
    r = run("build", "--mirror", str(workdir / "mirror"))
    assert r.exit_code == 0, r.output
    assert "3 sources ok, 0 failed" in r.output and "embedded" in r.output
    r = run("build", "--mirror", str(workdir / "mirror"))
    assert r.exit_code == 0 and "Index up to date" in r.output and "nothing to embed" in r.output
    r = run("stats", "--json")
    stats = json.loads(r.output)
    assert stats["sources"] == 3 and stats["chunks"] > 3 and stats["dims"] == 384
    assert stats["sources_by_stance"] == {"enthusiastic": 1, "skeptical": 1, "neutral": 1}
    r = run("stats")
    assert "sources by stance" in r.output and "MB" in r.output
    r = run("ask", "Are linear probes useful?", "--k", "3")
    assert r.exit_code == 0 and "Sources" in r.output and "[1]" in r.output
    assert "https://example.org/" in r.output
    r = run("ask", "Are linear probes useful?", "--json", "--stance", "skeptical")
    data = json.loads(r.output)
    assert data["mode"] == "extractive" and {p["stance"] for p in data["passages"]} == {"skeptical"}


def test_errors_are_one_line_without_traceback(workdir: Path) -> None:
    r = run("ask", "Are probes useful?")
    assert r.exit_code == 1 and "interp-rag build" in r.output and "Traceback" not in r.output
    run("build", "--mirror", str(workdir / "mirror"))
    r = run("ask", "   ")
    assert r.exit_code == 1 and "empty" in r.output
    r = run("ask", "Are probes useful?", "--year-from", "2030", "--year-to", "2020")
    assert r.exit_code == 1 and "empty" in r.output
    r = run("build", "--mirror", str(workdir / "no-such-dir"))
    assert r.exit_code != 0


def test_add_bad_url_changes_nothing(workdir: Path) -> None:
    run("build", "--mirror", str(workdir / "mirror"))
    listing = (workdir / "sources.toml").read_text()
    r = run("add", "http://127.0.0.1:9/paper.pdf")
    assert r.exit_code == 1 and "could not fetch" in r.output
    assert "Cannot add" not in r.output  # "failed  URL: why", not "failed  URL: Cannot add URL: why"
    r = run("add", str(workdir / "missing.md"))
    assert r.exit_code == 1 and "neither an http(s) URL nor an existing file" in r.output
    assert (workdir / "sources.toml").read_text() == listing


def test_add_local_file(workdir: Path) -> None:
    run("build", "--mirror", str(workdir / "mirror"))
    doc = workdir / "note.txt"
    doc.write_text(
        "Attention patterns are easy to plot and easy to over-read; a head that attends to the "
        "previous token may still do something else entirely with what it reads.\n"
    )
    r = run(
        "add",
        str(doc),
        "--id",
        "attention-note",
        "--title",
        "A note on attention",
        "--authors",
        "A. Writer, B. Writer",
        "--year",
        "2024",
        "--type",
        "blog",
        "--stance",
        "skeptical",
    )
    assert r.exit_code == 0, r.output
    assert "1 embedded" in r.output or "embedded" in r.output
    text = (workdir / "sources.toml").read_text()
    assert 'id = "attention-note"' in text and '"B. Writer"' in text
    stats = json.loads(run("stats", "--json").output)
    assert stats["sources"] == 4


def test_a_file_added_without_a_stance_is_listed_as_unknown(workdir: Path) -> None:
    run("build", "--mirror", str(workdir / "mirror"))
    doc = workdir / "aside.md"
    doc.write_text("# Reading heads\n\nA head's pattern says where it looks, not what it does with it.\n")
    r = run("add", str(doc), "--id", "aside")
    assert r.exit_code == 0, r.output
    entry = (workdir / "sources.toml").read_text().split('id = "aside"')[1]
    assert 'stance = "unknown"' in entry.split("[[source]]")[0]
    stats = json.loads(run("stats", "--json").output)
    assert stats["sources_by_stance"].get("unknown") == 1


def test_eval_reports_the_shared_metrics(workdir: Path) -> None:
    run("build", "--mirror", str(workdir / "mirror"))
    qs = workdir / "qs.jsonl"
    rows = [
        {
            "id": "m1",
            "question": "Why are linear probes cheap?",
            "kind": "factual",
            "gold": [
                {
                    "doc": "probes-optimist",
                    "quote": "Probes are cheap. Training one takes minutes on a laptop",
                }
            ],
            "expect_stances": [],
        },
        {
            "id": "m2",
            "question": "Do probing results show what a model uses?",
            "kind": "contested",
            "gold": [
                {
                    "doc": "probes-optimist",
                    "quote": "which suggests the representation is used and not merely present",
                    "side": "enthusiastic",
                },
                {
                    "doc": "probes-skeptic",
                    "quote": "It does not show that the network relies on it.",
                    "side": "skeptical",
                },
            ],
            "expect_stances": ["enthusiastic", "skeptical"],
        },
    ]
    qs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = workdir / "run.json"
    r = run("eval", str(qs), "--k", "4", "--json", "--run-out", str(out))
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)["retrieval"]
    assert result["questions"] == 2 and result["passage_recall"] == 1.0
    assert result["both_sides_on_contested"] == 1.0
    run_rows = json.loads(out.read_text())
    assert [x["id"] for x in run_rows] == ["m1", "m2"] and run_rows[0]["passages"][0]["doc"]


def test_hand_labels_are_shown_as_such_and_kept_out_of_the_classifier_score(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (workdir / "mirror" / "probes-skeptic.md").read_text()
    part = next(p for p in text.split("\n\n") if p.startswith("When we repeated"))
    labels = write_labels(workdir / "labels", hand_label(text, part, "skeptical", doc="probes-skeptic"))
    monkeypatch.setenv("INTERP_RAG_STANCE_LABELS_DIR", str(labels))
    assert run("build", "--mirror", str(workdir / "mirror")).exit_code == 0
    r = run("ask", "What happened when the probing study was repeated with control tasks?", "--no-llm")
    assert r.exit_code == 0 and "skeptical (label)" in r.output, r.output
    qs, stance = workdir / "qs.jsonl", workdir / "stance.jsonl"
    q = {"id": "q", "question": "Are probes cheap?", "kind": "factual", "gold": [], "expect_stances": []}
    qs.write_text(json.dumps(q) + "\n")
    rows = [
        {"id": "s1", "doc": "probes-skeptic", "quote": part, "label": "skeptical"},
        {"id": "s2", "doc": "probes-optimist", "quote": "Probes are cheap.", "label": "enthusiastic"},
    ]
    stance.write_text("".join(json.dumps(x) + "\n" for x in rows))
    result = json.loads(run("eval", str(qs), "--stance-file", str(stance), "--json").output)["stance"]
    assert result["passages"] == 1 and result["hand_labelled"] == {
        "passages": 1,
        "accuracy": 1.0,
        "recall_by_label": {"skeptical": 1.0},
    }
    table = run("eval", str(qs), "--stance-file", str(stance)).output
    assert "classifier (1" in table and "hand-labelled (1" in table


CONTESTED_Q = "Are linear probes useful?"


def test_ask_output_is_clean_text_when_piped_or_plain(workdir: Path) -> None:
    run("build", "--mirror", str(workdir / "mirror"))
    for args in ((), ("--plain",)):
        r = run("ask", CONTESTED_Q, "--k", "4", *args)  # CliRunner's stdout is not a terminal
        assert r.exit_code == 0, r.output
        assert "\x1b" not in r.output and "**" not in r.output and "[/" not in r.output
        assert r.output.startswith("In short: ") and "\nSources\n" in r.output and "[1]" in r.output
    r = run("ask", CONTESTED_Q, "--k", "4", "--json")
    assert "\x1b" not in r.output and r.output.lstrip().startswith("{")
    assert json.loads(r.output)["text"].startswith("**In short:**")


def test_ask_renders_markdown_in_a_terminal(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    import interp_rag.cli as cli
    import interp_rag.cli_library as cli_library

    run("build", "--mirror", str(workdir / "mirror"))
    screen = io.StringIO()
    monkeypatch.setattr(cli, "_is_terminal", lambda: True)
    monkeypatch.setattr(cli_library, "out", Console(file=screen, force_terminal=True, width=100))
    r = run("ask", CONTESTED_Q, "--k", "4")
    shown = screen.getvalue()
    assert r.exit_code == 0 and "\x1b[1m" in shown  # bold, by escape codes
    assert "**" not in shown and "In short:" in shown and "Sources" in shown


def test_ask_in_a_process_prints_no_loading_bar(workdir: Path) -> None:
    import os
    import subprocess
    import sys

    run("build", "--mirror", str(workdir / "mirror"))
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    p = subprocess.run(
        [sys.executable, "-m", "interp_rag.cli", "ask", CONTESTED_Q, "--k", "3", "--plain"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr
    assert "Loading weights" not in p.stderr and "it/s" not in p.stderr, p.stderr
    assert p.stdout.startswith("In short: ") and "\x1b" not in p.stdout


def test_a_streamed_answer_is_wrapped_in_the_terminal_not_cropped() -> None:
    # A soft-wrapping console (the CLI's) showed only the first screen-width of each streamed paragraph.
    import io
    import re as re_

    from rich.console import Console

    from interp_rag.answering.stream import AnswerStream
    from interp_rag.progress import render_live
    from interp_rag.types import Answer

    words = [f"word{i}" for i in range(60)]
    text = " ".join(words[:30]) + " [1].\n\n" + " ".join(words[30:]) + " [2]."
    items = iter([text[:50], text[50:], Answer("Q?", text, [], [], "llm", [])])
    screen = Console(file=io.StringIO(), width=40, force_terminal=True, soft_wrap=True)
    render_live(AnswerStream(items, "Q?"), screen)
    shown = re_.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.file.getvalue())
    last = shown.split("word0 ")[-1]  # the final frame
    assert all(w in last for w in words[1:]) and screen.soft_wrap  # the console is as it was


def test_ask_reads_the_question_from_stdin_and_a_pipe_gets_no_progress_frames(workdir: Path) -> None:
    r = CliRunner().invoke(main, ["build", "--mirror", str(workdir / "mirror")])
    assert r.exit_code == 0 and "━" not in r.output and "Built " in r.output  # no bars off a terminal
    r = CliRunner().invoke(main, ["ask", "-", "--k", "3", "--json"], input="Are linear probes useful?\n")
    assert r.exit_code == 0 and json.loads(r.output)["question"] == "Are linear probes useful?"


def test_sources_lists_ids_to_remove_by_newest_first_and_filters_like_the_sources_tab(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERP_RAG_INDEX_DIR", str(built.index_dir))
    monkeypatch.setenv("INTERP_RAG_SOURCES_FILE", str(built.sources_file))
    r = CliRunner().invoke(main, ["sources"])  # not a terminal: one tab-separated line a source
    assert r.exit_code == 0, r.output
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    assert [f[0] for f in lines] == ["probes-skeptic", "probes-optimist", "saliency-notes"]  # newest first
    assert lines[0][1:5] == ["2024", "essay", "skeptical", lines[0][4]] and int(lines[0][4]) > 0
    assert lines[0][5] == "Probes Tell You Less Than You Think"
    assert "3 of 3 sources" in r.stderr
    r = CliRunner().invoke(main, ["sources", "PROBES", "--stance", "enthusiastic"])
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["probes-optimist"]
    r = CliRunner().invoke(main, ["sources", "--type", "docs", "--json"])
    (row,) = json.loads(r.stdout)
    assert row["id"] == "saliency-notes" and row["stance_note"] == "Definitions only." and row["chunks"] > 0
    r = CliRunner().invoke(main, ["sources", "no such words"])
    assert r.exit_code == 0 and r.stdout == "" and "0 of 3 sources match" in r.stderr


def test_sources_without_an_index_says_how_to_build_one(workdir: Path) -> None:
    r = CliRunner().invoke(main, ["sources"])
    assert r.exit_code == 1 and "interp-rag build" in r.output and "Traceback" not in r.output


def test_sources_reads_the_list_without_the_vectors_and_still_reports_a_damaged_index(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interp_rag.store.catalogue import list_sources
    from interp_rag.store.format import current_dir
    from interp_rag.store.index import load_index

    assert list_sources(settings=built) == list_sources(load_index(settings=built))
    monkeypatch.setenv("INTERP_RAG_INDEX_DIR", str(built.index_dir))
    chunks = current_dir(built.index_dir) / "chunks.jsonl"
    chunks.write_bytes(chunks.read_bytes()[:-40])  # a damaged file is damage even if the list is whole
    r = CliRunner().invoke(main, ["sources"])
    assert r.exit_code == 1 and "damaged" in r.output.lower() and "Traceback" not in r.output


def test_add_of_a_folder_says_which_files_it_left_out_and_still_succeeds(
    built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INTERP_RAG_INDEX_DIR", str(built.index_dir))
    monkeypatch.setenv("INTERP_RAG_SOURCES_FILE", str(built.sources_file))
    folder = tmp_path / "reading"
    folder.mkdir()
    (folder / "note.md").write_text("# Probe Notes\n\nA probe reads a direction out of the activations.\n")
    (folder / "results.csv").write_text("layer,accuracy\n1,0.7\n")
    r = CliRunner().invoke(main, ["add", str(folder)])
    assert r.exit_code == 0, r.output
    assert "ok " in r.output
    assert "skipped 1 file(s) of a format interp-rag does not read: results.csv" in r.output
    assert ".bib" not in r.output
    (folder / "refs.bib").write_text("@misc{a, url={https://example.org/a}}\n")  # a bibliography beside notes
    (folder / "more.md").write_text("# More Notes\n\nA second note on probes, read with the first.\n")
    r = CliRunner().invoke(main, ["add", str(folder / "more.md"), str(folder)])
    assert "refs.bib" in r.output and "name it on its own to add the papers it lists" in r.output
