"""A synthetic reference list, as a paper ends with one: for measuring what a reference list does to
retrieval and answers (bench/unseen.py --references N). Entries are made up here from a vocabulary of the
field's topics (no real paper's entry), in the shapes papers print them: authors, year, title, venue.

    python bench/reference_list.py 40     # prints a list of 40 entries
"""

from __future__ import annotations

import random
import sys

SURNAMES = (
    "Abara", "Bellini", "Castro", "Dahl", "Eklund", "Farouk", "Gupta", "Haas", "Ibarra", "Jensen", "Kowal",
    "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Sato", "Tanaka", "Urquhart",
    "Varga", "Weber", "Xu", "Yilmaz", "Zhou", "Li", "Kim", "Park", "Chen", "Wang", "Singh",
)  # fmt: skip
TOPICS = (
    "sparse autoencoders",
    "feature attribution",
    "saliency maps",
    "counterfactual explanations",
    "local surrogate models",
    "influence functions",
    "steering vectors",
    "mechanistic interpretability",
    "probing classifiers",
    "training dynamics",
    "word embeddings",
    "dimensionality reduction",
    "attention heads",
    "circuit discovery",
    "concept activation vectors",
    "Shapley values",
    "anchors and rule-based explanations",
    "activation patching",
    "superposition",
    "function vectors",
    "loss landscapes",
    "representation learning",
    "neuron visualization",
    "model editing",
    "deceptive alignment",
    "linear representations",
    "dictionary learning",
    "interpretable machine learning",
)
SHAPES = (
    "Towards faithful {t} for {m}",
    "On the limits of {t}",
    "{T} in {m}: a closer look",
    "Do {t} explain {m}?",
    "Scaling {t} to {m}",
    "A benchmark for {t}",
    "{T} are not what they seem",
    "Understanding {m} through {t}",
    "Evaluating {t} and {u}",
    "Learning {t} with {u}",
)
MODELS = ("language models", "vision transformers", "deep neural networks", "small transformers",
          "image classifiers", "large language models", "recurrent networks")  # fmt: skip
VENUES = (
    "In Advances in Neural Information Processing Systems, volume {v}",
    "In International Conference on Learning Representations",
    "In Proceedings of the International Conference on Machine Learning, pages {p}–{q}",
    "arXiv preprint arXiv:{a}.{b:05d}",
    "Transactions on Machine Learning Research",
    "Journal of Machine Learning Research, {v}({n}):{p}–{q}",
)


def entry(rng: random.Random) -> str:
    names = rng.sample(SURNAMES, rng.choice((1, 2, 3, 4)))
    who = [f"{n}, {rng.choice('ABCDEFGHJKLMNPRST')}." for n in names]
    authors = who[0] if len(who) == 1 else ", ".join(who[:-1]) + ", and " + who[-1]
    if len(names) == 4 and rng.random() < 0.5:
        authors = who[0] + " et al."
    t, u = rng.sample(TOPICS, 2)
    title = rng.choice(SHAPES).format(t=t, T=t[0].upper() + t[1:], u=u, m=rng.choice(MODELS))
    year = rng.randint(2014, 2025)
    p = rng.randint(100, 9000)
    venue = rng.choice(VENUES).format(
        v=rng.randint(27, 38), n=rng.randint(1, 12), p=p, q=p + rng.randint(8, 20),
        a=f"{year % 100:02d}{rng.randint(1, 12):02d}", b=rng.randint(1, 99999),
    )  # fmt: skip
    return f"{authors} ({year}). {title}. {venue}."


def synthetic_references(n: int, seed: int = 0, heading: str = "## References") -> str:
    """`n` entries under `heading`, one paragraph each, as a paper converted to markdown holds them."""
    rng = random.Random(seed)
    return heading + "\n\n" + "\n\n".join(entry(rng) for _ in range(n)) + "\n"


if __name__ == "__main__":
    print(synthetic_references(int(sys.argv[1]) if len(sys.argv) > 1 else 40))
