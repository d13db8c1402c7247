"""CPU a web question costs, by component, in one process (no server, no client): what the web layer adds
to the library's answer.

    python bench/ui_cpu.py [--n 60] [--profile OUT.pstats]

The index of INTERP_RAG_INDEX_DIR (extractive; history as the settings say). N distinct questions from
bench/questions/*.jsonl, each first embedded (the embedding timed alone: `embed`), so every later stage
finds its vector cached and they differ only in what they do after retrieval:

- `answer`: the library's `answer()` (retrieval, sentences, timeline);
- `render.*`: each piece of HTML and each workbench value built from those Answers, timed alone;
- `handler`: the /ask event's own function (the web layer: answer, HTML, workbench, history);
- `gradio`: the same event through `Blocks.process_api` (Gradio's pre- and postprocessing around it), a
  new session every --per-session questions (`gradio.new_session`: what starting one costs);
- `payload`: the JSON of process_api's output as the queue sends it (orjson, as Gradio does);
- `web.handler`, `web.gradio`: the handler and process_api again with each question's Answer made
  beforehand (the stream handed it at once): the serving path's own CPU, without retrieval's ~40 ms and
  its variance on a busy machine, for comparing two versions of the web layer.

CPU time is `time.process_time()` (torch at one thread, as `serve` sets it), in ms per question: stable on a
busy machine where wall time is not. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ["INTERP_RAG_LLM_BASE_URL"] = ""

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.questions import question_texts  # noqa: E402


def questions(n: int) -> list[str]:
    return list(dict.fromkeys(question_texts()))[:n]


def per_question(fn: Callable[[Any], Any], items: list[Any]) -> tuple[float, list[Any]]:
    """Mean CPU ms of fn over the items (questions, or their Answers), and its results."""
    out = []
    t = time.process_time()
    for x in items:
        out.append(fn(x))
    return (time.process_time() - t) * 1000 / len(items), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3, help="times each stage runs over the questions")
    ap.add_argument("--per-session", type=int, default=5, help="questions a Gradio session asks")
    ap.add_argument("--profile", help="write a cProfile of the `web.gradio` stage here")
    args = ap.parse_args()

    import orjson
    import torch
    from gradio.state_holder import SessionState

    from interp_rag.answering.pipeline import answer
    from interp_rag.answering.stream import AnswerStream
    from interp_rag.ingest.embed import expect_many_questions
    from interp_rag.retrieval.search import query_vector
    from interp_rag.settings import get_settings
    from interp_rag.store.index import get_index
    from interp_rag.types import STANCES
    from interp_rag.web import app as web_app
    from interp_rag.web import render, workbench

    settings = get_settings()
    index = get_index(settings)
    expect_many_questions()
    torch.set_num_threads(1)
    demo = web_app.build_ui(settings)
    fn_index, block_fn = next((i, f) for i, f in demo.fns.items() if f.api_name == "ask")
    handler = block_fn.fn

    def inputs(q: str) -> list[Any]:
        return [q, [], "", "", [], 8, []]

    sessions: list[SessionState] = []
    loop = asyncio.new_event_loop()  # one, as the server's: anyio keeps its worker threads per loop

    def through_gradio(q: str) -> dict[str, Any]:
        # a session per --per-session questions, as the load test's clients (a browser tab: one per page)
        if not sessions or sessions[-1].asked == args.per_session:  # type: ignore[attr-defined]
            sessions.append(SessionState(demo))
            sessions[-1].asked = 0  # type: ignore[attr-defined]
        sessions[-1].asked += 1  # type: ignore[attr-defined]
        run = demo.process_api(block_fn=fn_index, inputs=inputs(q), state=sessions[-1])
        return loop.run_until_complete(run)  # type: ignore[arg-type]

    qs = questions(args.n)
    warm = ["What is a warm-up question about features?", "How are circuits found in warm-up models?"]
    for q in warm:  # first calls load models and fill caches: not part of any stage
        answer(q, llm=False, index=index, settings=settings)
        through_gradio(q)
    stages: dict[str, list[float]] = {}
    stages["embed"] = [per_question(query_vector, qs)[0]]
    stages["gradio.new_session"] = [per_question(lambda q: SessionState(demo), qs)[0]]
    finals: list[Any] = []
    for _ in range(args.repeat):
        ms, finals = per_question(lambda q: answer(q, llm=False, index=index, settings=settings), qs)
        stages.setdefault("answer", []).append(ms)
        stages.setdefault("handler", []).append(per_question(lambda q: handler(*inputs(q)), qs)[0])
        ms, outs = per_question(through_gradio, qs)
        stages.setdefault("gradio", []).append(ms)
        t = time.process_time()
        sizes = [len(orjson.dumps(o["data"], option=orjson.OPT_SERIALIZE_NUMPY)) for o in outs]
        stages.setdefault("payload", []).append((time.process_time() - t) * 1000 / len(outs))

    done = {a.question: a for a in finals}
    real_stream = web_app.answer_stream

    def made_before(query: Any, **kw: Any) -> Any:
        final = done.get(query.question)
        return AnswerStream(iter([final]), query.question) if final else real_stream(query, **kw)

    web_app.answer_stream = made_before  # type: ignore[assignment]
    for _ in range(args.repeat):
        stages.setdefault("web.handler", []).append(per_question(lambda q: handler(*inputs(q)), qs)[0])
        stages.setdefault("web.gradio", []).append(per_question(through_gradio, qs)[0])
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for q in qs:
            through_gradio(q)
        prof.disable()
        prof.dump_stats(args.profile)

    web_app.answer_stream = real_stream  # type: ignore[assignment]

    pieces: dict[str, Callable[[Any], Any]] = {
        "render.answer": lambda a: render.render_answer(a.text, len(a.passages), a),
        "render.balance": lambda a: render.render_balance(a.passages, a.missing_sides, [], a.low_relevance),
        "render.columns": lambda a: [
            render.render_column(s, a.passages, a.question, {c.number for c in a.citations}) for s in STANCES
        ],
        "workbench.extras": lambda a: workbench.extras(a, settings),
        "workbench.timeline_frame": workbench.timeline_frame,
        "workbench.render_timeline": workbench.render_timeline,
        "workbench.export_files": workbench.export_files,
        "workbench.history_choices": lambda a: workbench.history_choices(settings),
    }
    for name, fn in pieces.items():
        for _ in range(args.repeat):
            stages.setdefault(name, []).append(per_question(fn, finals)[0])

    med = {k: round(statistics.median(v), 2) for k, v in stages.items()}
    summary = {
        "questions": len(qs),
        "repeat": args.repeat,
        "cpu_ms_per_question_median": med,
        "cpu_ms_per_question_runs": {k: [round(x, 2) for x in v] for k, v in stages.items()},
        "web_layer_ms": round(med["handler"] - med["answer"], 2),
        "gradio_processing_ms": round(med["gradio"] - med["handler"], 2),
        "payload_bytes_mean": round(statistics.fmean(sizes)),
        "code": str(Path(web_app.__file__).parents[2]),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
