"""The `assistant` command: index, ask (one question, JSON, or batch) and eval."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import Settings
from .errors import AssistantError

EXIT_OK, EXIT_ERROR, EXIT_GATE = 0, 1, 3


def _progress_bar():
    """A tqdm bar per build stage on a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bars = {}

    def update(progress):
        bar = bars.get(progress.stage)
        if bar is None:
            bar = bars[progress.stage] = tqdm(total=max(progress.total, 1), desc=progress.stage, leave=False)
        bar.n = progress.done
        bar.refresh()
        if progress.done >= progress.total:
            bar.close()

    return update


def _load(settings: Settings, force: bool = False):
    from .service import Assistant

    return Assistant.load(settings, progress=_progress_bar(), force=force)


def cmd_index(args, settings: Settings) -> int:
    from .index import ensure_index

    report = ensure_index(settings, _progress_bar(), force=args.force)  # under the build lock
    if report is None:
        print(f"The index in {settings.index_dir} is up to date (use --force to rebuild).")
        return EXIT_OK
    print(f"Built the index in {settings.index_dir}: {report.documents} document(s), "
          f"{report.pages} page(s) with a known number, {report.sections} sections, {report.chunks} chunks, "
          f"{report.seconds:.1f} s.")
    for name, why in report.skipped:
        print(f"Skipped {name}: {why}", file=sys.stderr)
    return EXIT_OK


def format_answer(answer) -> str:
    """The answer with [n] markers, then the numbered sources."""
    lines = [answer.answer, ""]
    if answer.abstained:
        lines.append("Closest passages (not an answer):")
        for hit in answer.passages[:3]:
            page = f", p. {hit.page}" if hit.page else ""
            lines.append(f"  - {hit.section}{page}: {hit.text[:160]}…")
    else:
        lines.append("Sources:")
        for c in answer.citations:
            page = f", p. {c.page}" if c.page else ""
            lines.append(f"  [{c.n}] {c.section}{page} — “{c.quote}”")
    return "\n".join(lines)


def cmd_ask(args, settings: Settings) -> int:
    if args.input:
        return _ask_batch(args, settings)
    if not args.question:
        print("Give a question, e.g. assistant ask \"What does the report say about Kidal?\", "
              "or --input QUESTIONS.jsonl --output ANSWERS.jsonl.", file=sys.stderr)
        return EXIT_ERROR
    assistant = _load(settings)
    answer = assistant.ask(args.question)
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else format_answer(answer))
    return EXIT_OK


def _ask_batch(args, settings: Settings) -> int:
    from .errors import QuestionError

    if not args.output:
        print("Batch mode needs --output ANSWERS.jsonl as well as --input.", file=sys.stderr)
        return EXIT_ERROR
    source = Path(args.input)
    if not source.exists():
        print(f"The input file {source} does not exist.", file=sys.stderr)
        return EXIT_ERROR
    assistant = _load(settings)
    written = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            item = None
            try:
                item = json.loads(line)
                record = assistant.ask(item["question"], question_id=item.get("id")).to_dict()
            except (ValueError, KeyError, TypeError) as error:
                record = {"id": item.get("id") if isinstance(item, dict) else None, "question": None,
                          "error": f"line {number}: not a question object ({error})"}
            except QuestionError as error:
                record = {"id": item.get("id"), "question": item.get("question"), "error": str(error)}
            record["id"] = record.get("id", item.get("id") if isinstance(item, dict) else None)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    print(f"Wrote {written} answers to {args.output}.", file=sys.stderr)
    return EXIT_OK


def cmd_eval(args, settings: Settings) -> int:
    from . import evaluate

    items = evaluate.load_items(args.questions or settings.eval_dir)
    if args.split:
        items = [i for i in items if i.split == args.split]
    assistant = _load(settings)
    started = time.perf_counter()
    results = evaluate.compare(assistant, items) if args.compare else {"default": evaluate.evaluate(assistant, items)}
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({name: {"summary": r["summary"], "ci95": r["ci95"], "per_category": r["per_category"],
                                 "count": r["count"]} for name, r in results.items()}, ensure_ascii=False))
    else:
        print(f"{len(items)} questions ({', '.join(sorted({i.split for i in items}))}), {seconds:.1f} s\n")
        print(evaluate.format_table(results))
        print(evaluate.format_intervals(results["default"]))
        if args.compare:
            print(evaluate.format_differences(results))
        print()
        print(evaluate.format_categories(results["default"]))
    if args.write:
        _write_results(results, settings, items)
    return EXIT_OK


def _write_results(results: dict, settings: Settings, items) -> None:
    from . import evaluate

    payload = {"questions": len(items), "splits": sorted({i.split for i in items}),
               "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(settings).items()},
               "results": {name: {"summary": r["summary"], "ci95": r["ci95"], "per_category": r["per_category"]}
                           for name, r in results.items()}}
    (settings.eval_dir / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    evaluate.plot_recall(results, settings.eval_dir / "recall_at_k.png")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Cited answers from the EPON MINUSMA report (2019).")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
    parser.add_argument("--documents-dir", type=Path, help="documents folder (default: documents/)")
    parser.add_argument("--embedder", choices=("e5", "minilm"), help="embedding model")
    parser.add_argument("--mode", choices=("hybrid", "dense", "bm25"), help="retrieval mode")
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index", help="build the index from documents/")
    index.add_argument("--force", action="store_true", help="rebuild even when the index is fresh")
    ask = sub.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question", nargs="?", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON answer object")
    ask.add_argument("--input", help="batch mode: JSONL file of {\"id\", \"question\"}")
    ask.add_argument("--output", help="batch mode: JSONL file to write answers to")
    ev = sub.add_parser("eval", help="measure retrieval and answer quality")
    ev.add_argument("--questions", help="a JSONL file of evaluation items (default: every file in eval/)")
    ev.add_argument("--split", help="only items of this split (dev or test)")
    ev.add_argument("--compare", action="store_true", help="run bm25, dense, hybrid and the default side by side")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--write", action="store_true", help="write eval/results.json and eval/recall_at_k.png")
    return parser


def settings_from(args) -> Settings:
    changes = {}
    for name in ("index_dir", "documents_dir", "embedder", "mode"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    return Settings().replace(**changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        handler = {"index": cmd_index, "ask": cmd_ask, "eval": cmd_eval}[args.command]
        return handler(args, settings)
    except (AssistantError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted; the last complete index is untouched.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
