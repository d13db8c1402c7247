"""The workbench's UI handlers without a browser (timeline, library, bad uploads leave everything
byte-identical), and access to a served app through gradio_client (log-in, read-only)."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import httpx
import pytest

from interp_rag.answering.pipeline import answer
from interp_rag.errors import ConfigError, InterpRagError
from interp_rag.settings import Settings
from interp_rag.store.index import load_index
from interp_rag.web.access import auth_pairs, exposure_warning
from interp_rag.web.library import add_upload, library_rows, remove, render_library, render_restriction
from interp_rag.web.workbench import EXTRAS, extras, render_timeline, timeline_frame
from tests.conftest import make_settings
from tests.conftest_ui import build_ui_corpus, start_app, stop_app, wait_http
from tests.support.http import Route, serve
from tests.support.pdf import make_pages
from tests.test_workbench import made_answer

UPLOAD = Path(__file__).parent / "data" / "upload" / "induction-heads-note.md"


@pytest.fixture
def corpus(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Settings:
    """A fresh copy of the tiny UI corpus with its built index (built once, copied per test)."""
    built = build_ui_corpus(tmp_path_factory.getbasetemp() / "ui-corpus")
    root = built.sources_file.parent
    for name in ("docs", "index"):
        shutil.copytree(root / name, tmp_path / name)
    shutil.copy(built.sources_file, tmp_path / "sources.toml")
    update = {"index_dir": tmp_path / "index", "sources_file": tmp_path / "sources.toml"}
    return built.model_copy(update={**update, "cache_dir": tmp_path / "cache", "mirror": tmp_path / "docs"})


def tree_hash(*paths: Path) -> str:
    """sha256 over every file's path and bytes under the given files and folders."""
    h = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            h.update(str(f.relative_to(root.parent)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def test_timeline_frame_and_links_to_cards(corpus: Settings) -> None:
    index = load_index(settings=corpus)
    a = answer("Can sparse autoencoders detect a deceptive model?", llm=False, index=index)
    frame = timeline_frame(a)
    assert set(frame["year"]) == {"2024", "2025"} and set(frame["side"]) <= {
        "enthusiastic",
        "skeptical",
        "neutral",
    }
    assert frame["sources"].sum() == sum(len(v) for r in a.timeline.values() for v in r["sources"].values())
    out = render_timeline(a)
    first = {p.source_id: n for n, p in reversed(list(enumerate(a.passages, 1)))}
    for sid, n in first.items():
        assert f'href="#passage-{n}"' in out, sid
    assert "&lt;img id=pwned-title" in out and "<img" not in out  # titles escaped
    one = a.__class__(**{**a.__dict__, "timeline": {2025: a.timeline[2025]}})
    assert timeline_frame(one).empty and "are from 2025" in render_timeline(one)


def test_timeline_names_a_source_it_does_not_show_by_its_title() -> None:
    from interp_rag.types import Answer, Passage

    shown = Passage("seen", "seen:0", "Shown note", [], 2024, "", "Probes help.", "enthusiastic", 0.7, 1.0)
    row = {"enthusiastic": 1, "skeptical": 1, "neutral": 0}
    timeline = {
        2024: {
            **row,
            "sources": {"enthusiastic": ["seen"], "skeptical": ["unseen"], "neutral": []},
            "titles": {"seen": "Shown note", "unseen": "Probes <b>mislead</b>"},
        },
        2025: {**row, "skeptical": 0, "sources": {"enthusiastic": ["seen"], "skeptical": [], "neutral": []}},
    }
    a = Answer("Do probes help?", "Yes [1].", [shown], [], "extractive", timeline=timeline)
    out = render_timeline(a)
    assert 'title="unseen">Probes &lt;b&gt;mislead&lt;/b&gt;</span>' in out and ">unseen<" not in out
    assert 'href="#passage-1">[1] Shown note</a>' in out
    assert "Probes <b>mislead</b>" in set(timeline_frame(a)["titles"])
    # the chart in words, for a screen reader: each year's bars as drawn (2025's skeptical bar is empty)
    summary = 'id="timeline-summary" class="vh">Relevant sources by year and side. '
    assert summary + "2024: 1 enthusiastic, 1 skeptical; 2025: 1 enthusiastic.</p>" in out


def test_an_answers_export_files_are_served_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .md and .bib files are written in Gradio's file folder, so Gradio hands out the files written, not
    a copy it hashed and made after every answer; the Markdown copied is the file's. The buttons are shown
    and hidden by their row: their own values are plain files (an update of a button's props has Gradio
    build the button and its API schema anew, every answer)."""
    import asyncio

    import gradio as gr
    from gradio.processing_utils import async_move_files_to_cache

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    a = made_answer()
    shown = dict(zip(EXTRAS, extras(a, make_settings(tmp_path, history=False)), strict=True))
    md, bib = shown["download_md"], shown["download_bib"]
    assert isinstance(md, str) and isinstance(bib, str) and shown["downloads"]["visible"] is True
    assert Path(md).read_text(encoding="utf-8") == a.to_markdown() == shown["markdown"]
    assert "@" in Path(bib).read_text(encoding="utf-8")
    for path in (md, bib):
        button = gr.DownloadButton(render=False)  # made after GRADIO_TEMP_DIR is set, as the app's are
        served = asyncio.run(async_move_files_to_cache(button.postprocess(path), button, postprocess=True))
        assert served["path"] == path
    none = dict(zip(EXTRAS, extras(None, make_settings(tmp_path, history=False)), strict=True))
    assert none["download_md"] is None and none["markdown"] == "" and none["downloads"]["visible"] is False


def test_library_lists_searches_and_filters(corpus: Settings) -> None:
    rows = library_rows(corpus)
    assert {r["id"] for r in rows} == {
        "dictionary-learning-hope",
        "feature-dictionaries-doubt",
        "xss-payload-review",
    }
    assert all(r["chunks"] > 0 for r in rows)
    out = render_library(rows)
    assert "3 of 3 sources" in out and "Ada Optimist" in out and "&lt;script&gt;" in out
    assert "1 of 3 sources" in render_library(rows, "optimist")
    assert "2 of 3 sources" in render_library(rows, stance="skeptical")
    assert "1 of 3 sources" in render_library(rows, kind="essay")
    years = {r["year"] for r in rows}
    year = max(years, key=lambda y: sum(r["year"] == y for r in rows))
    n = sum(r["year"] == year for r in rows)
    assert f"{n} of 3 sources" in render_library(rows, str(year))  # a year is searched too
    # the restriction, said on the Ask tab by title
    assert render_restriction([], rows) == ""
    said = render_restriction(["dictionary-learning-hope"], rows)
    title = next(r["title"] for r in rows if r["id"] == "dictionary-learning-hope")
    assert "Only this source answers" in said and title in said
    assert "these sources answer" in render_restriction(["dictionary-learning-hope", "gone-id"], rows)


def test_bad_uploads_show_an_error_and_change_nothing(corpus: Settings, tmp_path: Path) -> None:
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(bytes(range(256)) * 40)
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    before = tree_hash(corpus.sources_file, corpus.index_dir)
    with serve({}) as base:
        cases = [(None, str(binary), "binary data, not a document"), (None, str(empty), "empty"),
                 (f"{base}/paper.pdf", None, "HTTP 404")]  # fmt: skip
        for url, upload, message in cases:
            with pytest.raises(InterpRagError, match=message) as info:
                add_upload(url, upload, "neutral", "other", settings=corpus)
            assert "uploads" not in str(info.value)  # the user's file name, not the server's copy
            assert tree_hash(corpus.sources_file, corpus.index_dir) == before, message
    assert not list((corpus.sources_file.parent / "uploads").iterdir())  # the kept copies are gone


def test_an_empty_add_names_every_format_the_upload_takes(corpus: Settings) -> None:
    """The message listed five formats by hand; the upload takes subtitles, notebooks and Word too."""
    with pytest.raises(InterpRagError, match="Paste a URL or choose a file") as info:
        add_upload("  ", None, "neutral", "", settings=corpus)
    formats = ("subtitles (.vtt, .srt)", "Jupyter notebooks", "Word documents")
    assert all(w in str(info.value) for w in formats)


def test_the_url_box_never_reads_a_file_on_the_server(corpus: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "notes.md"
    secret.write_text("# Private notes\n\nThe reviewer's password is in the drawer, next to the probes.\n")
    before = tree_hash(corpus.sources_file, corpus.index_dir)
    for typed in (str(secret), f"file://{secret}", f"  {secret}  ", "~/notes.md"):
        with pytest.raises(InterpRagError, match="takes an http\\(s\\) URL"):
            add_upload(typed, None, "neutral", "other", settings=corpus)
    assert tree_hash(corpus.sources_file, corpus.index_dir) == before


def test_upload_answers_without_restart_then_remove(corpus: Settings) -> None:
    msg = add_upload(None, str(UPLOAD), "enthusiastic", "blog", settings=corpus)
    assert msg.startswith("Added “Induction heads, read closely”")
    rows = {r["id"]: r for r in library_rows(corpus)}
    new = rows["induction-heads-read-closely"]
    assert new["chunks"] >= 1 and new["added"] and new["stance"] == "enthusiastic"
    assert Path(new["url"].removeprefix("file://")).parent.name == "uploads"  # a copy that stays
    a = answer("What do induction heads copy?", llm=False, settings=corpus)
    assert a.passages[0].source_id == "induction-heads-read-closely"
    # the same file uploaded again: refused, naming the source that has its text; its copy is not kept
    uploads = sorted((corpus.sources_file.parent / "uploads").iterdir())
    with pytest.raises(InterpRagError, match="same as that of 'induction-heads-read-closely'") as info:
        add_upload(None, str(UPLOAD), "enthusiastic", "blog", settings=corpus)
    assert f"Cannot add {UPLOAD.name}:" in str(info.value) and "uploads" not in str(info.value)
    assert sorted((corpus.sources_file.parent / "uploads").iterdir()) == uploads
    assert remove("induction-heads-read-closely", settings=corpus).startswith("Removed")
    assert "induction-heads-read-closely" not in {r["id"] for r in library_rows(corpus)}
    assert not list((corpus.sources_file.parent / "uploads").iterdir())  # its copy went with it


def test_served_beyond_loopback_the_form_fetches_nothing_on_this_machine_or_its_network(
    corpus: Settings,
) -> None:
    page = (
        b"<html><head><title>Internal admin</title></head><body><p>"
        + b"secret token " * 50
        + b"</p></body></html>"
    )
    listing = corpus.sources_file.read_bytes()
    shared = corpus.model_copy(update={"web": corpus.web.model_copy(update={"host": "0.0.0.0"})})
    hits: list[str] = []
    with serve({"/admin": Route(body=page)}, hits) as base:
        for url in (f"{base}/admin", f"{base.replace('127.0.0.1', 'localhost')}/admin"):
            with pytest.raises(InterpRagError, match=r"address of this machine or its private network"):
                add_upload(url, None, "unknown", "other", settings=shared)
        assert hits == []  # refused before any request went out
        # allowed by the setting, or on loopback (the person at the machine): fetched
        allowed = shared.model_copy(update={"web": shared.web.model_copy(update={"private_urls": True})})
        for s in (allowed, corpus):
            with pytest.raises(InterpRagError, match="HTTP 404"):
                add_upload(f"{base}/gone", None, "unknown", "other", settings=s)
    assert hits == ["/gone", "/gone"] and corpus.sources_file.read_bytes() == listing


def test_a_paper_pdf_is_added_by_its_title_and_answers_from_its_section(
    corpus: Settings, tmp_path: Path
) -> None:
    """The user's first act: upload the PDF of the paper they are reading. It is named by the title set
    large on its first page, its sections are known, and a sentence carried over a page is one passage."""
    pages: list[list[str | tuple[str, int]]] = [
        [
            ("Attention Sinks in Small Transformers", 20),
            "We study why attention heads park their weight on the first token.",
            ("2 Results", 15),
            "Heads that attend to the first token do so because softmax must",
        ],
        ["place its mass somewhere when no other token is relevant.", "Removing the sink hurts loss."],
    ]
    paper = tmp_path / "sinks.pdf"
    paper.write_bytes(make_pages(pages))
    msg = add_upload(None, str(paper), "neutral", "paper", settings=corpus)
    assert msg.startswith("Added “Attention Sinks in Small Transformers”")
    a = answer("Why do attention heads attend to the first token?", llm=False, settings=corpus)
    top = a.passages[0]
    assert top.title == "Attention Sinks in Small Transformers"
    assert top.headings == ["Attention Sinks in Small Transformers"]
    assert "\n\n## 2 Results\n\nHeads that attend" in top.text
    assert "softmax must\nplace its mass somewhere" in top.text


def test_upload_with_questions_written_by_the_llm(corpus: Settings, tmp_path: Path) -> None:
    """With an LLM configured, the upload's "LLM writes search questions" box: the LLM (a real HTTP server
    on loopback, answering as scripted) is sent the passages, its questions are indexed, the notice says
    how many; remove takes them away again."""
    import json

    from tests.support.fake_llm import completion, fake_llm

    with fake_llm() as llm:
        llm.script(completion(json.dumps({"1": ["When does the induction circuit appear during training?"]})))
        update = {"base_url": llm.base_url, "max_retries": 0}
        s = corpus.model_copy(
            update={"llm": corpus.llm.model_copy(update=update), "expansions_dir": tmp_path / "expansions"}
        )
        msg = add_upload(None, str(UPLOAD), "neutral", "blog", settings=s, write_questions=True)
        assert "previous-token head" in llm.requests[0]["json"]["messages"][1]["content"]
    assert (
        msg.startswith("Added “Induction heads, read closely”")
        and "the LLM wrote 1 question for its passages" in msg
    )
    written = tmp_path / "expansions" / "induction-heads-read-closely.jsonl"
    assert json.loads(written.read_text())["q"] == ["When does the induction circuit appear during training?"]
    new = [c for c in load_index(settings=s).chunks if c.source_id == "induction-heads-read-closely"]
    assert any(c.questions for c in new)
    remove("induction-heads-read-closely", settings=s)
    assert not written.exists()
    with pytest.raises(InterpRagError, match="needs an LLM"):  # the box is only shown with an LLM
        add_upload(None, str(UPLOAD), "neutral", "blog", settings=corpus, write_questions=True)


def test_read_only_refuses_add_and_remove_in_the_handlers(corpus: Settings) -> None:
    ro = corpus.model_copy(update={"web": corpus.web.model_copy(update={"read_only": True})})
    with pytest.raises(InterpRagError, match="read-only"):
        add_upload(None, str(UPLOAD), "neutral", "other", settings=ro)
    with pytest.raises(InterpRagError, match="read-only"):
        remove("dictionary-learning-hope", settings=ro)


def test_auth_settings_and_the_exposure_warning(tmp_path: Path) -> None:
    assert auth_pairs("") == [] and auth_pairs("alice:pw, bob:x:y") == [("alice", "pw"), ("bob", "x:y")]
    users = tmp_path / "users.txt"
    users.write_text("# lab\nalice:pw\n\ncarol:secret\n")
    assert auth_pairs(str(users)) == [("alice", "pw"), ("carol", "secret")]
    with pytest.raises(ConfigError, match="user:password"):
        auth_pairs("nobody")
    with pytest.raises(ConfigError, match="user:password"):
        auth_pairs("alice:")
    assert exposure_warning(Settings(host="127.0.0.1")) == ""
    warning = exposure_warning(Settings(host="0.0.0.0"))
    assert "without a log-in" in warning and "can add or remove sources" in warning
    assert exposure_warning(Settings(host="0.0.0.0", auth="alice:pw")) == ""


# ---------------------------------------------------------------- a served app, through gradio_client


def test_add_endpoint_refuses_requests_without_log_in_and_read_only_hides_it(
    corpus: Settings, tmp_path: Path
):
    from gradio_client import Client

    listing = corpus.sources_file.read_bytes()
    app = start_app(corpus, tmp_path / "auth.log", INTERP_RAG_AUTH="alice:pw")
    ro = start_app(corpus, tmp_path / "ro.log", INTERP_RAG_READ_ONLY="true")
    try:
        wait_http(app)
        with pytest.raises(Exception, match=r"(?i)401|auth|login|credentials"):
            Client(app.url, verbose=False).predict(
                None, None, "neutral", "other", "", "", "", api_name="/add_source"
            )
        r = httpx.post(f"{app.url}gradio_api/call/add_source", json={"data": [None] * 7}, timeout=10)
        assert r.status_code in (401, 403), r.status_code
        client = Client(app.url, auth=("alice", "pw"), verbose=False)
        with serve({}) as base:
            out = client.predict(
                f"{base}/gone.pdf", None, "neutral", "other", "", "", "", api_name="/add_source"
            )
        assert "HTTP 404" in out[0] and "gone.pdf. Nothing was changed." in out[0]  # one sentence each

        wait_http(ro)
        ro_client = Client(ro.url, verbose=False)
        endpoints = ro_client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert "/ask" in endpoints and "/add_source" not in endpoints and "/remove_source" not in endpoints
        # an API client of /ask written before the sources filter (6 inputs) still gets an answer
        for _ in range(120):  # the app loads its index in the background after it starts serving
            view = ro_client.predict("sparse autoencoders", [], None, None, [], 3, api_name="/ask")
            if "Ask again in a moment" not in view[0]:
                break
            time.sleep(0.5)
        assert "Extractive" in view[1], view[0]
        # the question alone, by position or by name: the filters take their defaults
        for view in (
            ro_client.predict("sparse autoencoders", api_name="/ask"),
            ro_client.predict(question="sparse autoencoders", k=3, api_name="/ask"),
        ):
            assert "Extractive" in view[1], view[0]
        with pytest.raises(Exception, match="add_source"):
            ro_client.predict(
                "https://example.org", None, "neutral", "other", "", "", "", api_name="/add_source"
            )
        config = httpx.get(f"{ro.url}config", timeout=10).text
        assert '"add-url"' not in config and "This instance is read-only" in config
    finally:
        stop_app(app)
        stop_app(ro)
    assert corpus.sources_file.read_bytes() == listing
