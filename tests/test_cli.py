"""The command line (CONTRACTS.md §2–3): the real CLI, in-process (`cli.main`) and as a
subprocess, against the real index, and on small shelves in temporary folders for
documents/add/remove and --document."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from assistant import cli
from assistant.text import is_substantive
from assistant.cli import LogProgress, Step, TerminalProgress
from assistant.config import PROJECT_ROOT

CLI = [sys.executable, "-m", "assistant"]
REPORT = "epon-minusma-2019"
HARBOUR = """I. Introduction

The Harbour Authority of Velmora manages three ports on the northern coast. This review covers how the
Authority handled cargo, safety and staffing between 2015 and 2020.

II. Cargo

Cargo volumes at the three ports grew by 40 percent between 2015 and 2020. Most of the growth came
from container traffic at the port of Ostrin, which doubled its quay length in 2018.

III. Safety

The Authority recorded 12 serious accidents in 2019, down from 31 in 2015. Inspectors credit the new
pilotage rules introduced in 2017.
"""
FISHERIES = """# I. Background

The Lake Sorren Fisheries Board regulates fishing on Lake Sorren. It was founded in 1994 by the three
riparian districts.

# II. Quotas

The Board sets an annual quota for perch and pike. In 2021 the perch quota was 800 tonnes, and the
pike quota was 150 tonnes.

# III. Enforcement

Wardens patrol the lake in six boats. Fines for fishing without a licence were raised in 2020.
"""


def run(*args: str, timeout: int = 900, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout, **kwargs)


# --- the real report -------------------------------------------------------------------------


def test_ask_prints_answer_and_sources():
    result = run("ask", "How many interviews did the research team conduct?")
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout and "Sources:" in result.stdout


def test_ask_json_follows_the_answer_contract():
    result = run("ask", "What does the report say about Kidal?", "--json", "--document", REPORT)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert set(record) == {"question", "answer", "abstained", "reason", "understood_as", "citations", "passages"}
    assert len(record["passages"]) == 10 and record["passages"][0]["rank"] == 1
    assert all(p["document"] == REPORT for p in record["passages"])
    assert all(c["quote"] in next(p["text"] for p in record["passages"] if p["chunk_id"] == c["chunk_id"])
               for c in record["citations"])


def test_empty_question_fails_with_a_message():
    result = run("ask", "   ")
    assert result.returncode != 0
    assert "empty" in result.stderr and "Traceback" not in result.stderr


def test_questions_piped_in_are_answered_in_order_and_a_bad_line_does_not_stop_the_rest():
    questions = ["How many interviews did the research team conduct?", "", "x" * 10_000, "What does the report say about Kidal?"]
    result = run("ask", input="\n".join(questions) + "\n")
    assert result.returncode == 1  # one line could not be asked
    asked = [line[3:] for line in result.stdout.splitlines() if line.startswith("Q: ")]
    assert asked == [questions[0], questions[3]]
    assert result.stdout.count("Sources:") == 2
    assert "line 3" in result.stderr and "2000" in result.stderr.replace(",", "") and "Traceback" not in result.stderr


def test_questions_piped_in_with_json_give_one_answer_object_per_line():
    result = run("ask", "--json", input="What does the report say about Kidal?\nWhat is the capital of France?\n")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in records] == ["What does the report say about Kidal?", "What is the capital of France?"]
    assert not records[0]["abstained"] and records[0]["citations"]
    assert records[1]["abstained"] and records[1]["reason"]


def test_a_piped_line_that_is_not_utf8_is_named_and_the_next_is_answered():
    result = subprocess.run(CLI + ["ask"], input=b"Who carried out the \xff study?\nWhat does the report say about Kidal?\n",
                            capture_output=True, cwd=PROJECT_ROOT, timeout=900)
    assert result.returncode == 1
    assert b"line 1: not valid UTF-8" in result.stderr and b"Traceback" not in result.stderr
    assert result.stdout.count(b"Q: ") == 1 and b"Kidal" in result.stdout


def test_a_piped_question_is_answered_before_the_pipe_closes():
    process = subprocess.Popen(CLI + ["ask", "--json"], cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.stdin.write("What does the report say about Kidal?\n")
        process.stdin.flush()
        first = json.loads(process.stdout.readline())  # the pipe is still open
        assert first["question"] == "What does the report say about Kidal?" and first["citations"]
    finally:
        process.stdin.close()
        process.wait(timeout=120)
    assert process.returncode == 0


def test_an_empty_question_argument_is_not_read_as_a_pipe():
    result = run("ask", "", input="What does the report say about Kidal?\n")
    assert result.returncode == 1 and "empty" in result.stderr and "Q: " not in result.stdout


def test_an_empty_pipe_says_how_to_ask():
    result = run("ask", input="\n  \n")
    assert result.returncode == 1
    assert "Standard input held no question" in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_document_is_refused_with_the_shelf_listed():
    result = run("ask", "What is FAMA?", "--document", "no-such-report")
    assert result.returncode == 1
    assert "no-such-report" in result.stderr and REPORT in result.stderr and "Traceback" not in result.stderr


def test_eval_json_on_a_small_file(tmp_path):
    items = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(json.dumps(i) for i in items[:6] + [i for i in items if i["category"] == "unanswerable"][:2]),
                     encoding="utf-8")
    result = run("eval", "--questions", str(small), "--json", "--document", REPORT)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["default"]["summary"]
    for metric in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "key_facts", "abstention", "verbatim"):
        assert 0.0 <= summary[metric] <= 1.0


@pytest.mark.fast
def test_eval_split_is_one_of_dev_test_blind(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["eval", "--split", "train"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["eval", "--help"])
    assert "never used for tuning" in " ".join(capsys.readouterr().out.split())
    dev = tmp_path / "dev.jsonl"
    dev.write_text((PROJECT_ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    assert cli.main(["eval", "--questions", str(dev), "--split", "blind"]) == 1
    assert "No evaluation items of the 'blind' split" in capsys.readouterr().err


def test_index_is_reported_fresh():
    result = run("index")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_documents_lists_the_report():
    result = run("documents", "--json")
    assert result.returncode == 0, result.stderr
    shelf = json.loads(result.stdout)
    chunks = [json.loads(line)["document"] for line in (PROJECT_ROOT / "index" / "chunks.jsonl").open(encoding="utf-8")]
    report = next(d for d in shelf["documents"] if d["name"] == REPORT)
    assert report["chunks"] == chunks.count(REPORT) and "MINUSMA" in report["title"]


# --- a closed pipe ---------------------------------------------------------------------------


def closed_pipe_run(*args: str) -> subprocess.CompletedProcess:
    """Run with stdout a real pipe whose reader has already gone (as after `| head -1`)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(CLI + list(args), stdout=writer, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
                              timeout=900)
    finally:
        os.close(writer)


def test_a_closed_pipe_ends_quietly():
    for args in (("documents",), ("ask", "--json", "What is FAMA?")):
        result = closed_pipe_run(*args)
        assert result.returncode == cli.EXIT_PIPE, result.stderr
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_head_reads_the_first_line_without_a_traceback():
    command = f"{sys.executable} -m assistant documents | head -1"
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900)
    assert re.match(r"\d+ document\(s\) on the shelf", result.stdout) and result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr


# --- a small shelf in a temporary folder ------------------------------------------------------


@pytest.fixture(scope="module")
def small_shelf(tmp_path_factory):
    """Two small documents and their index, built once by the real CLI."""
    root = tmp_path_factory.mktemp("shelf")
    (root / "documents").mkdir()
    (root / "documents" / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (root / "documents" / "fisheries.md").write_text(FISHERIES, encoding="utf-8")
    assert cli.main(["--documents-dir", str(root / "documents"), "--index-dir", str(root / "index"), "index"]) == 0
    return root


@pytest.fixture()
def shelf(small_shelf, tmp_path):
    """A copy of the small shelf (documents and fresh index) that a test may change."""
    shutil.copytree(small_shelf / "documents", tmp_path / "documents")
    shutil.copytree(small_shelf / "index", tmp_path / "index")
    return tmp_path


def on(shelf, *args: str) -> list[str]:
    return ["--documents-dir", str(shelf / "documents"), "--index-dir", str(shelf / "index"), *args]


def listed(shelf) -> dict:
    result = run(*on(shelf, "documents", "--json"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_documents_table_names_titles_and_chunks(small_shelf, capsys):
    assert cli.main(on(small_shelf, "documents")) == 0
    out = capsys.readouterr().out
    chunks = [json.loads(line)["document"] for line in (small_shelf / "index" / "chunks.jsonl").open(encoding="utf-8")]
    assert out.startswith("2 document(s) on the shelf")
    for name in ("harbour", "fisheries"):
        row = next(line for line in out.splitlines() if line.split()[0] == name)
        assert row.split()[-1] == str(chunks.count(name))


def test_document_filter_searches_only_those_documents(small_shelf):
    question = "What was the perch quota in 2021?"
    everything = json.loads(run(*on(small_shelf, "ask", "--json", question)).stdout)
    assert everything["passages"][0]["document"] == "fisheries"
    only = run(*on(small_shelf, "ask", "--json", question, "--document", "harbour"))
    assert only.returncode == 0, only.stderr
    assert {p["document"] for p in json.loads(only.stdout)["passages"]} == {"harbour"}
    both = json.loads(run(*on(small_shelf, "ask", "--json", question, "--document", "harbour",
                              "--document", "fisheries.md")).stdout)
    assert both["passages"][0]["document"] == "fisheries"


def test_documents_lists_skipped_files_with_their_reason(shelf):
    (shelf / "documents" / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not a PDF body\n")
    shelf_now = listed(shelf)
    assert sorted(d["name"] for d in shelf_now["documents"]) == ["fisheries", "harbour"]
    assert [s["file"] for s in shelf_now["skipped"]] == ["broken.pdf"] and shelf_now["skipped"][0]["reason"]
    text = run(*on(shelf, "documents")).stdout
    assert "Skipped 1 file(s)" in text and "broken.pdf" in text


def make_pdf(path, pages: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))


def test_add_indexes_good_files_and_names_each_bad_one(shelf, tmp_path_factory, capsys):
    incoming = tmp_path_factory.mktemp("incoming")
    make_pdf(incoming / "railways.pdf", [
        "I. Network\n\nThe Northern Railway Company runs 420 kilometres of track between Velmora and Ostrin.",
        "II. Fleet\n\nThe company owns 36 locomotives; 11 of them were bought in 2019 with a state loan.",
        "III. Finances\n\nTicket revenue covered 64 percent of operating costs in 2020."])
    (incoming / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    (incoming / "notes.docx").write_bytes(b"PK\x03\x04 not supported")
    missing = incoming / "missing.txt"
    code = cli.main(on(shelf, "add", str(incoming / "railways.pdf"), str(incoming / "broken.pdf"),
                       str(incoming / "notes.docx"), str(missing)))
    out, err = capsys.readouterr()
    assert code == 1  # not everything could be added
    assert "Added railways" in out and "3 pages" in out
    for name, why in (("broken.pdf", "read"), ("notes.docx", "only .pdf, .txt, .md"), ("missing.txt", "no such file")):
        line = next(l for l in err.splitlines() if l.startswith("Not added") and name in l)
        assert why in line, line
    assert sorted(p.name for p in (shelf / "documents").iterdir()) == ["fisheries.md", "harbour.txt", "railways.pdf"]
    railways = next(d for d in listed(shelf)["documents"] if d["name"] == "railways")
    assert railways["pages"] == 3 and railways["chunks"] >= 1
    answer = json.loads(run(*on(shelf, "ask", "--json", "How many locomotives does the company own?")).stdout)
    assert answer["passages"][0]["document"] == "railways"


def test_add_never_overwrites_without_replace(shelf, tmp_path_factory, capsys):
    incoming = tmp_path_factory.mktemp("incoming")
    newer = incoming / "harbour.txt"
    newer.write_text(HARBOUR.replace("12 serious accidents", "9 serious accidents"), encoding="utf-8")
    before = (shelf / "documents" / "harbour.txt").read_bytes()
    assert cli.main(on(shelf, "add", str(newer))) == 1
    assert "already on the shelf; use --replace" in capsys.readouterr().err
    assert (shelf / "documents" / "harbour.txt").read_bytes() == before
    assert cli.main(on(shelf, "add", "--replace", str(newer))) == 0
    assert (shelf / "documents" / "harbour.txt").read_bytes() == newer.read_bytes()
    assert "9 serious accidents" in (shelf / "index" / "chunks.jsonl").read_text(encoding="utf-8")


def test_remove_takes_the_document_and_its_companions_off(shelf, capsys):
    (shelf / "documents" / "harbour.outline.json").write_text('{"aliases": {}}', encoding="utf-8")
    assert cli.main(on(shelf, "remove", "nothing-here")) == 1
    assert "it holds: fisheries, harbour" in capsys.readouterr().err
    assert cli.main(on(shelf, "remove", "harbour")) == 0
    assert "Removed harbour (harbour.txt, harbour.outline.json)" in capsys.readouterr().out
    assert sorted(p.name for p in (shelf / "documents").iterdir()) == ["fisheries.md"]
    assert [d["name"] for d in listed(shelf)["documents"]] == ["fisheries"]
    assert cli.main(on(shelf, "remove", "fisheries")) == 1  # the last one stays
    assert "only document on the shelf" in capsys.readouterr().err
    assert (shelf / "documents" / "fisheries.md").exists()


def test_ctrl_c_during_add_puts_the_shelf_back(shelf, tmp_path_factory):
    incoming = tmp_path_factory.mktemp("incoming")
    (incoming / "ports.txt").write_text("\n\n".join(HARBOUR.replace("Velmora", f"Velmora {i}") for i in range(20)),
                                        encoding="utf-8")
    files_before = sorted(p.name for p in (shelf / "documents").iterdir())
    manifest_before = (shelf / "index" / "manifest.json").read_bytes()
    process = subprocess.Popen(CLI + on(shelf, "add", str(incoming / "ports.txt")), cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in process.stderr:  # progress lines: interrupt once the build is embedding
        seen.append(line)
        if line.startswith("embedding"):
            process.send_signal(signal.SIGINT)
            break
    _, rest = process.communicate(timeout=300)
    stderr = "".join(seen) + rest
    assert process.returncode == cli.EXIT_INTERRUPTED, stderr
    assert "The shelf was left as it was." in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in (shelf / "documents").iterdir()) == files_before  # no undo folder left either
    assert (shelf / "index" / "manifest.json").read_bytes() == manifest_before


# --- progress --------------------------------------------------------------------------------

PROGRESS_LINE = re.compile(r"^([a-z ]+): (\d+)/(\d+) \((\d+)%\), (\d+) s$")


def test_progress_off_a_terminal_is_plain_lines(shelf):
    result = run(*on(shelf, "index", "--force"))
    assert result.returncode == 0, result.stderr
    lines = [PROGRESS_LINE.match(line) for line in result.stderr.splitlines()]
    assert lines and all(lines), result.stderr  # nothing but progress lines, no bar drawing
    stages = [m.group(1) for m in lines]
    assert {"embedding chunks", "embedding sentences"} <= set(stages)
    final = [m for m in lines if m.group(1) == "embedding chunks"][-1]
    assert final.group(2) == final.group(3) and final.group(4) == "100"


@pytest.mark.fast
def test_log_progress_is_rate_limited_but_reports_each_stage():
    now = [0.0]
    out = io.StringIO()
    progress = LogProgress(out, every_seconds=5, clock=lambda: now[0])
    for second in range(0, 20):  # an update every second
        now[0] = float(second)
        progress(Step("embedding chunks", second * 10, 200))
    now[0] = 21.0
    progress(Step("embedding chunks", 200, 200))  # the end of a stage is always reported
    progress(Step("writing index", 0, 1))  # and so is the start of the next
    assert out.getvalue().splitlines() == [
        "embedding chunks: 0/200 (0%), 0 s", "embedding chunks: 50/200 (25%), 5 s",
        "embedding chunks: 100/200 (50%), 10 s", "embedding chunks: 150/200 (75%), 15 s",
        "embedding chunks: 200/200 (100%), 21 s", "writing index: 0/1 (0%), 0 s"]


@pytest.mark.fast
def test_terminal_bar_is_redrawn_between_updates():
    out = io.StringIO()
    bar = TerminalProgress(out, redraw_seconds=0.2)
    try:
        bar(Step("embedding chunks", 32, 454))
        drawn = out.getvalue().count("\r")
        time.sleep(1.5)  # no update: the bar still moves its clock
        assert out.getvalue().count("\r") >= drawn + 3
        assert "embedding chunks" in out.getvalue() and "32/454" in out.getvalue()
    finally:
        bar.close()


# --- make run PORT=N -------------------------------------------------------------------------


@pytest.mark.fast
def test_make_run_takes_a_port():
    dry = subprocess.run(["make", "-n", "run", "PORT=8600"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert "--server.port 8600" in dry.stdout
    default = subprocess.run(["make", "-n", "run"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert "--server.port 8501" in default.stdout


@pytest.mark.fast
def test_eval_with_a_document_keeps_the_items_about_it(capsys):
    from types import SimpleNamespace

    items = [SimpleNamespace(id="a", document=None), SimpleNamespace(id="b", document="harbour"),
             SimpleNamespace(id="c", document="fisheries")]
    assert [i.id for i in cli.items_about(items, ("harbour",))] == ["a", "b"]
    assert "Evaluating 2 of 3 items" in capsys.readouterr().err
    with pytest.raises(cli.CommandError, match="No evaluation item is about railways"):
        cli.items_about(items[1:], ("railways",))


def test_an_index_folder_that_cannot_be_written_is_a_message(small_shelf, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code = cli.main(["--documents-dir", str(small_shelf / "documents"), "--index-dir", str(blocker / "index"), "index"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and str(blocker) in err and "Traceback" not in err, err


def test_a_refusal_on_the_terminal_gives_its_reason_once(assistant):
    from assistant.cli import format_answer

    answer = assistant.ask("What is the capital of France?")
    assert answer.abstained and answer.reason
    text = format_answer(answer)
    assert text.count(answer.reason) == 1 and f"Why: {answer.reason}" in text
    assert text.splitlines()[0] == answer.answer[: -len(answer.reason)].strip()


def test_a_refusal_in_the_terminal_lists_only_passages_worth_reading(assistant):
    answer = assistant.ask("How many peacekeepers have died?")
    assert answer.abstained
    assert any(not is_substantive(h.text, h.kind) for h in answer.passages)  # a figure caption or footnote is among them
    listed = cli.format_answer(answer).split("Closest passages (not an answer):\n", 1)[1].splitlines()
    assert len(listed) == len(answer.closest) <= 3
    for line, hit in zip(listed, answer.closest):
        assert hit.section in line and "\n" not in line
