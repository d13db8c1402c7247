"""The UI's handlers as plain functions: cards, the balance bar, notices, escaping, citation links."""

from __future__ import annotations

import re
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import gradio as gr
import pytest

from interp_rag.settings import Settings
from interp_rag.store.format import current_dir
from interp_rag.store.index import Index, load_index
from interp_rag.types import SOURCE_TYPES, Passage
from interp_rag.web.app import (
    IndexStatus,
    View,
    ask,
    build_ui,
    highlight,
    launch_options,
    poll,
    prepare_index,
    question_terms,
    render_balance,
    render_card,
    render_column,
    render_markdown,
    render_mode,
    render_notice,
    safe_url,
)
from tests.conftest_ui import XSS_TITLE, FakeLLM, ui_corpus_settings, write_ui_corpus

__all__ = ["ui_corpus_settings"]  # a fixture, imported to be found here

TAGS = {"article", "section", "div", "span", "a", "p", "br", "ul", "ol", "li", "h2", "h3", "strong", "em",
        "code", "mark", "b", "i", "dl", "dt", "dd"}  # fmt: skip
ATTRS = {"class", "id", "href", "target", "rel", "title", "style", "role", "aria-label", "tabindex"}


class Markup(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(text: str) -> None:
    """Only the renderer's own markup: known tags and attributes, our ids, links to cards or http(s)."""
    for tag, attrs in Markup(text).tags:
        assert tag in TAGS and set(attrs) <= ATTRS, (tag, attrs)
        assert re.fullmatch(r"passage-\d+", attrs.get("id") or "passage-0"), attrs
        href = attrs.get("href") or "#passage-0"
        assert re.fullmatch(r"#passage-\d+", href) or safe_url(href), href
        assert tag != "b" or attrs == {}, attrs  # the renderer's own <b> has no attributes


CITE_1 = r'<a class="cite" href="#passage-1" title="[^"<>]+">\[1\]</a>'  # a final answer's [1], named


def passage(n: int = 1, stance: str = "enthusiastic", **kw: object) -> Passage:
    base: dict[str, object] = {
        "source_id": f"s{n}",
        "chunk_id": f"s{n}:0",
        "title": f"Title {n}",
        "authors": ["A. Author"],
        "year": 2024,
        "url": f"https://example.org/{n}",
        "text": "Sparse autoencoders find features.",
        "stance": stance,
        "stance_confidence": 0.74,
        "score": 1.0,
        "type": "blog",
    }
    return Passage(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def small_index(ui_corpus_settings: Settings) -> Index:
    return load_index(settings=ui_corpus_settings)


def run(question: str, settings: Settings, index: object, **kw: object) -> list[View]:
    return list(ask(question, settings=settings, index=index, **kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------- URLs and escaping


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://distill.pub/2020/circuits/zoom-in/", True),
        ("HTTP://example.org", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("file:///etc/passwd", False),
        ("//evil.example/x", False),
        ("http:/no-host", False),
        ("https://example.org/a b", False),
        ("", False),
    ],
)
def test_only_http_urls_are_links(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_card_escapes_title_text_and_authors_and_refuses_script_urls() -> None:
    p = passage(
        3,
        "skeptical",
        title=XSS_TITLE,
        authors=["<script>alert('a')</script>"],
        text='<script>alert(1)</script> <img src=x onerror="alert(2)"> sparse autoencoders & co',
        url="javascript:alert(3)",
    )
    out = render_card(p, 3, question_terms("Are sparse autoencoders useful?"))
    assert_inert(out)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;img id=pwned-title" in out
    assert '<span class="url plain">javascript:alert(3)</span>' in out  # shown as text, not a link
    assert 'id="passage-3"' in out and '<span class="num">[3]</span>' in out
    assert "<mark>sparse</mark> <mark>autoencoders</mark> &amp; co" in out


def test_card_shows_metadata_stance_and_a_safe_source_link() -> None:
    authors = ["Ann", "Ben", "Cat", "Dan", "Eve"]
    p = passage(2, "enthusiastic", authors=authors, headings=["Intro", "Why SAEs"], year=None)
    out = render_card(p, 2, frozenset(), cited=True)
    assert "Ann, Ben, Cat, Dan et al. · n.d. · blog" in out
    assert '<span class="badge enthusiastic"' in out and "enthusiastic · 74%" in out
    assert '<span class="chip">cited</span>' in out and "§ Intro › Why SAEs" in out
    link = (
        '<a class="title" href="https://example.org/2" target="_blank" rel="noopener noreferrer">Title 2</a>'
    )
    assert link in out
    assert '<a class="url" href="https://example.org/2" target="_blank" rel="noopener noreferrer">' in out
    # its scrolling text box (a Tab stop in Chromium) is named for a screen reader
    assert '<div class="text" role="region" aria-label="Passage [2] text">' in out


def test_highlight_marks_whole_words_by_stem_and_skips_stop_words() -> None:
    terms = question_terms("What are the features of a deceptive model?")
    out = highlight("The model's features <feature> featureless deceptively a&b", terms)
    assert out.startswith("The <mark>model</mark>&#x27;s <mark>features</mark> &lt;<mark>feature</mark>&gt;")
    assert "featureless" in out and "<mark>featureless" not in out  # whole words only
    assert "<mark>The" not in out and "a&amp;b" in out  # stop words unmarked, entities intact


def test_markdown_answer_links_valid_citations_and_keeps_html_inert() -> None:
    text = (
        "**Enthusiastic.** SAEs work [1][2]. Not [9].\n\n- a _point_ [2]\n"
        "- `code` <img src=x onerror=alert(1)>\n  continued\n\n"
        "<script>alert(1)</script> [link](javascript:alert(1))"
    )
    out = render_markdown(text, 3)
    assert '<strong>Enthusiastic.</strong> SAEs work <a class="cite" href="#passage-1">[1]</a>' in out
    assert "Not [9]." in out and "#passage-9" not in out
    assert (
        "<ul><li>a <em>point</em>" in out and "<code>code</code> &lt;img" in out and "continued</li>" in out
    )
    assert "&lt;script&gt;" in out
    assert_inert(out)


def test_a_final_answers_citations_name_their_source_and_a_streaming_ones_do_not() -> None:
    from interp_rag.types import Answer
    from interp_rag.web.render import render_answer

    ps = [passage(1), passage(2, title='Probes "mislead" <b>us</b>')]
    final = Answer("Q?", "Yes [1], no [2], [3].", ps, [], "extractive")
    out = render_answer(final.text, 2, final)
    assert '<a class="cite" href="#passage-1" title="Title 1">[1]</a>' in out
    assert 'href="#passage-2" title="Probes &quot;mislead&quot; &lt;b&gt;us&lt;/b&gt;">[2]</a>' in out
    assert "[3]" in out and "#passage-3" not in out
    assert_inert(out)
    assert "title=" not in render_answer(final.text, 2)  # while it streams, only the numbers


def test_notice_is_escaped() -> None:
    out = render_notice("Bad <b>input</b>", "error")
    assert "notice-error" in out and "&lt;b&gt;input&lt;/b&gt;" in out
    assert render_notice("") == ""


# ---------------------------------------------------------------- balance and columns


def test_balance_counts_stances_and_names_a_missing_side() -> None:
    ps = [passage(1, "enthusiastic"), passage(2, "enthusiastic"), passage(3, "neutral")]
    out = render_balance(ps, ["skeptical"])
    assert 'aria-label="2 enthusiastic, 1 neutral, 0 skeptical"' in out
    assert 'class="seg enthusiastic" style="width:66.7%"' in out and "seg skeptical" not in out
    assert "No skeptical source among those searched addresses this directly." in out
    assert render_balance([], []) == ""
    filtered = render_balance([passage(1, "skeptical")], [], ["skeptical"])
    assert "Enthusiastic passages are hidden by the stance filter." in filtered


def test_columns_group_cards_by_stance_and_keep_answer_numbers() -> None:
    ps = [passage(1, "skeptical"), passage(2, "enthusiastic"), passage(3, "neutral"), passage(4, "skeptical")]
    sk = render_column("skeptical", ps, "q", {4})
    assert re.findall(r'id="passage-(\d+)"', sk) == ["1", "4"] and "· 2 passages" in sk
    assert '<span class="chip">cited</span>' in sk.split('id="passage-4"')[1]
    assert "No enthusiastic passage" in render_column("enthusiastic", ps[:1], "q", set())
    assert render_column("neutral", ps[:1], "q", set()) == ""


# ---------------------------------------------------------------- the ask handler


def test_ask_answers_with_both_columns_and_working_citations(
    ui_corpus_settings: Settings, small_index
) -> None:
    views = run(
        "Can sparse autoencoders detect a deceptive model?", ui_corpus_settings, small_index, llm=False
    )
    final = views[-1]
    assert final.notice == "" and "Extractive" in final.answer
    assert 'class="card enthusiastic"' in final.enthusiastic and 'class="card skeptical"' in final.skeptical
    cited = set(re.findall(r'href="#passage-(\d+)"', final.answer))
    cards = set(re.findall(r'id="passage-(\d+)"', "".join(final)))
    assert cited and cited <= cards
    assert "Where the sources stand" in final.balance
    assert_inert("".join(final))  # the XSS document is among the passages, inert
    assert "&lt;img id=pwned-title" in "".join(final)  # its title, escaped


@pytest.mark.parametrize(
    ("question", "kw", "message"),
    [
        ("   ", {}, "The question is empty"),
        ("sparse autoencoders", {"year_from": 2030, "year_to": 2020}, "Year range 2030-2020 is empty"),
        (
            "sparse autoencoders",
            {"year_from": "soon"},
            "A year must be a whole number, not &#x27;soon&#x27;.",
        ),
        ("sparse autoencoders", {"k": 2.5}, "k (the number of passages) must be a whole number"),
        ("sparse autoencoders", {"k": 10_000}, "must be from 1 to 20"),
    ],
)
def test_ask_shows_user_errors_as_a_notice(ui_corpus_settings: Settings, small_index, question, kw, message):
    (view,) = run(question, ui_corpus_settings, small_index, llm=False, **kw)
    assert "notice-error" in view.notice and message in view.notice and view.answer == ""


def test_ask_hides_internal_errors_behind_a_sentence(ui_corpus_settings: Settings) -> None:
    broken = object.__new__(Index)  # an Index with nothing in it: a bug, not a user's mistake
    (view,) = run("sparse autoencoders", ui_corpus_settings, broken, llm=False)
    assert "Something went wrong (AttributeError); see the server log." in view.notice
    assert "Traceback" not in view.notice and "object" not in view.notice


def test_ask_applies_filters(ui_corpus_settings: Settings, small_index) -> None:
    final = run("sparse autoencoders", ui_corpus_settings, small_index, llm=False, stance=["skeptical"])[-1]
    assert final.enthusiastic.count('class="card') == 0 and "skeptical" in final.skeptical
    final = run("sparse autoencoders", ui_corpus_settings, small_index, llm=False, types=["essay"], k=3)[-1]
    assert (
        "Why feature dictionaries may mislead us" in final.skeptical
        and "Dictionary learning" not in "".join(final)
    )


def test_ask_streams_llm_output_then_shows_the_final_answer(
    ui_corpus_settings: Settings, small_index
) -> None:
    llm = FakeLLM(["Sparse autoencoders ", "find features [1]", ", critics doubt it [2]."])
    views = run("Are sparse autoencoders useful?", ui_corpus_settings, small_index, llm=llm)
    streaming = [v for v in views if "answer streaming" in v.answer]
    assert len(streaming) >= 2 and "Sparse autoencoders" in streaming[0].answer
    final = views[-1]
    assert "LLM answer · fake-model" in final.answer and re.search(CITE_1, final.answer)
    assert final.notice == ""


def test_llm_failure_shows_the_extractive_answer_with_a_notice(ui_corpus_settings: Settings, small_index):
    llm = FakeLLM(["Half an ans"], fail="The LLM at http://127.0.0.1:9/v1 stopped streaming.")
    final = run("Are sparse autoencoders useful?", ui_corpus_settings, small_index, llm=llm)[-1]
    assert "notice-warning" in final.notice and "Showing an extractive answer instead." in final.notice
    assert "Extractive" in final.answer and "Half an ans" not in final.answer


def test_llm_output_is_rendered_inert(ui_corpus_settings: Settings, small_index) -> None:
    evil = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) ok [1]"
    final = run("sparse autoencoders", ui_corpus_settings, small_index, llm=FakeLLM([evil]))[-1]
    assert_inert(final.answer)
    assert "&lt;script&gt;" in final.answer
    assert re.search(CITE_1, final.answer)  # its source's title (a payload here) escaped in the attribute


# ---------------------------------------------------------------- status, mode, app


def test_status_while_building_disables_ask() -> None:
    status = IndexStatus(ready=False)
    status.update("embed", 1200, 8000)
    assert status.message().startswith("Building the index: embedding 1200/8000 chunks…")
    assert "answered as soon as it is ready" in status.message()
    banner, button, timer = poll(status)
    assert "notice-info" in banner and button["interactive"] is False and timer.active is True
    status.finish()
    banner, button, timer = poll(status)
    assert banner == "" and button["interactive"] is True and timer.active is False
    status.finish("No source could be read")
    assert "The index is not available: No source could be read" in poll(status)[0]


def test_a_question_asked_while_the_index_loads_is_answered_when_it_is_ready(
    ui_corpus_settings: Settings, small_index
) -> None:
    status = IndexStatus(ready=False)
    status.update("load")
    ready_at: list[float] = []

    def finish_later(error: str = "") -> None:
        time.sleep(0.5)
        ready_at.append(time.monotonic())
        status.finish(error)

    threading.Thread(target=finish_later).start()
    views = run("Are sparse autoencoders useful?", ui_corpus_settings, small_index, status=status)
    assert ready_at and time.monotonic() >= ready_at[0]  # it waited for the index...
    assert (
        "answer-meta" in views[-1].answer and views[-1].skeptical and not views[-1].notice
    )  # ...and answered
    status = IndexStatus(ready=False)
    threading.Thread(target=finish_later, args=("No source could be read",)).start()
    (view,) = run("Are sparse autoencoders useful?", ui_corpus_settings, small_index, status=status)
    assert "The index is not available: No source could be read" in view.notice


def test_mode_panel_shows_llm_without_secrets_and_index_stats(ui_corpus_settings: Settings, small_index):
    llm = FakeLLM([], model="m1", base_url="http://user:secret@llm.local:8080/v1?key=abc")
    out = render_mode(ui_corpus_settings, llm, small_index)
    assert "LLM: m1 at http://llm.local:8080/v1" in out and "secret" not in out and "abc" not in out
    out = render_mode(ui_corpus_settings, None)
    assert "extractive — no LLM configured" in out and "3 sources" in out and "Sources by stance" in out


def test_build_ui_has_an_ask_api_and_serves_on_loopback(ui_corpus_settings: Settings, small_index) -> None:
    demo = build_ui(ui_corpus_settings, index=small_index, llm=False)
    assert isinstance(demo, gr.Blocks)
    assert "ask" in {d.get("api_name") for d in demo.config["dependencies"]}
    # the public API is what a client needs, once each (the example buttons answer through /ask's handler
    # without publishing it five more times)
    named = set(demo.get_api_info()["named_endpoints"])
    assert named == {"/ask", "/reopen", "/add_source", "/remove_source"}, named
    # an example's question reaches the question box in the page: no request to the server for it
    fills = [f for f in demo.fns.values() if f.outputs and f.outputs[0].elem_id == "question"]
    assert len(fills) == 5 and all(f.fn is None and f.js for f in fills)
    opts = launch_options(Settings())
    assert (opts["server_name"], opts["server_port"]) == ("127.0.0.1", 7860) and opts["css"]


def test_the_served_app_refuses_a_request_body_over_the_limit_but_not_an_upload(
    ui_corpus_settings: Settings, small_index
) -> None:
    from starlette.testclient import TestClient

    demo = build_ui(ui_corpus_settings, index=small_index, llm=False)
    demo.max_file_size = None  # set by launch(), which this test does not call
    app = gr.routes.App.create_app(demo, app_kwargs=launch_options(ui_corpus_settings)["app_kwargs"])
    big = b'{"data": ["' + b"x" * 2_000_000 + b'"]}'  # 6 MB of these each left ~6 MB in the process
    with TestClient(app) as client:
        r = client.post("/gradio_api/call/ask", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "over 1,000,000 bytes" in r.text
        chunked = client.post(
            "/gradio_api/call/ask",
            content=iter([b"x" * 100_000] * 20),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code >= 400  # no length given: counted as it comes, and cut off
        ok = client.post("/gradio_api/call/ask", json={"data": ["Are probes useful?", [], "", "", [], 3, []]})
        assert ok.status_code == 200 and "event_id" in ok.json()
        paper = {"files": ("paper.md", b"# A paper\n\n" + b"word " * 400_000, "text/markdown")}
        assert client.post("/gradio_api/upload", files=paper).status_code == 200  # 2 MB: a paper, allowed


def test_the_api_names_its_parameters_and_only_the_question_is_required(
    ui_corpus_settings: Settings, small_index
) -> None:
    demo = build_ui(ui_corpus_settings, index=small_index, llm=False)
    api = demo.get_api_info()["named_endpoints"]

    def params(name: str) -> list[tuple[str, bool]]:
        return [(p["parameter_name"], p["parameter_has_default"]) for p in api[name]["parameters"]]

    # named as answer()'s and the CLI's (they were param_0 … param_6, the years required)
    assert params("/ask") == [
        ("question", False), ("stance", True), ("year_from", True), ("year_to", True),
        ("types", True), ("k", True), ("sources", True),
    ]  # fmt: skip
    assert [n for n, _ in params("/add_source")] == [
        "url",
        "upload",
        "stance",
        "kind",
        "list_search",
        "list_stance",
        "list_type",
        "write_questions",
    ]
    # a source to remove has no default: the Remove box starts empty, not on the first source
    assert params("/remove_source")[0] == ("source_id", False)
    remove_box = next(c for c in demo.config["components"] if c["props"].get("elem_id") == "remove-id")
    assert remove_box["props"].get("value") in (None, [])
    # the API checks values against the choices the page started with: every type a source can have, and
    # any source id (one added since), which the question's own check then reads
    config = {c["props"].get("elem_id"): c["props"] for c in demo.config["components"]}
    assert set(SOURCE_TYPES) <= {v for _, v in config["type-filter"]["choices"]}
    assert config["only-sources"]["allow_custom_value"]
    # the upload's progress reaches the page (a keyword-only tracker was never given one)
    assert next(fn for fn in demo.fns.values() if fn.api_name == "add_source").tracks_progress


def test_a_call_to_an_unknown_endpoint_or_with_too_few_values_is_told_what_the_api_takes(
    ui_corpus_settings: Settings, small_index
) -> None:
    from starlette.testclient import TestClient

    demo = build_ui(ui_corpus_settings, index=small_index, llm=False)
    demo.max_file_size = None  # set by launch(), which this test does not call
    app = gr.routes.App.create_app(demo, app_kwargs=launch_options(ui_corpus_settings, demo)["app_kwargs"])
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/gradio_api/call/nope", "/gradio_api/run/nope", "/gradio_api/call/v2/nope"):
            r = client.post(path, json={"data": []})
            assert r.status_code == 404 and "No endpoint /nope" in r.json()["detail"], (path, r.text)
            assert "/ask" in r.json()["detail"]
        r = client.post("/gradio_api/call/ask", json={"data": ["Are probes useful?"]})
        assert r.status_code == 422, r.text
        assert "question, stance, year_from, year_to, types, k, sources; 1 were sent" in r.json()["detail"]
        ok = client.post("/gradio_api/call/ask", json={"data": ["Are probes useful?", [], "", "", [], 3, []]})
        assert ok.status_code == 200 and "event_id" in ok.json()  # the body read for the check reached Gradio
        assert client.post("/gradio_api/call/ask", content=b"not json").status_code == 422  # Gradio's own
        # a value of the wrong kind is named (Gradio read "skeptical" letter by letter, refused "8" with its
        # components' internals, and saved a list's repr as the question)
        for values, said in (
            (
                ["Are probes useful?", "skeptical", "", "", [], 3, []],
                '/ask: stance must be a list of text values; "skeptical" was sent.',
            ),
            (["Are probes useful?", [], "", "", [], "8", []], '/ask: k must be a number; "8" was sent.'),
            ([["Are probes useful?"], [], "", "", [], 3, []], "/ask: question must be text"),
        ):
            r = client.post("/gradio_api/call/ask", json={"data": values})
            assert r.status_code == 422 and said in r.json()["detail"], r.text
        years = client.post(
            "/gradio_api/call/ask", json={"data": ["Are probes useful?", [], 2019, 2024, [], 3, []]}
        )
        assert years.status_code == 200  # a year as a number is the text box's text
        upload = ["", "/etc/passwd", "unknown", "other", "", "", "", False]
        r = client.post("/gradio_api/call/add_source", json={"data": upload})
        assert r.status_code == 422 and "a path on the server is not read" in r.json()["detail"]
        # the page calls its quick events by number on /run/predict: a number it does not have is named
        r = client.post("/gradio_api/run/predict", json={"fn_index": 999, "data": []})
        assert r.status_code == 404 and "No event #999" in r.json()["detail"]
    # with a log-in, Gradio's check comes first: no endpoint is named to a caller without it
    with_login = ui_corpus_settings.model_copy(
        update={"web": ui_corpus_settings.web.model_copy(update={"auth": "a:b"})}
    )
    app = gr.routes.App.create_app(demo, app_kwargs=launch_options(with_login, demo)["app_kwargs"])
    with TestClient(app, raise_server_exceptions=False) as client:
        assert "/ask" not in client.post("/gradio_api/call/nope", json={"data": []}).text


def test_prepare_index_builds_a_missing_index_and_reports_progress(tmp_path: Path) -> None:
    settings = write_ui_corpus(tmp_path)
    status = IndexStatus(ready=False)
    seen: list[str] = []
    update = status.update
    status.update = lambda *a, **k: (update(*a, **k), seen.append(status.message()))  # type: ignore[method-assign]
    prepare_index(settings, status)
    assert status.ready and not status.error and current_dir(settings.index_dir) is not None
    later = " A question asked now is answered as soon as it is ready."
    assert any(re.fullmatch(rf"Building the index: embedding \d+/\d+ chunks…{later}", m) for m in seen), seen
    assert seen[-1] == "Loading the index and the embedding model…" + later


def test_prepare_index_rebuilds_a_stale_index(tmp_path: Path) -> None:
    settings = write_ui_corpus(tmp_path)
    prepare_index(settings, IndexStatus(ready=False))
    other = settings.model_copy(update={"chunk_tokens": settings.chunk_tokens - 30})
    status = IndexStatus(ready=False)
    prepare_index(other, status)
    assert status.ready and not status.error
    assert load_index(settings=other).meta["chunking"]["chunk_tokens"] == other.chunk_tokens
