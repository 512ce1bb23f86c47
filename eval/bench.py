"""Speed and memory benchmark: warm latency per question (p50/p95), cold start to first
answer, peak memory; and the naive baseline (1000-character chunks, dense only) in the same run.

Run with `make bench` or `.venv/bin/python eval/bench.py`; prints a table and writes eval/bench.json.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import evaluate  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.embed import load_embedder  # noqa: E402
from assistant.service import Assistant  # noqa: E402

COLD_START = """
import time, sys
began = time.perf_counter()
sys.path.insert(0, {root!r})
from assistant.service import Assistant
assistant = Assistant.load()
assistant.ask("What does the report say about Kidal?")
print(time.perf_counter() - began)
"""


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def cold_start_seconds() -> float:
    """Process start to first answer, in a fresh interpreter (index already built)."""
    began = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", COLD_START.format(root=str(ROOT))], capture_output=True,
                            text=True, check=True)
    inner = float(output.stdout.strip().splitlines()[-1])
    return max(inner, time.perf_counter() - began)


def warm_latencies(assistant: Assistant, questions: list[str]) -> list[float]:
    assistant.ask(questions[0])  # warm-up
    timings = []
    for question in questions:
        began = time.perf_counter()
        assistant.ask(question)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


class NaiveBaseline:
    """1000-character chunks of the raw report, embedded with the same model, dense only."""

    def __init__(self, text: str, embedder) -> None:
        self.chunks = [text[i:i + 1000] for i in range(0, len(text), 1000)]
        self.embedder = embedder
        self.vectors = embedder.passages(self.chunks)

    def search(self, question: str, k: int = 10) -> list[str]:
        scores = self.vectors @ self.embedder.queries([question])[0]
        return [self.chunks[i] for i in np.argsort(-scores)[:k]]


def baseline_quality(baseline: NaiveBaseline, items) -> dict:
    rows = []
    for item in items:
        passages = baseline.search(item.question)
        relevance = [evaluate.is_relevant(p, item.evidence) for p in passages]
        rows.append(evaluate.retrieval_metrics(relevance, 1))
    return {k: round(statistics.mean(r[k] for r in rows), 4) for k in ("recall@5", "mrr@10")}


def main() -> None:
    settings = Settings()
    items = [i for i in evaluate.load_items(settings.eval_dir) if i.split == "test"]
    questions = [i.question for i in items]
    cold = cold_start_seconds()
    assistant = Assistant.load(settings)
    timings = warm_latencies(assistant, questions)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw = (settings.documents_dir / "epon-minusma-2019.txt").read_text(encoding="utf-8")
    began = time.perf_counter()
    baseline = NaiveBaseline(raw, load_embedder(settings.embedder))
    baseline_build = time.perf_counter() - began
    baseline_timings = []
    for question in questions:
        start = time.perf_counter()
        baseline.search(question)
        baseline_timings.append((time.perf_counter() - start) * 1000)
    answerable = [i for i in items if i.answerable]
    results = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                    "processor": platform.machine()},
        "questions": len(questions),
        "assistant": {"warm_p50_ms": round(percentile(timings, 50), 1), "warm_p95_ms": round(percentile(timings, 95), 1),
                      "cold_start_s": round(cold, 2), "peak_memory_mb": round(peak_mb, 1),
                      "embedder": settings.embedder},
        "naive_baseline": {"warm_p50_ms": round(percentile(baseline_timings, 50), 1),
                           "warm_p95_ms": round(percentile(baseline_timings, 95), 1),
                           "build_s": round(baseline_build, 1), **baseline_quality(baseline, answerable)},
    }
    (ROOT / "eval" / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    a, b = results["assistant"], results["naive_baseline"]
    print(f"questions (test split): {len(questions)}")
    print(f"{'':22}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'assistant (warm)':22}{a['warm_p50_ms']:>10}{a['warm_p95_ms']:>10}")
    print(f"{'naive baseline (warm)':22}{b['warm_p50_ms']:>10}{b['warm_p95_ms']:>10}")
    print(f"cold start to first answer: {a['cold_start_s']} s; peak memory (this process, incl. baseline): {a['peak_memory_mb']} MB")
    print(f"naive baseline quality on test: recall@5 {b['recall@5']}, MRR@10 {b['mrr@10']}")
    print("written: eval/bench.json")


if __name__ == "__main__":
    main()
