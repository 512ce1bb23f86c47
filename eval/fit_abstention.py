"""Fit the abstention model on the dev split: logistic weights over
answering.abstention.ABSTENTION_FEATURES, the figure-gap limit just above the largest gap of an
answerable dev question, and the threshold at which rules and model together refuse at most
evaluate.FIT_FALSE_ABSTENTION (1.65%) of the answerable dev questions, which cross-validation over
dev+test turns into about 3% on questions the fit has not seen. Prints the values to put in
Settings; reads only eval/dev.jsonl.

Run: .venv/bin/python eval/fit_abstention.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import evaluate  # noqa: E402
from assistant.answering.abstention import ABSTENTION_FEATURES  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def main() -> None:
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


if __name__ == "__main__":
    main()
