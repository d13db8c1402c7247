"""bench/stance_context.py's two context features of a passage (its document's centroid, its section heading)
on tiny data written here."""

from __future__ import annotations

import numpy as np

from bench.stance_context import Model, heading_at
from interp_rag.ingest.label_train import Recipe

DOC = (
    "# A field guide\n\nSome opening words.\n\n## Why we are excited\n\nGood things.\n\n"
    "## Limitations\n\nBad things.\n"
)


def test_heading_at_gives_the_path_over_a_character() -> None:
    assert heading_at(DOC, DOC.index("Some opening")) == ["A field guide"]
    assert heading_at(DOC, DOC.index("Bad things")) == ["A field guide", "Limitations"]
    # A passage opening with its heading line is under that heading, as a chunk starting there is.
    assert heading_at(DOC, DOC.index("## Why")) == ["A field guide", "Why we are excited"]
    assert heading_at("No heading here.", 3) == []
    assert heading_at(DOC, None) == []


def rows(spec: list[tuple[str, str, str | None, list[str]]]) -> list[dict]:
    return [
        {
            "text": t,
            "label": lab,
            "prior": None,
            "doc": d,
            "group": d or "written:t",
            "kind": "label" if d else "written",
            "headings": h,
        }
        for t, lab, d, h in spec
    ]


def test_the_centroid_block_is_the_vector_minus_its_documents_mean_and_zero_without_a_document() -> None:
    centroids = {"d1": np.full(4, 0.5, dtype=np.float32)}
    m = Model(Recipe(), {"centroid": "diff", "centroid_weight": 2.0}, centroids)
    vecs = np.eye(4, dtype=np.float32)[:2]
    block = m._centroid(["d1", "written:t"], vecs)
    assert np.allclose(block[0], 2.0 * (vecs[0] - 0.5))
    assert np.allclose(block[1], 0.0)  # a written passage: no document, no shift
    # "topic" reads a written passage against its topic's mean instead
    topic = Model(Recipe(), {"centroid": "diff", "written": "topic"}, {"written:t": np.zeros(4, np.float32)})
    assert np.allclose(topic._centroid(["written:t"], vecs[1:])[0], vecs[1])


def test_heading_words_alone_can_carry_stance_and_one_documents_headings_are_not_learned() -> None:
    same = "the section says this"
    spec = []
    for d in ("d1", "d2", "d3"):
        spec += [(same, "skeptical", d, ["Guide", "Limitations"])] * 3
        spec += [(same, "enthusiastic", d, ["Guide", "Why we are excited"])] * 3
        spec += [(same, "neutral", d, ["Guide", "Setup"])] * 3
    spec += [(same, "skeptical", "d1", ["Guide", "Zebra"])]  # a heading word of one document only
    train = rows(spec)
    vecs = np.zeros((len(train), 4), dtype=np.float32)
    m = Model(Recipe(C=10.0, min_df=1), {"heading_weight": 2.0}, {}).fit(train, vecs)
    assert "zebra" not in m.hvec.vocabulary_
    test = rows([(same, "x", "d9", ["Other", "Limitations"]), (same, "x", "d9", ["Why we are excited"])])
    p = m.proba(
        [r["text"] for r in test],
        np.zeros((2, 4), np.float32),
        [None, None],
        ["d9", "d9"],
        [r["headings"] for r in test],
    )
    assert [int(i) for i in p.argmax(1)] == [1, 0]  # STANCES: enthusiastic, skeptical, neutral
    # No heading, or one of words never learned: the heading block adds nothing either way.
    zero = np.zeros((1, 4), np.float32)
    none = m.proba([same], zero, [None], [None], [[]])
    assert np.allclose(none, m.proba([same], zero, [None], [None], [["Quite", "Unheard"]]))
    assert not np.allclose(none, m.proba([same], zero, [None], [None], [["Limitations"]]))
