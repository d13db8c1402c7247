"""A side's paragraph argues that side, and talk is not quoted (answering/sides.py), on sentences we wrote."""

from __future__ import annotations

from interp_rag.answering.evidence import Sentence
from interp_rag.answering.extractive import compose_extractive, speaks_for
from interp_rag.answering.sides import against_side, chatter, read_verdicts
from interp_rag.settings import AnswerSettings
from interp_rag.types import Passage


def _passage(n: int, text: str, stance: str) -> Passage:
    return Passage(
        f"d{n}", f"d{n}:0", f"Doc {n}", ["A Author"], 2024, "https://e.org", text, stance, 0.8, 0.9
    )


def test_a_report_of_failure_does_not_argue_the_enthusiastic_side() -> None:
    for failure in (
        "Our forecast that probes would transfer across layers turned out false.",
        "Patching the heads did not work on the larger checkpoints.",
        "The saliency pictures are misleading once the inputs are shifted.",
        "By their own estimate the team understands only 3% of the network.",
        "Ambitious circuit work tends to lose to baselines on downstream tasks.",
        "One worry is that audits give a false sense of safety.",
        "A full account of every weight is not required to steer a model.",
    ):
        assert against_side(failure, "enthusiastic"), failure
        assert not against_side(failure, "skeptical"), failure
    for hope in (
        "Probes read the model's plans well before it acts on them.",
        "You don't need a large cluster to start finding circuits.",  # a need denied that is good news
        "When a deployed model goes wrong, its features tell us why.",
        "We found no evidence of leakage between the two dictionaries.",
        "The library makes it easy to start even if you don't work at a large lab.",
    ):
        assert not against_side(hope, "enthusiastic"), hope


def test_plain_praise_does_not_argue_the_skeptical_side_but_a_hedged_one_may() -> None:
    for praise in (
        "Reading the contrastive examples is very clear.",
        "Dictionaries are a promising handle on what a layer stores.",
        "These tools will prove crucial and central for audits.",
        "Counterfactual edits are not as risky as global surrogates.",
    ):
        assert against_side(praise, "skeptical"), praise
        assert not against_side(praise, "enthusiastic"), praise
    for doubt in (
        "Dictionaries looked promising, but they do not scale past small models.",
        "It may be very useful one day, though nobody has shown it yet.",
        "Audits of this kind are hard to trust.",
    ):
        assert not against_side(doubt, "skeptical"), doubt
    assert not against_side("Dictionaries are very useful.", "neutral")


def test_talk_that_says_nothing_of_the_subject_is_chatter() -> None:
    for talk in (
        "Yeah, well, it sounds right, that makes sense.",
        "Right, I think so.",
        "And the comparison with compilers, I don't know, it is nicer if the code is tidy.",
        "And look, I get it, all of this is hard and we have little practice.",
        "Now that we've seen a few pretty pictures, let's go back to the small network.",
        # the host restating the guest
        "Yeah, so you say that the dictionary is smaller, but its features outnumber the neurons.",
        "And you mentioned the analogy with unit tests.",
    ):
        assert chatter(talk), talk
    for statement in (
        "Yeah, that is fair, and the probing results taught us something lasting about layers.",
        "But I don't know whether any of this would catch a model that lies.",
        "I think superposition explains most polysemantic units.",
        "Right-sized dictionaries recover the planted features.",
        "You know the answer only after the ablation is run.",
        "You say that probes mislead; the control tasks show when they do.",  # an essay answering a critic
    ):
        assert not chatter(statement), statement


def test_a_sentence_whose_words_give_the_other_verdict_moves_to_that_side() -> None:
    shown = [_passage(1, "x", "enthusiastic")]
    failed = Sentence(
        "Our forecast turned out false.", 1, 0, stance="enthusiastic", stance_p={"enthusiastic": 0.9}
    )
    praised = Sentence("Probes are very useful.", 1, 1, stance="skeptical", stance_p={"skeptical": 0.7})
    plain = Sentence("Probes read plans early.", 1, 2, stance="enthusiastic", stance_p={"enthusiastic": 0.8})
    assert speaks_for(failed, "enthusiastic", shown, 0.5) and not speaks_for(failed, "skeptical", shown, 0.5)
    read_verdicts([failed, praised, plain])
    assert (failed.stance, praised.stance, plain.stance) == ("skeptical", "enthusiastic", "enthusiastic")
    assert failed.by_verdict and not plain.by_verdict and plain.stance_p == {"enthusiastic": 0.8}
    # its words decided, so its enthusiastic passage does not keep it off the skeptical side
    assert speaks_for(failed, "skeptical", shown, 0.5) and not speaks_for(failed, "enthusiastic", shown, 0.5)


def test_the_answer_quotes_a_failure_for_the_skeptical_side_and_drops_talk() -> None:
    upbeat = (
        "Steering vectors change the tone of replies without hurting accuracy on the benchmark. "
        "Our forecast that steering vectors stay stable across prompts turned out false on it. "
        "Yeah, well, it sounds right, that makes sense."
    )
    wary = "Steering vectors fail on long prompts, and their effect on replies fades within a few turns."
    shown = [_passage(1, upbeat, "enthusiastic"), _passage(2, wary, "skeptical")]
    q = "Are steering vectors a dependable way to change replies?"
    out, _ = compose_extractive(
        q, shown, [], index=None, params=AnswerSettings(margin=99, min_content_words=0, side_per_passage=3)
    )
    enthusiastic, skeptical = out.split("**Enthusiastic sources.**")[1].split("**Skeptical sources.**")
    assert "change the tone of replies" in enthusiastic and "turned out false" not in enthusiastic
    assert "turned out false" in skeptical  # where its words argue, though its passage is upbeat
    assert "that makes sense" not in out
    before, _ = compose_extractive(
        q,
        shown,
        [],
        index=None,
        params=AnswerSettings(
            margin=99, min_content_words=0, side_per_passage=3, side_verdict=False, skip_chatter=False
        ),
    )
    enthusiastic = before.split("**Enthusiastic sources.**")[1].split("**Skeptical sources.**")[0]
    assert "turned out false" in enthusiastic and "that makes sense" in enthusiastic


def test_a_side_argued_only_by_a_sentences_own_words_is_not_also_called_missing() -> None:
    upbeat = (
        "Steering vectors change the tone of replies without hurting accuracy on the benchmark. "
        "Our forecast that steering vectors stay stable across prompts turned out false on it."
    )
    shown = [_passage(1, upbeat, "enthusiastic")]  # no passage is labelled skeptical
    q = "Are steering vectors a dependable way to change replies?"
    out, _ = compose_extractive(
        q, shown, ["skeptical"], index=None, params=AnswerSettings(margin=99, min_content_words=0)
    )
    assert "**Skeptical sources.**" in out and "No skeptical source" not in out
    off = AnswerSettings(margin=99, min_content_words=0, side_verdict=False)
    before, _ = compose_extractive(q, shown, ["skeptical"], index=None, params=off)
    assert "**Skeptical sources.**" not in before and "No skeptical source" in before
