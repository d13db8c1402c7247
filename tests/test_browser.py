"""End to end in a real Chromium (Debian's /usr/bin/chromium driven by Playwright): the real app, started
with `python app.py` on a free loopback port, over the real index and over a corpus carrying XSS payloads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from interp_rag.settings import Settings
from tests.conftest_ui import (
    ARTIFACTS,
    App,
    start_app,
    stop_app,
    wait_http,
    write_ui_corpus,
)
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
    app = start_app(real_index_settings, tmp_path_factory.mktemp("real-app") / "app.log")
    try:
        wait_http(app)
        yield app
    finally:
        stop_app(app)


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
    # Gradio shows a bare timer ("0.0s") on the status while its first update is in flight.
    page.wait_for_function("() => !/^\\s*[\\d.]+s\\s*$/.test(document.querySelector('#status').innerText)")
    status = page.inner_text("#status")
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
        app = start_app(real_index_settings, tmp / "app.log", **extra)
        try:
            wait_http(app)
            page, dialogs = open_page(browser, app)
            watch = "{childList: true, subtree: true, characterData: true}"
            page.evaluate(
                "() => { window.__streamed = 0; new MutationObserver(() => { if (document.querySelector("
                "'#answer .answer.streaming')) window.__streamed++ })"
                f".observe(document.querySelector('#answer'), {watch}) }}"
            )
            ask(page, CONTESTED)
            assert page.evaluate("window.__streamed") >= 1, "no partial answer was shown while streaming"
            assert f"LLM answer · {llm.model}" in page.inner_text("#answer .answer-meta")
            assert page.locator("#col-enthusiastic .card").count() >= 1
            page.get_by_text("Mode and index").click()
            assert f"LLM: {llm.model} at {llm.base_url}" in page.inner_text("#mode")
            assert dialogs == []
        finally:
            stop_app(app)
