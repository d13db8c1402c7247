"""Question sets whose gold passages are stored by reference ({doc, start, end, sha}), resolved against a
mirror of the corpus into the {doc, quote} form that score.py and `interp-rag eval` read."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from interp_rag.ingest.sources import load_sources

ROOT = Path(__file__).resolve().parents[1]


def question_texts() -> list[str]:
    """Every question of our question sets (bench/questions/*.jsonl), in file order: what the load and CPU
    benches ask (distinct questions, so no cache flatters them)."""
    return [
        json.loads(line)["question"]
        for p in sorted((ROOT / "bench" / "questions").glob("*.jsonl"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def question_run(description: str) -> tuple[argparse.Namespace, Any, Any, list[dict[str, Any]]]:
    """What a script run over a question set starts from: its arguments (QUESTIONS.jsonl, --index-dir,
    -k), the settings and index they name (with the question encoder made ready for many questions), and
    the questions (checked as `interp-rag eval` checks them)."""
    from interp_rag.evaluation import QUESTION_FIELDS, load_jsonl
    from interp_rag.ingest.embed import expect_many_questions
    from interp_rag.settings import get_settings
    from interp_rag.store.index import load_index

    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index")
    ap.add_argument("-k", type=int, default=8)
    args = ap.parse_args()
    expect_many_questions()
    settings = get_settings(index_dir=args.index_dir)
    return args, settings, load_index(settings=settings), load_jsonl(args.questions, QUESTION_FIELDS)


def resolve_questions(
    path: Path, mirror: Path, sources_file: Path = Path("corpus/sources.toml")
) -> list[dict]:
    files = {s.id: s.file for s in load_sources(sources_file)}
    out = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        for g in q["gold"]:
            if "quote" in g:
                continue
            text = (mirror / files[g["doc"]]).read_text()[g["start"] : g["end"]]
            if hashlib.sha1(text.encode()).hexdigest()[:12] != g["sha"]:
                raise SystemExit(f"{path.name} {q['id']}: the mirror's text of {g['doc']} has changed")
            g["quote"] = text
        out.append(q)
    return out


def write_resolved(paths: list[Path], mirror: Path, out: Path) -> Path:
    rows = [q for p in paths for q in resolve_questions(p, mirror)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(q) + "\n" for q in rows))
    return out
