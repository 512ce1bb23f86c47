"""Measure retrieval and answer quality on the evaluation set (CONTRACTS.md §5)."""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .answering import decide, leans_back, quote_defects
from .answering.types import Answer
from .config import Settings
from .text import eval_tokens

CONVERSATIONS_FILE = "conversations.jsonl"
# Conversations written apart from the code and never used to choose a rule or a weight. In a
# folder of its own: CONTRACTS.md §5 reads every eval/*.jsonl but conversations.jsonl as items.
BLIND_CONVERSATIONS_FILE = "held-out/conversations-blind.jsonl"
CONVERSATION_FILES = (CONVERSATIONS_FILE, BLIND_CONVERSATIONS_FILE)

KS = (1, 3, 5, 10)
HEADLINE = ("recall@5", "mrr@10", "key_facts", "abstention", "false_abstention", "verbatim", "answer_words_median",
            "quote_defects", "dangling_start")
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
    document: str | None = None

    @property
    def answerable(self) -> bool:
        return self.category != "unanswerable"


def load_items(path: str | Path) -> list[EvalItem]:
    """Items from one JSONL file or from every *.jsonl file of a folder (split = file name)."""
    path = Path(path)
    files = sorted(p for p in path.glob("*.jsonl") if p.name not in CONVERSATION_FILES) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"No evaluation file (*.jsonl) in {path}.")
    items = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                items.append(item_from(raw, file.stem))
            except (ValueError, KeyError) as error:
                raise ValueError(f"{file.name}, line {number}: not an evaluation item ({error}).") from error
    return items


def item_from(raw: dict, split: str) -> EvalItem:
    """An evaluation item from its JSON object (CONTRACTS §5)."""
    return EvalItem(str(raw["id"]), raw["question"], raw["category"], raw.get("answer", ""),
                    tuple(raw.get("keywords", ())), tuple(raw.get("evidence", ())), split, raw.get("document"))


@functools.lru_cache(maxsize=8192)
def _passage_tokens(passage: str) -> tuple[list[str], frozenset[str]]:
    """A passage's tokens and their set, computed once per passage text: every item is checked
    against every chunk of the index for nDCG's ideal, so this is the evaluation's hot path."""
    tokens = eval_tokens(passage)
    return tokens, frozenset(tokens)


def is_relevant(passage: str, evidence: tuple[str, ...] | list[str]) -> bool:
    """The contract's relevance: the passage holds at least half the tokens of one evidence
    quote, counted as in-order runs of 3 or more tokens."""
    passage_tokens, vocabulary = _passage_tokens(passage)
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
    records = []
    for item in items:
        trace = assistant.ask_traced(item.question, settings=item_settings(assistant, item, settings), question_id=item.id)
        records.append(score_item(item, trace, assistant, chunk_texts))
    return summarise(records)


def item_settings(assistant, item: EvalItem, settings: Settings) -> Settings:
    """An item that names its document is searched in that document when the shelf holds several."""
    shelf = {d["id"] for d in assistant.index.manifest.get("documents", [])}
    if item.document and len(shelf) > 1 and item.document in shelf:
        return settings.replace(documents=(item.document,))
    return settings


def score_item(item: EvalItem, trace, assistant, chunk_texts: dict[str, str]) -> dict:
    """The metrics of one answered item. Keys starting with '_' keep what cross-validation needs
    to decide abstention again (the draft's key facts, the features, the refusal rule)."""
    answer = trace.answer
    record = {"id": item.id, "split": item.split, "category": item.category, "abstained": answer.abstained,
              "_answerable": item.answerable, "_features": trace.features, "_refusal": trace.refusal,
              "_trusted": trace.trusted, "_rule": trace.rule}
    draft = Answer(answer.question, trace.draft[0], False, trace.draft[1], answer.passages)
    if item.answerable:
        relevance = [is_relevant(p.text, item.evidence) for p in answer.passages]
        record.update(retrieval_metrics(relevance, _count_relevant(assistant, item)))
        record["_draft_key_facts"] = has_key_facts(draft, item.keywords)
        good, total = verbatim_share(answer, chunk_texts)
        record["_verbatim"] = (good, total)
    record["_draft_words"] = answer_words(draft.answer)
    record["_draft_defects"] = any(quote_defects(c.quote) for c in draft.citations)
    record["_draft_dangling"] = leans_back(draft.answer)
    return with_decision(record, answer.abstained)


def with_decision(record: dict, abstained: bool) -> dict:
    """The record's answer metrics for a given decision to answer or to abstain."""
    record = {k: v for k, v in record.items() if k not in ("key_facts", "false_abstention", "abstention",
                                                            "answer_words", "quote_defects", "dangling_start")}
    record["abstained"] = abstained
    if record["_answerable"]:
        record["key_facts"] = float(record["_draft_key_facts"] and not abstained)
        record["false_abstention"] = float(abstained)
    else:
        record["abstention"] = float(abstained)
    if not abstained:
        record["answer_words"] = float(record["_draft_words"])
        record["quote_defects"] = float(record["_draft_defects"])
        record["dangling_start"] = float(record["_draft_dangling"])
    return record


def answer_words(text: str) -> int:
    """Words of an answer, without its [n] markers."""
    return len(re.sub(r"\[\d+\]", " ", text).split())


def summarise(records: list[dict]) -> dict:
    """Averages overall and per category, the median answer length, verbatim share, intervals."""
    rows = defaultdict(list)
    for record in records:
        rows[record["category"]].append(record)
    summary = _average(records)
    words = sorted(r["answer_words"] for r in records if "answer_words" in r)
    summary["answer_words_median"] = float(words[len(words) // 2]) if words else 0.0
    summary["answer_words_max"] = float(words[-1]) if words else 0.0
    good = sum(r["_verbatim"][0] for r in records if "_verbatim" in r and not r["abstained"])
    total = sum(r["_verbatim"][1] for r in records if "_verbatim" in r and not r["abstained"])
    summary["verbatim"] = good / total if total else 1.0
    return {"summary": summary, "per_category": {c: _average(r) for c, r in sorted(rows.items())},
            "ci95": bootstrap_intervals(records), "items": records, "count": len(records)}


# The share of the answerable questions the abstention model decides (no rule refused them, no
# outline vouches for them) that the fitted threshold may refuse. The rules' refusals are not
# spent from it: when the budget was rules and model together (1.8% of all answerable), a rule
# that stopped refusing one answerable question handed its refusal to the model, and over
# dev+test 5-fold cross-validation (mean of 6 fold assignments) false refusals rose 0.025 -> 0.033
# on that one question (fix5). 1.2% is what the 1.8% left the model on dev (one rule refusal of
# 169, the same threshold, 0.222); with the rules of fix5 the same check gave 2.2% at 1%, 2.6%
# at 1.2%, 3.2% at 1.4%, 3.3% at 1.6%: 1.2% is the largest that keeps to 3%.
FIT_MODEL_SHARE = 0.012


def cross_validate(records: list[dict], folds: int = 5, seed: int = 0,
                   model_share: float = FIT_MODEL_SHARE) -> dict:
    """What the fitted parts of abstention score on questions they were not fitted on: k folds
    over the records; on each, the logistic model and its threshold, and the figure-gap limit,
    are fitted on the other folds exactly as eval/fit_abstention.py fits them on dev, then decide
    the held-out fold. Retrieval and drafts do not depend on the fit, so they are reused."""
    import numpy as np

    from .answering.abstention import NO_FIGURE, confidence

    order = np.random.default_rng(seed).permutation(len(records))
    assignment = {int(i): k % folds for k, i in enumerate(order)}
    decided = []
    for fold in range(folds):
        train = [r for i, r in enumerate(records) if assignment[i] != fold]
        model = fit_abstention(train, model_share)
        for i, record in enumerate(records):
            if assignment[i] != fold:
                continue
            conf = confidence(record["_features"], model["weights"], model["bias"])
            refusal = record["_refusal"]
            if refusal == NO_FIGURE and record["_features"].get("quantity_gap", 1.0) < model["gap_limit"]:
                refusal = None
            abstained = bool(refusal) or (not record["_trusted"] and conf < model["threshold"]) or record["_draft_words"] == 0
            decided.append(with_decision(record, abstained))
    result = summarise(decided)
    result["folds"] = folds
    return result


def fit_abstention(records: list[dict], model_share: float = FIT_MODEL_SHARE) -> dict:
    """Fit the abstention model on evaluated records: logistic weights over the features, the
    figure-gap limit just above the largest gap of an answerable one, and the threshold at which
    the model refuses at most `model_share` of the answerable questions it decides (those no rule
    refused, with a draft, that no outline vouches for)."""
    import numpy as np

    from .answering.abstention import ABSTENTION_FEATURES, NO_FIGURE, choose_threshold, confidence, fit_logistic

    x = np.array([[r["_features"][name] for name in ABSTENTION_FEATURES] for r in records])
    y = np.array([1.0 if r["_answerable"] else 0.0 for r in records])
    weights, bias = fit_logistic(x, y)
    answerable = [r for r in records if r["_answerable"]]
    gaps = [r["_features"].get("quantity_gap", 0.0) for r in answerable]
    gap_limit = min(1.01, round(max(gaps, default=0.0) + 0.01, 2))

    def refused_anyway(r: dict) -> bool:
        figure_rule_off = r["_refusal"] == NO_FIGURE and r["_features"].get("quantity_gap", 1.0) < gap_limit
        return (bool(r["_refusal"]) and not figure_rule_off) or r["_draft_words"] == 0

    open_answerable = [r for r in answerable if not refused_anyway(r) and not r["_trusted"]]
    threshold = choose_threshold(np.array([confidence(r["_features"], weights, bias) for r in open_answerable]),
                                 model_share)
    return {"weights": weights, "bias": bias, "threshold": threshold, "gap_limit": gap_limit}


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
    widths = [max(18, len(m) + 2) for m in metrics]  # a long metric name keeps a space before it
    header = f"{'configuration':<14}" + "".join(f"{m:>{w}}" for m, w in zip(metrics, widths))
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        summary = result["summary"]
        lines.append(f"{name:<14}" + "".join(f"{summary.get(m, float('nan')):>{w}.3f}" for m, w in zip(metrics, widths)))
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


@dataclass(frozen=True)
class ConversationTurn:
    """One turn of an evaluation conversation: the item, and the question spelled out on its own
    (None when the question stands on its own and must be searched unchanged)."""

    item: EvalItem
    standalone: str | None


def load_conversations(path: str | Path) -> list[tuple[str, list[ConversationTurn]]]:
    """Conversations from eval/conversations.jsonl (or a file): (id, turns) each."""
    path = Path(path)
    if path.is_dir():
        path = path / CONVERSATIONS_FILE
    if not path.exists():
        return []
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            turns = [ConversationTurn(item_from(t, "conversations"), t.get("standalone")) for t in raw["turns"]]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path.name}, line {number}: not a conversation ({error}).") from error
        conversations.append((str(raw["id"]), turns))
    return conversations


def evaluate_conversations(assistant, conversations: list[tuple[str, list[ConversationTurn]]]) -> dict:
    """Ask each conversation's turns in order. A turn is resolved correctly when a standalone
    question is searched unchanged, and when the question searched for a follow-up (its
    resolution, or the question itself if it was not rewritten) keeps at least half of the words
    of the spelled-out one (stemmed, without stopwords)."""
    from .conversation import Conversation
    from .lexical import lexical_tokens

    chunk_texts = {c.id: c.text for c in assistant.index.chunks}
    records = []
    for _conversation_id, turns in conversations:
        conversation = Conversation()
        for turn in turns:
            trace = assistant.ask_traced(turn.item.question, conversation, question_id=turn.item.id)
            conversation.add(trace.answer)
            record = score_item(turn.item, trace, assistant, chunk_texts)
            understood = trace.answer.understood_as
            if turn.standalone is None:
                record["resolution"] = float(understood is None)
                record["standalone_rewritten"] = float(understood is not None)
            else:
                wanted = set(lexical_tokens(turn.standalone))
                kept = wanted & set(lexical_tokens(understood or turn.item.question))
                record["resolution"] = float(len(kept) * 2 >= len(wanted))
                record["follow_up_missed"] = float(understood is None)
            records.append(record)
    return summarise(records)


SIDE_BY_SIDE = ("recall@5", "mrr@10", "key_facts", "abstention", "false_abstention", "answer_words_median",
                "quote_defects", "dangling_start", "verbatim")


def generalisation_report(assistant, eval_dir: str | Path, folds: int = 5) -> dict[str, dict]:
    """The numbers `make eval` prints side by side: the blind split (never used to choose
    anything), k-fold cross-validation of the fitted abstention over dev+test, the test and dev
    splits, and the two sets of conversations (the blind one never used to choose anything)."""
    items = load_items(eval_dir)
    results = {}
    by_split = {split: [i for i in items if i.split == split] for split in ("blind", "test", "dev")}
    for split in ("blind", "test", "dev"):
        if by_split[split]:
            results[split] = evaluate(assistant, by_split[split])
    tuned = [r for split in ("dev", "test") if split in results for r in results[split]["items"]]
    if tuned:
        results[f"cv{folds} dev+test"] = cross_validate(tuned, folds)
    for name, file in (("conversations", CONVERSATIONS_FILE), ("conversations blind", BLIND_CONVERSATIONS_FILE)):
        conversations = load_conversations(Path(eval_dir) / file)
        if conversations:
            results[name] = evaluate_conversations(assistant, conversations)
    return results


def format_side_by_side(results: dict[str, dict], metrics: tuple[str, ...] = SIDE_BY_SIDE) -> str:
    """One column per split, one row per metric, with the blind-minus-CV gap for key facts,
    abstention and false abstention (more than 0.05 apart: the rules are still tuned to dev)."""
    names = list(results)
    widths = [max(18, len(n) + 2) for n in names]
    lines = [f"{'metric':<22}" + "".join(f"{n:>{w}}" for n, w in zip(names, widths)), "-" * (22 + sum(widths))]
    extra = ("resolution", "standalone_rewritten") if any(n.startswith("conversations") for n in names) else ()
    for metric in metrics + extra:
        cells = []
        for name, width in zip(names, widths):
            value = results[name]["summary"].get(metric)
            cells.append(f"{value:>{width}.3f}" if value is not None else f"{'':>{width}}")
        lines.append(f"{metric:<22}" + "".join(cells))
    lines.append("")
    lines.append("questions: " + ", ".join(f"{n} {results[n]['count']}" for n in names))
    cv = next((n for n in names if n.startswith("cv")), None)
    if "blind" in results and cv:
        gaps = {m: results["blind"]["summary"].get(m, 0) - results[cv]["summary"].get(m, 0)
                for m in ("key_facts", "abstention", "false_abstention")}
        apart = [m for m, gap in gaps.items() if abs(gap) > 0.05]
        lines.append(f"blind minus {cv}: " + ", ".join(f"{m} {gap:+.3f}" for m, gap in gaps.items())
                     + (f" ({', '.join(apart)} more than 0.05 apart)" if apart else " (all within 0.05)"))
    return "\n".join(lines)
