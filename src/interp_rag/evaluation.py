"""`interp-rag eval`: the metrics of ../shared/eval/README.md, computed exactly as its score.py does.

A shown passage matches a gold item when it is from the same document and contains at least half of the
gold quote's word 4-grams.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

from .answering.pipeline import answer
from .ingest.label import classify_stance
from .retrieval.retrieve import retrieve
from .retrieval.search import _query_vector_cached
from .settings import Settings, get_settings
from .store.index import Index, load_index
from .types import SIDES

_WORD = re.compile(r"[a-z0-9]+")


def grams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def matches(passage: dict[str, Any], gold: dict[str, Any]) -> bool:
    if passage.get("doc") != gold["doc"]:
        return False
    g = grams(gold["quote"])
    return bool(g) and len(g & grams(passage.get("text", ""))) / len(g) >= 0.5


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def score_run(questions: list[dict[str, Any]], run: list[dict[str, Any]], k: int = 8) -> dict[str, Any]:
    by_id = {r["id"]: r for r in run}
    n = len(questions)
    hits = doc_hits = found = total = contested = both = 0
    rr = 0.0
    per_kind: dict[str, list[int]] = {}
    for q in questions:
        shown = by_id.get(q["id"], {}).get("passages", [])[:k]
        docs = {p.get("doc") for p in shown}
        rank = next((i for i, p in enumerate(shown) if any(matches(p, g) for g in q["gold"])), None)
        hits += rank is not None
        rr += 1.0 / (rank + 1) if rank is not None else 0.0
        doc_hits += any(g["doc"] in docs for g in q["gold"])
        for g in q["gold"]:
            total += 1
            found += any(matches(p, g) for p in shown)
        per_kind.setdefault(q["kind"], []).append(int(rank is not None))
        if q["kind"] == "contested":
            contested += 1
            sides = {g["side"] for g in q["gold"] if g["doc"] in docs}
            both += set(SIDES) <= sides
    return {
        "questions": n,
        "k": k,
        "passage_recall": round(hits / n, 3) if n else 0.0,
        "mrr": round(rr / n, 3) if n else 0.0,
        "doc_recall": round(doc_hits / n, 3) if n else 0.0,
        "gold_coverage": round(found / total, 3) if total else 0.0,
        "both_sides_on_contested": round(both / contested, 3) if contested else None,
        "passage_recall_by_kind": {kd: round(sum(v) / len(v), 3) for kd, v in sorted(per_kind.items())},
    }


def score_stance(labeled: list[dict[str, Any]], predicted: dict[str, str]) -> dict[str, Any]:
    per: dict[str, list[int]] = {}
    correct = 0
    for row in labeled:
        ok = int(predicted.get(row["id"]) == row["label"])
        correct += ok
        per.setdefault(row["label"], []).append(ok)
    return {
        "passages": len(labeled),
        "accuracy": round(correct / len(labeled), 3) if labeled else 0.0,
        "recall_by_label": {k: round(sum(v) / len(v), 3) for k, v in sorted(per.items())},
    }


def evaluate(
    questions: Path,
    *,
    k: int = 8,
    stance_file: Path | None = None,
    run_out: Path | None = None,
    index: Index | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run every question through answer() (extractive, so only retrieval is measured) and score it."""
    settings = settings or get_settings()
    index = index or load_index(settings=settings)
    qs = load_jsonl(questions)
    tuning = settings.retrieval
    retrieve(index, "warm-up question about interpretability", k=k, tuning=tuning)
    answer("warm-up question about interpretability", k=k, index=index, llm=False, settings=settings)
    run, ret_ms, ans_ms = [], [], []
    for q in qs:
        # Timed cold: a question's embedding is cached for re-asks, which would flatter the second call.
        _query_vector_cached.cache_clear()
        t = time.perf_counter()
        retrieve(index, q["question"], k=k, tuning=tuning)
        ret_ms.append((time.perf_counter() - t) * 1000)
        _query_vector_cached.cache_clear()
        t = time.perf_counter()
        a = answer(q["question"], k=k, index=index, llm=False, settings=settings)
        ans_ms.append((time.perf_counter() - t) * 1000)
        run.append(
            {
                "id": q["id"],
                "passages": [
                    {"doc": p.source_id, "text": p.text, "stance": p.stance, "chunk_id": p.chunk_id}
                    for p in a.passages
                ],
            }
        )
    if run_out:
        Path(run_out).write_text(json.dumps(run, indent=1, ensure_ascii=False), encoding="utf-8")
    result: dict[str, Any] = {
        "retrieval": score_run(qs, run, k),
        "latency_ms": {
            "retrieval_p50": round(statistics.median(ret_ms), 2),
            "answer_p50": round(statistics.median(ans_ms), 2),
            "answer_p95": round(sorted(ans_ms)[int(0.95 * (len(ans_ms) - 1))], 2),
        },
    }
    if stance_file:
        result["stance"] = evaluate_stance(load_jsonl(stance_file), index)
    return result


def holding_chunk(index: Any, doc: str, quote: str, _texts: dict[str, str] | None = None) -> Any:
    """The chunk of `doc` that holds most of `quote` (the one retrieval shows for it), or None when the
    quote is not in the indexed text. The text is pieced together from the chunks' offsets."""
    texts = _texts if _texts is not None else {}
    chunks = [c for c in index.chunks if c.source_id == doc]
    if not chunks:
        return None
    if doc not in texts:
        buf = [" "] * max(c.end for c in chunks)
        for c in chunks:
            buf[c.start : c.end] = c.text
        texts[doc] = "".join(buf)
    at = texts[doc].find(quote)
    if at < 0:
        return None
    end = at + len(quote)
    return max(chunks, key=lambda c: min(end, c.end) - max(at, c.start))


def evaluate_stance(rows: list[dict[str, Any]], index: Any) -> dict[str, Any]:
    """Stance accuracy of the classifier, apart from passages whose shown label is a hand label.

    A passage whose holding chunk carries a hand label (stance_by "label": the classifier was trained on
    it) is scored under `hand_labelled`, with the label the product shows; every other passage is read by
    the classifier (with its document's title and stance) and scored at the top level: the model's
    accuracy."""
    texts: dict[str, str] = {}
    held = [holding_chunk(index, r.get("doc", ""), r["quote"], texts) for r in rows]
    hand = [i for i, c in enumerate(held) if c is not None and c.stance_by == "label"]
    rest = [i for i in range(len(rows)) if i not in set(hand)]
    labels = classify_stance(
        [rows[i]["quote"] for i in rest], source_ids=[rows[i].get("doc") for i in rest], index=index
    )
    out = score_stance(
        [rows[i] for i in rest], {rows[i]["id"]: lab for i, lab in zip(rest, labels, strict=True)}
    )
    out["hand_labelled"] = score_stance(
        [rows[i] for i in hand], {rows[i]["id"]: held[i].stance for i in hand}
    )
    return out
