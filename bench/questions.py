"""Question sets whose gold passages are stored by reference ({doc, start, end, sha}), resolved against a
mirror of the corpus into the {doc, quote} form that score.py and `interp-rag eval` read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from interp_rag.ingest.sources import load_sources


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
