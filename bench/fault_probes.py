"""Index faults and bad input, probed as a user meets them: each fault is made on a fresh copy of a real
index, then `interp-rag ask`, `build`, `ask` and `build` run as separate processes.

    python bench/fault_probes.py --index index --mirror ../shared/corpus --work /tmp/probes

Prints a markdown table (fault | ask before | build before | ask after | build after) for
docs/benchmarks.md, and the bad-input probes of `add`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Are sparse autoencoders useful?"


def run(env: dict[str, str], *args: str, timeout: int = 900) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "interp_rag.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, (r.stdout + r.stderr), time.perf_counter() - t0


def summary(rc: int, text: str, seconds: float) -> str:
    """One cell: exit status, the line that matters, the time."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "Loading weights" not in ln]
    if "Traceback" in text:
        key = "Traceback: " + next((ln for ln in reversed(lines) if "Error" in ln), lines[-1])
    elif any(ln.startswith(("Error:", "warning:")) for ln in lines):
        key = " ".join(ln for ln in lines if ln.startswith(("Error:", "warning:")))
    elif any(ln.startswith(("Built", "Index up to date")) for ln in lines):
        key = next(ln for ln in lines if ln.startswith(("Built", "Index up to date")))
    else:
        key = "answer with sources" if any("[1]" in ln for ln in lines) else (lines[-1] if lines else "")
    key = key.replace("|", "/")
    return f"rc {rc}: {key[:220]} ({seconds:.0f} s)"


def version(index: Path) -> Path:
    return index / (index / "CURRENT").read_text().strip()


def cut_mid_line(index: Path) -> None:
    p = version(index) / "chunks.jsonl"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 17])


def cut_to_4000_lines(index: Path) -> None:
    p = version(index) / "chunks.jsonl"
    p.write_text("".join(p.read_text(encoding="utf-8").splitlines(keepends=True)[:4000]), encoding="utf-8")


FAULTS = {
    "`chunks.jsonl` cut mid-line": cut_mid_line,
    "`chunks.jsonl` cut to 4,000 whole lines": cut_to_4000_lines,
    "`dense.faiss` deleted": lambda index: (version(index) / "dense.faiss").unlink(),
    "garbage in `meta.json`": lambda index: (version(index) / "meta.json").write_bytes(
        random.Random(0).randbytes(3000)
    ),
    "`CURRENT` names no version": lambda index: (index / "CURRENT").write_text("v-gone\n"),
    "`embeddings.sqlite` overwritten with garbage": lambda index: (index / "embeddings.sqlite").write_bytes(
        random.Random(1).randbytes(1 << 20)
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True, help="a built index to copy (never modified)")
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--only", default="", help="run only faults whose name contains this")
    ap.add_argument("--add", action="store_true", help="probe `add` with bad input instead of the faults")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    pristine = a.work / "pristine"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "INTERP_RAG_SOURCES_FILE": str(ROOT / "corpus" / "sources.toml"),
        "INTERP_RAG_EXPANSIONS_DIR": str(ROOT / "corpus" / "expansions"),
        "INTERP_RAG_CACHE_DIR": str(a.work / "cache"),
        "INTERP_RAG_MIRROR": str(a.mirror),
    }
    if not pristine.exists():
        shutil.copytree(a.index, pristine, ignore=shutil.ignore_patterns(".build.lock", "*.corrupt-*"))
        # an index written before checksums were recorded: one build records them
        print(summary(*run({**env, "INTERP_RAG_INDEX_DIR": str(pristine)}, "build")), file=sys.stderr)
    if a.add:
        add_probes(a.work, pristine, env)
        return
    print("| fault | `ask` before | `build` before | `ask` after | `build` after |")
    print("|---|---|---|---|---|")
    for name, make in FAULTS.items():
        if a.only not in name:
            continue
        index = a.work / "index"
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(pristine, index)
        make(index)
        e = {**env, "INTERP_RAG_INDEX_DIR": str(index)}
        cells = [summary(*run(e, "ask", QUESTION, "--no-llm"))]
        cells.append(summary(*run(e, "build")))
        cells.append(summary(*run(e, "ask", QUESTION, "--no-llm")))
        cells.append(summary(*run(e, "build")))
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def synthetic_text(n_chars: int) -> str:
    """Our own filler prose, as big as asked (every paragraph different, so nothing is deduplicated)."""
    rng = random.Random(3)
    words = ["probe", "feature", "circuit", "neuron", "layer", "activation", "gradient", "head", "logit"]
    parts, size, i = ["# A Very Long Notebook\n\n"], 0, 0
    while size < n_chars:
        para = (
            f"Note {i}: the {rng.choice(words)} moved when the {rng.choice(words)} was patched. " * 8 + "\n\n"
        )
        parts.append(para)
        size += len(para)
        i += 1
    return "".join(parts)


def default_sigint() -> None:
    """A shell starts background jobs with SIGINT ignored, and a child inherits that: Ctrl-C must reach it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def add_probes(work: Path, pristine: Path, env: dict[str, str]) -> None:
    index = work / "index"
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(pristine, index)
    e = {**env, "INTERP_RAG_INDEX_DIR": str(index), "INTERP_RAG_SOURCES_FILE": str(work / "sources.toml")}
    shutil.copy(ROOT / "corpus" / "sources.toml", work / "sources.toml")
    files = work / "files"
    files.mkdir(exist_ok=True)
    shutil.copy(shutil.which("ls") or "/bin/ls", files / "ls")
    (files / "big.txt").write_text(synthetic_text(50_000_000))
    (files / "note.md").write_text(
        "# A Short Note\n\nProbes find what is there; whether it is used is another matter.\n"
    )
    (files / "long.md").write_text(synthetic_text(1_500_000))
    print("| input | `add` now |")
    print("|---|---|")
    print(f"| the `ls` executable | {summary(*run(e, 'add', str(files / 'ls')))} |")
    print(f"| a 50 MB text file | {summary(*run(e, 'add', str(files / 'big.txt')))} |")
    no_mirror = {**e, "INTERP_RAG_MIRROR": ""}
    cell = summary(*run(no_mirror, "add", str(files / "note.md")))
    print(f"| a short note, no mirror, empty cache | {cell} |")
    proc = subprocess.Popen(
        [sys.executable, "-m", "interp_rag.cli", "add", str(files / "long.md")],
        env=e,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=default_sigint,
    )
    wal = index / "embeddings.sqlite-wal"
    while proc.poll() is None and not wal.exists():
        time.sleep(0.05)
    time.sleep(5)  # well into embedding its ~2,500 chunks
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)  # as Ctrl-C
    proc.wait()
    stopped = time.perf_counter() - t0
    listed = "a-very-long-notebook" in (work / "sources.toml").read_text()
    cell = f"rc {proc.returncode}, stopped {stopped:.2f} s after SIGINT; in sources.toml: {listed}"
    print(f"| Ctrl-C 5 s into embedding a 1.5 MB file | {cell} |")


if __name__ == "__main__":
    main()
