"""The workbench end to end in a real Chromium: the timeline, copying Markdown, reopening a question from
history, adding a source by file upload and removing it, and a bad upload changing nothing. Screenshots of
each go in test-artifacts/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from interp_rag.settings import Settings
from tests.conftest_ui import ARTIFACTS, App, build_ui_corpus, running_app
from tests.test_browser import CHROMIUM, FLAGS, ask
from tests.test_ui_workbench import UPLOAD, tree_hash

pytestmark = pytest.mark.browser

Q1 = "Can sparse autoencoders detect a deceptive model?"
Q2 = "Which features fire on DNA sequences or legal citations?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    built = build_ui_corpus(tmp_path_factory.getbasetemp() / "ui-corpus")
    root, tmp = built.sources_file.parent, tmp_path_factory.mktemp("bench-corpus")
    for name in ("docs", "index"):
        shutil.copytree(root / name, tmp / name)
    shutil.copy(built.sources_file, tmp / "sources.toml")
    update = {"index_dir": tmp / "index", "sources_file": tmp / "sources.toml", "cache_dir": tmp / "cache"}
    return built.model_copy(update={**update, "mirror": tmp / "docs"})


@pytest.fixture(scope="module")
def app(corpus: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with running_app(corpus, tmp_path_factory.mktemp("bench-app") / "app.log") as a:
        yield a


@pytest.fixture(scope="module")
def page(app: App, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
        )
        p = context.new_page()
        p.goto(app.url)
        p.wait_for_selector("#ask")
        yield p
        context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=True)


def test_timeline_is_drawn_and_links_its_sources_to_cards(page: Any) -> None:
    assert not page.locator("#download-md").is_visible()  # the downloads come with an answer
    ask(page, Q1)
    page.wait_for_selector("#timeline-plot canvas, #timeline-plot svg", timeout=20_000)
    assert page.locator("#timeline-plot").is_visible()
    links = page.locator("#timeline a.tl-card")
    assert (
        links.count() >= 2
        and "2024" in page.inner_text("#timeline ul")
        and "2025" in page.inner_text("#timeline ul")
    )
    target = links.last.get_attribute("href")
    assert page.locator(f"article{target}").count() == 1
    links.last.click()
    page.wait_for_function("h => location.hash === h", arg=target)
    # dragging across the first bar selects its year: the list keeps that year's sources, linked to cards
    plot = page.locator("#timeline-plot canvas, #timeline-plot svg").first
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.12, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=8)
    page.mouse.up()
    page.wait_for_function(
        # what is shown: the heading and the list (the chart's hidden description names every year)
        "() => { const t = [...document.querySelectorAll('#timeline .timeline-head, #timeline ul')]"
        ".map(e => e.innerText).join(' ');"
        " return t.includes('· 2024 (double-click') && !t.includes('2025') }",
        timeout=20_000,
    )
    assert page.locator("#timeline a.tl-card").count() >= 1
    page.locator("#timeline-box").first.scroll_into_view_if_needed()
    shot(page, "timeline")


def test_copy_as_markdown_puts_the_answer_and_references_on_the_clipboard(page: Any) -> None:
    page.evaluate("navigator.clipboard.writeText('')")
    page.click("#copy-md")
    page.wait_for_function("async () => (await navigator.clipboard.readText()).length > 0", timeout=10_000)
    md = page.evaluate("navigator.clipboard.readText()")
    assert md.startswith(f"# {Q1}") and "## References" in md and "[1] " in md and "   > " in md
    assert page.locator("#download-md").is_visible() and page.locator("#download-bib").is_visible()
    shot(page, "copy-markdown")


def test_a_recent_question_shows_its_answer_again(page: Any) -> None:
    first = page.inner_text("#answer .answer-body")
    ask(page, Q2)
    assert page.input_value("#question textarea") == Q2
    page.get_by_text("Recent questions").click()
    option = page.locator("#recent label", has_text=Q1).first
    option.wait_for(timeout=10_000)
    option.click()
    # A click that lands while the accordion still opens can be lost on a loaded machine: the choice is
    # the radio being checked, so click once more if it is not (a failing handler still fails below).
    if not option.locator("input").is_checked():
        page.wait_for_timeout(1_000)
        if not option.locator("input").is_checked():
            option.click()
    try:
        page.wait_for_function(
            "q => document.querySelector('#question textarea').value === q", arg=Q1, timeout=60_000
        )
    except Exception as e:
        checked = option.locator("input").is_checked()
        raise AssertionError(
            f"choosing the recent question did not reopen it (radio checked: {checked}; notice: "
            f"{page.inner_text('#notice') if page.locator('#notice').count() else '-'!r})"
        ) from e
    assert page.inner_text("#answer .answer-body") == first
    shot(page, "history")


FILE_INPUT = "#add-file input[type=file]"


def open_sources(page: Any) -> None:
    """Open the Sources tab and wait for its file box. In one CI run (of many) the box held no file input
    for 30 s after the tab showed; the page is kept, what the box held goes into the failure, and the page
    is reloaded once, as a user whose upload box did not show would."""
    page.get_by_role("tab", name="Sources").click()
    try:
        page.wait_for_selector(FILE_INPUT, state="attached", timeout=60_000)
        return
    except Exception:
        box = page.locator("#add-file")
        held = box.first.inner_html()[:2000] if box.count() else "(no #add-file element)"
        shot(page, "no-file-input")
        (ARTIFACTS / "workbench-no-file-input.html").write_text(page.content(), encoding="utf-8")
    page.reload()
    page.wait_for_selector("#ask", timeout=60_000)
    page.get_by_role("tab", name="Sources").click()
    try:
        page.wait_for_selector(FILE_INPUT, state="attached", timeout=60_000)
    except Exception as e:
        msg = f"the Sources tab shows no file input, reloaded too; before the reload #add-file held: {held}"
        raise AssertionError(msg) from e


def upload(page: Any, path: Path, outcome: str, *, timeout: int) -> None:
    """Choose a file in the Sources tab, press Add, and wait for the notice `outcome` selects."""
    chip = f"#add-file :text('{path.name}')"
    page.set_input_files(FILE_INPUT, str(path))
    # generous: on a loaded machine (CI, a benchmark beside it) the file chip can take many seconds. In two
    # full runs (of many) it never came, the app logging nothing: the page is kept for whoever meets it
    # next, and the file is chosen again, as a user whose pick did not show would.
    try:
        page.wait_for_selector(chip, timeout=30_000)
    except Exception:
        shot(page, f"no-file-chip-{path.stem}")
        (ARTIFACTS / f"workbench-no-file-chip-{path.stem}.html").write_text(page.content(), encoding="utf-8")
        page.set_input_files(FILE_INPUT, str(path))
        page.wait_for_selector(chip, timeout=60_000)
    page.click("#add")
    page.wait_for_selector(outcome, timeout=timeout)


def test_upload_a_source_ask_it_then_remove_it(page: Any, corpus: Settings) -> None:
    open_sources(page)
    page.wait_for_selector("#library table.library")
    assert "3 of 3 sources" in page.inner_text("#library")
    upload(page, UPLOAD, "#lib-notice .notice-success", timeout=120_000)
    assert "Added “Induction heads, read closely”" in page.inner_text("#lib-notice")
    assert "4 of 4 sources" in page.inner_text("#library")
    assert "induction-heads-read-closely" in corpus.sources_file.read_text()
    # the Stance box left as it shows: the document's stance was not given, so it is unknown, not neutral
    assert page.input_value("#add-stance input") == "unknown"
    row = page.inner_text("#library tr[data-id='induction-heads-read-closely']")
    assert "unknown" in row and "neutral" not in row
    shot(page, "added")

    page.get_by_role("tab", name="Ask").click()  # the new source answers, no restart
    page.fill("#question textarea", "What do induction heads copy?")
    page.press("#question textarea", "Enter")
    page.wait_for_function(  # a card of the new source among the passages
        "() => [...document.querySelectorAll('.card .card-head')].some("
        "e => e.innerText.includes('Induction heads, read closely'))",
        timeout=30_000,
    )

    # a page opened now lists the new source (the lists were those of the server's start)
    fresh = page.context.new_page()
    try:
        fresh.goto(page.url)
        fresh.get_by_role("tab", name="Sources").click()
        fresh.wait_for_function(
            "() => (document.querySelector('#library') || {}).innerText?.includes('4 of 4 sources')",
            timeout=30_000,
        )
    finally:
        fresh.close()

    page.get_by_role("tab", name="Sources").click()
    # the next question restricted to it, then it is removed: questions must still be answered
    page.click("#only-sources input")
    page.keyboard.type("Induction")
    page.get_by_role("option", name=re.compile("Induction heads")).first.click()
    page.keyboard.press("Escape")
    # the Ask tab says so, where the restriction is easily forgotten
    page.wait_for_function(
        "() => (document.querySelector('#restriction') || {}).textContent?.includes('Induction heads')",
        timeout=30_000,
    )
    page.get_by_text("Remove a source").click()
    page.click("#remove-id input")
    page.keyboard.type("Induction")
    page.get_by_role("option", name=re.compile("Induction heads")).first.click()
    page.click("#remove")
    page.wait_for_selector("#lib-notice :text('Removed induction-heads-read-closely')", timeout=120_000)
    assert "3 of 3 sources" in page.inner_text("#library")
    assert "induction-heads-read-closely" not in corpus.sources_file.read_text()
    shot(page, "removed")
    page.get_by_role("tab", name="Ask").click()
    before = page.inner_text("#answer .answer-body")
    page.fill("#question textarea", "What do induction heads copy when they see a repeated token?")
    page.press("#question textarea", "Enter")
    page.wait_for_function(  # answered from the whole library: the restriction lost the removed source
        "b => { const e = document.querySelector('#answer .answer-body'); return e && e.innerText !== b }",
        arg=before,
        timeout=30_000,
    )
    assert "Induction heads, read closely" not in page.inner_text("#cols")
    assert "Induction heads" not in (page.text_content("#restriction") or "")


def test_remove_clicked_as_the_page_shows_it_removes_nothing(page: Any, corpus: Settings) -> None:
    """A fresh page's Remove box is empty: it started on the first source, and one click removed it."""
    fresh = page.context.new_page()
    try:
        fresh.goto(page.url)
        fresh.get_by_role("tab", name="Sources").click()
        fresh.wait_for_selector("#library table.library")
        listing = corpus.sources_file.read_bytes()
        fresh.get_by_text("Remove a source").click()
        assert fresh.input_value("#remove-id input") == ""
        fresh.click("#remove")
        fresh.wait_for_selector("#lib-notice .notice-error", timeout=30_000)
        assert "Choose the source to remove" in fresh.inner_text("#lib-notice")
        assert corpus.sources_file.read_bytes() == listing
    finally:
        fresh.close()


def test_a_bad_upload_shows_an_error_and_changes_nothing(page: Any, corpus: Settings, tmp_path: Path) -> None:
    open_sources(page)
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(bytes(range(256)) * 40)
    before = tree_hash(corpus.sources_file, corpus.index_dir)
    upload(page, bad, "#lib-notice .notice-error", timeout=60_000)
    assert "binary data, not a document" in page.inner_text("#lib-notice")  # no PDF header: what it is
    assert "Nothing was changed" in page.inner_text("#lib-notice")
    assert tree_hash(corpus.sources_file, corpus.index_dir) == before
    shot(page, "bad-upload")
    # a URL that fails stays in its box, to be corrected (it was cleared with the error)
    page.fill("#add-url textarea, #add-url input", "http://127.0.0.1:9/no-such-paper")
    page.click("#add")
    page.wait_for_function(
        "() => (document.querySelector('#lib-notice') || {}).innerText?.includes('127.0.0.1:9')",
        timeout=60_000,
    )
    assert page.input_value("#add-url textarea, #add-url input") == "http://127.0.0.1:9/no-such-paper"
    assert tree_hash(corpus.sources_file, corpus.index_dir) == before
    page.fill("#add-url textarea, #add-url input", "")


def test_with_an_llm_configured_an_upload_can_have_its_questions_written(
    page: Any, corpus: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The "LLM writes search questions" box is there when an LLM is configured (a scripted one on
    loopback here); ticked, the upload's passages go to the LLM and the notice counts its questions."""
    import json

    from tests.support.fake_llm import completion, fake_llm

    tmp = tmp_path_factory.mktemp("llm-bench")
    for name in ("docs", "index"):
        shutil.copytree(
            corpus.sources_file.parent / name, tmp / name, ignore=shutil.ignore_patterns(".build.lock")
        )
    shutil.copy(corpus.sources_file, tmp / "sources.toml")
    own = {"index_dir": tmp / "index", "sources_file": tmp / "sources.toml", "mirror": tmp / "docs"}
    settings = corpus.model_copy(
        update={**own, "cache_dir": tmp / "cache", "expansions_dir": tmp / "expansions"}
    )
    with fake_llm() as llm:
        llm.script(completion(json.dumps({"1": ["Which earlier token does an induction head copy from?"]})))
        extra = {"INTERP_RAG_LLM_BASE_URL": llm.base_url, "INTERP_RAG_LLM_MAX_RETRIES": "0"}
        with running_app(settings, tmp / "app.log", **extra) as app:
            page = page.context.new_page()  # the same browser, another app: the one with an LLM
            page.goto(app.url)
            # the model loads first (both cores busy): an upload started meanwhile may take minutes
            page.wait_for_function(
                "() => !document.body.innerText.includes('Loading the index')", timeout=120_000
            )
            open_sources(page)
            page.wait_for_selector("#add-questions", timeout=60_000)
            page.check("#add-questions input[type=checkbox]")
            upload(page, UPLOAD, "#lib-notice .notice-success", timeout=120_000)
            notice = page.inner_text("#lib-notice")
            shot(page, "added-with-questions")
            page.close()
        sent = llm.requests[0]["json"]["messages"][1]["content"]
    assert "the LLM wrote 1 question for its passages" in notice and "previous-token head" in sent
    assert (tmp / "expansions" / "induction-heads-read-closely.jsonl").is_file()
