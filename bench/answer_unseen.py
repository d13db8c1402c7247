"""The answer's figures on documents the project has never seen, added the way a user adds them.

    python bench/answer_unseen.py --index index --unseen ../shared/unseen-dev [--work /tmp/unseen-index]

Copies the built index (and the source list) to a work directory, runs `interp-rag add` for each
unseen-dev/corpus/*.md with only what a user supplies (title, authors, year, url, type, document stance;
id = the file stem), then `interp-rag eval` on unseen-dev/questions.jsonl with its passage stance labels.
With --work pointing at a directory built before, the adding is skipped. Prints the eval result as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "-m", "interp_rag.cli", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=REPO / "index", help="A built index of the shipped corpus.")
    ap.add_argument("--sources", type=Path, default=REPO / "corpus" / "sources.toml")
    ap.add_argument(
        "--mirror", type=Path, default=REPO.parent / "shared" / "corpus", help="The corpus mirror."
    )
    ap.add_argument("--unseen", type=Path, default=REPO.parent / "shared" / "unseen-dev")
    ap.add_argument("--work", type=Path, default=Path("/tmp/interp-rag-unseen"))
    ap.add_argument("--k", type=int, default=8)
    a = ap.parse_args()

    env = dict(os.environ)
    env.update(
        INTERP_RAG_INDEX_DIR=str(a.work / "index"),
        INTERP_RAG_SOURCES_FILE=str(a.work / "sources.toml"),
        INTERP_RAG_CACHE_DIR=str(a.work / "cache"),
        INTERP_RAG_EXPANSIONS_DIR=str(REPO / "corpus" / "expansions"),
        INTERP_RAG_MIRROR=str(a.mirror),
        INTERP_RAG_LLM_BASE_URL="",
    )
    if not (a.work / "sources.toml").is_file():
        a.work.mkdir(parents=True, exist_ok=True)
        shutil.copytree(a.index, a.work / "index", ignore=shutil.ignore_patterns(".build.lock"))
        shutil.copy(a.sources, a.work / "sources.toml")
        corpus = a.unseen / "corpus"
        for line in (corpus / "manifest.jsonl").read_text().splitlines():
            if not line.strip():
                continue
            m = json.loads(line)
            args = ["add", str(corpus / m["file"]), "--id", Path(m["file"]).stem, "--title", m["title"]]
            args += ["--authors", ", ".join(m.get("authors") or []), "--type", m.get("type", "other")]
            args += ["--stance", m["stance"]] + (["--year", str(m["year"])] if m.get("year") else [])
            print(cli(env, *args).strip().splitlines()[-1], file=sys.stderr)
    result = cli(
        env,
        "eval",
        str(a.unseen / "questions.jsonl"),
        "--k",
        str(a.k),
        "--stance-file",
        str(a.unseen / "passage_stance.jsonl"),
        "--json",
    )
    print(json.dumps(json.loads(result), indent=1))


if __name__ == "__main__":
    main()
