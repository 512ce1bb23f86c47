"""Fit the abstention model on the dev split: logistic weights over
answering.abstention.ABSTENTION_FEATURES, the figure-gap limit just above the largest gap of an
answerable dev question, and the threshold at which the model refuses at most
evaluate.FIT_MODEL_SHARE (1.2%) of the answerable dev questions it decides (the rules' refusals
come on top), which cross-validation over dev+test turns into about 3% on questions the fit has
not seen. Prints the values to put in
Settings; the fit reads only eval/dev.jsonl.

With --cv it also prints what the fit is expected to score on unseen questions: 5-fold
cross-validation over dev+test (evaluate.cross_validate), the mean over several fold assignments
(one assignment moves abstention by a few hundredths). It reads eval/test.jsonl for that, never
the blind split.

Run: .venv/bin/python eval/fit_abstention.py [--cv] [--seeds 6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import evaluate  # noqa: E402
from assistant.answering.abstention import ABSTENTION_FEATURES  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402

CV_METRICS = ("abstention", "false_abstention", "key_facts")


def cross_validated(records: list[dict], seeds: int, folds: int = 5) -> dict[str, float]:
    """The mean of each metric over `seeds` fold assignments of k-fold cross-validation."""
    runs = [evaluate.cross_validate(records, folds, seed)["summary"] for seed in range(seeds)]
    return {metric: sum(run[metric] for run in runs) / len(runs) for metric in CV_METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", action="store_true", help="also cross-validate over dev+test")
    parser.add_argument("--seeds", type=int, default=6, help="fold assignments averaged with --cv (at least 1)")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    assistant = Assistant.load(Settings())
    items = evaluate.load_items(assistant.settings.eval_dir / "dev.jsonl")  # the dev split only
    records = evaluate.evaluate(assistant, items)["items"]
    model = evaluate.fit_abstention(records)
    print("features:", ", ".join(ABSTENTION_FEATURES))
    print("abstain_weights =", tuple(round(w, 3) for w in model["weights"]))
    print("abstain_bias =", round(model["bias"], 3))
    print("abstain_threshold =", round(model["threshold"], 3))
    print("quantity_gap_limit =", model["gap_limit"])
    settings = assistant.settings.replace(abstain_weights=tuple(round(w, 3) for w in model["weights"]),
                                          abstain_bias=round(model["bias"], 3),
                                          abstain_threshold=round(model["threshold"], 3),
                                          quantity_gap_limit=model["gap_limit"])
    summary = evaluate.evaluate(assistant, items, settings)["summary"]
    print(f"dev with these values: abstention {summary['abstention']:.3f}, false abstention "
          f"{summary['false_abstention']:.3f}, key facts {summary['key_facts']:.3f}")
    if args.cv:
        test = evaluate.load_items(assistant.settings.eval_dir / "test.jsonl")
        tuned = records + evaluate.evaluate(assistant, test)["items"]
        cv = cross_validated(tuned, args.seeds)
        print(f"cv5 over dev+test (mean of {args.seeds} fold assignments): "
              + ", ".join(f"{metric} {value:.3f}" for metric, value in cv.items()))


if __name__ == "__main__":
    main()
