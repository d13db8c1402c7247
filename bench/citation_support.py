"""How well the LLM answer's citation check (answering/support.py) tells a true citation from a false one,
measured without an LLM:

- true citations: the sentences of each question's `answer_notes` (people's paraphrase of the gold
  passages), against the shown passages of a gold document (questions with one shown), together and the
  best one alone (a model's sentence often cites one passage);
- false citations, on topic: the same sentences against a shown passage of a document that is not gold;
- false citations, off topic: against the shown passages of another question;
- quotations: sentences of the shown passages quoted as they are, with one word changed, and sentences of
  another question's passages (which no shown passage should hold).

    python bench/citation_support.py ../shared/eval/dev.jsonl
    python bench/citation_support.py --index-dir /tmp/unseen/index ../shared/unseen-dev/questions.jsonl

(the second after `python bench/unseen.py --index-dir index --keep /tmp/unseen`). Prints shares as JSON,
never the texts.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.questions import question_run
from interp_rag.answering.extractive import sentences
from interp_rag.answering.support import holds_quote, quotable, support
from interp_rag.retrieval.retrieve import retrieve
from interp_rag.text import split_sentences

BARS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def below(values: list[float], bar: float) -> float:
    return round(sum(v < bar for v in values) / len(values), 3) if values else 0.0


def main() -> None:
    args, _, index, qs = question_run(__doc__)
    weight = index.idf_weights
    rng = random.Random(0)
    shown = [retrieve(index, q["question"], k=args.k).passages for q in qs]
    true, single, on_topic, off_topic = [], [], [], []
    quotes = {"exact held": [], "one word changed held": [], "other question's sentence held": []}
    for i, (q, ps) in enumerate(zip(qs, shown, strict=True)):
        gold = {g["doc"] for g in q["gold"]}
        mine = [p.text for p in ps if p.source_id in gold]
        other = [p.text for p in ps if p.source_id not in gold]
        elsewhere = shown[(i + 1) % len(qs)]
        notes = q.get("answer_notes") or ""
        for a, b in split_sentences(notes):
            s = notes[a:b]
            if len(s.split()) < 6:
                continue
            if mine:
                true.append(support(s, mine, weight))
                single.append(max(support(s, [m], weight) for m in mine))
            if other:
                on_topic.append(support(s, [rng.choice(other)], weight))
            off_topic.append(support(s, [p.text for p in elsewhere[:2]], weight))
        for p in ps:
            for text, _, _ in sentences(p.text)[:3]:
                words = text.split()
                quotes["exact held"].append(any(holds_quote(quotable(x), text) for x in ps))
                j = rng.randrange(len(words))
                changed = " ".join([*words[:j], "zebra", *words[j + 1 :]])
                quotes["one word changed held"].append(any(holds_quote(quotable(x), changed) for x in ps))
        for p in elsewhere:
            for text, _, _ in sentences(p.text)[:3]:
                if any(p.source_id == x.source_id for x in ps):
                    continue
                quotes["other question's sentence held"].append(
                    any(holds_quote(quotable(x), text) for x in ps)
                )
    print(json.dumps({
        "sentences (true / on-topic false / off-topic false)": [len(true), len(on_topic), len(off_topic)],
        "flagged below each bar": {
            str(bar): {
                "true citations (false alarms)": below(true, bar),
                "true, best single gold passage (false alarms)": below(single, bar),
                "false, on topic (caught)": below(on_topic, bar),
                "false, off topic (caught)": below(off_topic, bar),
            }
            for bar in BARS
        },
        "quotations": {k: [round(sum(v) / len(v), 3), len(v)] for k, v in quotes.items() if v},
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
