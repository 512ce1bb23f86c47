"""The index folder: plain files, staleness, atomic rebuilds, clear errors."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from assistant.config import Settings
from assistant.errors import IndexCorruptError, IndexMissingError, NoDocumentsError
from assistant.index import build_index, build_lock, ensure_index, load_index, staleness

SMALL_TEXT = """ I. Introduction

The Mission was deployed in 2013 to support the transition in the country. It had a large budget
and many tasks across the North.

II. Findings

The team found that the Mission was effective until 2016. Since then violence has increased in the
Centre, and the civilian component stayed in the capital.
"""


@pytest.fixture()
def small_settings(tmp_path) -> Settings:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "small.txt").write_text(SMALL_TEXT, encoding="utf-8")
    return Settings(documents_dir=documents, index_dir=tmp_path / "index")


def test_index_files_are_plain_and_follow_the_contract(settings):
    index_dir = settings.index_dir
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    for key in ("format_version", "model", "settings", "sources", "counts", "built_at", "package_version"):
        assert key in manifest
    assert manifest["model"]["dimension"] == 384
    lines = (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == manifest["counts"]["chunks"]
    for line in lines:
        record = json.loads(line)
        assert {"id", "document", "section", "page", "text"} <= set(record)
    assert not list(index_dir.rglob("*.pkl")) and not list(index_dir.rglob("*.pickle"))


def test_the_project_index_is_fresh(settings):
    assert staleness(settings) is None


def test_staleness_follows_documents_and_settings(small_settings):
    assert staleness(small_settings) == "no index has been built yet"
    build_index(small_settings)
    assert staleness(small_settings) is None
    assert staleness(small_settings.replace(chunk_target_words=60)) == "index settings changed"
    (small_settings.documents_dir / "small.txt").write_text(SMALL_TEXT + "\nA new sentence was added here.\n", encoding="utf-8")
    assert staleness(small_settings) == "the documents changed"


def test_failed_build_keeps_the_last_good_index(small_settings):
    build_index(small_settings)
    before = (small_settings.index_dir / "chunks.jsonl").read_text(encoding="utf-8")
    for path in small_settings.documents_dir.iterdir():
        path.unlink()
    (small_settings.documents_dir / "broken.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(NoDocumentsError, match="broken.pdf"):
        build_index(small_settings)
    assert (small_settings.index_dir / "chunks.jsonl").read_text(encoding="utf-8") == before
    assert load_index(small_settings.index_dir).chunks
    leftovers = [p.name for p in small_settings.index_dir.parent.iterdir() if p.name.startswith(".index-")]
    assert leftovers == []


def test_missing_and_corrupt_index_are_named(small_settings):
    with pytest.raises(IndexMissingError, match="assistant index"):
        load_index(small_settings.index_dir)
    build_index(small_settings)
    (small_settings.index_dir / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="--force"):
        load_index(small_settings.index_dir)
    build_index(small_settings)
    (small_settings.index_dir / "sentence_vectors.npy").unlink()
    with pytest.raises(IndexCorruptError, match="sentence_vectors.npy is missing"):
        load_index(small_settings.index_dir)


def test_empty_documents_folder(tmp_path):
    empty = tmp_path / "documents"
    empty.mkdir()
    with pytest.raises(NoDocumentsError, match="No .pdf, .txt or .md file"):
        build_index(Settings(documents_dir=empty, index_dir=tmp_path / "index"))


def test_other_documents_still_indexed_beside_a_bad_one(small_settings):
    (small_settings.documents_dir / "latin1.txt").write_bytes("région".encode("latin-1"))
    report = build_index(small_settings)
    assert report.documents == 1
    assert report.skipped and report.skipped[0][0] == "latin1.txt"


def test_real_report_counts(settings):
    manifest = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["sections"] >= 60
    assert manifest["sources"]["epon-minusma-2019.txt"]
    assert shutil.disk_usage(settings.index_dir).free > 0


def test_assistant_rebuilds_a_damaged_index(small_settings):
    from assistant.service import Assistant

    build_index(small_settings)
    (small_settings.index_dir / "dense.faiss").write_bytes(b"garbage")
    assistant = Assistant.load(small_settings)
    answer = assistant.ask("When was the Mission deployed?")
    assert answer.passages and "2013" in " ".join(p.text for p in answer.passages)


def test_a_build_waits_for_the_one_in_progress_and_does_not_repeat_it(small_settings):
    build_index(small_settings)
    finished = []
    with build_lock(small_settings.index_dir):
        # Another process is building: a second caller must wait, not build beside it.
        waiter = threading.Thread(target=lambda: finished.append(ensure_index(small_settings, force=False)))
        (small_settings.documents_dir / "small.txt").write_text(SMALL_TEXT + "\nOne more sentence.\n", encoding="utf-8")
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive() and finished == []
        build_index(small_settings)  # the holder finishes its build of the changed documents
    waiter.join(timeout=60)
    assert finished == [None]  # the index was fresh by the time the lock came free: no second build
    assert staleness(small_settings) is None
