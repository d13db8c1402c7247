"""Two context features for the passage-stance model, measured out of sample (issue 9):

  centroid  the passage against its document: its vector minus the mean vector of its document's chunks
            ("diff"), that difference at unit length ("unit"), or the cosine to the mean, centred on the
            training passages' mean cosine ("cos"); a passage with no document (written.jsonl) gets zeros
  heading   the words of the heading path over the passage (the path at its first character, as the chunker
            records a chunk's headings) as a TF-IDF block of their own; "levels": "all" the whole path,
            "inner" without the top heading (most often the document's title); a term must occur in the
            headings of `heading_min_docs` training documents; written passages have no heading
  heading_embed  the heading path's embedding (MiniLM, as a passage is embedded), scaled; zeros for none
  written   "topic": a written passage's "document" is its topic's written passages (3 or more), not zeros
  shipped   (alone) b and c read by the shipped stance_model.json instead of a model trained now

Each variant is scored on the same passages as bench/stance_eval.py, by the logistic model alone and mixed
with the stance reader as `add` mixes them (label.combine, the shipped weight and offsets; the features are
the logistic model's only, so the readers' probabilities are computed once and reused for every variant):

  a_lab / a_dev   leave-sources-out (the 5 folds of stance_eval): labelled and dev passages of held-out
                  sources; "+r": mixed with that fold's reader (probabilities from
                  `bench/stance_reader.py --save FILE`, given here as --reader-probs)
  a_labc / a_devc the same folds, the chunk of --index holding most of each passage (logistic only)
  b_quote         unseen-dev quotes, the model trained on all our data ("+r", with --reader-cache: mixed
                  with the shipped reader, whose probabilities are computed once and kept in that file)
  b_shown         unseen-dev, the label of the chunk holding most of each passage once its document is
                  chunked and embedded as `add` does ("+r": with the shipped reader on that chunk)
  c_dev           dev passages, the model trained on all our data (their sources have hand labels: the
                  product reads them with the logistic model alone)

Beside each figure of a variant other than the first, "+g/-l": passages it gets right that the first gets
wrong, and the reverse (the first variant is the baseline: pass '{}' first).

    python bench/stance_reader.py --mirror ../shared/corpus --save /tmp/stance-probs.npz  # once, 25+ min
    python bench/stance_context.py --mirror ../shared/corpus --index index \
        --reader-probs /tmp/stance-probs.npz --reader-cache /tmp/unseen-reader.npz \
        '{}' '{"shipped": true}' '{"centroid": "diff", "centroid_weight": 1}' '{"heading_weight": 0.5}'

Measured and not adopted (docs/benchmarks.md): no variant moved unseen-dev with the reader mix beyond one
passage, and leave-sources-out moved within noise.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stance_eval import (
    FOLDS,
    LabelledRows,
    locate,
    quote_rows,
    read_jsonl,
    shipped_chunks,
    source_folds,
)
from bench.stance_search import doc_means
from interp_rag.ingest.chunk import Chunker, headings_index, hidden_spans
from interp_rag.ingest.embed import EmbeddingCache, embed_with_cache, model_id, tokenizer_path
from interp_rag.ingest.label import MODEL_FILE, combine, stance_probabilities
from interp_rag.ingest.label_train import Recipe, _vectorizer, embed_rows
from interp_rag.ingest.prior import prior_features
from interp_rag.ingest.sources import resolve
from interp_rag.settings import get_settings
from interp_rag.text import clean_for_embedding, digest
from interp_rag.types import STANCES, Source

ROOT = Path(__file__).resolve().parents[1]


def heading_at(text: str, at: int | None) -> list[str]:
    """The heading path over character `at` of `text` (as Chunker.chunk gives a chunk starting there)."""
    if at is None:
        return []
    offsets, paths = headings_index(text, hidden_spans(text))
    i = bisect.bisect_right(offsets, at) - 1
    return list(paths[i]) if i >= 0 else []


def heading_text(path: list[str], levels: str) -> str:
    return " ".join(path[1:] if levels == "inner" else path)


class Data(LabelledRows):
    """Every passage scored, with its vector, its document's mean chunk vector and its heading path."""

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        sources = self.sources
        self.cache_path, self._hvec = args.cache, {}
        chunks, vecs = shipped_chunks(args.index, self.lab + self.dev, args.mirror, sources)
        self.chunks, self.chunk_vecs = chunks, vecs
        self.centroid = doc_means([c.source_id for c in chunks], vecs)
        texts = {d: (args.mirror / sources[d].file).read_text(encoding="utf-8") for d in self.centroid}
        missing = 0
        for r in self.lab + self.dev:
            at = r.get("start")
            if at is None:
                where = locate(texts[r["doc"]], r["text"])
                missing += where is None
                at = where[0] if where else None
            r["headings"] = heading_at(texts[r["doc"]], at)
            r["chunk_headings"] = chunks[r["chunk"]].headings
        for r in self.written:
            r["headings"] = []
        topics = doc_means([r["group"] for r in self.written], self.wr_vec)
        sizes = {g: sum(r["group"] == g for r in self.written) for g in topics}
        self.centroid |= {g: c for g, c in topics.items() if sizes[g] >= 3}
        print(f"dev quotes not found verbatim (no heading): {missing}", file=sys.stderr)
        self.unseen, self.unseen_vec, self.shown = self._unseen(args)
        self.reader = np.load(args.reader_probs) if args.reader_probs else None
        self.unseen_reader = self._shipped_reader(args) if args.reader_cache else None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Each heading text's embedding (zeros for none), remembered."""
        todo = sorted({t for t in texts if t and t not in self._hvec})
        if todo:
            cache = EmbeddingCache(self.cache_path, model_id())
            try:
                vecs, _ = embed_with_cache([digest(t, 24) for t in todo], todo, cache)
            finally:
                cache.close()
            self._hvec.update(zip(todo, vecs, strict=True))
        zero = np.zeros(self.lab_vec.shape[1], dtype=np.float32)
        return np.array([self._hvec.get(t, zero) if t else zero for t in texts])

    def _unseen(self, args: argparse.Namespace) -> tuple[list[dict], np.ndarray, dict[str, Any]]:
        """unseen-dev's quotes, and the chunk holding most of each once its document is chunked and
        embedded as `add` does (its text, vector, headings and the encoder's input)."""
        manifest = {m["id"]: m for m in read_jsonl(args.unseen / "corpus" / "manifest.jsonl")}
        fields = Source.__dataclass_fields__
        srcs = {k: Source(**{f: v for f, v in m.items() if f in fields}) for k, m in manifest.items()}
        rows = read_jsonl(args.unseen / "passage_stance.jsonl")
        quotes = quote_rows(rows, srcs)
        qvec = embed_rows(quotes, args.cache)
        settings = get_settings()
        chunker = Chunker(tokenizer_path(), settings.chunk_tokens, settings.chunk_overlap)
        cache = EmbeddingCache(args.cache, model_id())
        shown: dict[str, list] = {"text": [], "vec": [], "headings": [], "input": [], "prior": []}
        try:
            for doc_id in sorted({r["doc"] for r in rows}):
                src = srcs[doc_id]
                doc = resolve(src, mirror=args.unseen / "corpus", cache_dir=None)
                chunks = chunker.chunk(doc)
                inputs = [chunker.embed_text(c, src.title) for c in chunks]
                vecs, _ = embed_with_cache([digest(t, 24) for t in inputs], inputs, cache)
                self.centroid[doc_id] = vecs.mean(axis=0)
                for q, r in zip(quotes, rows, strict=True):
                    if r["doc"] != doc_id:
                        continue
                    s, e = locate(doc.text, r["quote"]) or (0, 0)
                    q["headings"] = heading_at(doc.text, s)
                    j = int(np.argmax([min(e, c.end) - max(s, c.start) for c in chunks]))
                    q["shown"] = len(shown["text"])
                    shown["text"].append(chunks[j].text)
                    shown["vec"].append(vecs[j])
                    shown["headings"].append(chunks[j].headings)
                    shown["input"].append(inputs[j])
                    shown["prior"].append(src.stance)
        finally:
            cache.close()
        order = [q["shown"] for q in quotes]
        out = {k: [v[i] for i in order] for k, v in shown.items()}
        out["vec"] = np.array(out["vec"])
        return quotes, qvec, out

    def _shipped_reader(self, args: argparse.Namespace) -> dict[str, np.ndarray]:
        """The shipped reader's probabilities for unseen-dev's quotes and holding chunks (kept in
        --reader-cache: the reader is the same for every variant)."""
        path = args.reader_cache
        if path.exists():
            z = np.load(path)
            return {"quote": z["quote"], "shown": z["shown"]}
        from interp_rag.ingest.label_train import row_inputs
        from interp_rag.ingest.reader import shipped_reader

        reader = shipped_reader()
        out = {
            "quote": reader.probabilities(row_inputs(self.unseen), [r["prior"] for r in self.unseen]),
            "shown": reader.probabilities(self.shown["input"], self.shown["prior"]),
        }
        np.savez(path, **out)
        return out


class Model:
    """The shipped model's features ([embedding | tfidf_weight x TF-IDF | prior]) and the variant's, fitted
    with the shipped recipe's logistic regression. `centroids`: {document id: its mean chunk vector, and
    "written:<topic>": the mean vector of the written passages of a topic}; `embed`: heading text -> vectors
    (for heading_embed)."""

    def __init__(
        self,
        recipe: Recipe,
        variant: dict[str, Any],
        centroids: dict[str, np.ndarray],
        embed: Callable[[list[str]], np.ndarray] | None = None,
    ):
        self.recipe, self.v, self.embed = recipe, variant, embed
        # A written passage has no document: zeros, unless "written": "topic" reads its topic's mean instead.
        topic = variant.get("written") == "topic"
        self.centroids = {k: c for k, c in centroids.items() if topic or not k.startswith("written:")}

    def _centroid(self, docs: list, vecs: np.ndarray) -> np.ndarray | None:
        mode, w = self.v.get("centroid"), self.v.get("centroid_weight", 1.0)
        if not mode:
            return None
        cents = np.array([self.centroids.get(d, v) for d, v in zip(docs, vecs, strict=True)])
        has = np.array([d in self.centroids for d in docs], dtype=np.float32)[:, None]
        diff = (vecs - cents) * has
        if mode == "diff":
            return w * diff
        if mode == "unit":
            return w * diff / np.maximum(np.linalg.norm(diff, axis=1, keepdims=True), 1e-6)
        cos = np.sum(vecs * cents, axis=1) / np.maximum(np.linalg.norm(cents, axis=1), 1e-6)
        return w * (cos[:, None] - self.mu) * has  # "cos"

    def features(self, texts: list[str], vecs: np.ndarray, priors: list, docs: list, heads: list) -> Any:
        from scipy import sparse

        clean = [clean_for_embedding(t) for t in texts]
        blocks = [
            sparse.csr_matrix(vecs),
            self.recipe.tfidf_weight * self.vec.transform(clean),
            sparse.csr_matrix(self.recipe.prior_weight * prior_features(priors)),
        ]
        c = self._centroid(docs, vecs)
        if c is not None:
            blocks.append(sparse.csr_matrix(c))
        if self.hvec is not None:
            htexts = [heading_text(h, self.v.get("levels", "all")) for h in heads]
            blocks.append(self.v["heading_weight"] * self.hvec.transform(htexts))
        if self.v.get("heading_embed"):
            htexts = [heading_text(h, self.v.get("levels", "all")) for h in heads]
            blocks.append(sparse.csr_matrix(self.v["heading_embed"] * self.embed(htexts)))
        return sparse.hstack(blocks).tocsr()

    def fit(self, rows: list[dict], vecs: np.ndarray, full: bool = False) -> Model:
        from sklearn.linear_model import LogisticRegression

        self.full = full  # trained on all our data: "shipped" reads with the shipped model instead

        clean = [clean_for_embedding(r["text"]) for r in rows]
        self.vec = _vectorizer(self.recipe, clean, [r["group"] for r in rows])
        docs = [r["doc"] or r["group"] for r in rows]
        if self.v.get("centroid") == "cos":
            cos = [
                float(v @ self.centroids[d]) / np.linalg.norm(self.centroids[d])
                for d, v in zip(docs, vecs, strict=True)
                if d in self.centroids
            ]
            self.mu = float(np.mean(cos))
        self.hvec = None
        if self.v.get("heading_weight"):
            levels = self.v.get("levels", "all")
            have = [(heading_text(r["headings"], levels), r["group"]) for r in rows if r["headings"]]
            hrecipe = Recipe(min_df=1, min_groups=self.v.get("heading_min_docs", 2), ngram_max=1)
            self.hvec = _vectorizer(hrecipe, [t for t, _ in have], [g for _, g in have])
        x = self.features(
            [r["text"] for r in rows], vecs, [r["prior"] for r in rows], docs, [r["headings"] for r in rows]
        )
        y = np.array([STANCES.index(r["label"]) for r in rows])
        w = np.array([self.recipe.written_weight if r["kind"] == "written" else 1.0 for r in rows])
        self.clf = LogisticRegression(C=self.recipe.C, max_iter=5000)
        self.clf.fit(x, y, sample_weight=w)
        return self

    def proba(self, texts: list[str], vecs: np.ndarray, priors: list, docs: list, heads: list) -> np.ndarray:
        if self.v.get("shipped") and self.full:
            return stance_probabilities(vecs, [clean_for_embedding(t) for t in texts], priors)
        p = self.clf.predict_proba(self.features(texts, vecs, priors, docs, heads))
        out = np.zeros((len(texts), len(STANCES)), dtype=np.float32)
        out[:, self.clf.classes_] = p
        return out


def _args(rows: list[dict], vecs: np.ndarray, heads_key: str = "headings") -> tuple:
    return (
        [r["text"] for r in rows],
        vecs,
        [r["prior"] for r in rows],
        [r["doc"] or r["group"] for r in rows],
        [r[heads_key] for r in rows],
    )


def score(data: Data, recipe: Recipe, variant: dict) -> tuple[dict[str, list[bool]], dict[str, list[str]]]:
    """Per figure, whether each passage is read right and what it is read as (in a fixed order, so variants
    can be compared)."""
    folds = source_folds(sorted({r["doc"] for r in data.lab}))
    right: dict[str, list[bool]] = {}
    read: dict[str, list[str]] = {}

    def add(name: str, gold: list[str], p: np.ndarray) -> None:
        labels = [STANCES[int(i)] for i in p.argmax(1)]
        read.setdefault(name, []).extend(labels)
        right.setdefault(name, []).extend(a == g for a, g in zip(labels, gold, strict=True))

    loso: dict[str, tuple[list, list]] = {"lab": ([], []), "dev": ([], [])}
    for k in range(FOLDS):
        keep = [i for i, r in enumerate(data.lab) if folds[r["doc"]] != k]
        rows = [data.lab[i] for i in keep] + data.written
        m = Model(recipe, variant, data.centroid, data.embed).fit(
            rows, np.vstack([data.lab_vec[keep], data.wr_vec])
        )
        for name, all_rows, vecs in (("lab", data.lab, data.lab_vec), ("dev", data.dev, data.dev_vec)):
            at = [i for i, r in enumerate(all_rows) if folds.get(r["doc"]) == k]
            part = [all_rows[i] for i in at]
            gold = [r["label"] for r in part]
            p = m.proba(*_args(part, vecs[at]))
            add(f"a_{name}", gold, p)
            loso[name][0].extend(gold)
            loso[name][1].append(p)
            held = [r["chunk"] for r in part]
            ctexts = [{**r, "text": data.chunks[j].text} for r, j in zip(part, held, strict=True)]
            add(f"a_{name}c", gold, m.proba(*_args(ctexts, data.chunk_vecs[held], "chunk_headings")))
    if data.reader is not None:
        # The readers' probabilities are in the same order: fold by fold, each fold's passages in file order.
        for name, (gold, ps) in loso.items():
            if gold != list(data.reader[f"{name}_gold"]):
                raise SystemExit("--reader-probs holds other passages (or another fold order)")
            add(f"a_{name}+r", gold, combine(np.vstack(ps), data.reader[f"{name}_reader"]))
    both = (data.lab + data.written, np.vstack([data.lab_vec, data.wr_vec]))
    m = Model(recipe, variant, data.centroid, data.embed).fit(*both, full=True)
    ugold = [r["label"] for r in data.unseen]
    pq = m.proba(*_args(data.unseen, data.unseen_vec))
    add("b_quote", ugold, pq)
    sh = data.shown
    srows = [{**r, "text": t} for r, t in zip(data.unseen, sh["text"], strict=True)]
    ps = m.proba(
        [r["text"] for r in srows], sh["vec"], sh["prior"], [r["doc"] for r in srows], sh["headings"]
    )
    add("b_shown", ugold, ps)
    if data.unseen_reader is not None:
        add("b_quote+r", ugold, combine(pq, data.unseen_reader["quote"]))
        add("b_shown+r", ugold, combine(ps, data.unseen_reader["shown"]))
    add("c_dev", [r["label"] for r in data.dev], m.proba(*_args(data.dev, data.dev_vec)))
    return right, read


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="*", type=json.loads, help="JSON objects; the first is the baseline")
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True, help="a built index of the corpus")
    ap.add_argument("--reader-probs", type=Path, default=None, help="bench/stance_reader.py --save's file")
    ap.add_argument("--reader-cache", type=Path, default=None, help="b with the shipped reader, kept here")
    ap.add_argument("--sources", type=Path, default=ROOT / "corpus" / "sources.toml")
    ap.add_argument("--data", type=Path, default=ROOT / "corpus" / "stance")
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "eval" / "passage_stance_dev.jsonl")
    ap.add_argument("--unseen", type=Path, default=ROOT.parent / "shared" / "unseen-dev")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/interp-rag-stance-eval.sqlite"))
    ap.add_argument("--shares", action="store_true", help="also each figure's share of each predicted stance")
    args = ap.parse_args()
    recipe = Recipe.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")).get("recipe", {}))
    data = Data(args)
    base: dict[str, list[bool]] | None = None
    for variant in args.variants or [{}]:
        right, read = score(data, recipe, variant)
        cells = []
        for name, r in right.items():
            cell = f"{name} {np.mean(r):.3f}"
            if args.shares:  # does a feature push passages toward one stance?
                cell += " [" + " ".join(f"{c[:4]} {read[name].count(c) / len(r):.2f}" for c in STANCES) + "]"
            if base is not None:
                gained = sum(a and not b for a, b in zip(r, base[name], strict=True))
                lost = sum(b and not a for a, b in zip(r, base[name], strict=True))
                cell += f" (+{gained}/-{lost})"
            cells.append(cell)
        base = base or right
        print(json.dumps(variant), " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
