"""Measure retrieval and answer quality on the evaluation set (CONTRACTS.md §5)."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .answer import Answer
from .config import Settings
from .text import eval_tokens

KS = (1, 3, 5, 10)
HEADLINE = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "key_facts", "abstention",
            "false_abstention", "verbatim")
# The configurations that `assistant eval --compare` runs side by side.
COMPARE = {
    "bm25": {"mode": "bm25", "collapse_duplicates": False},
    "dense": {"mode": "dense", "collapse_duplicates": False},
    "hybrid": {"mode": "hybrid", "weight_section": 0.0, "collapse_duplicates": False},
    "default": {},
}


@dataclass(frozen=True)
class EvalItem:
    """One evaluation question with its gold evidence."""

    id: str
    question: str
    category: str
    answer: str
    keywords: tuple[str, ...]
    evidence: tuple[str, ...]
    split: str

    @property
    def answerable(self) -> bool:
        return self.category != "unanswerable"


def load_items(path: str | Path) -> list[EvalItem]:
    """Items from one JSONL file or from every *.jsonl file of a folder (split = file name)."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"No evaluation file (*.jsonl) in {path}.")
    items = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                items.append(EvalItem(str(raw["id"]), raw["question"], raw["category"], raw.get("answer", ""),
                                      tuple(raw.get("keywords", ())), tuple(raw.get("evidence", ())), file.stem))
            except (ValueError, KeyError) as error:
                raise ValueError(f"{file.name}, line {number}: not an evaluation item ({error}).") from error
    return items


def is_relevant(passage: str, evidence: tuple[str, ...] | list[str]) -> bool:
    """The contract's relevance: the passage holds at least half the tokens of one evidence
    quote, counted as in-order runs of 3 or more tokens."""
    passage_tokens = eval_tokens(passage)
    vocabulary = set(passage_tokens)
    for quote in evidence:
        quote_tokens = eval_tokens(quote)
        if not quote_tokens or sum(t in vocabulary for t in quote_tokens) * 2 < len(quote_tokens):
            continue  # cheap pre-check: cannot reach half
        matcher = difflib.SequenceMatcher(None, quote_tokens, passage_tokens, autojunk=False)
        if sum(b.size for b in matcher.get_matching_blocks() if b.size >= 3) * 2 >= len(quote_tokens):
            return True
    return False


def has_key_facts(answer: Answer, keywords: tuple[str, ...]) -> bool:
    """Every keyword (normalised) occurs in the answer, and the answer did not abstain."""
    if answer.abstained:
        return False
    text = " " + " ".join(eval_tokens(re.sub(r"\[\d+\]", " ", answer.answer))) + " "
    return all(" " + " ".join(eval_tokens(k)) + " " in text for k in keywords)


def verbatim_share(answer: Answer, chunk_texts: dict[str, str]) -> tuple[int, int]:
    """(sentences verbatim in their cited passage, sentences) for one answer."""
    if answer.abstained:
        return 0, 0
    pieces = re.split(r"(?<=\])[.!?;:”\"’)]*\s+", answer.answer.strip())
    good = total = 0
    by_n = {c.n: c for c in answer.citations}
    for piece in pieces:
        markers = [int(m) for m in re.findall(r"\[(\d+)\]", piece)]
        if not markers:
            continue
        total += 1
        citation = by_n.get(markers[-1])
        plain = re.sub(r"\s*\[\d+\]", "", piece).strip()
        if citation and citation.quote in chunk_texts.get(citation.chunk_id, "") and _words_in(plain, citation.quote):
            good += 1
    return good, total


def _words_in(sentence: str, quote: str) -> bool:
    return " ".join(eval_tokens(sentence)) in " ".join(eval_tokens(quote))


def dcg(relevance: list[bool]) -> float:
    return sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevance, 1) if rel)


def retrieval_metrics(relevance: list[bool], total_relevant: int) -> dict[str, float]:
    """Recall@k (a relevant passage in the top k), MRR@10 and nDCG@10 for one question."""
    first = next((rank for rank, rel in enumerate(relevance[:10], 1) if rel), None)
    ideal = dcg([True] * min(max(total_relevant, 1), 10))
    metrics = {f"recall@{k}": float(any(relevance[:k])) for k in KS}
    metrics["mrr@10"] = 1.0 / first if first else 0.0
    metrics["ndcg@10"] = dcg(relevance[:10]) / ideal
    return metrics


def evaluate(assistant, items: list[EvalItem], settings: Settings | None = None) -> dict:
    """Run every item through the assistant and aggregate the metrics, overall and per category."""
    settings = settings or assistant.settings
    chunk_texts = {c.id: c.text for c in assistant.index.chunks}
    per_item, rows = [], defaultdict(list)
    verbatim_good = verbatim_total = 0
    for item in items:
        answer = assistant.ask(item.question, settings=settings, question_id=item.id)
        record = {"id": item.id, "split": item.split, "category": item.category, "abstained": answer.abstained}
        if item.answerable:
            relevance = [is_relevant(p.text, item.evidence) for p in answer.passages]
            record.update(retrieval_metrics(relevance, _count_relevant(assistant, item)))
            record["key_facts"] = float(has_key_facts(answer, item.keywords))
            record["false_abstention"] = float(answer.abstained)
            good, total = verbatim_share(answer, chunk_texts)
            verbatim_good, verbatim_total = verbatim_good + good, verbatim_total + total
        else:
            record["abstention"] = float(answer.abstained)
        per_item.append(record)
        rows[item.category].append(record)
    summary = _average(per_item)
    summary["verbatim"] = verbatim_good / verbatim_total if verbatim_total else 1.0
    return {"summary": summary, "per_category": {c: _average(r) for c, r in sorted(rows.items())},
            "ci95": bootstrap_intervals(per_item), "items": per_item, "count": len(items)}


def bootstrap_intervals(records: list[dict], resamples: int = 2000, seed: int = 0) -> dict[str, list[float]]:
    """95% percentile-bootstrap interval of each per-question metric, resampling questions.
    With about 120 questions per split, a difference of a few hundredths is within noise: this
    says how much."""
    import numpy as np

    metrics = sorted({k for r in records for k, v in r.items() if isinstance(v, float)})
    if not records:
        return {}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(records), size=(resamples, len(records)))
    intervals = {}
    for metric in metrics:
        values = np.array([r.get(metric, np.nan) for r in records], dtype=float)
        present = ~np.isnan(values)
        sums = np.where(present, values, 0.0)[draws].sum(axis=1)
        counts = present[draws].sum(axis=1)
        means = sums[counts > 0] / counts[counts > 0]
        intervals[metric] = [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]
    return intervals


_RELEVANT_CACHE: dict[tuple[str, str], int] = {}


def _count_relevant(assistant, item: EvalItem) -> int:
    """How many chunks of the whole index are relevant to an item (for nDCG's ideal)."""
    key = (assistant.index.manifest.get("built_at", ""), item.id)
    if key not in _RELEVANT_CACHE:
        _RELEVANT_CACHE[key] = sum(is_relevant(c.text, item.evidence) for c in assistant.index.chunks)
    return _RELEVANT_CACHE[key]


def _average(records: list[dict]) -> dict[str, float]:
    keys = sorted({k for r in records for k, v in r.items() if isinstance(v, float)})
    return {k: round(sum(r[k] for r in records if k in r) / max(1, sum(k in r for r in records)), 4) for k in keys}


def compare(assistant, items: list[EvalItem], configurations: dict | None = None) -> dict[str, dict]:
    """Evaluate several configurations of the same loaded assistant."""
    configurations = configurations or COMPARE
    return {name: evaluate(assistant, items, assistant.settings.replace(**changes))
            for name, changes in configurations.items()}


def format_table(results: dict[str, dict], metrics: tuple[str, ...] = HEADLINE) -> str:
    """A plain-text table: one row per configuration, one column per metric."""
    header = f"{'configuration':<14}" + "".join(f"{m:>18}" for m in metrics)
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        summary = result["summary"]
        lines.append(f"{name:<14}" + "".join(f"{summary.get(m, float('nan')):>18.3f}" for m in metrics))
    return "\n".join(lines)


def paired_difference(records: list[dict], baseline: list[dict], metric: str, resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float, float] | None:
    """Mean per-question difference of a metric between two runs over the same questions, with
    its 95% paired-bootstrap interval; None when no question has the metric in both runs."""
    import numpy as np

    pairs = [(r[metric], b[metric]) for r, b in zip(records, baseline) if metric in r and metric in b]
    if not pairs:
        return None
    differences = np.array([r - b for r, b in pairs])
    draws = np.random.default_rng(seed).integers(0, len(differences), size=(resamples, len(differences)))
    means = differences[draws].mean(axis=1)
    return (round(float(differences.mean()), 4), round(float(np.percentile(means, 2.5)), 4),
            round(float(np.percentile(means, 97.5)), 4))


def format_differences(results: dict[str, dict], metrics: tuple[str, ...] = ("recall@5", "mrr@10", "key_facts",
                                                                               "abstention")) -> str:
    """Each configuration against the default, question by question: a difference whose interval
    holds 0 is not one to act on."""
    if "default" not in results or len(results) < 2:
        return ""
    lines = ["difference from default, mean [95% paired-bootstrap interval]:"]
    for name, result in results.items():
        if name == "default":
            continue
        cells = []
        for metric in metrics:
            found = paired_difference(result["items"], results["default"]["items"], metric)
            if found:
                cells.append(f"{metric} {found[0]:+.3f} [{found[1]:+.3f}, {found[2]:+.3f}]")
        lines.append(f"  {name:<10} " + ", ".join(cells))
    return "\n".join(lines)


def format_intervals(result: dict, metrics: tuple[str, ...] = HEADLINE) -> str:
    """One line: the 95% bootstrap interval of each headline metric."""
    parts = [f"{m} {result['ci95'][m][0]:.2f}–{result['ci95'][m][1]:.2f}" for m in metrics if m in result.get("ci95", {})]
    return "95% bootstrap intervals (default): " + ", ".join(parts)


def format_categories(result: dict) -> str:
    lines = [f"{'category':<26}{'n':>4}{'recall@5':>10}{'mrr@10':>9}{'key facts':>11}{'abstain':>9}"]
    for category, summary in result["per_category"].items():
        n = sum(1 for r in result["items"] if r["category"] == category)
        lines.append(f"{category:<26}{n:>4}{summary.get('recall@5', float('nan')):>10.3f}"
                     f"{summary.get('mrr@10', float('nan')):>9.3f}{summary.get('key_facts', float('nan')):>11.3f}"
                     f"{summary.get('abstention', summary.get('false_abstention', float('nan'))):>9.3f}")
    return "\n".join(lines)


def plot_recall(results: dict[str, dict], path: Path) -> None:
    """Recall@k per configuration, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, result in results.items():
        axes.plot(KS, [result["summary"][f"recall@{k}"] for k in KS], marker="o", label=name)
    axes.set_xlabel("k (passages)")
    axes.set_ylabel("recall@k (test split)")
    axes.set_xticks(KS)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
