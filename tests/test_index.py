"""The index folder: plain files, staleness, atomic rebuilds, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import threading

import numpy as np
import pytest

from assistant import index as index_module
from assistant.chunk import sentence_windows
from assistant.config import Settings
from assistant.errors import IndexCorruptError, IndexMissingError, NoDocumentsError
from assistant.index import build_index, build_lock, ensure_index, load_index, open_index, staleness
from assistant.shelf import Shelf, read_shelf

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


@pytest.mark.fast
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


MORE_TEXT = """ III. Recommendations

The Mission should move staff to the Centre and work with local authorities on protection.
A smaller footprint in the North would free resources for the Centre.
"""


def test_a_rebuild_embeds_only_texts_it_has_never_embedded(small_settings):
    first = build_index(small_settings)
    assert first.embedded > 0
    assert build_index(small_settings).embedded == 0  # forced, nothing changed: all from the cache
    (small_settings.documents_dir / "more.txt").write_text(MORE_TEXT, encoding="utf-8")
    added = build_index(small_settings)
    index = load_index(small_settings.index_dir)
    new_chunks = [c for c in index.chunks if c.document == "more"]
    windows = sum(len(sentence_windows(c, small_settings.window_sentences)) for c in new_chunks)
    assert 0 < added.embedded <= len(new_chunks) + sum(len(c.sentences) for c in new_chunks) + windows


def test_cached_vectors_equal_fresh_ones(small_settings, tmp_path):
    build_index(small_settings)
    cached = load_index(small_settings.index_dir)
    elsewhere = Settings(documents_dir=small_settings.documents_dir, index_dir=tmp_path / "fresh" / "index")
    assert build_index(elsewhere).embedded > 0  # its own, empty cache
    fresh = load_index(elsewhere.index_dir)
    assert np.allclose(cached.sentence_vectors, fresh.sentence_vectors, atol=1e-5)


def test_profiles_and_format_version_make_the_index_stale(small_settings, monkeypatch):
    build_index(small_settings)
    (small_settings.documents_dir / "small.profile.json").write_text('{"title": "Small"}', encoding="utf-8")
    assert staleness(small_settings) == "the documents changed"
    build_index(small_settings)
    assert staleness(small_settings) is None
    monkeypatch.setattr(index_module, "INDEX_FORMAT_VERSION", index_module.INDEX_FORMAT_VERSION + 1)
    assert staleness(small_settings) == "the index format changed"


def test_every_index_file_is_listed_with_its_checksum(small_settings):
    build_index(small_settings)
    manifest = json.loads((small_settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    on_disk = {p.relative_to(small_settings.index_dir).as_posix() for p in small_settings.index_dir.rglob("*")
               if p.is_file() and p.name != "manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert "documents/small.txt" in on_disk and any(name.startswith("bm25/") for name in on_disk)
    assert all(len(meta["sha256"]) == 64 and meta["size"] >= 0 for meta in manifest["files"].values())


def test_open_index_builds_then_reuses_and_lists_the_shelf(small_settings):
    (small_settings.documents_dir / "broken.pdf").write_bytes(b"%PDF-1.7\nnot a pdf body\n%%EOF")
    stages = []
    opened = open_index(small_settings, progress=lambda p: stages.append(p.stage))
    assert opened.built is not None and opened.warnings == ()
    assert {"reading documents", "embedding chunks", "embedding sentences", "writing index"} <= set(stages)
    again = open_index(small_settings)
    assert again.built is None and len(again.index.chunks) == len(opened.index.chunks)
    listed = read_shelf(small_settings)
    assert [(d.name, d.file, d.chunks) for d in listed.documents] == [("small", "small.txt", len(opened.index.chunks))]
    assert listed.documents[0].pages >= 1
    assert [s.file for s in listed.skipped] == ["broken.pdf"] and "broken.pdf" in listed.skipped[0].reason


def test_shelf_without_an_index_is_empty(small_settings):
    assert read_shelf(small_settings) == Shelf((), (), None)


def test_leftover_build_folders_of_dead_processes_are_removed(small_settings):
    build_index(small_settings)
    parent = small_settings.index_dir.parent
    (parent / ".index-build-999999-abc").mkdir()  # no process has this id
    (parent / ".index-old-999999").mkdir()
    (parent / f".index-build-{os.getpid()}-live").mkdir()  # this process: a build that is running
    opened = open_index(small_settings)
    assert any("Removed 2 folder(s)" in w for w in opened.warnings)
    assert sorted(p.name for p in parent.iterdir() if p.name.startswith(".index-")) == [
        f".index-build-{os.getpid()}-live"]
