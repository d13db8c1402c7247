"""Build benchmarks on the real corpus, each in a fresh temporary index (nothing cached):

1. full build from the mirror: whole-pipeline chunks/s against raw `model.encode` of the same chunk texts
   in the same run (the ratio shows what reading, chunking, caching and writing cost), and peak RSS;
2. no-op rebuild: seconds and chunks embedded, timed as a user runs it (`interp-rag build` in a new process);
3. adding one source: chunks embedded (only the new source's).

    python bench/build_speed.py --mirror ../shared/corpus [--expansions corpus/expansions]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_rag.ingest.chunk import Chunker
from interp_rag.ingest.embed import encode, get_model, tokenizer_path
from interp_rag.settings import Settings
from interp_rag.store.build import add_source, build_index
from interp_rag.store.index import load_index

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--expansions", type=Path, default=None, help="also embed question expansions")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="interp-rag-bench-"))
    shutil.copy(ROOT / "corpus" / "sources.toml", tmp / "sources.toml")
    # hold one source back to add at the end
    text = (tmp / "sources.toml").read_text()
    held = '[[source]]\nid = "colah-research-taste"'
    head, _, tail = text.partition(held)
    rest = tail.split("\n[[source]]", 1)
    (tmp / "sources.toml").write_text(head + ("[[source]]" + rest[1] if len(rest) > 1 else ""))
    settings = Settings(
        index_dir=tmp / "index",
        sources_file=tmp / "sources.toml",
        cache_dir=tmp / "cache",
        mirror=args.mirror,
        expansions_dir=args.expansions,
    )
    get_model()  # load the weights first: both measurements below then start warm
    encode(["warm-up"])
    result: dict = {}

    t = time.perf_counter()
    report = build_index(settings=settings)
    build_s = time.perf_counter() - t
    index = load_index(settings=settings)
    chunker = Chunker(tokenizer_path(), settings.chunk_tokens, settings.chunk_overlap)
    inputs = [chunker.embed_text(c, index.sources[c.source_id].title) for c in index.chunks]
    t = time.perf_counter()
    encode(inputs, batch_size=settings.embed_batch_size)
    raw_s = time.perf_counter() - t
    questions = [q for c in index.chunks for q in c.questions]
    result["full_build"] = {
        "sources": len(report.sources_ok),
        "chunks": report.chunks_total,
        "embedded": report.chunks_embedded,
        "expansion_questions": len(questions),
        "pipeline_s": round(build_s, 1),
        "pipeline_chunks_per_s": round(report.chunks_total / build_s, 2),
        "raw_encode_s": round(raw_s, 1),
        "raw_chunks_per_s": round(len(inputs) / raw_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if questions:
        t = time.perf_counter()
        encode(questions, batch_size=settings.embed_batch_size * 2)
        result["full_build"]["raw_question_encode_s"] = round(time.perf_counter() - t, 1)
    raw_total = raw_s + result["full_build"].get("raw_question_encode_s", 0.0)
    result["full_build"]["ratio_pipeline_vs_raw"] = round(raw_total / build_s, 3)

    env = {
        **os.environ,
        "INTERP_RAG_INDEX_DIR": str(settings.index_dir),
        "INTERP_RAG_SOURCES_FILE": str(settings.sources_file),
        "INTERP_RAG_CACHE_DIR": str(settings.cache_dir),
        "INTERP_RAG_EXPANSIONS_DIR": str(args.expansions or ""),
    }
    cli = str(Path(sys.executable).with_name("interp-rag"))
    t = time.perf_counter()
    out = subprocess.run(
        [cli, "build", "--mirror", str(args.mirror), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    noop = json.loads(out.stdout)
    result["noop_rebuild"] = {
        "seconds_wall": round(time.perf_counter() - t, 2),
        "seconds_in_build": noop["seconds"],
        "embedded": noop["chunks_embedded"],
        "changed": noop["changed"],
    }

    before = len(load_index(settings=settings).chunks)
    rep = add_source(
        str(args.mirror / "colah-research-taste.md"),
        id="colah-research-taste",
        year=2021,
        type="essay",
        stance="neutral",
        settings=settings,
    )
    added = len([c for c in load_index(settings=settings).chunks if c.source_id == "colah-research-taste"])
    result["add_one_source"] = {
        "chunks_before": before,
        "new_source_chunks": added,
        "embedded": rep.chunks_embedded,
        "seconds": rep.seconds,
    }
    print(json.dumps(result, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
