"""Faults on the shelf and on the disk: nothing takes the assistant down, nothing damaged answers.

Real parts throughout: excerpts of the real report, the real embedder, real FAISS/BM25 files,
PDFs made with fpdf2, real processes killed with SIGKILL, a real process that file permissions bind
(root without its permission-bypassing capabilities, via setpriv), real
read-only and full file systems (tmpfs mounts). Run apart with `pytest -m faults`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import assistant
from assistant import index as index_module
from assistant.chunk import sentence_windows
from assistant.config import PROJECT_ROOT, Settings
from assistant.embed import load_embedder
from assistant.errors import IndexCorruptError, IndexUnavailableError
from assistant.index import build_index, embedding_text, open_index, staleness
from assistant.shelf import read_shelf
from assistant.retrieve import Retriever
from assistant.store import file_checksums, load_index

pytestmark = pytest.mark.faults

CODE_ROOT = Path(assistant.__file__).resolve().parent.parent
REPORT = PROJECT_ROOT / "documents" / "epon-minusma-2019.txt"
QUESTIONS = ["What is EPON and who established it?",
             "What are the eight dimensions of the framework?",
             "How many research institutions joined the network?"]


def report_lines(first: int, last: int) -> str:
    """Lines first..last (1-based, inclusive) of the real report."""
    return "\n".join(REPORT.read_text(encoding="utf-8").splitlines()[first - 1:last]) + "\n"


INTRO = report_lines(81, 348)  # chapters I and II (15 kB)
PEOPLE = report_lines(3600, 3640)  # the opening of chapter VI (3 kB)


def shelf_settings(root: Path) -> Settings:
    return Settings(documents_dir=root / "documents", index_dir=root / "index")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A shelf of one real excerpt with its built index and its embedding cache."""
    root = tmp_path_factory.mktemp("pristine")
    (root / "documents").mkdir()
    (root / "documents" / "intro.txt").write_text(INTRO, encoding="utf-8")
    build_index(shelf_settings(root))
    return root


def copy_shelf(pristine: Path, dest: Path) -> Settings:
    shutil.copytree(pristine, dest, dirs_exist_ok=True)
    return shelf_settings(dest)


def retrieved_ids(index, settings: Settings) -> list[list[str]]:
    retriever = Retriever(index, load_embedder(settings.embedder))
    return [[hit.chunk_id for hit in retriever.search(q, settings)] for q in QUESTIONS]


@pytest.fixture(scope="module")
def expected(pristine) -> list[list[str]]:
    settings = shelf_settings(pristine)
    return retrieved_ids(load_index(settings.index_dir), settings)


def leftover_folders(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.parent.iterdir()
                  if p.name.startswith((".index-build-", ".index-old-")))


# --- damaged index files -------------------------------------------------------------------

def missing(path: Path) -> None:
    path.unlink()


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def garbage_after_header(path: Path) -> None:
    """Keep the start (the .npy / FAISS header, the first records) and overwrite the rest with
    random bytes of the same length: the size is unchanged, only the contents are wrong."""
    data = path.read_bytes()
    keep = max(len(data) // 4, min(128, len(data) - 1))
    rng = random.Random(len(data))
    path.write_bytes(data[:keep] + rng.randbytes(len(data) - keep))


TARGETS = ["manifest.json", "chunks.jsonl", "dense.faiss", "sentence_vectors.npy", "window_vectors.npy",
           "bm25/parts.json", "bm25/0/data.csc.index.npy",
           "bm25/0/indices.csc.index.npy", "bm25/0/indptr.csc.index.npy", "bm25/0/vocab.index.json", "documents/intro.txt"]


@pytest.mark.parametrize("damage", [missing, emptied, garbage_after_header], ids=lambda f: f.__name__)
@pytest.mark.parametrize("target", TARGETS)
def test_a_damaged_index_file_is_repaired_from_the_cache_with_the_same_answers(pristine, expected, tmp_path, target, damage):
    settings = copy_shelf(pristine, tmp_path)
    damage(settings.index_dir / target)
    opened = open_index(settings)
    assert opened.built is not None, "the damaged index was used as it was"
    assert opened.built.embedded == 0, "the repair embedded texts again instead of using the cache"
    if target != "manifest.json":  # without a manifest there is simply no index: built, no warning
        assert any("damaged" in w and Path(target).name in w for w in opened.warnings), opened.warnings
    assert retrieved_ids(opened.index, settings) == expected
    assert load_index(settings.index_dir).manifest["counts"] == opened.index.manifest["counts"]


def rewrite_manifest_checksums(index_dir: Path) -> None:
    """Make the manifest agree with damaged files, as a hand edit would: the checksums then
    pass and only the consistency checks stand between the damage and the answers."""
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = file_checksums(index_dir)
    (index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_bm25_passage_numbers_out_of_range_are_refused_even_with_matching_checksums(pristine, tmp_path):
    settings = copy_shelf(pristine, tmp_path)
    path = settings.index_dir / "bm25" / "0" / "indices.csc.index.npy"
    indices = np.load(path)
    indices[len(indices) // 2] = 10_000
    np.save(path, indices)
    rewrite_manifest_checksums(settings.index_dir)
    with pytest.raises(IndexCorruptError, match=r"bm25 is damaged \(passage numbers outside"):
        load_index(settings.index_dir)


@pytest.mark.parametrize("name, rows_cut, message", [
    ("sentence_vectors.npy", 3, "sentence_vectors.npy holds a different number"),
    ("window_vectors.npy", 1, "window_vectors.npy holds a different number of sentence windows")])
def test_vector_count_mismatch_is_refused_even_with_matching_checksums(pristine, tmp_path, name, rows_cut, message):
    settings = copy_shelf(pristine, tmp_path)
    path = settings.index_dir / name
    np.save(path, np.load(path)[:-rows_cut], allow_pickle=False)
    rewrite_manifest_checksums(settings.index_dir)
    with pytest.raises(IndexCorruptError, match=message):
        load_index(settings.index_dir)


def test_a_chunk_with_no_sentences_is_refused_by_name(pristine, tmp_path):
    settings = copy_shelf(pristine, tmp_path)
    path = settings.index_dir / "chunks.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records[0]["sentences"] = []
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    rewrite_manifest_checksums(settings.index_dir)
    with pytest.raises(IndexCorruptError, match="chunks.jsonl holds a chunk with no sentences"):
        load_index(settings.index_dir)


def test_a_manifest_without_the_window_size_is_refused_by_name(pristine, tmp_path):
    settings = copy_shelf(pristine, tmp_path)
    path = settings.index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["settings"]["window_sentences"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest.json does not say how many sentences a window holds"):
        load_index(settings.index_dir)


def test_a_damaged_embedding_cache_is_ignored_and_rebuilt(tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "people.txt").write_text(PEOPLE, encoding="utf-8")
    settings = shelf_settings(tmp_path)
    first = build_index(settings)
    expected = retrieved_ids(load_index(settings.index_dir), settings)
    segments = sorted((tmp_path / ".embedding-cache" / settings.embedder).glob("*.npy"))
    assert segments
    for segment in segments:
        garbage_after_header(segment)
    report = build_index(settings)
    assert report.embedded == first.embedded > 0  # nothing damaged was trusted: all embedded again
    assert retrieved_ids(load_index(settings.index_dir), settings) == expected
    assert build_index(settings).embedded == 0


# --- builds killed with SIGKILL ------------------------------------------------------------

KILLER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from assistant import index, store
from assistant.config import Settings

documents, index_dir, stage = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]

def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def progress(p):
    if p.stage == stage and p.done > 0:
        die()

if stage == "writing files":  # half the files of the new folder are written
    store.LexicalIndex.save = die
if stage == "between the renames":  # old index retired, new one not yet moved in
    real_replace = os.replace
    def replace(src, dst, *args, **kwargs):
        if Path(src).name.startswith(".index-build-"):
            die()
        return real_replace(src, dst, *args, **kwargs)
    os.replace = replace
index.ensure_index(Settings(documents_dir=documents, index_dir=index_dir), progress)
print("the build was not killed")
"""
STAGES = ["reading documents", "cleaning and structuring", "embedding chunks", "embedding sentences",
          "writing files", "between the renames"]


def killed_build(pristine: Path, root: Path, stage: str) -> Settings:
    """Copy the shelf, add a document (so a build is due) and kill a build of it at `stage`."""
    settings = copy_shelf(pristine, root)
    (settings.documents_dir / "people.txt").write_text(PEOPLE, encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", KILLER, str(CODE_ROOT), str(settings.documents_dir),
                          str(settings.index_dir), stage], capture_output=True, text=True, timeout=600)
    assert run.returncode == -signal.SIGKILL, (run.returncode, run.stdout, run.stderr[-2000:])
    return settings


@pytest.mark.parametrize("stage", STAGES)
def test_a_build_killed_at_any_stage_is_cleaned_up_and_resumed_from_the_cache(pristine, tmp_path, stage):
    settings = killed_build(pristine, tmp_path, stage)
    if stage == "between the renames":
        assert not settings.index_dir.exists() and leftover_folders(settings)
    opened = open_index(settings)
    assert leftover_folders(settings) == []
    assert [d.name for d in read_shelf(settings, opened.index).documents] == ["intro", "people"]
    assert staleness(settings) is None
    if stage == "between the renames":
        # The new folder was complete: the swap is finished, nothing is rebuilt.
        assert opened.built is None
        assert any("completed the interrupted swap" in w for w in opened.warnings), opened.warnings
    else:
        # The documents changed, so a build is due; it embeds at most the new document's texts
        # (none when the killed build had embedded them all: they were saved to the cache).
        assert opened.built is not None
        assert opened.built.embedded <= len(texts_of(opened.index, settings, "people") - texts_of(opened.index, settings, "intro"))
        if stage == "writing files":
            assert opened.built.embedded == 0


def texts_of(index, settings: Settings, document: str) -> set[str]:
    """Every text embedded for one document: chunk texts as embedded, sentences and sentence windows."""
    chunks = [c for c in index.chunks if c.document == document]
    return ({embedding_text(c, settings.embed_section_titles) for c in chunks}
            | {c.text[a:b] for c in chunks for a, b in c.sentences}
            | {c.text[a:b] for c in chunks for a, b in sentence_windows(c, settings.window_sentences)})


def test_an_interrupted_swap_whose_new_folder_is_unfinished_is_rolled_back(pristine, tmp_path):
    settings = killed_build(pristine, tmp_path, "between the renames")
    for build in settings.index_dir.parent.glob(".index-build-*"):
        (build / "manifest.json").unlink()  # as if the kill had come before the folder was complete
    opened = open_index(settings)
    assert any("rolled back the interrupted swap" in w for w in opened.warnings), opened.warnings
    # The old index came back; it lacks the added document, so it is brought up to date, and the
    # killed build's vectors of that document come from the cache.
    assert opened.built is not None and opened.built.embedded == 0
    assert leftover_folders(settings) == []


def test_no_index_but_a_complete_retired_one_is_restored_without_a_rebuild(pristine, expected, tmp_path):
    settings = copy_shelf(pristine, tmp_path)
    os.replace(settings.index_dir, tmp_path / ".index-old-999999")  # a pid that is not running
    opened = open_index(settings)
    assert opened.built is None
    assert retrieved_ids(opened.index, settings) == expected


# --- fuzzed PDFs ---------------------------------------------------------------------------

def small_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    text = INTRO[:3000].replace("’", "'").replace("“", '"').replace("”", '"').encode("latin-1", "replace").decode("latin-1")
    for part in (text[:700], text[700:1400]):
        pdf.add_page()
        pdf.multi_cell(0, 6, part)
    return bytes(pdf.output())


def test_fuzzed_pdfs_never_stop_the_build_and_bad_ones_are_named(pristine, tmp_path):
    original = small_pdf()
    rng = random.Random(20261127)
    documents = copy_shelf(pristine, tmp_path).documents_dir  # intro.txt, with its cached vectors
    for n in range(60):
        data = bytearray(original)
        position = rng.randrange(len(data))
        data[position] = (data[position] + rng.randrange(1, 256)) % 256
        (documents / f"fuzz-{n:02d}.pdf").write_bytes(bytes(data))
    report = build_index(Settings(documents_dir=documents, index_dir=tmp_path / "index"))
    assert report.documents + len(report.skipped) == 61
    for name, reason in report.skipped:
        assert reason.startswith(name + ":"), reason
    assert len(report.skipped) >= 5, "the fuzzing no longer produces unreadable files: change the seed"
    names = {d.name for d in read_shelf(Settings(documents_dir=documents, index_dir=tmp_path / "index")).documents}
    assert "intro" in names
    print(f"fuzzed PDFs: {report.documents - 1} read, {len(report.skipped)} skipped")


# --- a non-root user: unreadable file, index folder not writable ---------------------------

AS_USER = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.index import open_index, staleness
from assistant.shelf import read_shelf

settings = Settings(documents_dir=Path(sys.argv[2]), index_dir=Path(sys.argv[3]))
out = {"staleness_before": staleness(settings)}
try:
    opened = open_index(settings)
    out["warnings"] = list(opened.warnings)
    out["built"] = opened.built is not None
    out["documents"] = [d.name for d in read_shelf(settings, opened.index).documents]
    out["skipped"] = [[s.file, s.reason] for s in read_shelf(settings, opened.index).skipped]
    out["staleness_after"] = staleness(settings)
    again = open_index(settings, progress=lambda p: out.setdefault("progress_again", []).append(p.stage))
    out["warnings_again"] = list(again.warnings)
except AssistantError as error:
    out["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(out))
"""


def run_without_file_permissions(documents: Path, index_dir: Path) -> dict:
    """Run the assistant as root without the capabilities that bypass file permissions
    (setpriv drops them from the bounding set): it reads and writes only as a file's owner, group
    or others may. Unlike switching to the user nobody, this still reaches a checkout that lies
    in a folder private to root (a CI clone in a `mktemp -d` folder)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop the capabilities that bypass file permissions")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown", sys.executable,
                          "-c", AS_USER, str(CODE_ROOT), str(documents), str(index_dir)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture()
def open_tmp():
    """A folder under /tmp that the user nobody may enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="faults-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def open_up(folder: Path) -> None:
    """Let other users enter and read everything (the copies keep pytest's private modes)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def chown_tree(folder: Path, uid: int, gid: int) -> None:
    os.chown(folder, uid, gid)
    for path in folder.rglob("*"):
        os.chown(path, uid, gid, follow_symlinks=False)


def test_an_unreadable_document_is_skipped_by_name_and_never_stops_the_check(pristine, open_tmp):
    root = open_tmp / "shelf"
    settings = copy_shelf(pristine, root)
    secret = settings.documents_dir / "secret.txt"  # the shelf and index belong to the process's user...
    secret.write_text(PEOPLE, encoding="utf-8")
    os.chown(secret, 65534, 65534)
    secret.chmod(0o600)  # ...except one document, which only its owner (nobody) may read
    out = run_without_file_permissions(settings.documents_dir, settings.index_dir)
    assert "error" not in out, out
    assert out["staleness_before"] == "the documents changed"
    assert out["documents"] == ["intro"]
    assert out["skipped"][0][0] == "secret.txt" and "may not be read" in out["skipped"][0][1]
    assert out["staleness_after"] is None  # the unreadable file does not make the index stale forever
    assert "progress_again" not in out


def test_an_index_folder_that_cannot_be_written_serves_the_last_index(pristine, open_tmp):
    root = open_tmp / "shelf"
    settings = copy_shelf(pristine, root)
    (settings.documents_dir / "people.txt").write_text(PEOPLE, encoding="utf-8")  # a build is due
    open_up(root)
    chown_tree(root, 65534, 65534)  # another user owns everything: readable, not writable
    out = run_without_file_permissions(settings.documents_dir, settings.index_dir)
    assert "error" not in out, out
    assert out["documents"] == ["intro"] and out["built"] is False
    assert any("cannot be written" in w and "permission denied" in w for w in out["warnings"]), out
    assert out["warnings_again"] == out["warnings"] and "progress_again" not in out  # no second try


def test_no_index_and_no_way_to_build_one_says_what_to_do(pristine, open_tmp):
    root = open_tmp / "shelf"
    settings = copy_shelf(pristine, root)
    shutil.rmtree(settings.index_dir)
    open_up(root)
    chown_tree(root, 65534, 65534)
    out = run_without_file_permissions(settings.documents_dir, settings.index_dir)
    assert out["error"].startswith("IndexUnavailableError: There is no index in"), out
    assert "permission denied" in out["error"] and "--index-dir" in out["error"]


# --- read-only and full file systems (tmpfs) -----------------------------------------------

@pytest.fixture()
def tmpfs(tmp_path):
    """Mount a small tmpfs; skipped with the reason where the machine does not allow it."""
    mounts = []

    def mount(size_kb: int) -> Path:
        point = tmp_path / f"mnt{len(mounts)}"
        point.mkdir()
        run = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(point)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({run.stderr.strip()})")
        mounts.append(point)
        return point

    yield mount
    for point in reversed(mounts):
        subprocess.run(["umount", "-l", str(point)], check=False)


def remount_read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


def test_a_read_only_file_system_serves_the_last_index_and_does_not_retry(pristine, expected, tmpfs):
    point = tmpfs(8192)
    settings = copy_shelf(pristine, point)
    (settings.documents_dir / "people.txt").write_text(PEOPLE, encoding="utf-8")
    remount_read_only(point)
    opened = open_index(settings)
    assert opened.built is None
    assert any("read-only" in w for w in opened.warnings), opened.warnings
    assert retrieved_ids(opened.index, settings) == expected
    key = (str(settings.index_dir.resolve()), "the documents changed")
    assert key in index_module._FAILED_BUILDS


def test_a_damaged_index_on_a_read_only_file_system_is_refused_clearly(pristine, tmpfs):
    point = tmpfs(8192)
    settings = copy_shelf(pristine, point)
    garbage_after_header(settings.index_dir / "chunks.jsonl")
    remount_read_only(point)
    with pytest.raises(IndexCorruptError, match=r"chunks.jsonl has the wrong checksum.*read-only"):
        open_index(settings)


def test_a_full_disk_serves_the_last_index_and_does_not_retry(pristine, expected, tmp_path, tmpfs):
    staged = copy_shelf(pristine, tmp_path / "staged")
    (staged.documents_dir / "people.txt").write_text(PEOPLE, encoding="utf-8")
    used_kb = sum(p.stat().st_size for p in (tmp_path / "staged").rglob("*") if p.is_file()) // 1024
    point = tmpfs(used_kb + 96)  # room for what is there, not for a second index
    settings = copy_shelf(tmp_path / "staged", point)
    opened = open_index(settings)
    assert opened.built is None
    assert any("the disk is full" in w for w in opened.warnings), opened.warnings
    assert retrieved_ids(opened.index, settings) == expected
    assert leftover_folders(settings) == []  # the half-written folder was removed
    calls = []
    began = time.perf_counter()
    again = open_index(settings, progress=calls.append)
    assert calls == [] and time.perf_counter() - began < 5  # no second build for nothing
    assert any("the disk is full" in w for w in again.warnings)
