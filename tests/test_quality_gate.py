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


def test_metrics_are_computed_as_documented():
    assert evaluate.retrieval_metrics([False, True, False], 1) == {
        "recall@1": 0.0, "recall@3": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 0.5,
        "ndcg@10": pytest.approx(1 / 1.5849625, rel=1e-6)}
    assert evaluate.is_relevant("Alpha beta gamma delta epsilon zeta.", ["alpha beta gamma delta x y"])
    assert not evaluate.is_relevant("Alpha beta x gamma delta y.", ["alpha beta gamma delta"])
