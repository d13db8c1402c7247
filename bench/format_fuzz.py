"""Damaged files of every format `add` reads: each must be refused with a SourceError (a reason a user can
read), or read; no other exception may escape the loader or the metadata reader.

    python bench/format_fuzz.py [--seeds 0,1] [--flips 150] [--only docs.rst,book.epub]

For each format, one file built by the tests (our own sentences) is cut at ~60 points and has 1-20 random
bytes replaced in `--flips` copies; each is read as `add` reads it (guess_format, extract_text) and its
metadata as `add` reads it (document_metadata). Prints, per format, the cases and any exception other than
a SourceError by type and message; exit status 1 if there was one.
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_rag.errors import SourceError
from interp_rag.ingest.load import extract_text, guess_format
from interp_rag.ingest.metadata import document_metadata


def samples() -> dict[str, bytes]:
    from tests.support.pdf import make_pdf
    from tests.test_formats_docx import DRAFT
    from tests.test_formats_epub import BOOK
    from tests.test_formats_mhtml import SAVED
    from tests.test_formats_notebook import TUTORIAL
    from tests.test_formats_pptx import DECK
    from tests.test_formats_rst import PAGE
    from tests.test_latex import PAPER
    from tests.test_load import HTML
    from tests.test_transcript import LECTURE, YOUTUBE

    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        info = tarfile.TarInfo("main.tex")
        info.size = len(PAPER.encode())
        tar.addfile(info, io.BytesIO(PAPER.encode()))
    return {
        "book.epub": BOOK,
        "page.mhtml": SAVED,
        "draft.docx": DRAFT,
        "notes.ipynb": TUTORIAL,
        "paper.pdf": make_pdf(["A PDF about circuits and probes."] * 3),
        "source.tar.gz": tgz.getvalue(),
        "paper.tex": PAPER.encode(),
        "talk.vtt": YOUTUBE.encode(),
        "lecture.srt": LECTURE.encode(),
        "post.html": HTML,
        "docs.rst": PAGE.encode(),
        "talk.pptx": DECK,
    }


def damaged(data: bytes, rng: random.Random, flips: int) -> list[bytes]:
    cases = [data[:n] for n in range(1, len(data), max(1, len(data) // 60))]
    for _ in range(flips):
        b = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        cases.append(bytes(b))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--flips", type=int, default=150)
    ap.add_argument("--only", default="", help="only these samples (docs.rst,book.epub)")
    args = ap.parse_args()
    only = {n for n in args.only.split(",") if n}
    escaped: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
    for name, data in samples().items():
        if only and name not in only:
            continue
        n = 0
        for seed in (int(s) for s in args.seeds.split(",")):
            for case in damaged(data, random.Random(seed), args.flips):
                n += 1
                text = ""
                try:
                    text = extract_text(case, guess_format(name, case))
                except SourceError:
                    pass
                except Exception as e:  # what this bench looks for
                    escaped[(name, "text", type(e).__name__, str(e)[:70])] += 1
                try:
                    document_metadata(case, name, text)
                except Exception as e:
                    escaped[(name, "metadata", type(e).__name__, str(e)[:70])] += 1
        print(f"{name}: {n} damaged copies, {sum(v for k, v in escaped.items() if k[0] == name)} escaped")
    for (name, where, kind, message), count in sorted(escaped.items()):
        print(f"  {name} {where}: {count} × {kind}: {message}")
    sys.exit(1 if escaped else 0)


if __name__ == "__main__":
    main()
