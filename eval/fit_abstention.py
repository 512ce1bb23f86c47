"""Fit the abstention model (a logistic regression over answer.ABSTENTION_FEATURES) on the dev
split and choose the threshold that keeps false abstentions on answerable dev questions at or
below 5%. Prints the values to put in Settings (abstain_weights, abstain_bias, abstain_threshold).

Run: .venv/bin/python eval/fit_abstention.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import evaluate  # noqa: E402
from assistant.answer import ABSTENTION_FEATURES, score_sentences  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def features_of(assistant: Assistant, question: str) -> list[float]:
    settings = assistant.settings
    vector = assistant.retriever.query_vector(question)
    hits = assistant.retriever.search(question, settings, vector)
    scored = score_sentences(question, vector, hits, assistant.index.chunks, assistant.index.sentence_vectors,
                             assistant.index.sentence_offsets, settings)
    values = assistant.abstention_features(question, scored, hits)
    return [values[name] for name in ABSTENTION_FEATURES]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.05, steps: int = 20000, rate: float = 0.1):
    """Plain gradient descent on the class-balanced logistic loss (y = 1: answerable)."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    weights, bias = np.zeros(x.shape[1]), 0.0
    balance = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ weights + bias)))
        gradient = (p - y) * balance
        weights -= rate * (z.T @ gradient / len(y) + l2 * weights)
        bias -= rate * gradient.mean()
    # Undo the standardisation so the weights apply to raw features.
    raw_weights = weights / std
    return raw_weights, bias - float(raw_weights @ mean)


def main() -> None:
    assistant = Assistant.load(Settings())
    items = [i for i in evaluate.load_items(assistant.settings.eval_dir) if i.split == "dev"]
    x = np.array([features_of(assistant, i.question) for i in items])
    y = np.array([1.0 if i.answerable else 0.0 for i in items])
    weights, bias = fit_logistic(x, y)
    confidence = 1 / (1 + np.exp(-(x @ weights + bias)))
    answerable = confidence[y == 1]
    threshold = float(np.quantile(answerable, 0.05))
    print("features:", ", ".join(ABSTENTION_FEATURES))
    print("abstain_weights =", tuple(round(float(w), 3) for w in weights))
    print("abstain_bias =", round(float(bias), 3))
    print("abstain_threshold =", round(threshold, 3))
    print(f"dev: abstains on {np.mean(confidence[y == 0] < threshold):.3f} of unanswerable, "
          f"{np.mean(answerable < threshold):.3f} of answerable")


if __name__ == "__main__":
    main()
