"""Adding and removing documents (assistant.shelf): the typed reports the app and the CLI read,
uploads, and a change killed outright. Real files, real model, real index, on a temporary
copy of the project's shelf."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.shelf import (SHELF_RESTORED, ShelfError, Upload, add_documents, add_uploads, read_shelf,
                             recover_changes, remove_document, short_title)
from shelf_support import RAILWAYS_NAME, REPORT_NAME, ROOT, copy_shelf, make_railways_pdf

HARBOUR = b"""I. Cargo

Cargo volumes at the three ports of Velmora grew by 40 percent between 2015 and 2020. Most of the
growth came from container traffic at the port of Ostrin, which doubled its quay length in 2018.
"""


@pytest.fixture()
def settings(tmp_path) -> Settings:
    documents, index = copy_shelf(tmp_path)
    return Settings(documents_dir=documents, index_dir=index)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_uploads_report_each_file_by_its_name(settings: Settings, tmp_path_factory) -> None:
    pdf = make_railways_pdf(tmp_path_factory.mktemp("incoming") / f"{RAILWAYS_NAME}.pdf")
    files = names(settings.documents_dir)
    steps = []
    report = add_uploads([Upload(pdf.name, pdf.read_bytes()), Upload("broken.pdf", b"%PDF-1.4 garbage"),
                          Upload("notes.docx", b"PK\x03\x04"), Upload("../../escape.txt", HARBOUR),
                          Upload(".hidden.md", HARBOUR)], settings, steps.append)
    assert [d.name for d in report.added] == [RAILWAYS_NAME, "escape"]
    assert report.added[0].pages == 4 and report.added[0].chunks >= 3
    refused = {n.file: n.reason for n in report.not_added}
    assert set(refused) == {"broken.pdf", "notes.docx", ".hidden.md"}
    assert "cannot be read" in refused["broken.pdf"] and "only .pdf, .txt, .md" in refused["notes.docx"]
    assert not report.not_indexed and not report.ok
    assert names(settings.documents_dir) == sorted(files + [f"{RAILWAYS_NAME}.pdf", "escape.txt"])
    assert {s.stage for s in steps} >= {"reading documents", "embedding chunks"}
    assert report.shelf.names == read_shelf(settings).names


def test_an_upload_named_like_a_document_is_refused_unless_replace(settings: Settings) -> None:
    before = (settings.documents_dir / f"{REPORT_NAME}.txt").read_bytes()
    report = add_uploads([Upload(f"{REPORT_NAME}.txt", HARBOUR)], settings)
    [refused] = report.not_added
    assert "already on the shelf" in refused.reason and "--replace" not in refused.reason
    assert report.shelf is None  # nothing was changed, nothing rebuilt
    assert (settings.documents_dir / f"{REPORT_NAME}.txt").read_bytes() == before


def test_remove_refuses_an_unknown_or_the_last_document(settings: Settings) -> None:
    with pytest.raises(ShelfError, match="No document named 'nothing'.*it holds: epon-minusma-2019"):
        remove_document("nothing", settings)
    with pytest.raises(ShelfError, match="only document on the shelf"):
        remove_document(f"{REPORT_NAME}.txt", settings)


def test_a_build_stopped_midway_puts_the_files_back(settings: Settings) -> None:
    """A replace whose build stops while embedding (here the progress callback raises, as a
    closed browser tab or Ctrl-C would): the old file is back, the new one gone, the index kept."""
    incoming = settings.documents_dir.parent / "incoming"
    incoming.mkdir()
    (incoming / f"{REPORT_NAME}.txt").write_bytes(HARBOUR)
    files, manifest = names(settings.documents_dir), (settings.index_dir / "manifest.json").read_bytes()
    report_text = (settings.documents_dir / f"{REPORT_NAME}.txt").read_bytes()

    class Stop(Exception):
        pass

    def stop_when_embedding(progress) -> None:
        if progress.stage.startswith("embedding"):
            raise Stop

    with pytest.raises(Stop) as failure:
        add_documents([incoming / f"{REPORT_NAME}.txt"], settings, stop_when_embedding, replace=True)
    assert SHELF_RESTORED in getattr(failure.value, "__notes__", ())
    assert names(settings.documents_dir) == files  # no undo folder left either
    assert (settings.documents_dir / f"{REPORT_NAME}.txt").read_bytes() == report_text
    assert (settings.index_dir / "manifest.json").read_bytes() == manifest


def test_short_titles_come_from_the_manifest() -> None:
    assert short_title({"id": "x", "short_title": "EPON Mali 2019", "title": "Long"}) == "EPON Mali 2019"
    assert short_title({"id": "x", "title": "A short title"}) == "A short title"
    long = short_title({"id": "x", "title": "Assessing the Effectiveness of the United Nations Mission in Mali"})
    assert long.endswith("…") and len(long) <= 48 and long.startswith("Assessing the Effectiveness")
    assert short_title({"id": "report-2020", "title": ""}) == "report-2020"


def test_a_change_killed_outright_is_undone_by_the_next_one(settings: Settings, tmp_path_factory) -> None:
    """SIGKILL while `assistant add` embeds: the file is on the shelf, the undo folder is left,
    the index is the old one. The next change undoes the dead one before doing its own."""
    incoming = tmp_path_factory.mktemp("incoming")
    big = incoming / "ports.txt"
    big.write_bytes(b"\n\n".join(HARBOUR.replace(b"Velmora", f"Velmora {i}".encode()) for i in range(60)))
    files = names(settings.documents_dir)
    manifest = (settings.index_dir / "manifest.json").read_bytes()
    process = subprocess.Popen([sys.executable, "-m", "assistant", "--documents-dir", str(settings.documents_dir),
                                "--index-dir", str(settings.index_dir), "add", str(big)], cwd=ROOT,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in process.stderr:
        if line.startswith("embedding"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    [undo] = [p for p in settings.documents_dir.iterdir() if p.name.startswith(".shelf-undo-")]
    assert json.loads((undo / "journal.json").read_text()) == {"added": ["ports.txt"], "taken": []}
    assert "ports.txt" in names(settings.documents_dir)
    assert (settings.index_dir / "manifest.json").read_bytes() == manifest

    (incoming / "harbour.txt").write_bytes(HARBOUR)
    report = add_documents([incoming / "harbour.txt"], settings)
    assert [d.name for d in report.added] == ["harbour"]
    assert names(settings.documents_dir) == sorted(files + ["harbour.txt"])  # ports.txt undone, no undo folder
    assert report.shelf.names == (REPORT_NAME, "harbour")


def test_a_killed_change_whose_index_was_built_is_kept(settings: Settings, tmp_path_factory) -> None:
    """When the index already matches the files (the build finished, the process died while
    tidying up), recovery keeps the change and only removes the undo folder."""
    incoming = tmp_path_factory.mktemp("incoming")
    (incoming / "harbour.txt").write_bytes(HARBOUR)
    add_documents([incoming / "harbour.txt"], settings)
    undo = settings.documents_dir / ".shelf-undo-dead"
    undo.mkdir()
    (undo / "journal.json").write_text(json.dumps({"added": ["harbour.txt"], "taken": []}))
    [line] = recover_changes(settings)
    assert "complete" in line
    assert "harbour.txt" in names(settings.documents_dir) and not undo.exists()
