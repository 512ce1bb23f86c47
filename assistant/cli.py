"""The `assistant` command: index, ask (one question, JSON, or batch), eval, and the shelf
(documents, add, remove). See ../shared/CONTRACTS.md §2-§3 for what outside tools rely on."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Settings, offline_environment
from .errors import AssistantError, QuestionError

EXIT_OK, EXIT_ERROR, EXIT_GATE = 0, 1, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_PIPE = 141  # 128 + SIGPIPE, as a shell reports a reader that went away
log = logging.getLogger(__name__)


STREAM = "-"  # --input - / --output -: standard input / standard output


class CommandError(AssistantError):
    """A command cannot do what was asked (bad argument, unknown document, unwritable file)."""


@dataclass(frozen=True)
class Step:
    """Where a long task is, shaped like index.BuildProgress: what both reporters read."""

    stage: str
    done: int
    total: int


# --- Progress -----------------------------------------------------------------------------


class TerminalProgress:
    """A tqdm bar per build stage. A background thread redraws it every `redraw_seconds`, so the
    elapsed time keeps moving while one long batch is embedded between two updates."""

    def __init__(self, stream=None, redraw_seconds: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.bar = None
        self.stage = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._redraw, args=(redraw_seconds,), daemon=True)
        self._thread.start()

    def __call__(self, progress) -> None:
        from tqdm import tqdm

        with self._lock:
            if progress.stage != self.stage:
                self._close_bar()
                self.stage = progress.stage
                if progress.stage == "done":
                    return
                self.bar = tqdm(total=max(progress.total, 1), desc=progress.stage, leave=False, file=self.stream)
            if self.bar is not None:
                self.bar.total = max(progress.total, 1)
                self.bar.n = progress.done
                self.bar.refresh()

    def _redraw(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            with self._lock:
                if self.bar is not None:
                    self.bar.refresh()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._close_bar()


class LogProgress:
    """Plain progress lines for logs and CI ("embedding chunks: 120/454 (26%), 31 s"): one when
    a stage starts, one when it ends, and in between at most one every `every_seconds`."""

    def __init__(self, stream=None, every_seconds: float = 5.0, clock=time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.every = every_seconds
        self.clock = clock
        self.stage = None
        self.started = self.last = 0.0

    def __call__(self, progress) -> None:
        now = self.clock()
        if progress.stage == "done":
            return  # the command prints its own summary
        finished = progress.done >= progress.total
        if progress.stage != self.stage:
            self.stage, self.started = progress.stage, now
        elif not finished and now - self.last < self.every:
            return
        self.last = now
        share = 100 * progress.done // progress.total if progress.total else 100
        print(f"{progress.stage}: {progress.done}/{progress.total} ({share}%), {now - self.started:.0f} s",
              file=self.stream, flush=True)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def progress_reporter():
    """A bar on a terminal, plain lines otherwise (a log file, CI, a pipe)."""
    reporter = TerminalProgress() if sys.stderr.isatty() else LogProgress()
    try:
        yield reporter
    finally:
        reporter.close()


# --- The index and the shelf ------------------------------------------------------------------


def build_index(settings: Settings, progress=None, force: bool = False):
    """Build the index when missing or stale (under the build lock); the report, else None."""
    from .index import ensure_index

    return ensure_index(settings, progress, force=force)


def read_shelf(settings: Settings):
    """The documents in the index (name, title, file, pages, chunks) and the files skipped."""
    from .shelf import read_shelf as read

    return read(settings)


def load_assistant(settings: Settings, force: bool = False):
    """The model and the index, loaded once (the index is built first when needed)."""
    from .service import Assistant

    with progress_reporter() as progress:
        assistant = Assistant.load(settings, progress=progress, force=force)
    for warning in assistant.warnings:  # e.g. the last complete index is served, and why
        print(f"warning: {warning}", file=sys.stderr)
    return assistant


def document_name(name: str) -> str:
    """A document's name on the shelf is its file name without the suffix."""
    from .shelf import document_name as name_of

    return name_of(name)


def checked_documents(names, shelf) -> tuple[str, ...]:
    """Names for a document filter, each one on the shelf; else a message listing the shelf."""
    names = tuple(dict.fromkeys(document_name(n) for n in names))
    unknown = [n for n in names if n not in shelf.names]
    if unknown:
        raise CommandError(f"No document named {', '.join(repr(n) for n in unknown)} on the shelf; "
                           f"it holds: {', '.join(shelf.names) or 'nothing'} (see `assistant documents`).")
    return names


def open_assistant(settings: Settings, documents=()):
    """The assistant, searching only `documents` when some are named (each checked against the
    shelf of the index it loaded, before any question is asked)."""
    names = tuple(dict.fromkeys(document_name(n) for n in documents))
    assistant = load_assistant(settings.replace(documents=names) if names else settings)
    if names:
        checked_documents(names, read_shelf(settings))
    return assistant


# --- index ----------------------------------------------------------------------------------


def cmd_index(args, settings: Settings) -> int:
    with progress_reporter() as progress:
        report = build_index(settings, progress, force=args.force)
    if report is None:
        print(f"The index in {settings.index_dir} is up to date (use --force to rebuild).")
        return EXIT_OK
    print(f"Built the index in {settings.index_dir}: {report.documents} document(s), "
          f"{report.pages} page(s) with a known number, {report.sections} sections, {report.chunks} chunks, "
          f"{report.seconds:.1f} s ({report.embedded} texts embedded, the others from the cache).")
    for skipped in read_shelf(settings).skipped:
        print(f"Skipped {skipped.file}: {skipped.reason}", file=sys.stderr)
    return EXIT_OK


# --- ask ------------------------------------------------------------------------------------


def format_answer(answer) -> str:
    """The answer with [n] markers, then the numbered sources (with their document when the
    passages come from more than one)."""
    several = len({p.document for p in answer.passages}) > 1
    lines = [answer.answer, ""]
    if answer.abstained:
        from .briefing import closest_passages, excerpt, refusal_wording

        if answer.reason:  # the refusal's wording, then its reason once (the answer text holds both)
            lines = [refusal_wording(answer), "", f"Why: {answer.reason}", ""]
        lines.append("Closest passages (not an answer):")
        for hit in closest_passages(answer):  # never a footnote, a figure caption or a bare address
            lines.append(f"  - {_locator(hit, several)}: {excerpt(hit.text, 160)}")
    else:
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {_locator(c, several)} — “{c.quote}”")
    return "\n".join(lines)


def _locator(item, with_document: bool) -> str:
    page = f", p. {item.page}" if item.page else ""
    document = f"{item.document}: " if with_document else ""
    return f"{document}{item.section}{page}"


def cmd_ask(args, settings: Settings) -> int:
    if args.input or args.output:
        if args.question:
            raise CommandError("Give either one question or --input/--output, not both.")
        return ask_batch(args, settings)
    if args.question is None and not sys.stdin.isatty():
        return ask_piped(args, settings)
    if args.question is None:
        raise CommandError("Give a question, e.g. assistant ask \"What does the report say about the mandate?\", "
                           "or pipe questions in, one per line, or --input QUESTIONS.jsonl --output ANSWERS.jsonl.")
    answer = open_assistant(settings, args.document).ask(args.question)
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else format_answer(answer))
    return EXIT_OK


def ask_piped(args, settings: Settings) -> int:
    """`... | assistant ask`: each non-blank line of standard input is a question on its own (as
    batch lines without a conversation are), answered in order: the text answers one after the
    other under their question, or one JSON object per line with --json. A line that cannot be
    asked (not UTF-8, too long) gets its message on standard error and the others are answered;
    the exit code then says that one failed."""
    assistant, failed, count = None, 0, 0
    # Line by line as they come: a producer that waits for each answer gets it before writing the next.
    for number, raw in enumerate(iter(sys.stdin.buffer.readline, b""), 1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        if assistant is None:  # loaded at the first question: an empty pipe loads nothing
            assistant = open_assistant(settings, args.document)
        count += 1
        try:
            answer = assistant.ask(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            failed += _line_error(number, f"not valid UTF-8 (byte {error.start + 1}); pipe UTF-8 text")
            continue
        except QuestionError as error:
            failed += _line_error(number, str(error))
            continue
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            separator = "\n" if count > 1 else ""
            print(f"{separator}Q: {answer.question}\n{format_answer(answer)}", flush=True)
    if not count:
        raise CommandError("Standard input held no question: pipe one question per line, "
                           "e.g. echo \"Who carried out the study?\" | assistant ask")
    return EXIT_ERROR if failed else EXIT_OK


def _line_error(number: int, message: str) -> int:
    """Report a line that cannot be asked; 1, to count it among the failed."""
    print(f"error: line {number}: {message}", file=sys.stderr)
    return 1


# --- ask --input/--output (batch) -----------------------------------------------------------

JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
              bool: "true or false", type(None): "null"}


@dataclass(frozen=True)
class BatchLine:
    """One non-blank line of a batch file: a question to ask, or what is wrong with it."""

    number: int
    id: object = None
    question: object = None
    conversation: object = None  # lines with the same value are one conversation
    documents: tuple[str, ...] | None = None  # None: the command's own --document filter
    error: str | None = None


def parse_batch_line(number: int, raw: bytes) -> BatchLine | None:
    """Parse one line of bytes; None for a blank line. Never raises: a bad line comes back
    with `error` set, and with its id (and question) when they can be read at all."""
    raw = raw.rstrip(b"\r\n")
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a byte-order mark, as some editors write
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        salvaged = _salvage(raw)
        return BatchLine(number, salvaged.get("id"), salvaged.get("question"),
                         error=f"not valid UTF-8 (byte {error.start + 1} of the line); save the file as UTF-8")
    try:
        item = json.loads(text)
    except ValueError as error:
        return BatchLine(number, error=f"not valid JSON ({getattr(error, 'msg', error)} at column "
                                       f"{getattr(error, 'colno', '?')})")
    if not isinstance(item, dict):
        return BatchLine(number, error=f"not a JSON object but {_json_type(item)}; "
                                       'write {"id": ..., "question": "..."}')
    line = BatchLine(number, item.get("id"), item.get("question"), item.get("conversation"))
    problem = _field_problem(item)
    if problem:
        return BatchLine(number, line.id, line.question, line.conversation, error=problem)
    documents = item.get("documents")
    return BatchLine(number, line.id, line.question, line.conversation,
                     tuple(documents) if documents is not None else None)


def _salvage(raw: bytes) -> dict:
    """The id and question of an undecodable line, read past the bad bytes, for the error record."""
    try:
        item = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    return {k: item.get(k) for k in ("id", "question")} if isinstance(item, dict) else {}


def _json_type(value) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


def _field_problem(item: dict) -> str | None:
    """What is wrong with the fields of a line's object, or None."""
    if "question" not in item:
        return 'no "question" field'
    if not isinstance(item["question"], str):
        return f'"question" must be a string, not {_json_type(item["question"])}'
    documents = item.get("documents")
    if documents is not None and (not isinstance(documents, list)
                                  or not all(isinstance(d, str) and d.strip() for d in documents)):
        return f'"documents" must be a list of document names, not {_json_type(documents)}' + (
            " holding something else" if isinstance(documents, list) else "")
    conversation = item.get("conversation")
    if conversation is not None and (isinstance(conversation, bool) or not isinstance(conversation, (str, int))):
        return f'"conversation" must be a string or a whole number, not {_json_type(conversation)}'
    return None


def read_batch(path: Path) -> list[BatchLine]:
    """Every non-blank line of a batch file ('-': standard input), read as bytes and split on
    newlines only (a JSON string may hold U+2028 and other characters that str.splitlines() would
    split on)."""
    with contextlib.nullcontext(sys.stdin.buffer) if str(path) == STREAM else open(path, "rb") as source:
        return [line for number, raw in enumerate(source, 1) if (line := parse_batch_line(number, raw))]


def answer_batch(assistant, lines: list[BatchLine], settings: Settings, shelf, progress=None):
    """One record per line, in input order: the answer object, or an error record. Lines with
    the same "conversation" are asked in order as one conversation, the others on their own."""
    from .conversation import Conversation

    conversations: dict = {}
    for done, line in enumerate(lines):
        if progress:
            progress(Step("answering questions", done, len(lines)))
        yield answer_line(assistant, line, settings, shelf, conversations, Conversation)
    if progress:
        progress(Step("answering questions", len(lines), len(lines)))


def answer_line(assistant, line: BatchLine, settings: Settings, shelf, conversations: dict,
                new_conversation) -> dict:
    """The record of one line; errors become an error record, never an exception."""
    if line.error:
        return error_record(line, line.error)
    try:
        if line.documents is not None:
            settings = settings.replace(documents=checked_documents(line.documents, shelf))
        conversation = None
        if line.conversation is not None:
            conversation = conversations.setdefault(line.conversation, new_conversation())
        answer = assistant.ask(line.question, conversation=conversation, settings=settings, question_id=line.id)
    except AssistantError as error:
        return error_record(line, str(error))
    except Exception as error:  # one question must not cost the answers to the others
        log.exception("line %d could not be answered", line.number)
        return error_record(line, f"could not be answered ({type(error).__name__}: {error})")
    if conversation is not None:
        conversation.add(answer)
    return {"id": line.id, **answer.to_dict()}


def error_record(line: BatchLine, message: str) -> dict:
    record = {"id": line.id, "question": line.question, "error": f"line {line.number}: {message}"}
    if line.conversation is not None:
        record["conversation"] = line.conversation
    return record


@contextlib.contextmanager
def replaced_at_end(path: Path):
    """A text file that replaces `path` only when the block ends without an error: written to a
    temporary file in the same folder and renamed over it, so a failure or Ctrl-C never
    destroys (or half-writes) an existing file."""
    if str(path) == STREAM or _is_stream(Path(path)):
        # Standard output, a pipe or a terminal: written as the answers come. Renaming a
        # temporary file over it would replace the device (or /dev/stdout itself) with a file.
        with contextlib.nullcontext(sys.stdout) if str(path) == STREAM else open(path, "w", encoding="utf-8") as out:
            yield out
            out.flush()
        return
    path = Path(path)
    if path.is_dir():
        raise CommandError(f"The output {path} is a folder; give a file name such as {path / 'answers.jsonl'}.")
    if not path.parent.is_dir():
        raise CommandError(f"The output folder {path.parent} does not exist.")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise CommandError(f"Cannot write in {path.parent} ({error.strerror}).") from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _is_stream(path: Path) -> bool:
    """Whether an existing output is something other than a regular file or a folder: a pipe,
    a terminal, a device such as /dev/stdout."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual ones (0666 less umask)."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def ask_batch(args, settings: Settings) -> int:
    if not args.input or not args.output:
        raise CommandError("Batch mode needs both --input QUESTIONS.jsonl and --output ANSWERS.jsonl.")
    source, target = Path(args.input), Path(args.output)
    if str(source) != STREAM and (not source.exists() or source.is_dir()):
        raise CommandError(f"The input file {source} does not exist." if not source.exists()
                           else f"The input {source} is a folder; give a JSONL file.")
    lines = read_batch(source)
    answered, failed = 0, []
    with replaced_at_end(target) as out:  # fails before the model loads when the folder is unwritable
        assistant = open_assistant(settings, args.document)
        settings, shelf = assistant.settings, read_shelf(settings)
        with progress_reporter() as progress:
            for line, record in zip(lines, answer_batch(assistant, lines, settings, shelf, progress)):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                if "error" in record:
                    failed.append(line.number)
                else:
                    answered += 1
    print(f"Answered {answered} of {len(lines)} questions, {len(failed)} failed{_line_list(failed)}; "
          f"wrote {'standard output' if str(target) == STREAM else target}.", file=sys.stderr)
    return EXIT_OK


def _line_list(numbers: list[int], limit: int = 10) -> str:
    if not numbers:
        return ""
    shown = ", ".join(str(n) for n in numbers[:limit]) + (", …" if len(numbers) > limit else "")
    return f" (line {shown}: see their \"error\")" if len(numbers) == 1 else f" (lines {shown}: see their \"error\")"


# --- eval -----------------------------------------------------------------------------------


def cmd_eval(args, settings: Settings) -> int:
    from . import evaluate

    if args.report:
        return _eval_report(args, settings)
    items = evaluate.load_items(args.questions or settings.eval_dir)
    if args.split:
        found = sorted({i.split for i in items})
        items = [i for i in items if i.split == args.split]
        if not items:
            raise CommandError(f"No evaluation items of the {args.split!r} split in "
                               f"{args.questions or settings.eval_dir} (splits there: {', '.join(found) or 'none'}).")
    assistant = open_assistant(settings, args.document)
    settings = assistant.settings
    if settings.documents:
        items = items_about(items, settings.documents)
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


def _eval_report(args, settings: Settings) -> int:
    """`make eval`: blind, cross-validated, test and dev numbers and the conversations, side by side."""
    from . import evaluate

    assistant = open_assistant(settings, args.document)
    started = time.perf_counter()
    results = evaluate.generalisation_report(assistant, args.questions or settings.eval_dir)
    if not results:
        raise CommandError(f"No evaluation items in {args.questions or settings.eval_dir}.")
    if args.json:
        print(json.dumps({name: {"summary": r["summary"], "ci95": r["ci95"], "count": r["count"]}
                          for name, r in results.items()}, ensure_ascii=False))
    else:
        print(f"{time.perf_counter() - started:.0f} s\n")
        print(evaluate.format_side_by_side(results))
    if args.write:
        payload = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(assistant.settings).items()},
                   "results": {name: {"count": r["count"], "summary": r["summary"], "ci95": r["ci95"],
                                      "per_category": r["per_category"]} for name, r in results.items()}}
        path = settings.eval_dir / "results.json"
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Wrote {path}.", file=sys.stderr)
    return EXIT_OK


def items_about(items: list, documents: tuple[str, ...]) -> list:
    """The items a search limited to `documents` can answer: those about one of them, and
    those that name no document (a one-document shelf, or a question the shelf cannot answer)."""
    kept = [i for i in items if not getattr(i, "document", None) or i.document in documents]
    if not kept:
        raise CommandError(f"No evaluation item is about {', '.join(documents)}.")
    if len(kept) < len(items):
        print(f"Evaluating {len(kept)} of {len(items)} items: the others are about other documents.", file=sys.stderr)
    return kept


def _write_results(results: dict, settings: Settings, items) -> None:
    from . import evaluate

    payload = {"questions": len(items), "splits": sorted({i.split for i in items}),
               "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(settings).items()},
               "results": {name: {"summary": r["summary"], "ci95": r["ci95"], "per_category": r["per_category"]}
                           for name, r in results.items()}}
    (settings.eval_dir / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    evaluate.plot_recall(results, settings.eval_dir / "recall_at_k.png")


# --- documents, add, remove -----------------------------------------------------------------


def cmd_documents(args, settings: Settings) -> int:
    from .index import open_index
    from .shelf import read_shelf as shelf_of

    with progress_reporter() as progress:
        opened = open_index(settings, progress)  # repairs, builds or serves the last index, as `ask` does
    for warning in opened.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    shelf = shelf_of(settings, opened.index)
    if args.json:
        print(json.dumps({"documents": [{"name": d.name, "title": d.title, "file": d.file, "pages": d.pages or None,
                                         "chunks": d.chunks} for d in shelf.documents],
                          "skipped": [vars(s) for s in shelf.skipped]}, ensure_ascii=False))
        return EXIT_OK
    print(format_shelf(shelf, settings.documents_dir))
    return EXIT_OK


def format_shelf(shelf, folder: Path) -> str:
    """The shelf as a table: name, title, pages, chunks; then the skipped files with reasons."""
    rows = [("NAME", "TITLE", "PAGES", "CHUNKS")]
    rows += [(d.name, _shorten(d.title, 60), str(d.pages) if d.pages else "-", str(d.chunks))
             for d in shelf.documents]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{len(shelf.documents)} document(s) on the shelf ({folder}):"]
    lines += [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}" for r in rows]
    if shelf.skipped:
        lines.append(f"Skipped {len(shelf.skipped)} file(s) that could not be read:")
        lines += [f"  {s.file}: {s.reason}" for s in shelf.skipped]
    return "\n".join(lines)


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_add(args, settings: Settings) -> int:
    from .shelf import apply_additions, check_files

    check = check_files(args.files, settings, args.replace)
    for refused in check.refused:  # named before the build starts
        print(f"Not added: {refused.file}: {refused.reason}.", file=sys.stderr)
    if not check.accepted:
        print("Nothing was added; the shelf is unchanged.", file=sys.stderr)
        return EXIT_ERROR
    with progress_reporter() as progress, said_if_restored():
        report = apply_additions(check, settings, progress, args.replace)
    for refused in report.not_added[len(check.refused):]:  # taken by another change meanwhile
        print(f"Not added: {refused.file}: {refused.reason}.", file=sys.stderr)
    for missing in report.not_indexed:
        print(f"Not indexed: {missing.file}: {missing.reason}; "
              f"take it off with `assistant remove {Path(missing.file).stem}`.", file=sys.stderr)
    for document in report.added:
        pages = f"{document.pages} pages, " if document.pages else ""
        print(f"Added {document.name} ({_shorten(document.title, 60)}): {pages}{document.chunks} chunks.")
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_remove(args, settings: Settings) -> int:
    from .shelf import document_name, remove_document

    name = document_name(args.name)
    with progress_reporter() as progress, said_if_restored():
        report = remove_document(name, settings, progress)
    print(f"Removed {name} ({', '.join(report.removed)}); "
          f"the shelf holds {len(report.shelf.documents)} document(s): {', '.join(report.shelf.names)}.")
    return EXIT_OK


@contextlib.contextmanager
def said_if_restored():
    """Print the shelf module's note when a failed or interrupted change put the files back."""
    from .shelf import SHELF_RESTORED

    try:
        yield
    except BaseException as error:
        if SHELF_RESTORED in getattr(error, "__notes__", ()):
            print(SHELF_RESTORED, file=sys.stderr)
        raise


# --- the parser and main --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Cited answers from the reports on the shelf "
                                     "(documents/), offline.")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: $ASSISTANT_INDEX_DIR, else index/)")
    parser.add_argument("--documents-dir", type=Path, help="documents folder, the shelf (default: $ASSISTANT_DOCUMENTS_DIR, else documents/)")
    parser.add_argument("--embedder", choices=("e5", "minilm"), help="embedding model")
    parser.add_argument("--mode", choices=("hybrid", "dense", "bm25"), help="retrieval mode")
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index", help="build the index from documents/")
    index.add_argument("--force", action="store_true", help="rebuild even when the index is fresh")
    ask = sub.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question", nargs="?", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON answer object")
    ask.add_argument("--input", help='batch mode: a JSONL file of {"id", "question"} lines ("-": standard '
                     'input); optional "conversation" (lines sharing it are one conversation) and "documents" '
                     '(a list of names)')
    ask.add_argument("--output", help="batch mode: the JSONL file to write, one answer or error per line "
                     "(a file is replaced only when complete; \"-\", a pipe or a device is written as it goes)")
    _document_option(ask, "; a batch line's \"documents\" takes its place")
    ev = sub.add_parser("eval", help="measure retrieval and answer quality")
    ev.add_argument("--questions", help="a JSONL file of evaluation items (default: every file in eval/)")
    ev.add_argument("--split", choices=("dev", "test", "blind"),
                    help="only items of this split: dev (for tuning), test (for reporting), blind (held out, "
                         "never used for tuning)")
    ev.add_argument("--compare", action="store_true", help="run bm25, dense, hybrid and the default side by side")
    ev.add_argument("--report", action="store_true",
                    help="blind, cross-validated (dev+test), test and dev numbers and the conversations side by side")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--write", action="store_true", help="write eval/results.json and eval/recall_at_k.png")
    _document_option(ev)
    docs = sub.add_parser("documents", help="list the shelf: the documents indexed and the files skipped")
    docs.add_argument("--json", action="store_true", help="print one JSON object")
    add = sub.add_parser("add", help="copy .pdf, .txt or .md files onto the shelf and index them")
    add.add_argument("files", nargs="+", metavar="FILE", help="a .pdf, .txt or .md file")
    add.add_argument("--replace", action="store_true", help="replace a document of the same name")
    remove = sub.add_parser("remove", help="take a document (and its outline/profile) off the shelf and reindex")
    remove.add_argument("name", metavar="NAME", help="the document's name, as `assistant documents` lists it")
    return parser


def _document_option(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument("--document", action="append", default=[], metavar="NAME",
                        help=f"search only this document (repeatable; default: every document{note})")


def settings_from(args) -> Settings:
    changes = {}
    for name in ("index_dir", "documents_dir", "embedder", "mode"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    return Settings().replace(**changes)


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "eval": cmd_eval, "documents": cmd_documents,
            "add": cmd_add, "remove": cmd_remove}


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, settings_from(args))
    except (AssistantError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        raise  # main() ends quietly
    except OSError as error:  # a read-only folder, a full disk, a missing file
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted; the last complete index and any existing output file are as they were.", file=sys.stderr)
        return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Run a command. A reader that goes away (`assistant documents | head -1`) ends it
    quietly: stdout is pointed at /dev/null, as Python's documentation on SIGPIPE advises, so
    that the final flush at exit cannot fail again."""
    offline_environment()  # before any model, faiss or OpenMP library loads
    try:
        code = run(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
