"""Fixtures and helpers for the UI tests (imported by test_ui.py and test_browser.py; tests/conftest.py is
owned elsewhere). A tiny corpus of our own, one document of which carries XSS payloads; the app started as
a subprocess on a free loopback port; fake LLM clients."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
import pytest

from interp_rag.errors import LLMError
from interp_rag.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"

# Each payload would leave a trace if it ran or rendered as markup: a dialog, window.__xss, or an element
# with a `pwned` id.
XSS_TITLE = (
    "Payload review <img id=pwned-title src=x onerror=\"window.__xss='title'\"> <b id=pwned-b>bold</b>"
)
XSS_URL = "javascript:window.__xss='url'"
XSS_TEXT = """\
# Sparse autoencoders, reviewed with hostile markup

Sparse autoencoders are said to find interpretable features, and this review quotes markup verbatim.
<script id="pwned-script">window.__xss = 'script'; alert('script')</script>
An image tag follows: <img id="pwned-img" src=x onerror="window.__xss='img'; alert('img')"> and the
review goes on about sparse autoencoders and deception.
A [javascript link](javascript:alert('link')) and a raw
<a id="pwned-link" href="javascript:alert(1)">anchor</a>.
An SVG: <svg id="pwned-svg" onload="alert('svg')"></svg> and an iframe <iframe id="pwned-iframe"
src="javascript:alert('iframe')"></iframe>. Template syntax: ${alert('tpl')} {{constructor}}.
Whether sparse autoencoders help detect deception is contested by this review.
"""
ENTHUSIASTIC = """\
# Dictionary learning opens the black box

Sparse autoencoders decompose a language model's activations into thousands of features, and most of
them are interpretable: one fires on DNA sequences, another on legal citations, another on deception in
dialogue. Steering with these features changes behaviour exactly as the labels predict. We think this is
the breakthrough mechanistic interpretability needed, and that detecting a deceptive model by reading its
features is now a realistic engineering goal rather than a dream.
"""
SKEPTICAL = """\
# Why feature dictionaries may mislead us

Sparse autoencoders reconstruct activations poorly, and the features they find change with the
dictionary size and the random seed. A feature labelled deception may fire on a dozen unrelated
patterns. Probes and autoencoders have not beaten simple baselines on downstream tasks, so we doubt that
interpretability can detect a deceptive model: a capable model could hide its intent where these tools
do not look.
"""
SOURCES = """\
[[source]]
id = "dictionary-learning-hope"
title = "Dictionary learning opens the black box"
url = "https://example.org/dictionary-learning"
authors = ["Ada Optimist"]
year = 2024
type = "blog"
stance = "enthusiastic"
file = "hope.md"

[[source]]
id = "feature-dictionaries-doubt"
title = "Why feature dictionaries may mislead us"
url = "https://example.org/doubt"
authors = ["Bo Skeptic", "Cy Critic"]
year = 2025
type = "essay"
stance = "skeptical"
file = "doubt.md"

[[source]]
id = "xss-payload-review"
title = {title}
url = {url}
authors = ["Mallory <script>alert('author')</script>"]
year = 2025
type = "review"
stance = "skeptical"
file = "xss.md"
"""


def write_ui_corpus(root: Path) -> Settings:
    """The tiny corpus under root (docs/ and sources.toml); the index is not built. Returns its Settings."""
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in (("hope.md", ENTHUSIASTIC), ("doubt.md", SKEPTICAL), ("xss.md", XSS_TEXT)):
        (docs / name).write_text(text, encoding="utf-8")
    # json.dumps gives a valid TOML basic string for these values (quotes and backslashes escaped).
    (root / "sources.toml").write_text(SOURCES.format(title=json.dumps(XSS_TITLE), url=json.dumps(XSS_URL)))
    return Settings(
        index_dir=root / "index",
        sources_file=root / "sources.toml",
        cache_dir=root / "cache",
        mirror=docs,
        llm_base_url="",
    )


@cache
def build_ui_corpus(root: Path) -> Settings:
    """Build the tiny corpus's index once per root (test modules importing the fixture share it)."""
    from interp_rag.store.build import build_index

    settings = write_ui_corpus(root)
    build_index(settings=settings)
    return settings


@pytest.fixture(scope="session")
def ui_corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_ui_corpus(tmp_path_factory.getbasetemp() / "ui-corpus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class App:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def app_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    """The environment for `python app.py` serving these settings, offline, on loopback, extractive unless
    `extra` (INTERP_RAG_* names) configures an LLM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERP_RAG_")}
    for name, value in settings.model_dump().items():
        if isinstance(value, dict):  # a settings group (llm, retrieval, ...): JSON, as pydantic reads it
            env[f"INTERP_RAG_{name.upper()}"] = json.dumps(value)
        elif value is not None:
            env[f"INTERP_RAG_{name.upper()}"] = str(
                Path(value).resolve() if isinstance(value, Path) else value
            )
    env.update(
        INTERP_RAG_HOST="127.0.0.1",
        INTERP_RAG_PORT=str(port),
        INTERP_RAG_LLM_BASE_URL="",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
    )
    env.update(extra)
    return env


def start_app(settings: Settings, log: Path, **extra: str) -> App:
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=app_env(settings, port, **extra),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()  # the child has its own copy
    return App(f"http://127.0.0.1:{port}/", proc, log)


def wait_http(app: App, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.proc.poll() is not None:
            raise RuntimeError(f"the app exited with {app.proc.returncode}:\n{app.log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(app.url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the app did not answer HTTP in {timeout:g} s:\n{app.log.read_text()[-3000:]}")


def stop_app(app: App) -> None:
    app.proc.terminate()
    try:
        app.proc.wait(10)
    except subprocess.TimeoutExpired:
        app.proc.kill()
        app.proc.wait(10)


@contextlib.contextmanager
def running_app(settings: Settings, log: Path, **extra: str) -> Iterator[App]:
    """The app started, answering HTTP, and stopped on the way out (`extra`: environment variables)."""
    app = start_app(settings, log, **extra)
    try:
        wait_http(app)
        yield app
    finally:
        stop_app(app)


class FakeLLM:
    """Stands in for LLMClient: streams `deltas`, then raises `fail` if given (after the deltas)."""

    def __init__(
        self,
        deltas: list[str],
        fail: str = "",
        model: str = "fake-model",
        base_url: str = "http://127.0.0.1:9/v1",
    ) -> None:
        self.deltas, self.fail, self.model, self.base_url = deltas, fail, model, base_url
        self.calls = 0

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        self.calls += 1
        for d in self.deltas:
            time.sleep(0.12)  # slower than the UI's re-render interval, so each delta is its own update
            yield d
        if self.fail:
            raise LLMError(self.fail)
