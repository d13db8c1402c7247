"""End to end in a real Chromium (Debian's /usr/bin/chromium driven by Playwright): the real app, started
with `python app.py` on a free loopback port, over the real index and over a corpus carrying XSS payloads."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from interp_rag.settings import Settings
from tests.conftest_ui import (
    ARTIFACTS,
    App,
    running_app,
    start_app,
    stop_app,
    wait_http,
    write_ui_corpus,
)
from tests.support.http import Route, serve
from tests.support.llm_server import start_openai_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CONTESTED = "Can interpretability detect a deceptive model?"


@pytest.fixture(scope="module")
def xss_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The app over a corpus carrying XSS payloads. It has no index yet, so the app builds it in the
    background, as `interp-rag serve` does on a first run. Not waited for here: it starts while the other
    app does (each takes seconds to import)."""
    tmp = tmp_path_factory.mktemp("xss-app")
    app = start_app(write_ui_corpus(tmp), tmp / "app.log")
    yield app
    stop_app(app)


@pytest.fixture(scope="module")
def real_app(
    real_index_settings: Settings, xss_app: App, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[App]:
    with running_app(real_index_settings, tmp_path_factory.mktemp("real-app") / "app.log") as app:
        yield app


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


def open_page(browser: Any, app: App) -> tuple[Any, list[str]]:
    page = browser.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(app.url)
    page.wait_for_selector("#ask")
    return page, dialogs


def ask(page: Any, question: str) -> None:
    page.wait_for_selector("#ask:not([disabled])", timeout=90_000)
    before = page.inner_text("#answer")
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")  # Enter submits
    page.wait_for_function(
        "b => { const m = document.querySelector('#answer .answer:not(.streaming) .answer-meta');"
        " return m && m.textContent.includes('passages')"
        " && document.querySelector('#answer').innerText !== b }",
        arg=before,
        timeout=30_000,
    )


def test_contested_question_shows_both_sides_with_working_citations(real_app: App, browser: Any) -> None:
    page, dialogs = open_page(browser, real_app)
    ask(page, CONTESTED)
    assert len(page.inner_text("#answer .answer-body")) > 80
    assert page.locator("#col-enthusiastic .card").count() >= 1
    assert page.locator("#col-skeptical .card").count() >= 1
    assert page.locator("#balance .bar .seg").count() >= 2

    cites = page.locator("#answer a.cite")
    hrefs = [cites.nth(i).get_attribute("href") for i in range(cites.count())]
    assert hrefs and all(re.fullmatch(r"#passage-\d+", h or "") for h in hrefs), hrefs
    for href in set(hrefs):
        assert page.locator(f"article{href}").count() == 1, f"no card for {href}"
    # hovered (or read by a screen reader), a citation names the source its card shows
    for i, href in enumerate(hrefs):
        assert cites.nth(i).get_attribute("title") == page.inner_text(f"article{href} .card-head a")
    target = hrefs[-1]
    cites.last.click()
    page.wait_for_function("h => location.hash === h", arg=target)
    top = page.locator(target).evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"], f"{target} not scrolled into view (top={top})"

    links = page.locator(".card a.title, .card a.url")
    assert links.count() >= 2 * page.locator(".card").count() - 2
    for i in range(links.count()):
        link = links.nth(i)
        assert re.match(r"https?://", link.get_attribute("href") or ""), link.get_attribute("href")
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in (link.get_attribute("rel") or "")

    page.get_by_text("Mode and index").click()
    assert "extractive — no LLM configured" in page.inner_text("#mode")
    assert re.search(r"\d+ sources · [\d,]+ chunks", page.inner_text("#mode"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-contested.png"), full_page=True)

    example = "Are sparse autoencoders actually useful?"
    before = page.inner_text("#answer")
    page.get_by_role("button", name=example).click()  # an example asks at once
    page.wait_for_function("b => document.querySelector('#answer').innerText !== b", arg=before)
    assert page.input_value("#question textarea") == example
    assert dialogs == []


def test_payloads_in_corpus_text_titles_and_urls_stay_inert(xss_app: App, browser: Any) -> None:
    wait_http(xss_app)
    page, dialogs = open_page(browser, xss_app)
    # Gradio shows a bare timer ("0.0s"), or its queue place ("queue: 1/1 | 0.2s") or "processing | 0.1s" on a
    # busy machine, on the status while an update is in flight; the text is taken in the same check that
    # waits past it (a read after the wait once caught the timer of the next update).
    status = page.wait_for_function(
        "() => { const t = document.querySelector('#status').innerText;"
        " return /^\\s*(queue: \\d+\\/\\d+ \\| |processing \\| )?[\\d.]+s\\s*$/.test(t)"
        " ? false : t.trim() || ' '; }"
    ).json_value()
    if status.strip():  # the page opened before the background build finished
        assert re.search(r"Building the index|Loading the index", status), status
    ask(page, "Are sparse autoencoders reviewed with hostile markup?")
    page.wait_for_timeout(300)  # give any injected onerror/onload a chance to fire

    # Nothing ran and nothing became markup...
    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    injected = "#pwned-script, #pwned-img, #pwned-link, #pwned-svg, #pwned-iframe, #pwned-title, #pwned-b"
    assert page.locator(injected).count() == 0
    markup = "a[href^='javascript' i], .card img, .card script, .card iframe, .card svg"
    assert page.locator(markup).count() == 0
    # ...and the payloads are still there, shown as text.
    cards = page.locator(".card")
    assert cards.count() >= 3
    shown = " ".join(cards.all_inner_texts())
    assert '<script id="pwned-script">' in shown and "<img id=pwned-title" in shown
    assert "javascript:window.__xss" in page.locator(".card .url.plain").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-xss.png"), full_page=True)


@pytest.mark.llmserver
def test_llm_answer_streams_into_the_page(
    real_index_settings: Settings, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With an LLM configured (a real OpenAI-compatible server, tiny random model) the answer is written
    into the page as it streams, then replaced by the final, validated answer."""
    tmp = tmp_path_factory.mktemp("llm")
    with start_openai_server(tmp / "server") as llm:
        extra = {"INTERP_RAG_LLM_BASE_URL": llm.base_url, "INTERP_RAG_LLM_MODEL": llm.model}
        extra["INTERP_RAG_LLM_MAX_TOKENS"] = "120"
        with running_app(real_index_settings, tmp / "app.log", **extra) as app:
            page, dialogs = open_page(browser, app)
            watch = "{childList: true, subtree: true, characterData: true}"
            page.evaluate(
                "() => { window.__streamed = 0; new MutationObserver(() => { if (document.querySelector("
                "'#answer .answer.streaming')) window.__streamed++ })"
                f".observe(document.querySelector('#answer'), {watch}) }}"
            )
            ask(page, CONTESTED)
            assert page.evaluate("window.__streamed") >= 1, "no partial answer was shown while streaming"
            # The tiny model's random words rarely cite a passage or finish a sentence within 120 tokens;
            # such an answer is replaced by the extractive answer, with a notice saying why.
            meta, notice = page.inner_text("#answer .answer-meta"), page.inner_text("#notice")
            why = ("cited none of the shown passages", "before it finished a sentence")
            assert f"LLM answer · {llm.model}" in meta or (
                "Extractive" in meta and any(w in notice for w in why)
            ), (meta, notice)
            assert page.locator("#col-enthusiastic .card").count() >= 1
            page.get_by_text("Mode and index").click()
            assert f"LLM: {llm.model} at {llm.base_url}" in page.inner_text("#mode")
            assert dialogs == []


CARDS = "[...document.querySelectorAll('.card')]"
YEAR = "+(c.querySelector('.card-meta').innerText.match(/\\b(19|20)\\d\\d\\b/) || [0])[0]"


def ask_for_cards(page: Any, question: str, n: int, each: str = "true") -> None:
    """Ask, then wait until the passages on the page are the new answer's (Gradio renders the outputs one
    by one) and there are `n` of them, each meeting `each` (JavaScript over a card `c`)."""
    before = page.inner_text("#cols") + page.inner_text("#col-neutral")
    ask(page, question)
    page.wait_for_function(
        f"b => {{ const now = document.querySelector('#cols').innerText"
        f" + document.querySelector('#col-neutral').innerText; const cs = {CARDS};"
        f" return now !== b && cs.length === {n} && cs.every(c => {each}) }}",
        arg=before,
        timeout=15_000,
    )
    assert page.inner_text("#notice").strip() == ""


def test_filters_work_with_their_defaults(real_app: App, browser: Any) -> None:
    """What a user does: open Filters, tick one box (years left empty), ask, see only what was asked for."""
    page, dialogs = open_page(browser, real_app)
    page.get_by_text("Filters").click()
    assert page.input_value("#year-from input") == "" and page.input_value("#year-to input") == ""
    skeptical = page.locator("#stance-filter").get_by_label("skeptical")
    skeptical.check()
    ask_for_cards(page, CONTESTED, 8, "c.classList.contains('skeptical')")
    skeptical.uncheck()

    paper = page.locator("#type-filter").get_by_label("paper")
    paper.check()
    is_paper = "c.querySelector('.card-meta').innerText.includes(' · paper')"
    ask_for_cards(page, "Is superposition a real phenomenon or an artifact?", 8, is_paper)
    paper.uncheck()

    page.fill("#year-from input", "2023")
    ask_for_cards(page, "Does mechanistic interpretability scale to frontier models?", 8, f"{YEAR} >= 2023")
    page.fill("#year-from input", "")
    page.fill("#year-to input", "2020")
    ask_for_cards(page, "Are sparse autoencoders actually useful?", 8, f"{YEAR} > 0 && {YEAR} <= 2020")
    page.fill("#year-to input", "")

    page.fill("#k input[type=number]", "3")
    page.press("#k input[type=number]", "Tab")
    ask_for_cards(page, "What is activation patching?", 3)
    assert "3 passages" in page.inner_text("#answer .answer-meta")
    assert dialogs == []


def test_example_buttons_ask_with_the_default_filters(real_app: App, browser: Any) -> None:
    page, dialogs = open_page(browser, real_app)
    page.wait_for_selector("#ask:not([disabled])", timeout=90_000)
    for example in ("What is activation patching?", "Is superposition a real phenomenon or an artifact?"):
        before = page.inner_text("#answer")
        page.get_by_role("button", name=example).click()
        page.wait_for_function(
            "b => { const m = document.querySelector('#answer .answer:not(.streaming) .answer-meta');"
            " return m && m.textContent.includes('8 passages') && document.querySelector('#answer').innerText"
            " !== b }",
            arg=before,
            timeout=30_000,
        )
        assert page.input_value("#question textarea") == example
        assert page.inner_text("#notice").strip() == "" and page.locator(".card").count() == 8
    assert dialogs == []


SLOW_DOC = """# A source that takes its time

Sparse autoencoders are useful for finding features, this slow source says, and it is fetched from a
server that answers only when the test lets it.
"""


def test_a_question_asked_while_the_index_builds_is_answered_when_it_is_ready(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The index is built in the background while a source is being fetched (a loopback server that holds
    its answer); a question sent with Enter while Ask is greyed out waits, and is answered after the build."""
    tmp = tmp_path_factory.mktemp("slow-build")
    settings = write_ui_corpus(tmp).model_copy(update={"fetch_timeout": 300.0})
    gate = threading.Event()
    with serve({"/slow.md": Route(body=SLOW_DOC.encode(), content_type="text/markdown", gate=gate)}) as base:
        entry = f'\n[[source]]\nid = "slow-source"\ntitle = "A slow source"\nurl = "{base}/slow.md"\n'
        with settings.sources_file.open("a", encoding="utf-8") as f:
            f.write(entry)
        app = start_app(settings, tmp / "app.log")
        try:
            wait_http(app)
            page, dialogs = open_page(browser, app)
            page.wait_for_function(
                "() => /Building the index/.test(document.querySelector('#status').innerText)"
            )
            assert page.locator("#ask").is_disabled()
            page.fill("#question textarea", "Are sparse autoencoders useful?")
            page.press("#question textarea", "Enter")
            page.wait_for_timeout(1500)
            assert "Ask a question, or pick an example" in page.inner_text("#answer")  # waiting, not answered
            assert "Ask again" not in page.inner_text("#notice") and "answered as soon as" in page.inner_text(
                "#status"
            )
            gate.set()
            page.wait_for_function(
                "() => { const m = document.querySelector('#answer .answer:not(.streaming) .answer-meta');"
                " return m && m.textContent.includes('passages') }",
                timeout=120_000,
            )
            assert page.locator(".card").count() >= 1 and page.inner_text("#notice").strip() == ""
            assert dialogs == []
        finally:
            gate.set()
            stop_app(app)
