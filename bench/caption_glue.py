"""How many of a PDF's captions the PDF reader glues to running text (ingest/pdf_captions.py).

    python bench/caption_glue.py DIR [--markdown ../shared/unseen-dev/corpus]

DIR holds PDFs printed from markdown documents of the same stem (as `python bench/unseen.py --as pdf --keep
DIR` leaves them). A caption is a markdown line set in emphasis that opens with a label ("*Figure 2: …*",
"*Table: …*"); it is found again in `pdf_text`'s paragraphs by its first words, and counted as alone (a
paragraph of its own), glued (inside a paragraph holding more text) or not found. Prints counts as JSON,
never the documents' text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from interp_rag.ingest.pdf import pdf_text

ROOT = Path(__file__).resolve().parents[1]
# a markdown paragraph in emphasis that opens with a float's label, numbered or not
_CAPTION = re.compile(r"^[*_]+((?:Figure|Fig\.|Table|Tab\.|Algorithm|Listing)\b.*)$", re.I)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
KEY_WORDS = 8  # a caption is found by its first this many words
SLACK = 2  # a paragraph this many words longer than its caption still holds only the caption


def words(text: str) -> list[str]:
    """Lower-case words of markdown or extracted text, emphasis, link targets and punctuation left out."""
    return re.sub(r"[^a-z0-9]+", " ", _LINK.sub(r"\1", text).lower()).split()


def captions(markdown: str) -> list[list[str]]:
    return [words(m.group(1)) for line in markdown.splitlines() if (m := _CAPTION.match(line.strip()))]


def where(caption: list[str], paragraphs: list[list[str]]) -> str:
    key = " " + " ".join(caption[:KEY_WORDS]) + " "
    for para in paragraphs:
        if key in " " + " ".join(para) + " ":
            alone = para[: len(caption[:KEY_WORDS])] == caption[:KEY_WORDS]
            return "alone" if alone and len(para) <= len(caption) + SLACK else "glued"
    return "not found"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pdfs", type=Path)
    ap.add_argument("--markdown", type=Path, default=ROOT.parent / "shared" / "unseen-dev" / "corpus")
    args = ap.parse_args()
    total: Counter[str] = Counter()
    per_doc: dict[str, dict[str, int]] = {}
    for pdf in sorted(args.pdfs.glob("*.pdf")):
        md = args.markdown / f"{pdf.stem}.md"
        if not md.is_file():
            continue
        paragraphs = [words(p) for p in pdf_text(pdf.read_bytes()).split("\n\n")]
        counts = Counter(where(c, paragraphs) for c in captions(md.read_text(encoding="utf-8")))
        if counts:
            per_doc[pdf.stem] = dict(counts)
            total += counts
    print(json.dumps({"total": dict(total), "documents": per_doc}, indent=1))


if __name__ == "__main__":
    main()
