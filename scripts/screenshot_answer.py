"""A screenshot of the web UI answering a contested question, for the README (docs/answer-contested.png).

    python scripts/screenshot_answer.py [--index index] [--question "..."] [--out docs/answer-contested.png]

Starts `python app.py` on a free loopback port over the given index (extractive: no LLM), asks the
question in headless Chromium (/usr/bin/chromium) and saves the answer with its stance bar and the first
passages of each side.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Is mechanistic interpretability likely to make AI systems safer?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=REPO / "index")
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "answer-contested.png")
    ap.add_argument("--height", type=int, default=1400, help="Pixels of the page kept, from the top.")
    a = ap.parse_args()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERP_RAG_")}
    env.update(
        INTERP_RAG_INDEX_DIR=str(a.index.resolve()),
        INTERP_RAG_SOURCES_FILE=str(REPO / "corpus" / "sources.toml"),
        INTERP_RAG_HOST="127.0.0.1",
        INTERP_RAG_PORT=str(port),
        INTERP_RAG_LLM_BASE_URL="",
    )
    app = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": a.height})
            page.goto(url)
            page.wait_for_selector("#ask:not([disabled])", timeout=120_000)
            page.fill("#question textarea", a.question)
            page.press("#question textarea", "Enter")
            page.wait_for_function(
                "() => { const m = document.querySelector('#answer .answer:not(.streaming) .answer-meta');"
                " return m && m.textContent.includes('passages') }",
                timeout=60_000,
            )
            page.wait_for_timeout(500)
            a.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(a.out), clip={"x": 0, "y": 0, "width": 1280, "height": a.height})
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)
    print(f"{a.out} ({a.out.stat().st_size / 1000:.0f} kB)")


if __name__ == "__main__":
    main()
