"""Batch mode (`assistant ask --input F --output G`): every bad line gets an error record with its
line number, the rest are answered, conversations are grouped by id, and an existing output file
survives a failure or Ctrl-C. Runs the real CLI as a subprocess against the real index."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.cli import parse_batch_line, read_batch
from assistant.config import PROJECT_ROOT

CLI = [sys.executable, "-m", "assistant"]
REPORT = "epon-minusma-2019"


def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout)


def jsonl(*rows) -> bytes:
    """Lines of a batch file: dicts as JSON, bytes as they are."""
    return b"".join((row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows)


# Physical line numbers matter: the error records must name them.
BATCH = [
    {"id": "g1", "question": "Who carried out the study?", "extra": 1},             # 1 answered
    b'{"id": "u1", "question": "What is MINUSMA\xff?"}',                          # 2 invalid UTF-8
    b"this line is not JSON",                                                      # 3
    b'["What is FAMA?"]',                                                          # 4 not an object
    {"id": "m1", "text": "What is FAMA?"},                                         # 5 no question
    {"id": "n1", "question": 5},                                                   # 6 question not text
    {"id": "d1", "question": "What is FAMA?", "documents": REPORT},                # 7 documents not a list
    {"id": "d2", "question": "What is FAMA?", "documents": ["no-such-report"]},   # 8 unknown document
    {"id": "d3", "question": "What is FAMA?", "documents": [REPORT]},             # 9 answered
    {"id": "c0", "question": "What is FAMA?", "conversation": ["A"]},             # 10 bad conversation id
    {"id": "e1", "question": ""},                                                  # 11 empty question
    b"   ",                                                                        # 12 blank: no record
    {"id": "a1", "conversation": "A", "question": "What does the report say about Kidal?"},        # 13
    {"id": "b1", "conversation": "B", "question": "How many interviews did the research team conduct?"},  # 14
    {"id": "a2", "conversation": "A", "question": "And what about Gao?"},          # 15 follows a1
    {"id": "b2", "conversation": "B", "question": "And what about the Centre?"},   # 16 follows b1
    {"id": 7, "question": "And what about Gao?"},                                  # 17 on its own
]
ERRORS = {2: "not valid UTF-8", 3: "not valid JSON", 4: "not a JSON object", 5: 'no "question"',
          6: '"question" must be a string', 7: '"documents" must be a list', 8: "no-such-report",
          10: '"conversation" must be', 11: "empty"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One real batch run over every kind of line, with an older output file in place."""
    folder = tmp_path_factory.mktemp("batch")
    source, target = folder / "questions.jsonl", folder / "answers.jsonl"
    source.write_bytes(jsonl(*BATCH))
    target.write_text("an older file that is replaced only when the batch is complete\n", encoding="utf-8")
    result = run("ask", "--input", str(source), "--output", str(target))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    return result, records, folder


def by_id(records, key):
    return next(r for r in records if r["id"] == key)


def test_one_record_per_line_in_input_order(batch):
    _, records, folder = batch
    assert [r["id"] for r in records] == ["g1", "u1", None, None, "m1", "n1", "d1", "d2", "d3", "c0", "e1",
                                          "a1", "b1", "a2", "b2", 7]
    assert sorted(p.name for p in folder.iterdir()) == ["answers.jsonl", "questions.jsonl"]  # no temporary left


def test_every_bad_line_gets_an_error_with_its_line_number(batch):
    _, records, _ = batch
    errors = [r for r in records if "error" in r]
    assert len(errors) == len(ERRORS)
    for record, (number, phrase) in zip(errors, sorted(ERRORS.items())):
        assert record["error"].startswith(f"line {number}: "), record
        assert phrase in record["error"], record
    assert by_id(records, "u1")["question"] == "What is MINUSMA\ufffd?"  # read past the bad byte for the record
    assert REPORT in by_id(records, "d2")["error"]  # the shelf's names are listed


def test_good_lines_are_answered_with_the_contract_fields(batch):
    result, records, _ = batch
    answered = [r for r in records if "error" not in r]
    assert len(answered) == 7
    for record in answered:
        assert {"id", "question", "answer", "abstained", "citations", "passages"} <= set(record)
        assert len(record["passages"]) == 10
    assert all(p["document"] == REPORT for p in by_id(records, "d3")["passages"])
    assert f"Answered 7 of 16 questions, {len(ERRORS)} failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_conversations_are_grouped_by_their_id(batch):
    _, records, _ = batch
    a2, b2, alone = by_id(records, "a2"), by_id(records, "b2"), by_id(records, 7)
    # Each follow-up is resolved against its own conversation's earlier line, although the
    # other conversation's line came in between.
    assert "Gao" in a2["understood_as"] and "interview" not in a2["understood_as"].lower()
    assert "interview" in b2["understood_as"].lower() and "Gao" not in b2["understood_as"]
    assert "Kidal" not in b2["understood_as"]
    assert alone["understood_as"] is None  # no conversation id: a question on its own


def test_an_unknown_document_fails_before_anything_is_written(tmp_path):
    source, target = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    source.write_bytes(jsonl({"id": "x", "question": "What is FAMA?"}))
    target.write_bytes(b"precious\n")
    result = run("ask", "--input", str(source), "--output", str(target), "--document", "no-such-report")
    assert result.returncode == 1
    assert "no-such-report" in result.stderr and REPORT in result.stderr and "Traceback" not in result.stderr
    assert target.read_bytes() == b"precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "q.jsonl"]


def test_ctrl_c_leaves_the_existing_output_file_whole(tmp_path):
    source, target = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    source.write_bytes(jsonl(*[{"id": f"q{i}", "question": "What does the report say about Kidal?"} for i in range(2000)]))
    original = b'{"id": "old", "answer": "kept"}\n' * 100
    target.write_bytes(original)
    process = subprocess.Popen(CLI + ["ask", "--input", str(source), "--output", str(target)], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        if partial and partial[0].stat().st_size > 0:  # answers are being written
            break
        time.sleep(0.05)
    assert process.poll() is None, "the batch ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "q.jsonl"]


def test_a_missing_output_folder_is_named(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_bytes(jsonl({"id": "x", "question": "What is FAMA?"}))
    result = run("ask", "--input", str(source), "--output", str(tmp_path / "nowhere" / "a.jsonl"))
    assert result.returncode == 1 and "does not exist" in result.stderr and "nowhere" in result.stderr


# The parser on its own: no model needed.

@pytest.mark.fast
@pytest.mark.parametrize("raw, phrase", [
    (b'{"question": "bad \xc3\x28 byte"}', "not valid UTF-8 (byte 19 "),
    (b'{"id": 1, "question": "unclosed}', "not valid JSON"),
    (b'"just a string"', "not a JSON object but a string"),
    (b"null", "not a JSON object but null"),
    (b'{"id": 1}', 'no "question" field'),
    (b'{"id": 1, "question": null}', '"question" must be a string, not null'),
    (b'{"id": 1, "question": ["a"]}', '"question" must be a string, not an array'),
    (b'{"id": 1, "question": "Q?", "documents": [1]}', '"documents" must be a list of document names'),
    (b'{"id": 1, "question": "Q?", "documents": {"a": 1}}', "not an object"),
    (b'{"id": 1, "question": "Q?", "conversation": true}', '"conversation" must be a string or a whole number'),
])
def test_each_kind_of_bad_line_is_named(raw, phrase):
    line = parse_batch_line(4, raw)
    assert line.error and phrase in line.error, line


@pytest.mark.fast
def test_lines_split_on_newlines_only_and_a_bom_is_dropped(tmp_path):
    source = tmp_path / "q.jsonl"
    # U+2028 and U+0085 inside a JSON string are text, not line breaks; CRLF endings are fine.
    source.write_bytes(b"\xef\xbb\xbf" + jsonl({"id": "a", "question": "One\u2028two\u0085three?"}).replace(b"\n", b"\r\n")
                       + b"\n" + json.dumps({"id": "b", "question": "Next?", "documents": ["x.pdf"],
                                             "conversation": 3}, ensure_ascii=False).encode())
    lines = read_batch(source)
    assert [(l.number, l.id, l.error) for l in lines] == [(1, "a", None), (3, "b", None)]
    assert lines[0].question == "One\u2028two\u0085three?"
    assert lines[1].documents == ("x.pdf",) and lines[1].conversation == 3


def test_standard_input_and_output_stream_through_a_pipe():
    """`--input - --output -`: questions from a pipe, one answer line per question on stdout."""
    rows = jsonl({"id": "p1", "question": "What does option 2b propose?"}, {"id": "p2", "question": ""})
    done = subprocess.run(CLI + ["ask", "--input", "-", "--output", "-"], input=rows, capture_output=True,
                          cwd=PROJECT_ROOT, timeout=900)
    assert done.returncode == 0, done.stderr.decode()
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["id"] for r in records] == ["p1", "p2"]
    assert records[0]["citations"] and "error" in records[1]
    assert "wrote standard output" in done.stderr.decode()


def test_an_output_that_is_a_device_is_written_not_replaced(tmp_path):
    """A temporary file renamed over /dev/stdout (or any link to a device) would replace the device
    with a file: such an output is written in place."""
    source = tmp_path / "q.jsonl"
    source.write_bytes(jsonl({"id": "d1", "question": "What does option 2b propose?"}))
    link = tmp_path / "to-null"
    link.symlink_to("/dev/null")
    done = run("ask", "--input", str(source), "--output", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == Path("/dev/null") and Path("/dev/null").is_char_device()
    assert not list(tmp_path.glob(".to-null.*"))  # no temporary file left beside it
