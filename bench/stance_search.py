"""Passage-stance variants compared out of sample, fast: the inputs are embedded once (cached), then each
variant is retrained per fold and scored on the same figures as bench/stance_eval.py:

  a_lab   leave-sources-out: labelled passages of the held-out sources
  a_dev   leave-sources-out: ../shared/eval/passage_stance_dev.jsonl passages of the held-out sources
  a_labc, a_devc  the same passages, label of the chunk of /work/main/index holding most of each (--index)
  b_quote ../shared/unseen-dev passages, classifier on the quote (the model trained on all our data)
  b_chunk the same, label of the chunk holding most of each in an index the documents were added to
          (--added; read only), relabelled by the variant as `add` would
  c_dev   the dev passages, model trained on all our data (the dev passages lie in labelled sources)

A variant is a JSON object: {"recipe": {...Recipe fields...}, "read": "passage" | "sentences",
"tau": 0.7, "augment": "" | "chunks", "doc_shift": 0.0}.
  read=sentences  a chunk (more than one sentence) is read sentence by sentence: each sentence's TF-IDF
                  with the chunk's vector and document label; the most confident non-neutral sentence
                  decides when its probability reaches tau, else the whole chunk's label stands.
  augment=chunks  each training passage's holding chunk is added as a training row with its label.
  prior_scale=s   the document label's weights scaled by s when reading (the model is trained as usual)
  doc_shift=a     every vector (training and scored) minus a * (its document's mean chunk vector - the
                  corpus's mean chunk vector): a passage read against its own document's topic (needs
                  --index and, for b, --added; written passages have no document and are not shifted).

unseen-dev is scored, never fitted on: every model here is trained on corpus/stance/ only.

    python bench/stance_search.py --mirror ../shared/corpus --index /work/main/index \
        --added /tmp/unseen/index '{}' '{"recipe": {"C": 3}}' '{"read": "sentences", "tau": 0.7}'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
from interp_rag.ingest.label import MODEL_FILE, prepare_model, stance_probabilities
from interp_rag.ingest.label_train import Recipe, embed_rows, fit
from interp_rag.ingest.sources import resolve
from interp_rag.store.format import current_dir, read_chunks
from interp_rag.text import BLOCK_BREAK, clean_for_embedding, split_sentences
from interp_rag.types import STANCES, Source

ROOT = Path(__file__).resolve().parents[1]


def sentences(text: str) -> list[str]:
    """The sentences of a text with at least four words (shorter ones are headings and fragments)."""
    out = []
    for block in BLOCK_BREAK.split(text):
        out += [block[s:e].strip() for s, e in split_sentences(block) if len(block[s:e].split()) >= 4]
    return out


def predict(model: dict, vectors: np.ndarray, texts: list[str], priors: list, variant: dict) -> list[str]:
    texts = [clean_for_embedding(t) for t in texts]
    scale = variant.get("prior_scale", 1.0)  # the document label's one-hot, scaled at reading time only
    if scale != 1.0:
        m = dict(model)
        m["coef"] = np.array(model["coef"], copy=True)
        m["coef"][:, -4:] *= scale
        model = m
    p = stance_probabilities(np.asarray(vectors), texts, priors, model=model)
    labels = STANCES  # stance_probabilities' columns
    out = [labels[int(i)] for i in p.argmax(axis=1)]
    if variant.get("read", "passage") != "sentences":
        return out
    neutral = labels.index("neutral")
    for i, text in enumerate(texts):
        sents = sentences(text)
        if len(sents) < 2:
            continue
        ps = stance_probabilities(
            np.repeat(np.asarray(vectors)[i : i + 1], len(sents), 0),
            sents,
            [priors[i]] * len(sents),
            model=model,
        )
        ps[:, neutral] = -1
        row, col = np.unravel_index(ps.argmax(), ps.shape)
        if ps[row, col] >= variant.get("tau", 0.7):
            out[i] = labels[int(col)]
    return out


def doc_means(ids: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Each document's mean chunk vector."""
    out: dict[str, list[np.ndarray]] = {}
    for sid, v in zip(ids, vectors, strict=True):
        out.setdefault(sid, []).append(v)
    return {sid: np.mean(vs, axis=0) for sid, vs in out.items()}


def accuracy(gold: list[str], pred: list[str]) -> float:
    return round(float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])), 3)


class Data(LabelledRows):
    """Everything the variants are scored on, embedded once."""

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.chunks = (
            shipped_chunks(args.index, self.lab + self.dev, args.mirror, self.sources) if args.index else None
        )
        self.means: dict[str, np.ndarray] = {}
        self.unseen_means: dict[str, np.ndarray] = {}
        if self.chunks is not None:
            chunks, vecs = self.chunks
            self.means = doc_means([c.source_id for c in chunks], vecs)
            self.global_mean = vecs.mean(axis=0)
        manifest = {m["id"]: m for m in read_jsonl(args.unseen / "corpus" / "manifest.jsonl")}
        fields = Source.__dataclass_fields__
        srcs = {k: Source(**{f: v for f, v in m.items() if f in fields}) for k, m in manifest.items()}
        rows = read_jsonl(args.unseen / "passage_stance.jsonl")
        self.unseen = quote_rows(rows, srcs)
        self.unseen_vec = embed_rows(self.unseen, args.cache)
        self.unseen_chunks = self._holding(args.added, args.unseen, rows, srcs) if args.added else None

    def _holding(self, added: Path, unseen: Path, rows: list[dict], srcs: dict) -> tuple:
        import faiss

        version = current_dir(added)
        if version is None:
            raise SystemExit(f"no index in {added}")
        chunks = read_chunks(version)
        vecs = faiss.read_index(str(version / "dense.faiss")).reconstruct_n(0, len(chunks))
        texts, vectors, priors = [], [], []
        self.unseen_means = doc_means([c.source_id for c in chunks], vecs)
        for r in rows:
            doc = resolve(srcs[r["doc"]], mirror=unseen / "corpus", cache_dir=None)
            s, e = locate(doc.text, r["quote"]) or (0, 0)
            ids = [j for j, c in enumerate(chunks) if c.source_id == r["doc"]]
            j = ids[int(np.argmax([min(e, chunks[j].end) - max(s, chunks[j].start) for j in ids]))]
            texts.append(chunks[j].text)
            vectors.append(vecs[j])
            priors.append(srcs[r["doc"]].stance)
        return texts, np.array(vectors), priors

    def training(
        self, keep: list[int], variant: dict, held: set[str] = frozenset()
    ) -> tuple[list[dict], np.ndarray]:
        lab = [] if variant.get("no_labels") else keep
        rows, vecs = [self.lab[i] for i in lab], [self.lab_vec[lab]]
        if variant.get("train_dev"):  # the dev passages of the other folds, `train_dev` times over
            at = [i for i, r in enumerate(self.dev) if r["doc"] not in held]
            for _ in range(int(variant["train_dev"])):
                rows += [{**self.dev[i], "group": self.dev[i]["doc"], "kind": "dev"} for i in at]
                vecs.append(self.dev_vec[at])
        if variant.get("augment") == "chunks" and self.chunks is not None:
            chunks, cvecs = self.chunks
            at = sorted({(self.lab[i]["chunk"], self.lab[i]["label"]): i for i in keep}.items())
            rows += [{**self.lab[i], "text": chunks[j].text} for (j, _), i in at]
            vecs.append(cvecs[[j for (j, _), _ in at]])
        rows += self.written
        return rows, self.shift(np.vstack([*vecs, self.wr_vec]), [r["doc"] for r in rows], variant)

    def shift(self, vecs: np.ndarray, docs: list, variant: dict, unseen: bool = False) -> np.ndarray:
        a = variant.get("doc_shift", 0.0)
        means = self.unseen_means if unseen else self.means
        if not a:
            return vecs
        if not means:
            raise SystemExit("doc_shift needs --index (and --added for b)")
        return np.array(
            [
                v - a * (means[d] - self.global_mean) if d in means else v
                for v, d in zip(vecs, docs, strict=True)
            ]
        )


def score(data: Data, variant: dict, base: dict) -> dict[str, float]:
    recipe = Recipe.from_dict({**base, **variant.get("recipe", {})})
    folds = source_folds(sorted({r["doc"] for r in data.lab}))
    gold: dict[str, list[str]] = {"lab": [], "dev": []}
    pred: dict[str, list[str]] = {"lab": [], "dev": [], "labc": [], "devc": []}
    for k in range(FOLDS):
        held = {d for d, f in folds.items() if f == k}
        keep = [i for i, r in enumerate(data.lab) if folds[r["doc"]] != k]
        model = prepare_model(fit(*data.training(keep, variant, held), recipe))
        for name, rows, vecs in (("lab", data.lab, data.lab_vec), ("dev", data.dev, data.dev_vec)):
            at = [i for i, r in enumerate(rows) if folds.get(r["doc"]) == k]
            part = [rows[i] for i in at]
            gold[name] += [r["label"] for r in part]
            docs = [r["doc"] for r in part]
            pred[name] += predict(
                model,
                data.shift(vecs[at], docs, variant),
                [r["text"] for r in part],
                [r["prior"] for r in part],
                variant,
            )
            if data.chunks is not None:
                chunks, cvecs = data.chunks
                held = [r["chunk"] for r in part]
                ctexts = [chunks[j].text for j in held]
                cv = data.shift(cvecs[held], docs, variant)
                pred[f"{name}c"] += predict(model, cv, ctexts, [r["prior"] for r in part], variant)
    out = {f"a_{n}": accuracy(gold[n[:3]], p) for n, p in pred.items() if p}
    model = prepare_model(fit(*data.training(list(range(len(data.lab))), variant), recipe))
    ugold = [r["label"] for r in data.unseen]
    upriors = [r["prior"] for r in data.unseen]
    udocs = [r["doc"] for r in data.unseen]
    uvec = data.shift(data.unseen_vec, udocs, variant, unseen=True)
    out["b_quote"] = accuracy(ugold, predict(model, uvec, [r["text"] for r in data.unseen], upriors, variant))
    if data.unseen_chunks is not None:
        texts, vecs, priors = data.unseen_chunks
        vecs = data.shift(vecs, udocs, variant, unseen=True)
        out["b_chunk"] = accuracy(ugold, predict(model, vecs, texts, priors, variant))
    dgold = [r["label"] for r in data.dev]
    out["c_dev"] = accuracy(
        dgold,
        predict(
            model,
            data.shift(data.dev_vec, [r["doc"] for r in data.dev], variant),
            [r["text"] for r in data.dev],
            [r["prior"] for r in data.dev],
            variant,
        ),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="*", type=json.loads, help="JSON objects (default: the shipped model)")
    ap.add_argument("--mirror", type=Path, required=True)
    ap.add_argument("--sources", type=Path, default=ROOT / "corpus" / "sources.toml")
    ap.add_argument("--data", type=Path, default=ROOT / "corpus" / "stance")
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "eval" / "passage_stance_dev.jsonl")
    ap.add_argument("--unseen", type=Path, default=ROOT.parent / "shared" / "unseen-dev")
    ap.add_argument("--index", type=Path, default=None, help="a built index of the corpus: a_labc, a_devc")
    ap.add_argument("--added", type=Path, default=None, help="an index unseen-dev was added to: b_chunk")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/interp-rag-stance-eval.sqlite"))
    args = ap.parse_args()
    base = json.loads(MODEL_FILE.read_text(encoding="utf-8")).get("recipe", {})
    data = Data(args)
    for variant in args.variants or [{}]:
        print(json.dumps(variant), score(data, variant, base), flush=True)


if __name__ == "__main__":
    main()
