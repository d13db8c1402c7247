"""Train the stance reader (ingest/reader.py) on the labelled corpus passages and the passages we wrote.

    python scripts/train_stance_reader.py --mirror ../shared/corpus \
        [--out src/interp_rag/data/stance_reader.npz]

About four minutes on two CPU cores. Out-of-sample figures: `python bench/stance_reader.py`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from interp_rag.ingest.label_train import training_rows
from interp_rag.ingest.reader import READER_FILE
from interp_rag.ingest.reader_train import fit_reader
from interp_rag.ingest.sources import load_sources


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--sources", type=Path, default=Path("corpus/sources.toml"))
    ap.add_argument("--data", type=Path, default=Path("corpus/stance"))
    ap.add_argument("--out", type=Path, default=READER_FILE)
    args = ap.parse_args()
    sources = {s.id: s for s in load_sources(args.sources)}
    rows = training_rows(args.mirror, sources, args.data)
    t = time.perf_counter()
    reader = fit_reader(rows, log=True)
    version = reader.save(args.out, {"passages": len(rows)})
    print(
        f"trained on {len(rows)} passages in {time.perf_counter() - t:.0f} s -> {args.out} "
        f"({args.out.stat().st_size:,} bytes, version {version})"
    )


if __name__ == "__main__":
    main()
