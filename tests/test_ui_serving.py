"""What serving the app costs per question beyond answering it: Gradio's monitoring summary is neither
computed after every event nor served; an answer's values are postprocessed in its handler, as Gradio would
have made them."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import httpx
import pytest

from interp_rag.settings import Settings
from interp_rag.store.index import load_index
from interp_rag.web.app import View, ask, build_ui, launch_options, quiet_gradio
from interp_rag.web.sending import postprocessed
from interp_rag.web.workbench import EXTRAS, extras
from tests.conftest_ui import running_app, ui_corpus_settings

__all__ = ["ui_corpus_settings"]  # a fixture, imported to be found here

RECORDS = [
    {"time": 0.0, "status": "success", "process_time": 0.05, "function": "ask", "session_hash": "s"}
] * 50


def test_the_queue_made_after_quiet_gradio_never_rebuilds_its_analytics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", raising=False)
    quiet_gradio()
    with gr.Blocks() as demo:
        gr.Textbox()
    queue = demo.queue()._queue
    queue.events_recorded = 10_000  # as after a long day of questions
    assert queue.compute_analytics_summary(RECORDS) == {"functions": {}}


def test_a_frequency_the_user_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: with the frequency Gradio ships (every event), the summary is built."""
    monkeypatch.setenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1")
    quiet_gradio()
    with gr.Blocks() as demo:
        gr.Textbox()
    queue = demo.queue()._queue
    queue.events_recorded = 1
    assert queue.compute_analytics_summary(RECORDS)["functions"]["ask"]["total_requests"] >= 0


def test_the_served_app_tells_no_one_how_many_questions_it_answered(
    ui_corpus_settings: Settings, tmp_path: Path
) -> None:
    assert launch_options(ui_corpus_settings)["enable_monitoring"] is False
    with running_app(ui_corpus_settings, tmp_path / "app.log") as app:
        call = httpx.post(
            f"{app.url}gradio_api/call/ask",
            json={"data": ["Are probes useful?", [], "", "", [], 3, []]},
            timeout=30,
        )
        event = call.json()["event_id"]
        done = httpx.get(f"{app.url}gradio_api/call/ask/{event}", timeout=60).text
        assert "event: complete" in done
        # Gradio serves this without a log-in when monitoring is not turned off
        assert httpx.get(f"{app.url}monitoring/summary", timeout=10).status_code == 403


def test_an_answer_is_sent_as_gradios_own_postprocessing_would_send_it(
    ui_corpus_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The /ask event skips Gradio's postprocessing (a worker thread per output); its handler makes the same
    values: the chart's rows, the export files, the updates' props, all as Gradio makes them."""
    import asyncio
    import copy

    from gradio.state_holder import SessionState

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    settings = ui_corpus_settings.model_copy(update={"history": False})
    index = load_index(settings=settings)
    demo = build_ui(settings, index=index, llm=False)
    event = next(fn for fn in demo.fns.values() if fn.api_name == "ask")
    assert event.postprocess is False  # else Gradio would postprocess the handler's values again
    finals: list[object] = []
    *_, view = ask("Are sparse autoencoders useful?", settings=settings, index=index, llm=False,
                   on_final=lambda a, *_: finals.append(a))  # fmt: skip
    values = (*view, *extras(finals[0], settings))  # type: ignore[arg-type]
    assert len(values) == len(View._fields) + len(EXTRAS) == len(event.outputs)

    def sent(vals: tuple[object, ...], gradio_postprocesses: bool) -> list[object]:
        event.postprocess = gradio_postprocesses
        try:  # a copy: Gradio takes an update's value out of its dict
            return asyncio.run(demo.postprocess_data(event, copy.deepcopy(list(vals)), SessionState(demo)))
        finally:
            event.postprocess = False

    ours, gradios = sent(postprocessed(event.outputs, values), False), sent(values, True)
    assert ours == gradios
    chart, md_file = ours[len(View._fields)], ours[len(View._fields) + EXTRAS.index("download_md")]
    assert chart["value"]["data"] and md_file["path"].endswith("answer.md")  # type: ignore[index]
