"""Leave-sources-out cross-validation over the shipped corpus (issue 9).

The 61 sources are split into 5 folds (sorted ids, shuffled with a fixed seed). For each fold the index
keeps every chunk, but the fold's sources carry no annotations (their expansion questions are withheld,
see bench/generalise.py), and a learned reranker is trained without their pairs; the questions whose gold
lies in that fold (most of their gold items; ties go to the first item's fold) are then asked, with those
sources competing against the annotated rest. Questions: ../shared/eval/dev.jsonl and our own
bench/questions/train-*.jsonl. Scores pooled over folds, as score.py computes them (k = 8), and the
extractive answer's answer_evidence over the same passages (settings.answer, INTERP_RAG_ANSWER__*;
its sentences' stance read by the fold's stance model).

    python bench/loso.py [--index-dir index] [--mirror ../shared/corpus] [--dev ../shared/eval/dev.jsonl]
        [--tuning '{"question_weight": 0}'] [--reranker none|adapter] [--in-sample]
        [--answer-variants '{"off": {"side_on_topic": false}}']

--answer-variants composes each named variant of settings.answer over the same passages and reports its
answer_evidence beside the default's: answer-side choices compared in one run (~2 minutes without --reader).
--in-sample also scores the same questions on the full index (annotations and reranker fitted on every
source): the gap is what annotations buy on the questions they were written against. The fold's chunks are
labelled by a stance model trained without the fold's hand labels (--keep-stance keeps the shipped labels,
which have seen them; --reader adds a stance reader trained without them, as `add` labels a source with no
hand labels); bench/stance_eval.py and bench/stance_reader.py score the stance models themselves.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from bench.generalise import (
    fmt,
    load_jsonl,
    run_questions,
    scores,
    tuning_with,
    use_reranker,
    variant_scores,
    without_annotations,
)
from bench.questions import resolve_questions
from interp_rag.settings import get_settings
from interp_rag.store.index import load_index

ROOT = Path(__file__).resolve().parents[1]
N_FOLDS = 5


def folds(source_ids: list[str], n: int = N_FOLDS, seed: int = 0) -> list[frozenset[str]]:
    ids = sorted(source_ids)
    random.Random(seed).shuffle(ids)
    return [frozenset(ids[i::n]) for i in range(n)]


def fold_of(question: dict, parts: list[frozenset[str]]) -> int:
    counts = [sum(g["doc"] in p for g in question["gold"]) for p in parts]
    best = max(counts)
    first = next(i for i, p in enumerate(parts) if question["gold"][0]["doc"] in p)
    return first if counts[first] == best else counts.index(best)


def load_questions(mirror: Path, dev: Path | None) -> list[dict]:
    qs = [
        q | {"set": "tuning"}
        for p in sorted((ROOT / "bench/questions").glob("train-*.jsonl"))
        for q in resolve_questions(p, mirror, ROOT / "corpus/sources.toml")
    ]
    if dev is not None and dev.is_file():
        qs += [q | {"set": "dev"} for q in load_jsonl(dev)]
    return qs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index")
    ap.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--tuning", default="{}", help="JSON of settings.retrieval fields to override")
    ap.add_argument("--reranker", default="none", choices=["none", "adapter"])
    ap.add_argument("--adapter-weight", type=float, default=None)
    ap.add_argument("--in-sample", action="store_true")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument(
        "--keep-stance",
        action="store_true",
        help="keep the fold's shipped stances (hand labels, a model trained on them) instead of retraining",
    )
    ap.add_argument("--run-out", type=Path, default=None, help="the pooled run (score.py's format) goes here")
    ap.add_argument(
        "--reader",
        action="store_true",
        help="also train a stance reader without the fold (2.5 min a fold) and label the fold as `add` "
        "labels a source without hand labels (the logistic model and the reader together)",
    )
    ap.add_argument(
        "--stance-mix",
        default=None,
        help="W,E,S: with --reader, combine the two stance models with reader weight W and class offsets E "
        "(enthusiastic) and S (skeptical) instead of label.READER_WEIGHT / CLASS_OFFSETS",
    )
    ap.add_argument(
        "--answer-variants",
        default=None,
        help='JSON {"name": {settings.answer field: value}}: also compose each variant\'s extractive answer '
        "over the same passages and report its answer_evidence (a comparison in one run)",
    )
    args = ap.parse_args()
    if args.stance_mix:
        from interp_rag.ingest import label

        w, e, s = (float(x) for x in args.stance_mix.split(","))
        label.READER_WEIGHT, label.CLASS_OFFSETS = w, {"enthusiastic": e, "skeptical": s}
    tuning = tuning_with(json.loads(args.tuning) | {"reranker": args.reranker})
    settings = get_settings(index_dir=args.index_dir)
    index = load_index(settings=settings)
    answer = settings.answer  # the extractive answer over each fold's passages (INTERP_RAG_ANSWER__*)
    variants = {
        name: type(answer).model_validate(answer.model_dump() | fields)  # a misspelt field is refused
        for name, fields in json.loads(args.answer_variants or "{}").items()
    }
    qs = load_questions(args.mirror, args.dev)
    parts = folds(list(index.sources))
    by_fold = [[q for q in qs if fold_of(q, parts) == f] for f in range(N_FOLDS)]
    run: list[dict] = []
    full_run: list[dict] = []
    for f, part in enumerate(parts):
        t = time.perf_counter()
        model = None
        if not args.keep_stance:
            from interp_rag.ingest.label_train import train

            model = train(args.mirror, exclude_sources=part, cache_path=args.index_dir / "embeddings.sqlite")
        reader = None
        if args.reader and not args.keep_stance:
            from interp_rag.ingest.label_train import training_rows
            from interp_rag.ingest.reader_train import fit_reader
            from interp_rag.ingest.sources import load_sources

            sources = {s.id: s for s in load_sources(ROOT / "corpus" / "sources.toml")}
            reader = fit_reader(training_rows(args.mirror, sources, ROOT / "corpus" / "stance", part))
        idx = without_annotations(index, part, model, reader)
        if args.reranker == "adapter":
            from train_adapter import WEIGHT, fit

            from interp_rag.retrieval.rerank.adapter import AdapterReranker

            use_reranker("adapter", AdapterReranker(fit(idx, exclude=part), args.adapter_weight or WEIGHT))
        # the answer reads its sentences' stance with the fold's model too, not with the shipped one,
        # which was trained on the fold's hand labels
        run += run_questions(
            idx, by_fold[f], args.k, tuning, answer, stance_model=model, answer_variants=variants
        )
        if args.in_sample:
            if args.reranker == "adapter":
                use_reranker("adapter", AdapterReranker(fit(index), args.adapter_weight or WEIGHT))
            full_run += run_questions(index, by_fold[f], args.k, tuning, answer)
        print(
            f"fold {f}: {len(part)} sources, {len(by_fold[f])} questions, {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
    if args.run_out:
        args.run_out.write_text(json.dumps(run))
    label = f"tuning={args.tuning} reranker={args.reranker}"
    for name, subset in (
        ("all", qs),
        ("dev", [q for q in qs if q["set"] == "dev"]),
        ("tuning", [q for q in qs if q["set"] == "tuning"]),
    ):
        if subset:
            print(f"LOSO {name:<6} {label}: {fmt(scores(subset, run, args.k))}")
            for variant, s in variant_scores(subset, run).items():
                print(
                    f"LOSO {name:<6} answer variant {variant}: answer_evidence={s['answer_evidence']:.3f} "
                    f"sentences={s['sentences_per_answer']:.2f} duplicates={s['duplicate_sentences']}"
                )
            if args.in_sample:
                print(f"full {name:<6} {label}: {fmt(scores(subset, full_run, args.k))}")


if __name__ == "__main__":
    main()
