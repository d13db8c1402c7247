"""Passage stance, measured out of sample, in one command:

  (a) leave-sources-out cross-validation over the shipped corpus: the sources are split into folds; for
      each fold the model is retrained without that fold's hand labels (corpus/stance/labels-*.jsonl) and
      scored on those labelled passages and on ../shared/eval/passage_stance_dev.jsonl passages of those
      sources;
  (b) ../shared/unseen-dev/passage_stance.jsonl: each document chunked, embedded and labelled as `add` does
      (with the manifest's document stance, the one input a user gives), and each passage given the label
      of the chunk holding most of it: what the product shows; also the classifier on the quote alone;
  (c) ../shared/eval/passage_stance_dev.jsonl with the model that ships (as `interp-rag eval` reads it).

    python bench/stance_eval.py --mirror ../shared/corpus [--model FILE | --recipe '{"C": 0.3}'] [--json]
        [--index INDEX_DIR]   # (a) also scores the chunk holding each passage (what a reader sees)
        [--added INDEX_DIR]   # (b) read from an index the unseen-dev documents were `add`ed to

(b) and (c) use the model in --model (default: the shipped one), or one trained now on all our data with
--recipe; (a) always retrains with that model's recipe. Vectors are cached in --cache (a SQLite file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interp_rag.ingest.chunk import Chunker
from interp_rag.ingest.embed import EmbeddingCache, embed_with_cache, model_id, tokenizer_path
from interp_rag.ingest.label import MODEL_FILE, classify_vectors, load_model, prepare_model
from interp_rag.ingest.label_train import Recipe, embed_rows, fit, load_labelled, load_written, train
from interp_rag.ingest.sources import load_sources, resolve
from interp_rag.settings import get_settings
from interp_rag.store.format import current_dir, read_chunks
from interp_rag.text import clean_for_embedding, digest
from interp_rag.types import STANCES, Source

ROOT = Path(__file__).resolve().parents[1]
FOLDS = 5


def source_folds(ids: list[str], k: int = FOLDS) -> dict[str, int]:
    """Deterministic folds of sources: sorted ids, shuffled with seed 0, dealt round-robin."""
    order = sorted(ids)
    np.random.default_rng(0).shuffle(order)
    return {sid: i % k for i, sid in enumerate(order)}


def scores(gold: list[str], pred: list[str]) -> dict[str, Any]:
    n = len(gold)
    conf = {g: {p: 0 for p in STANCES} for g in STANCES}
    for g, p in zip(gold, pred, strict=True):
        conf[g][p] += 1
    return {
        "n": n,
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / n, 3) if n else None,
        "recall": {g: round(conf[g][g] / max(1, sum(conf[g].values())), 3) for g in STANCES},
        "confusion (gold -> predicted)": conf,
    }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def quote_rows(rows: list[dict[str, Any]], sources: dict[str, Source]) -> list[dict[str, Any]]:
    return [
        {
            "text": r["quote"],
            "title": sources[r["doc"]].title if r["doc"] in sources else "",
            "prior": sources[r["doc"]].stance if r["doc"] in sources else None,
            "label": r["label"],
            "doc": r["doc"],
        }
        for r in rows
    ]


class LabelledRows:
    """What the stance benches score, embedded once: our labelled passages (`lab`), the passages we wrote
    (`written`) and dev's labelled quotes (`dev`), each with its vectors, and the sources they lie in."""

    def __init__(self, args: argparse.Namespace):
        self.sources = {s.id: s for s in load_sources(args.sources)}
        self.lab = load_labelled(args.data, args.mirror, self.sources)
        self.written = load_written(args.data)
        self.dev = quote_rows(read_jsonl(args.dev), self.sources)
        self.lab_vec = embed_rows(self.lab, args.cache)
        self.wr_vec = embed_rows(self.written, args.cache)
        self.dev_vec = embed_rows(self.dev, args.cache)


def predict(model: dict, rows: list[dict[str, Any]], vectors: np.ndarray) -> list[str]:
    texts = [clean_for_embedding(r["text"]) for r in rows]
    return classify_vectors(vectors, texts, [r["prior"] for r in rows], model=model)[0]


def loso(
    recipe: Recipe,
    labelled: list,
    written: list,
    lab_vec: np.ndarray,
    wr_vec: np.ndarray,
    dev: list,
    dev_vec: np.ndarray,
    shipped: tuple[list, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Per fold, a model without the fold's hand labels, scored on the fold's passages; with `shipped`
    (the corpus's chunks and vectors) also on the chunk holding most of each passage: what the product
    would show for it if its hand label were not there."""
    folds = source_folds(sorted({r["doc"] for r in labelled}))
    gold: dict[str, list[str]] = {"lab": [], "dev": []}
    pred: dict[str, list[str]] = {"lab": [], "dev": [], "lab_shown": [], "dev_shown": []}
    for k in range(FOLDS):
        tr = [i for i, r in enumerate(labelled) if folds[r["doc"]] != k]
        te = [i for i, r in enumerate(labelled) if folds[r["doc"]] == k]
        dv = [i for i, r in enumerate(dev) if folds.get(r["doc"]) == k]
        rows = [labelled[i] for i in tr] + written
        model = prepare_model(fit(rows, np.vstack([lab_vec[tr], wr_vec]), recipe))
        gold["lab"] += [labelled[i]["label"] for i in te]
        pred["lab"] += predict(model, [labelled[i] for i in te], lab_vec[te])
        gold["dev"] += [dev[i]["label"] for i in dv]
        pred["dev"] += predict(model, [dev[i] for i in dv], dev_vec[dv])
        if shipped is not None:
            chunks, vecs = shipped
            for name, part in (("lab", [labelled[i] for i in te]), ("dev", [dev[i] for i in dv])):
                at = [r["chunk"] for r in part]
                crow = [{"text": chunks[j].text, "prior": part[n]["prior"]} for n, j in enumerate(at)]
                pred[f"{name}_shown"] += predict(model, crow, vecs[at])
    out = {
        "labelled passages of held-out sources": scores(gold["lab"], pred["lab"]),
        "dev passages of held-out sources": scores(gold["dev"], pred["dev"]),
    }
    if shipped is not None:
        out["labelled passages, label of the holding chunk"] = scores(gold["lab"], pred["lab_shown"])
        out["dev passages, label of the holding chunk"] = scores(gold["dev"], pred["dev_shown"])
    return out


def shipped_chunks(index_dir: Path, rows: list[dict[str, Any]], mirror: Path, sources: dict) -> tuple:
    """The built index's chunks and vectors; each row gets `chunk`, the position of the chunk holding most
    of it (rows with `start` are placed by offset, quotes are found in the mirror's text)."""
    import faiss

    version = current_dir(index_dir)
    if version is None:
        raise SystemExit(f"no index in {index_dir}")
    chunks = read_chunks(version)
    vecs = faiss.read_index(str(version / "dense.faiss")).reconstruct_n(0, len(chunks))
    by_doc: dict[str, list[int]] = {}
    for j, c in enumerate(chunks):
        by_doc.setdefault(c.source_id, []).append(j)
    texts: dict[str, str] = {}
    for r in rows:
        if "start" in r:
            s, e = r["start"], r["end"]
        else:
            if r["doc"] not in texts:
                texts[r["doc"]] = (mirror / sources[r["doc"]].file).read_text(encoding="utf-8")
            s, e = locate(texts[r["doc"]], r["text"]) or (0, 0)
        ids = by_doc[r["doc"]]
        r["chunk"] = ids[int(np.argmax([min(e, chunks[j].end) - max(s, chunks[j].start) for j in ids]))]
    return chunks, vecs


def locate(text: str, quote: str) -> tuple[int, int] | None:
    at = text.find(quote)
    return (at, at + len(quote)) if at >= 0 else None


def unseen(model: dict, unseen_dir: Path, cache_path: Path, added: Path | None = None) -> dict[str, Any]:
    """Label every passage as the product would after `interp-rag add` of its document; with `added` (an
    index the documents were really added to, under their manifest ids) read its stored labels instead."""
    stored: dict[str, list] = {}
    if added is not None:
        for c in read_chunks(current_dir(added) or added):
            stored.setdefault(c.source_id, []).append(c)
    settings = get_settings()
    chunker = Chunker(tokenizer_path(), settings.chunk_tokens, settings.chunk_overlap)
    manifest = {m["id"]: m for m in read_jsonl(unseen_dir / "corpus" / "manifest.jsonl")}
    rows = read_jsonl(unseen_dir / "passage_stance.jsonl")
    fields = Source.__dataclass_fields__
    shown: dict[str, str] = {}
    spans = 0
    cache = EmbeddingCache(cache_path, model_id())
    try:
        for doc_id in sorted({r["doc"] for r in rows}):
            src = Source(**{k: v for k, v in manifest[doc_id].items() if k in fields})
            doc = resolve(src, mirror=unseen_dir / "corpus", cache_dir=None)
            if added is not None:
                chunks = stored[doc_id]
                labels = [c.stance for c in chunks]
            else:
                chunks = chunker.chunk(doc)
                texts = [chunker.embed_text(c, src.title) for c in chunks]
                vecs, _ = embed_with_cache([digest(t, 24) for t in texts], texts, cache)
                labels, _ = classify_vectors(
                    vecs,
                    [clean_for_embedding(c.text) for c in chunks],
                    [src.stance] * len(chunks),
                    model=model,
                )
            for r in (r for r in rows if r["doc"] == doc_id):
                where = locate(doc.text, r["quote"])
                if where is None:
                    raise SystemExit(f"{r['id']}: quote not found in the added document's text")
                s, e = where
                overlap = [max(0, min(e, c.end) - max(s, c.start)) for c in chunks]
                spans += sum(o > 0 for o in overlap) > 1
                # The chunk holding most of the passage is the one retrieval shows for it.
                shown[r["id"]] = labels[int(np.argmax(overlap))]
    finally:
        cache.close()
    srcs = {m: Source(**{k: v for k, v in manifest[m].items() if k in fields}) for m in manifest}
    q = quote_rows(rows, srcs)
    qp = predict(model, q, embed_rows(q, cache_path))
    gold = [r["label"] for r in rows]
    return {
        "as shown after add (label of the chunk holding most of the passage)": scores(
            gold, [shown[r["id"]] for r in rows]
        ),
        "passages spanning more than one chunk": spans,
        "classifier on the quote text": scores(gold, qp),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--sources", type=Path, default=ROOT / "corpus" / "sources.toml")
    ap.add_argument("--data", type=Path, default=ROOT / "corpus" / "stance")
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "eval" / "passage_stance_dev.jsonl")
    ap.add_argument("--unseen", type=Path, default=ROOT.parent / "shared" / "unseen-dev")
    ap.add_argument("--model", type=Path, default=MODEL_FILE)
    ap.add_argument("--recipe", type=json.loads, default=None, help="train (b)/(c)'s model now with this")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/interp-rag-stance-eval.sqlite"))
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: loso,unseen,dev")
    ap.add_argument("--index", type=Path, default=None, help="a built index of the corpus: (a) as shown")
    ap.add_argument("--added", type=Path, default=None, help="(b) from an index the documents were added to")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    sources = {s.id: s for s in load_sources(args.sources)}
    if args.recipe is not None:
        recipe = Recipe.from_dict(args.recipe)
        model = train(
            args.mirror, sources_file=args.sources, stance_dir=args.data, recipe=recipe, cache_path=args.cache
        )
    else:
        model = load_model(args.model)
        recipe = Recipe.from_dict(model.get("recipe", {}))
    dev = quote_rows(read_jsonl(args.dev), sources)
    dev_vec = embed_rows(dev, args.cache)
    result: dict[str, Any] = {"model": model["version"], "recipe": recipe.__dict__}
    if "loso" not in skip:
        labelled = load_labelled(args.data, args.mirror, sources)
        written = load_written(args.data)
        lab_vec, wr_vec = embed_rows(labelled, args.cache), embed_rows(written, args.cache)
        shipped = shipped_chunks(args.index, labelled + dev, args.mirror, sources) if args.index else None
        result["(a) leave-sources-out, 5 folds"] = loso(
            recipe, labelled, written, lab_vec, wr_vec, dev, dev_vec, shipped
        )
    if "unseen" not in skip:
        result["(b) unseen-dev"] = unseen(model, args.unseen, args.cache, args.added)
    if "dev" not in skip:
        result["(c) dev, model as shipped"] = scores([r["label"] for r in dev], predict(model, dev, dev_vec))
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"model {result['model']}  recipe {result['recipe']}")
    for part, body in result.items():
        if not isinstance(body, dict) or part == "recipe":
            continue
        tables = body if "accuracy" not in body else {"": body}
        for name, s in tables.items():
            if not isinstance(s, dict):
                print(f"{part} {name}: {s}")
                continue
            rec = " ".join(f"{k[:4]} {v:.2f}" for k, v in s["recall"].items())
            print(f"{part} {name}: accuracy {s['accuracy']} (n={s['n']}; recall {rec})")


if __name__ == "__main__":
    main()
