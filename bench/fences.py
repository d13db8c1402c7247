"""How an index's passages sit around code fences (chunk.mend_fences): how many open on the fence that closes
the code before them, end on the fence that opens the code after them, or are nothing but fences.

    python bench/fences.py [--index-dir index] [--mirror ../shared/corpus]

Reads the current version's chunks.jsonl and each source's text from the mirror (sources not in it are
skipped); prints counts, never text.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_rag.ingest.chunk import _FENCE
from interp_rag.store.format import current_dir

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index")
    ap.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = ap.parse_args()
    version = current_dir(args.index_dir)
    if version is None:
        raise SystemExit(f"no index in {args.index_dir}")
    counts = dict.fromkeys(["chunks", "with a fence", "open on a closing fence", "end on an opening fence",
                            "fences only"], 0)  # fmt: skip
    texts: dict[str, str | None] = {}
    for line in (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        counts["chunks"] += 1
        if c["source_id"] not in texts:
            path = args.mirror / f"{c['source_id']}.md"
            texts[c["source_id"]] = path.read_text(encoding="utf-8") if path.is_file() else None
        text = texts[c["source_id"]]
        fences = [m.start() for m in _FENCE.finditer(text)] if text else []
        lines = c["text"].rstrip().split("\n")
        if not fences or not any(_FENCE.match(ln) for ln in lines):
            continue
        counts["with a fence"] += 1
        at = bisect.bisect_left(fences, c["start"])
        counts["open on a closing fence"] += at < len(fences) and fences[at] == c["start"] and at % 2 == 1
        last = c["start"] + c["text"].rstrip().rfind("\n") + 1
        counts["end on an opening fence"] += (
            bool(_FENCE.match(lines[-1])) and bisect.bisect_left(fences, last) % 2 == 0
        )
        counts["fences only"] += all(_FENCE.match(ln) or not ln.strip() for ln in lines)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
