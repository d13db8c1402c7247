"""How much one source's chunks nearly repeat another's: the measurement behind `add`'s near-copy warning
(settings.near_copy_cosine / near_copy_share, store/add.near_copies).

    python bench/near_copies.py --index index                          # distinct sources: the false side
    python bench/near_copies.py --index /tmp/unseen/index --as-pdf /tmp/unseen-pdf/index \
        --documents ../shared/unseen-dev/corpus                        # one document in two formats

The first form prints, for the most similar pairs of distinct sources in one index, the share of the first's
chunks whose closest chunk of the second reaches each cosine. The second takes two indexes that hold the
same documents added in two formats (`python bench/unseen.py --keep DIR` and `--as pdf --keep DIR`), pairs
each document of --documents with its other format by file name, and prints the same share for every
pair, and the largest share between two different documents of the set. JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from interp_rag.settings import get_settings
from interp_rag.store.index import Index, load_index

COSINES = (0.9, 0.93, 0.95, 0.97)


def share(a: np.ndarray, b: np.ndarray) -> dict[float, float]:
    best = (a @ b.T).max(1)
    return {t: round(float((best >= t).mean()), 3) for t in COSINES}


def by_source(index: Index) -> dict[str, np.ndarray]:
    owner = np.array([c.source_id for c in index.chunks])
    return {sid: index.vectors[owner == sid] for sid in sorted(set(owner.tolist()))}


def by_file(index_dir: Path, documents: set[str]) -> dict[str, np.ndarray]:
    """The chunk vectors of each document of `documents` (file stems), found by its source's file URL."""
    index = load_index(settings=get_settings(index_dir=index_dir))
    sources = tomllib.loads((index_dir.parent / "sources.toml").read_text())["source"]
    stem = {s["id"]: Path(unquote(urlparse(s.get("url", "")).path)).stem for s in sources}
    return {stem[sid]: v for sid, v in by_source(index).items() if stem.get(sid) in documents}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--as-pdf", type=Path, help="an index holding the same documents in another format")
    ap.add_argument("--documents", type=Path, help="the folder of those documents (markdown files)")
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()
    if args.as_pdf is None:
        vectors = by_source(load_index(settings=get_settings(index_dir=args.index)))
        pairs = [(a, b, share(vectors[a], vectors[b])) for a in vectors for b in vectors if a != b]
        for a, b, s in sorted(pairs, key=lambda p: -p[2][0.9])[: args.top]:
            print(json.dumps({"source": a, "other": b, "chunks": len(vectors[a]), "share": s}))
        return
    docs = {p.stem for p in args.documents.glob("*.md")}
    first, second = by_file(args.index, docs), by_file(args.as_pdf, docs)
    both = sorted(set(first) & set(second))
    for d in both:
        print(json.dumps({"document": d, "chunks": len(second[d]), "share": share(second[d], first[d])}))
    others = [share(second[a], first[b]) for a in both for b in both if a != b]
    print(json.dumps({"documents": len(both), "largest share between different documents": {
        t: max((o[t] for o in others), default=0.0) for t in COSINES}}))  # fmt: skip


if __name__ == "__main__":
    main()
