"""The index folder on disk: write it atomically, verify every file, load it, recover leftovers.

Every file of an index is listed in its manifest with its size and sha256; the loader checks them
all (a few milliseconds for the report) so that a damaged file is named, never used. A build
writes into `.<name>-build-<pid>-*` beside the index and swaps folders at the end; a build killed
before or during the swap leaves folders that `recover` completes, rolls back or removes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunk import Chunk, sentence_windows
from .errors import IndexCorruptError, IndexMissingError, IndexUnavailableError
from .ingest import file_sha256
from .lexical import LexicalIndex

log = logging.getLogger(__name__)

INDEX_FILES = ("manifest.json", "chunks.jsonl", "dense.faiss", "sentence_vectors.npy", "window_vectors.npy", "bm25",
               "documents")
INDEX_README = """# index/

Built by `assistant index` from every document in `documents/`; never committed.
`manifest.json` says how and from what it was built; `chunks.jsonl` holds one chunk per line.
"""
REBUILD_HINT = "run `assistant index --force` to rebuild it"


@dataclass
class LoadedIndex:
    """An index in memory: chunks, dense vectors (FAISS), BM25, sentence vectors."""

    manifest: dict
    chunks: list[Chunk]
    dense: object  # faiss.Index
    lexical: LexicalIndex
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray  # row of each chunk's first sentence in sentence_vectors
    documents: dict[str, str] = field(default_factory=dict)  # doc_id -> cleaned text
    outlines: dict[str, dict] = field(default_factory=dict)
    window_vectors: np.ndarray | None = None  # one row per sentence window (chunk.sentence_windows)
    window_offsets: np.ndarray | None = None  # row of each chunk's first window in window_vectors


def file_checksums(folder: Path) -> dict[str, dict]:
    """Size and sha256 of every file under `folder` except the manifest, by relative path."""
    listed = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != "manifest.json":
            listed[name] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    return listed


# --- writing ---------------------------------------------------------------------------------

def build_prefix(index_dir: Path) -> str:
    return f".{Path(index_dir).name}-build-"


def old_prefix(index_dir: Path) -> str:
    return f".{Path(index_dir).name}-old-"


def write_index(index_dir: Path, manifest: dict, chunks: list[Chunk], chunk_vectors: np.ndarray,
                sentence_vectors: np.ndarray, window_vectors: np.ndarray, lexical: LexicalIndex,
                documents: dict[str, str]) -> None:
    """Write every file into a fresh folder beside index/, then swap folders. A failure at
    any point leaves the previous index untouched (and no folder behind)."""
    import faiss

    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{build_prefix(index_dir)}{os.getpid()}-", dir=index_dir.parent))
    try:
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(json.dumps(chunk.to_record(), ensure_ascii=False) + "\n")
        dense = faiss.IndexFlatIP(chunk_vectors.shape[1])
        dense.add(chunk_vectors)
        # Serialised here and written by Python, so that a full disk raises OSError like every
        # other write (faiss.write_index reports it as a RuntimeError).
        (staging / "dense.faiss").write_bytes(faiss.serialize_index(dense).tobytes())
        np.save(staging / "sentence_vectors.npy", sentence_vectors, allow_pickle=False)
        np.save(staging / "window_vectors.npy", window_vectors, allow_pickle=False)
        lexical.save(staging / "bm25")
        (staging / "documents").mkdir()
        for doc_id, text in documents.items():
            (staging / "documents" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        (staging / "README.md").write_text(INDEX_README, encoding="utf-8")
        manifest = {**manifest, "files": file_checksums(staging)}
        # The manifest goes last: its presence marks a complete folder.
        with open(staging / "manifest.json", "w", encoding="utf-8") as out:
            out.write(json.dumps(manifest, indent=2, ensure_ascii=False))
            out.flush()
            os.fsync(out.fileno())
        swap(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap(staging: Path, index_dir: Path) -> None:
    """Retire the old folder, move the new one in; put the old one back if that fails.
    Killed between the two renames, `recover` finishes the job at the next start."""
    retired = index_dir.with_name(f"{old_prefix(index_dir)}{os.getpid()}")
    if retired.exists():
        shutil.rmtree(retired)
    if index_dir.exists():
        os.replace(index_dir, retired)
    try:
        os.replace(staging, index_dir)
    except OSError:
        if retired.exists():
            os.replace(retired, index_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


# --- reading and verifying -------------------------------------------------------------------

def read_manifest(index_dir: Path) -> dict:
    """The manifest of an index folder; IndexMissingError when absent, IndexCorruptError when
    it is not a JSON object."""
    path = Path(index_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise IndexMissingError(f"No index in {index_dir}: run `assistant index` to build it.") from error
    except PermissionError as error:
        raise IndexUnavailableError(f"The index in {index_dir} may not be read by this program "
                                    f"({error.strerror}): check the permissions of that folder.") from error
    except (OSError, ValueError) as error:
        raise IndexCorruptError(f"The index file {path} is unreadable ({error}): {REBUILD_HINT}.") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IndexCorruptError(f"The index file {path} does not list the index files: {REBUILD_HINT}.")
    return manifest


def verify_files(index_dir: Path, manifest: dict) -> None:
    """Check that every file the manifest lists is there with its size and sha256, and that the
    required files are listed; raise IndexCorruptError naming the first bad file."""
    index_dir = Path(index_dir)
    listed = manifest["files"]
    for required in ("chunks.jsonl", "dense.faiss", "sentence_vectors.npy", "window_vectors.npy"):
        if required not in listed:
            raise IndexCorruptError(f"The index manifest {index_dir / 'manifest.json'} does not list "
                                    f"{required}: {REBUILD_HINT}.")
    for name, meta in listed.items():
        path = index_dir / name
        try:
            size = path.stat().st_size
            problem = ("has the wrong size" if size != meta.get("size")
                       else "has the wrong checksum" if file_sha256(path) != meta.get("sha256") else None)
        except FileNotFoundError:
            problem = "is missing"
        except OSError as error:
            problem = f"cannot be read ({error.strerror or error})"
        if problem:
            raise IndexCorruptError(f"The index file {path} {problem}: {REBUILD_HINT}.")
    for folder in ("documents", "bm25"):
        if not any(name.startswith(folder + "/") for name in listed):
            raise IndexCorruptError(f"The index folder {index_dir / folder} is missing: {REBUILD_HINT}.")


def load_index(index_dir: Path, verify: bool = True) -> LoadedIndex:
    """Load an index folder after checking every file against the manifest; raise
    IndexMissingError or IndexCorruptError naming the problem."""
    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if verify:
        verify_files(index_dir, manifest)
    current = "manifest.json"
    try:
        current = "chunks.jsonl"
        chunks = [Chunk.from_record(json.loads(line)) for line in
                  (index_dir / current).read_text(encoding="utf-8").splitlines() if line.strip()]
        current = "dense.faiss"
        dense = faiss.read_index(str(index_dir / current))
        current = "sentence_vectors.npy"
        sentence_vectors = np.load(index_dir / current, allow_pickle=False)
        current = "window_vectors.npy"
        window_vectors = np.load(index_dir / current, allow_pickle=False)
        current = "bm25"
        lexical = LexicalIndex.load(index_dir / current)
        current = "documents"
        documents = {p.stem: p.read_text(encoding="utf-8") for p in sorted((index_dir / current).glob("*.txt"))}
    except Exception as error:  # noqa: BLE001 - whatever a damaged file raises, it is named
        raise IndexCorruptError(f"The index file {index_dir / current} is unreadable "
                                f"({type(error).__name__}: {error}): {REBUILD_HINT}.") from error
    check_consistency(index_dir, manifest, chunks, dense, sentence_vectors, lexical, documents)
    windows = window_counts(index_dir, manifest, chunks)
    _check_vectors(index_dir, "window_vectors.npy", window_vectors, sum(windows), "sentence windows",
                   (manifest.get("model") or {}).get("dimension"))
    return LoadedIndex(manifest, chunks, dense, lexical, sentence_vectors, _offsets([len(c.sentences) for c in chunks]),
                       documents, window_vectors=window_vectors, window_offsets=_offsets(windows))


def window_counts(index_dir: Path, manifest: dict, chunks: list[Chunk]) -> list[int]:
    """How many sentence windows each chunk has, with the window size the index was built with."""
    size = (manifest.get("settings") or {}).get("window_sentences")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise IndexCorruptError(f"The index file {Path(index_dir) / 'manifest.json'} does not say how many "
                                f"sentences a window holds: {REBUILD_HINT}.")
    return [len(sentence_windows(c, size)) for c in chunks]


def _offsets(counts: list[int]) -> np.ndarray:
    """The row of each chunk's first vector, given how many vectors each chunk has."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if counts else np.zeros(0, np.int64)


def _check_vectors(index_dir: Path, name: str, vectors: np.ndarray, rows: int, what: str, dim: int | None) -> None:
    """A vector file must be a finite float32 matrix with one row per item and the model's width."""
    problem = ("has the wrong shape or type" if vectors.dtype != np.float32 or vectors.ndim != 2
               or (dim is not None and vectors.shape[1] != dim)
               else f"holds a different number of {what} than chunks.jsonl" if vectors.shape[0] != rows
               else "holds values that are not numbers" if not np.isfinite(vectors).all() else None)
    if problem:
        raise IndexCorruptError(f"The index file {Path(index_dir) / name} {problem}: {REBUILD_HINT}.")


def check_consistency(index_dir: Path, manifest: dict, chunks, dense, sentence_vectors, lexical,
                      documents: dict[str, str]) -> None:
    """Counts and bounds that must agree between the files (a second line of defence behind
    the checksums, for a manifest rewritten by hand)."""
    dim = (manifest.get("model") or {}).get("dimension")
    problems = [
        (any(not c.sentences for c in chunks), "chunks.jsonl", "holds a chunk with no sentences"),
        (dense.ntotal != len(chunks), "dense.faiss", "holds a different number of vectors than chunks.jsonl"),
        (dim is not None and dense.d != dim, "dense.faiss", "has the wrong dimension"),
        (lexical.passages != len(chunks), "bm25", "holds a different number of passages than chunks.jsonl"),
        (not _bm25_parts_match(lexical, chunks), "bm25", "does not index each document's own passages"),
        (any(c.document not in documents or c.end > len(documents[c.document]) for c in chunks),
         "documents", "does not hold the text every chunk points into"),
    ]
    for failed, name, what in problems:
        if failed:
            raise IndexCorruptError(f"The index file {Path(index_dir) / name} {what}: {REBUILD_HINT}.")
    _check_vectors(index_dir, "sentence_vectors.npy", sentence_vectors, sum(len(c.sentences) for c in chunks),
                   "sentences", dim)
    bounds = bm25_bounds_problem(lexical)
    if bounds:
        raise IndexCorruptError(f"The index file {Path(index_dir) / 'bm25'} is damaged ({bounds}): {REBUILD_HINT}.")


def _bm25_parts_match(lexical: LexicalIndex, chunks) -> bool:
    """Each per-document BM25 part covers exactly its document's run of chunks, in order."""
    start = 0
    for part in lexical.parts:
        rows = chunks[part.start:part.start + part.passages]
        if part.start != start or any(c.document != part.document for c in rows):
            return False
        start += part.passages
    return start == len(chunks)


def bm25_bounds_problem(lexical: LexicalIndex) -> str | None:
    """What is wrong with a BM25 score matrix (sparse columns per token), or None: passage
    numbers must lie within its document's part, column pointers must run in order over the
    arrays, token ids must have a column. Out-of-range numbers would otherwise fail on every
    question."""
    for part in lexical.parts:
        problem = _bm25_part_problem(part.retriever)
        if problem:
            return problem
    return None


def _bm25_part_problem(retriever) -> str | None:
    scores = retriever.scores
    data, indices, indptr = (np.asarray(scores[k]) for k in ("data", "indices", "indptr"))
    passages = int(scores["num_docs"])
    vocabulary = retriever.vocab_dict
    if indptr.ndim != 1 or len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != len(indices) or len(data) != len(indices):
        return "its column pointers do not match its arrays"
    if np.any(np.diff(indptr) < 0):
        return "its column pointers are not in order"
    if len(indices) and (indices.min() < 0 or indices.max() >= passages):
        return f"passage numbers outside 0..{passages - 1}"
    if not np.isfinite(data).all():
        return "scores that are not numbers"
    ids = [i for token, i in vocabulary.items() if token]  # bm25s adds "" without a column
    if ids and (min(ids) < 0 or max(ids) >= len(indptr) - 1):
        return "token ids without a column"
    return None


# --- recovery --------------------------------------------------------------------------------

def _pid_of(folder: Path, prefix: str) -> int | None:
    head = folder.name[len(prefix):].split("-")[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True  # a folder of this very process belongs to a build still running in it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def leftovers(index_dir: Path) -> list[Path]:
    """Build and retired folders beside the index whose process is gone."""
    index_dir = Path(index_dir)
    if not index_dir.parent.is_dir():
        return []
    found = []
    for prefix in (build_prefix(index_dir), old_prefix(index_dir)):
        found += [p for p in index_dir.parent.glob(prefix + "*") if p.is_dir() and not _alive(_pid_of(p, prefix))]
    return sorted(found)


def _usable(folder: Path) -> bool:
    try:
        load_index(folder)
        return True
    except Exception:  # noqa: BLE001 - an unusable candidate is simply not chosen
        return False


def recover(index_dir: Path) -> list[str]:
    """Call under the build lock. When index/ is missing but a swap was interrupted, complete it
    (a finished new folder) or roll it back (the retired folder); then remove the leftovers of
    dead builds. Return what was done, in words."""
    index_dir = Path(index_dir)
    notes = []
    dead = leftovers(index_dir)
    if not index_dir.exists() and dead:
        # Newest first; a finished build folder is preferred: it is what the swap was installing.
        builds = [p for p in dead if p.name.startswith(build_prefix(index_dir))]
        olds = [p for p in dead if p.name.startswith(old_prefix(index_dir))]
        by_age = lambda paths: sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True)  # noqa: E731
        for candidate in by_age(builds) + by_age(olds):
            if _usable(candidate):
                os.replace(candidate, index_dir)
                kind = "completed the interrupted swap" if candidate in builds else "rolled back the interrupted swap"
                notes.append(f"{index_dir} was missing after an interrupted rebuild: {kind} from {candidate.name}.")
                dead.remove(candidate)
                break
    for folder in dead:
        shutil.rmtree(folder, ignore_errors=True)
    if dead:
        notes.append(f"Removed {len(dead)} folder(s) left by interrupted builds beside {index_dir}.")
    for note in notes:
        log.warning("%s", note)
    return notes
