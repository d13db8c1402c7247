"""Load test of the web UI: concurrent `gradio_client` clients asking questions through the app's queue.

    python bench/load_ui.py --url http://127.0.0.1:7860/   # against a running app
    python bench/load_ui.py                                # starts `python app.py` on a free loopback port
                                                           # (INTERP_RAG_* settings; extractive unless --llm)

Each of --clients clients (default 20) connects, waits for the others, then asks --questions questions
(default 5) one after another; every request gets a distinct question (from bench/questions/*.jsonl), so
the query-embedding cache does not flatter the numbers. Prints a JSON summary: latency p50/p95/max of the
answered requests (client-side, end to end through the queue), the errors, and the app's CPU time per question
over the run (from /proc, for an app it started or one named by --pid): on a machine shared with other jobs
the CPU a question costs is steadier than its latency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before gradio_client: it must not look anything up on a hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.questions import question_texts  # noqa: E402

FALLBACK = [
    "Are sparse autoencoders actually useful?",
    "Can interpretability detect a deceptive model?",
    "Is superposition a real phenomenon?",
    "What is activation patching?",
    "Does mechanistic interpretability scale to frontier models?",
]


# gradio_client opens a new httpx client for every request, and httpx builds a new SSL context for each
# (the CA bundle read and parsed: ~25 ms of CPU), even for a plain http URL: two per question, more CPU
# than the app spends answering it, taken from the cores the app runs on. One context, built once as
# httpx builds it, verifies the same way (gradio_client hands `ssl_verify` to httpx as its `verify`).
TLS = httpx.create_ssl_context()


def connect(url: str, **kw: object) -> Client:
    return Client(url, verbose=False, ssl_verify=TLS, **kw)  # type: ignore[arg-type]


def questions(n: int) -> list[str]:
    pool = question_texts() or FALLBACK
    return [pool[i % len(pool)] for i in range(n)]


def ask(client: Client, question: str, k: int) -> tuple[str, ...]:
    return client.predict(question, [], None, None, [], k, api_name="/ask")


def failure(result: tuple[str, ...]) -> str:
    """Why an answer counts as an error ('' if it is a good answer)."""
    notice, answer = result[0], result[1]
    if "notice-error" in notice or "notice-info" in notice:
        return f"notice: {notice[:200]}"
    if "passages" not in answer or "answer-body" not in answer:
        return f"no answer: {answer[:200]}"
    return ""


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (all its threads) so far, from /proc; None where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@contextlib.contextmanager
def app_server(llm: bool) -> Iterator[tuple[str, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "INTERP_RAG_HOST": "127.0.0.1", "INTERP_RAG_PORT": str(port)}
    if not llm:
        env["INTERP_RAG_LLM_BASE_URL"] = ""
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    log = open(ROOT / "bench" / "out" / "load_ui_app.log", "wb")  # noqa: SIM115 - open while the app runs
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            time.sleep(0.25)
        else:
            raise SystemExit(f"the app did not start; see {log.name}")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def wait_ready(url: str, k: int, timeout: float = 300) -> None:
    """The app serves at once but answers only once its index is loaded (or built)."""
    client = connect(url)
    deadline = time.monotonic() + timeout
    while "notice-info" in (result := ask(client, "warm-up question about features", k))[0]:
        if time.monotonic() > deadline:
            raise SystemExit(f"the index was not ready after {timeout:g} s")
        time.sleep(1)
    if why := failure(result):
        raise SystemExit(f"the app does not answer: {why}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))]


def run(url: str, clients: int, per_client: int, k: int, pid: int | None = None) -> dict:
    qs = questions(clients * per_client)
    latencies: list[float] = []
    errors: list[str] = []
    modes: set[str] = set()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        try:
            # As a browser does: the answer's export files (Markdown, BibTeX) are fetched only when the
            # reader clicks them, not with every answer.
            client = connect(url, download_files=False)
        except Exception as e:  # counted for each of its questions
            start.wait()
            with lock:
                errors.extend([f"connect: {type(e).__name__}: {e}"] * per_client)
            return
        start.wait()
        for j in range(per_client):
            t = time.perf_counter()
            try:
                result = ask(client, qs[i * per_client + j], k)
                why = failure(result)
            except Exception as e:
                result, why = ("", ""), f"{type(e).__name__}: {e}"
            ms = (time.perf_counter() - t) * 1000
            with lock:
                if why:
                    errors.append(why)
                else:
                    latencies.append(ms)
                    modes.add("llm" if "LLM answer" in result[1] else "extractive")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    start.wait()
    t0, cpu0 = time.perf_counter(), cpu_seconds(pid)
    for th in threads:
        th.join()
    wall, cpu1 = time.perf_counter() - t0, cpu_seconds(pid)
    total = clients * per_client
    app_cpu = None if cpu0 is None or cpu1 is None else round((cpu1 - cpu0) * 1000 / total, 1)
    return {
        "url": url,
        "clients": clients,
        "questions_per_client": per_client,
        "k": k,
        "requests": total,
        "answered": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "mode": "/".join(sorted(modes)) or "none",
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1) if latencies else None,
            "p95": round(percentile(latencies, 95), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "wall_s": round(wall, 2),
        "throughput_rps": round(total / wall, 1) if wall else None,
        "app_cpu_ms_per_question": app_cpu,
        # Client and app share this machine when the app is started here: say how big and how busy it was.
        "cpus": os.cpu_count(),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running app; default: start `python app.py` on a free port")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=5, help="questions per client")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--llm", action="store_true", help="keep INTERP_RAG_LLM_BASE_URL for a started app")
    ap.add_argument("--pid", type=int, help="the process id of the app at --url, to report its CPU time")
    args = ap.parse_args()
    with contextlib.nullcontext((args.url, args.pid)) if args.url else app_server(args.llm) as (url, pid):
        wait_ready(url, args.k)
        summary = run(url, args.clients, args.questions, args.k, pid)
    print(json.dumps(summary, indent=2))
    sys.exit(1 if summary["errors"] else 0)


if __name__ == "__main__":
    main()
