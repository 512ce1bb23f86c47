"""The retrieval-quality regression gate: the test split must stay above eval/thresholds.json."""

from __future__ import annotations

import json

import pytest

from assistant import evaluate
from assistant.config import PROJECT_ROOT

THRESHOLDS = json.loads((PROJECT_ROOT / "eval" / "thresholds.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def test_split_results(assistant):
    items = [i for i in evaluate.load_items(PROJECT_ROOT / "eval") if i.split == "test"]
    return evaluate.evaluate(assistant, items)["summary"]


@pytest.mark.parametrize("metric", sorted(THRESHOLDS["floors"]))
def test_metric_stays_above_its_floor(test_split_results, metric):
    floor = THRESHOLDS["floors"][metric]
    assert test_split_results[metric] >= floor, f"{metric} fell to {test_split_results[metric]:.3f} (floor {floor})"


@pytest.mark.parametrize("metric", sorted(THRESHOLDS.get("ceilings", {})))
def test_metric_stays_below_its_ceiling(test_split_results, metric):
    ceiling = THRESHOLDS["ceilings"][metric]
    assert test_split_results[metric] <= ceiling, f"{metric} rose to {test_split_results[metric]:.3f} (ceiling {ceiling})"


@pytest.fixture(scope="module")
def conversation_results(assistant):
    return evaluate.evaluate_conversations(assistant, evaluate.load_conversations(PROJECT_ROOT / "eval"))["summary"]


@pytest.mark.parametrize("metric, bound", [(m, ("floor", v)) for m, v in THRESHOLDS["conversations"]["floors"].items()]
                         + [(m, ("ceiling", v)) for m, v in THRESHOLDS["conversations"]["ceilings"].items()])
def test_conversations_stay_within_their_bounds(conversation_results, metric, bound):
    kind, value = bound
    measured = conversation_results[metric]
    assert measured >= value if kind == "floor" else measured <= value, f"{metric} is {measured:.3f} ({kind} {value})"


@pytest.mark.fast
def test_metrics_are_computed_as_documented():
    assert evaluate.retrieval_metrics([False, True, False], 1) == {
        "recall@1": 0.0, "recall@3": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 0.5,
        "ndcg@10": pytest.approx(1 / 1.5849625, rel=1e-6)}
    assert evaluate.is_relevant("Alpha beta gamma delta epsilon zeta.", ["alpha beta gamma delta x y"])
    assert not evaluate.is_relevant("Alpha beta x gamma delta y.", ["alpha beta gamma delta"])


@pytest.mark.fast
def test_bootstrap_intervals_say_how_sure_a_metric_is():
    certain = evaluate.bootstrap_intervals([{"recall@5": 1.0}] * 50)
    assert certain == {"recall@5": [1.0, 1.0]}
    half = evaluate.bootstrap_intervals([{"recall@5": float(k % 2)} for k in range(100)]
                                        + [{"abstention": 1.0}] * 10)
    low, high = half["recall@5"]
    assert low < 0.5 < high and 0.12 < high - low < 0.28  # about ±1.96·sqrt(.25/100)
    assert half["abstention"] == [1.0, 1.0]  # averaged only over the questions that have it
    assert evaluate.bootstrap_intervals([]) == {}


@pytest.mark.fast
def test_paired_difference_is_centred_on_the_change():
    baseline = [{"recall@5": float(k % 2)} for k in range(60)]
    better = [{"recall@5": 1.0} for _ in range(60)]
    mean, low, high = evaluate.paired_difference(better, baseline, "recall@5")
    assert mean == 0.5 and low < 0.5 < high and low > 0.3
    assert evaluate.paired_difference(baseline, baseline, "recall@5") == (0.0, 0.0, 0.0)
    assert evaluate.paired_difference(baseline, baseline, "abstention") is None


def _record(answerable: bool, signal: float, draft_ok: bool = True) -> dict:
    """A synthetic evaluated record: one feature carries the signal, the rest are zero."""
    from assistant.answering.abstention import ABSTENTION_FEATURES

    features = {name: 0.0 for name in ABSTENTION_FEATURES} | {"draft_coverage": signal, "quantity_gap": 0.0}
    record = {"id": "x", "split": "dev", "category": "c" if answerable else "unanswerable", "_answerable": answerable,
              "_features": features, "_refusal": None, "_trusted": False, "_rule": "passage span",
              "_draft_words": 30, "_draft_defects": False, "_draft_dangling": False}
    if answerable:
        record |= {"_draft_key_facts": draft_ok, "_verbatim": (1, 1), "recall@5": 1.0}
    return evaluate.with_decision(record, False)


@pytest.mark.fast
def test_cross_validation_refits_abstention_on_the_other_folds():
    records = [_record(True, 0.6 + 0.004 * k) for k in range(80)] + [_record(False, 0.1 + 0.004 * k) for k in range(20)]
    result = evaluate.cross_validate(records, folds=5)
    assert result["count"] == 100 and result["folds"] == 5
    assert result["summary"]["abstention"] >= 0.9  # separable: every fold's fit refuses the unanswerable
    assert result["summary"]["false_abstention"] <= 0.1
    noise = [_record(k % 5 != 0, (k * 37 % 100) / 100) for k in range(100)]  # no signal at all
    assert evaluate.cross_validate(noise, folds=5)["summary"]["abstention"] < 0.6


def test_conversation_metrics_reward_resolution_and_punish_rewrites(assistant):
    conversations = [("c", [
        evaluate.ConversationTurn(evaluate.EvalItem("t1", "What does the report say about option 2b?", "options",
                                                    "", (), ("Focus on the Centre",), "c"), None),
        evaluate.ConversationTurn(evaluate.EvalItem("t2", "What are its risks?", "options", "", (), (), "c"),
                                  "What are the risks of option 2b?"),
        evaluate.ConversationTurn(evaluate.EvalItem("t3", "How many interviews did the research team conduct?",
                                                    "methodology", "", ("66",), (), "c"), None)])]
    result = evaluate.evaluate_conversations(assistant, conversations)
    assert result["count"] == 3
    assert result["summary"]["resolution"] == 1.0 and result["summary"]["standalone_rewritten"] == 0.0
