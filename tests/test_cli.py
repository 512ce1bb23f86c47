"""The command line, run as a real subprocess against the real index (CONTRACTS.md §2–3)."""

from __future__ import annotations

import json
import subprocess
import sys

from assistant.config import PROJECT_ROOT

CLI = [sys.executable, "-m", "assistant"]


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout)


def test_ask_prints_answer_and_sources():
    result = run("ask", "How many interviews did the research team conduct?")
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout and "Sources:" in result.stdout


def test_ask_json_follows_the_answer_contract():
    result = run("ask", "What does the report say about Kidal?", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert set(record) == {"question", "answer", "abstained", "citations", "passages"}
    assert len(record["passages"]) == 10 and record["passages"][0]["rank"] == 1
    assert all(c["quote"] in next(p["text"] for p in record["passages"] if p["chunk_id"] == c["chunk_id"])
               for c in record["citations"])


def test_batch_mode_keeps_ids_and_order(tmp_path):
    questions = tmp_path / "questions.jsonl"
    rows = [{"id": "a1", "question": "Who carried out the study?", "extra": 1},
            {"id": "a2", "question": ""},
            {"id": "a3", "question": "What is FAMA?"}]
    lines = ["this line is not JSON"] + [json.dumps(r) for r in rows] + [json.dumps({"id": "a4", "question": 5})]
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    answers = tmp_path / "answers.jsonl"
    result = run("ask", "--input", str(questions), "--output", str(answers))
    assert result.returncode == 0, result.stderr
    written = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    assert [w["id"] for w in written] == [None, "a1", "a2", "a3", "a4"]
    assert "line 1" in written[0]["error"]
    assert "empty" in written[2]["error"]
    assert written[3]["citations"] and "passages" in written[3]
    assert "must be text" in written[4]["error"]


def test_empty_question_fails_with_a_message():
    result = run("ask", "   ")
    assert result.returncode != 0
    assert "empty" in result.stderr and "Traceback" not in result.stderr


def test_eval_json_on_a_small_file(tmp_path):
    items = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(json.dumps(i) for i in items[:6] + [i for i in items if i["category"] == "unanswerable"][:2]),
                     encoding="utf-8")
    result = run("eval", "--questions", str(small), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["default"]["summary"]
    for metric in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "key_facts", "abstention", "verbatim"):
        assert 0.0 <= summary[metric] <= 1.0


def test_index_is_reported_fresh():
    result = run("index")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
