"""Quality on documents nobody annotated, measured as a user meets it (issue 9).

Copies an index of the shipped corpus into a temporary directory, adds every document of
../shared/unseen-dev/corpus/ with `add_source()` and only the metadata a user supplies (title, authors,
year, type, document stance and its note, as the issue's measurement adds them; id = the file stem), asks
its questions through `answer()` (k = 8, extractive, no LLM), writes run.json and scores it with
../shared/eval/score.py itself.

    python bench/unseen.py [--index-dir index] [--mirror ../shared/corpus] [--unseen ../shared/unseen-dev]
        [--out run.json] [--keep DIR] [--tuning '{"question_weight": 0}']
        [--as markdown|html|pdf|epub|mhtml] [--references N] [--stance-as given|unknown|neutral] [--no-notes]

--keep DIR keeps (or reuses, when it already holds one) the index with the documents added, so variants of
query-time retrieval can be compared without adding the documents again. `--as html` adds each document
as the HTML page markdown-it renders of it, `--as pdf` as the PDF headless Chromium prints of that page
(running header and footer on every page), `--as epub` as an EPUB book of that page (a chapter at each
section), `--as mhtml` as that page saved as one file: the kinds of file a researcher adds for a blog post, a
paper or a book, their text found again by the HTML, PDF, EPUB and saved-page loaders. Also reported:
- the mixed case (issue 9 item 4): for each gold passage, the rank of the first candidate chunk whose shown
  passage holds it, split by added vs shipped documents, with the shipped corpus's expansion questions and
  with every document's withheld (everything on an equal footing);
- passage stance accuracy on passage_stance.jsonl (classify_stance with the added documents' labels).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import quopri
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generalise import load_jsonl, without_annotations
from bench.reference_list import synthetic_references
from interp_rag.evaluation import evaluate, matches
from interp_rag.retrieval import retrieve as retrieve_module
from interp_rag.retrieval.context import window
from interp_rag.retrieval.search import candidates, query_vector
from interp_rag.settings import get_settings
from interp_rag.store.build import add_source
from interp_rag.store.format import CACHE_FILE, current_dir
from interp_rag.store.index import load_index

ROOT = Path(__file__).resolve().parents[1]


def load_score_py(path: Path) -> Any:
    """../shared/eval/score.py as a module: the run is scored by the evaluation's own code."""
    spec = importlib.util.spec_from_file_location("shared_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def score_file(questions: Path, run: Path, k: int, score_py: Path) -> dict:
    """Exactly what `python score.py questions run k` prints."""
    mod = load_score_py(score_py)
    return mod.score(mod.load_jsonl(questions), json.loads(Path(run).read_text()), k)


def copy_index(src: Path, dst: Path) -> None:
    """The current version and the embedding cache (not older versions or locks)."""
    cur = current_dir(src)
    if cur is None:
        raise SystemExit(f"no index in {src}/: run `interp-rag build --mirror ../shared/corpus` first")
    dst.mkdir(parents=True)
    shutil.copytree(cur, dst / cur.name)
    (dst / "CURRENT").write_text(cur.name + "\n")
    if (src / CACHE_FILE).is_file():
        import sqlite3

        # a consistent copy even while another process writes the cache
        with (
            sqlite3.connect(f"file:{src / CACHE_FILE}?mode=ro", uri=True) as a,
            sqlite3.connect(dst / CACHE_FILE) as b,
        ):
            a.backup(b)


def convert(path: Path, out: Path, fmt: str) -> Path:
    """A markdown document as a user might find it: itself, the HTML page markdown-it renders of it, or the
    PDF headless Chromium prints of that page."""
    from markdown_it import MarkdownIt

    if fmt == "markdown":
        return path
    body = MarkdownIt("commonmark").enable("table").render(path.read_text(encoding="utf-8"))
    html = out / f"{path.stem}.html"
    html.write_text(
        f"<!doctype html><meta charset='utf-8'><title>{path.stem}</title>"
        f"<style>body{{font-family:serif;max-width:40em;margin:auto;font-size:11pt}}</style>{body}",
        encoding="utf-8",
    )
    if fmt == "html":
        return html
    if fmt in ("epub", "mhtml"):
        write = {"epub": epub_file, "mhtml": mhtml_file}[fmt]
        target = out / f"{path.stem}.{fmt}"
        target.write_bytes(write(html.read_text(encoding="utf-8"), path.stem))
        return target
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("--as pdf needs chromium on PATH")
    pdf = out / f"{path.stem}.pdf"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={pdf}", html.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return pdf


def mhtml_file(html: str, name: str) -> bytes:
    """The page as Chrome saves it as one file: a MIME message, its HTML quoted-printable."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    msg = MIMEMultipart("related", type="text/html")
    msg["From"] = "<Saved by Blink>"
    msg["Snapshot-Content-Location"] = f"https://example.org/{name}"
    msg["Subject"] = name
    part = MIMEText(html, "html", "utf-8")
    part.replace_header("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(quopri.encodestring(html.encode()).decode("ascii"))
    part["Content-Location"] = f"https://example.org/{name}"
    msg.attach(part)
    return msg.as_bytes()


def epub_file(html: str, name: str) -> bytes:
    """The page as an EPUB 3 book: a chapter at each <h2> (the text before the first one a chapter of its
    own), a navigation document and a cover page, in a spine that reads them in order."""
    import zipfile

    body = html.split("</style>", 1)[-1]
    parts = [p for p in re.split(r"(?=<h2>)", body) if p.strip()]
    chapters = {
        f"ch{i}.xhtml": '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{name}</title></head><body>{part}</body></html>"
        for i, part in enumerate(parts)
    }
    page = '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{}</title></head><body>{}</body></html>'
    chapters["nav.xhtml"] = page.format("Contents", "<nav><ol><li>Contents</li></ol></nav>")
    chapters["cover.xhtml"] = page.format("Cover", '<img src="cover.png" alt=""/>')
    order = ["cover.xhtml", "nav.xhtml", *(f"ch{i}.xhtml" for i in range(len(parts)))]
    nav = ' properties="nav"'
    items = "".join(
        f'<item id="i{i}" href="{n}" media-type="application/xhtml+xml"{nav if n == "nav.xhtml" else ""}/>'
        for i, n in enumerate(order)
    )
    spine = "".join(f'<itemref idref="i{i}"/>' for i in range(len(order)))
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{name}</dc:title></metadata>'
        f"<manifest>{items}</manifest><spine>{spine}</spine></package>"
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/book.opf", opf)
        for n, text in chapters.items():
            z.writestr(f"OEBPS/{n}", text)
    return out.getvalue()


def add_unseen(
    work: Path,
    index_dir: Path,
    mirror: Path,
    unseen: Path,
    tuning: dict,
    fmt: str = "markdown",
    references: int = 0,
    stance_as: str = "given",
    notes: bool = True,
) -> Any:
    """Settings of a copy of the index with every unseen document added as a user adds it (each ending
    with a synthetic reference list of `references` entries, as a paper does, when that is not 0).
    `stance_as`: each document's stance as the manifest gives it ("given"), or every one added as `unknown`
    (no stance given, the default of `add`) or as `neutral`."""
    settings = get_settings(
        retrieval=tuning or None,  # None: the environment's (INTERP_RAG_RERANKER=none works)
        index_dir=work / "index",
        sources_file=work / "sources.toml",
        cache_dir=work / "cache",
        expansions_dir=ROOT / "corpus" / "expansions",
        mirror=mirror,
    )
    if current_dir(work / "index") is not None:
        return settings
    copy_index(index_dir, work / "index")
    shutil.copy(ROOT / "corpus" / "sources.toml", work / "sources.toml")
    t = time.perf_counter()
    for i, row in enumerate(load_jsonl(unseen / "corpus" / "manifest.jsonl")):
        path = unseen / "corpus" / row["file"]
        if references:
            (work / "with-references").mkdir(exist_ok=True)
            text = path.read_text(encoding="utf-8").rstrip() + "\n\n" + synthetic_references(references, i)
            path = work / "with-references" / path.name
            path.write_text(text, encoding="utf-8")
        add_source(
            str(convert(path, work, fmt)),
            id=path.stem,
            title=row["title"],
            authors=row.get("authors") or [],
            year=row.get("year"),
            type=row.get("type") or "other",
            stance=row["stance"] if stance_as == "given" else stance_as,
            # the stance note too, as the issue's own measurement adds them (`add … --stance … --stance-note`)
            stance_note=(row.get("stance_note") or "") if stance_as == "given" and notes else "",
            settings=settings,
        )
    kind = "" if fmt == "markdown" else f"{fmt} made of "
    print(f"added {kind}{path.parent}/*.md in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return settings


def gold_ranks(index: Any, questions: list[dict], added: set[str], chars: int, tuning: Any) -> dict:
    """For each gold item: the rank (1-based) of the first candidate chunk whose shown passage holds it,
    or None when no candidate does; split by whether its document was added or shipped."""
    out: dict[str, list[int | None]] = {"added": [], "shipped": []}
    for q in questions:
        cands = candidates(index, q["question"], tuning=tuning)
        reranker = retrieve_module.get_reranker(tuning.reranker)
        cands = reranker.rerank(q["question"], query_vector(q["question"]), index, cands)
        for g in q["gold"]:
            rank = None
            for r, pos in enumerate(cands.pool, 1):
                c = index.chunks[int(pos)]
                if c.source_id == g["doc"] and matches(
                    {"doc": c.source_id, "text": window(index, int(pos), chars)[2]}, g
                ):
                    rank = r
                    break
            out["added" if g["doc"] in added else "shipped"].append(rank)
    return out


def summarise(ranks: list[int | None]) -> str:
    found = [r for r in ranks if r is not None]
    if not ranks:
        return "none"
    med = statistics.median(found) if found else float("nan")
    top8 = sum(1 for r in found if r <= 8)
    return f"n={len(ranks)} found={len(found)} median rank={med:g} in top 8={top8}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index")
    ap.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--unseen", type=Path, default=ROOT.parent / "shared" / "unseen-dev")
    ap.add_argument("--score-py", type=Path, default=ROOT.parent / "shared" / "eval" / "score.py")
    # A run holds passages of the unseen documents: never beside the tracked files (bench/out/ is ignored).
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "unseen-run.json")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--tuning", default="{}", help="JSON of settings.retrieval fields to override")
    ap.add_argument(
        "--as",
        dest="fmt",
        choices=("markdown", "html", "pdf", "epub", "mhtml"),
        default="markdown",
        help="add each document as itself, as a rendered HTML page, as a browser-printed PDF, as an EPUB "
        "book of that page (a chapter per section) or as the page saved as one file (.mhtml)",
    )
    ap.add_argument(
        "--references",
        type=int,
        default=0,
        help="end each document with a synthetic reference list of this many entries "
        "(bench/reference_list.py), as a paper ends",
    )
    ap.add_argument(
        "--stance-as",
        choices=("given", "unknown", "neutral"),
        default="given",
        help="each document's stance as the manifest gives it, or every one added as unknown (as `add` "
        "without --stance adds it) or as neutral",
    )
    ap.add_argument(
        "--no-notes",
        action="store_true",
        help="add the documents without the manifest's stance notes (a user who gives the stance only)",
    )
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    tmp = None
    work = args.keep
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="unseen-")
        work = Path(tmp.name)
    try:
        settings = add_unseen(
            work,
            args.index_dir,
            args.mirror,
            args.unseen,
            json.loads(args.tuning),
            fmt=args.fmt,
            references=args.references,
            stance_as=args.stance_as,
            notes=not args.no_notes,
        )
        index = load_index(settings=settings)
        qfile = args.unseen / "questions.jsonl"
        result = evaluate(
            qfile,
            k=args.k,
            stance_file=args.unseen / "passage_stance.jsonl",
            run_out=args.out,
            index=index,
            settings=settings,
        )
        official = score_file(qfile, args.out, args.k, args.score_py)
        print("score.py:", json.dumps(official))
        print("latency_ms:", json.dumps(result["latency_ms"]), "stance:", json.dumps(result["stance"]))
        added = {p.stem for p in (args.unseen / "corpus").glob("*.md")}
        qs = load_jsonl(qfile)
        tuning = settings.retrieval
        with_exp = gold_ranks(index, qs, added, tuning.context_chars, tuning)
        bare = gold_ranks(
            without_annotations(index, set(index.sources)), qs, added, tuning.context_chars, tuning
        )
        for name, ranks in (("shipped expansions", with_exp), ("no expansions anywhere", bare)):
            print(
                f"mixed case, {name}: added gold {summarise(ranks['added'])}; "
                f"shipped gold {summarise(ranks['shipped'])}"
            )
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
