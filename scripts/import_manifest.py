"""Create corpus/sources.toml from a manifest.jsonl (metadata only: ids, titles, authors, urls, stances).

python scripts/import_manifest.py ../shared/corpus/manifest.jsonl corpus/sources.toml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interp_rag.ingest.sources import write_sources
from interp_rag.types import Source

FIELDS = ("id", "title", "url", "authors", "year", "type", "stance", "stance_note", "file")


def main(manifest: str, out: str) -> None:
    rows = [json.loads(line) for line in Path(manifest).read_text().splitlines() if line.strip()]
    write_sources(Path(out), [Source(**{k: r[k] for k in FIELDS if k in r}) for r in rows])
    print(f"wrote {len(rows)} sources to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
