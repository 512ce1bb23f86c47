"""Build, save, load and check the index folder: plain files (JSON, JSONL, .npy, FAISS), no pickle."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .chunk import Chunk, chunk_document
from .clean import clean_document
from .config import INDEX_FORMAT_VERSION, Settings
from .embed import load_embedder
from .errors import IndexCorruptError, IndexMissingError
from .ingest import document_files, file_sha256, read_folder
from .lexical import LexicalIndex, lexical_text
from .structure import structure_document

INDEX_FILES = ("manifest.json", "chunks.jsonl", "dense.faiss", "sentence_vectors.npy", "bm25", "documents")
# Source files whose logic shapes the index: a change to any of them makes the index stale.
PIPELINE_MODULES = ("ingest.py", "clean.py", "structure.py", "chunk.py", "text.py", "embed.py", "lexical.py", "index.py")
INDEX_README = """# index/

Built by `assistant index` from every document in `documents/`; never committed.
`manifest.json` says how and from what it was built; `chunks.jsonl` holds one chunk per line.
"""


@dataclass(frozen=True)
class BuildProgress:
    """Where a build is: stage name and counts, for progress bars."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class BuildReport:
    """What a build produced."""

    documents: int
    pages: int
    sections: int
    chunks: int
    seconds: float
    skipped: tuple[tuple[str, str], ...] = ()


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


ProgressCallback = Callable[[BuildProgress], None]


def _hash_pipeline_sources() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in PIPELINE_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


# Taken when this module is imported (after the stages it imports), so that it describes the
# code this process runs even if the files change on disk while it runs.
_PIPELINE_HASH = _hash_pipeline_sources()


def pipeline_hash() -> str:
    """Checksum of the code that shapes the index."""
    return _PIPELINE_HASH


def source_checksums(documents_dir: Path) -> dict[str, str]:
    """Checksums of every document and outline file that the index is built from."""
    files = document_files(documents_dir) if documents_dir.is_dir() else []
    outlines = sorted(documents_dir.glob("*.outline.json")) if documents_dir.is_dir() else []
    return {p.name: file_sha256(p) for p in files + outlines}


def staleness(settings: Settings) -> str | None:
    """Why the index must be (re)built, or None when it is fresh."""
    manifest_path = settings.index_dir / "manifest.json"
    if not manifest_path.exists():
        return "no index has been built yet"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "the index manifest is unreadable"
    missing = [name for name in INDEX_FILES if not (settings.index_dir / name).exists()]
    checks = [
        (missing, f"index files are missing: {', '.join(missing)}"),
        (manifest.get("format_version") != INDEX_FORMAT_VERSION, "the index format changed"),
        (manifest.get("settings") != _jsonable(settings.index_fingerprint()), "index settings changed"),
        (manifest.get("pipeline") != pipeline_hash(), "the indexing code changed"),
        (manifest.get("sources") != source_checksums(settings.documents_dir), "the documents changed"),
    ]
    return next((why for failed, why in checks if failed), None)


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def build_index(settings: Settings, progress: ProgressCallback | None = None) -> BuildReport:
    """Build the index into a temporary folder and swap it in only when complete."""
    began = time.perf_counter()
    notify = progress or (lambda _p: None)
    notify(BuildProgress("reading documents", 0, 1))
    report = read_folder(settings.documents_dir)
    structured = []
    for i, source in enumerate(report.documents):
        notify(BuildProgress("cleaning and structuring", i, len(report.documents)))
        structured.append(structure_document(clean_document(source), source.path))
    chunks = [c for doc in structured for c in chunk_document(doc, settings.chunk_target_words, settings.chunk_max_words)]
    embedder = load_embedder(settings.embedder)
    chunk_vectors = _embed(embedder.passages, [embedding_text(c, settings.embed_section_titles) for c in chunks],
                           "embedding chunks", notify)
    sentences = [c.text[a:b] for c in chunks for a, b in c.sentences]
    headings = np.array([c.opens_with_heading and k == 0 for c in chunks for k in range(len(c.sentences))])
    sentence_vectors = _embed(embedder.passages, sentences, "embedding sentences", notify)
    # A heading is not evidence: a zero vector keeps it out of the best-sentence ranking.
    sentence_vectors[headings] = 0.0
    aliases = {k: v for doc in structured for k, v in doc.aliases.items()}
    lexical = LexicalIndex.build([lexical_text(c, aliases) for c in chunks])
    pages = sum(len(s.pages) if s.kind == "pdf" else len({p.page for p in d.paragraphs if p.page}) or 1
                for s, d in zip(report.documents, structured))
    sections = sum(len(d.sections) for d in structured)
    manifest = {
        "format_version": INDEX_FORMAT_VERSION,
        "package_version": __version__,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": embedder.name, "key": settings.embedder, "dimension": embedder.dim},
        "embedded_as": "section path (last two parts), a newline, then the chunk text" if settings.embed_section_titles else "chunk text",
        "settings": _jsonable(settings.index_fingerprint()),
        "pipeline": pipeline_hash(),
        "sources": source_checksums(settings.documents_dir),
        "documents": [{"id": d.doc_id, "title": d.title, "citation": d.citation,
                       "sections": len(d.sections), "summary_chapters": list(d.summary_chapters)} for d in structured],
        "counts": {"documents": len(structured), "pages_known": pages, "sections": sections,
                   "chunks": len(chunks), "body_chunks": sum(c.kind == "body" for c in chunks),
                   "sentences": len(sentences)},
        "skipped": [{"file": name, "reason": why} for name, why in report.skipped],
    }
    notify(BuildProgress("writing index", 0, 1))
    _write_atomically(settings.index_dir, manifest, chunks, chunk_vectors, sentence_vectors, lexical, structured)
    notify(BuildProgress("done", 1, 1))
    return BuildReport(len(structured), pages, sections, len(chunks), time.perf_counter() - began, report.skipped)


def embedding_text(chunk: Chunk, with_section_titles: bool = True) -> str:
    """What is embedded for a chunk: its closest headings give context the text lacks."""
    if chunk.kind != "body":
        return chunk.text
    if not with_section_titles:
        return chunk.text_after_heading()
    return f"{' > '.join(chunk.section.split(' > ')[-2:])}\n{chunk.text_after_heading()}"


def _embed(encode, texts: list[str], stage: str, notify: ProgressCallback, batch: int = 32) -> np.ndarray:
    rows = []
    for start in range(0, len(texts), batch):
        notify(BuildProgress(stage, start, len(texts)))
        rows.append(encode(texts[start:start + batch]))
    notify(BuildProgress(stage, len(texts), len(texts)))
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 1), np.float32)


def _write_atomically(index_dir: Path, manifest, chunks, chunk_vectors, sentence_vectors, lexical, structured) -> None:
    """Write every file into a fresh folder beside index/, then swap folders. A failure at
    any point leaves the previous index untouched."""
    import faiss

    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".index-build-", dir=index_dir.parent))
    try:
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(json.dumps(chunk.to_record(), ensure_ascii=False) + "\n")
        dense = faiss.IndexFlatIP(chunk_vectors.shape[1])
        dense.add(chunk_vectors)
        faiss.write_index(dense, str(staging / "dense.faiss"))
        np.save(staging / "sentence_vectors.npy", sentence_vectors, allow_pickle=False)
        lexical.save(staging / "bm25")
        (staging / "documents").mkdir()
        for doc in structured:
            (staging / "documents" / f"{doc.doc_id}.txt").write_text(doc.text, encoding="utf-8")
        (staging / "README.md").write_text(INDEX_README, encoding="utf-8")
        # The manifest goes last: its presence marks a complete index.
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _swap(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, index_dir: Path) -> None:
    """Retire the old folder, move the new one in; put the old one back if that fails."""
    retired = index_dir.with_name(f".index-old-{os.getpid()}")
    if index_dir.exists():
        os.replace(index_dir, retired)
    try:
        os.replace(staging, index_dir)
    except OSError:
        if retired.exists():
            os.replace(retired, index_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def load_index(index_dir: Path) -> LoadedIndex:
    """Load an index folder; raise IndexMissingError or IndexCorruptError naming the problem."""
    import faiss

    index_dir = Path(index_dir)
    if not (index_dir / "manifest.json").exists():
        raise IndexMissingError(f"No index in {index_dir}: run `assistant index` to build it.")
    for name in INDEX_FILES:
        if not (index_dir / name).exists():
            raise IndexCorruptError(f"The index file {index_dir / name} is missing: run `assistant index --force`.")
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        chunks = [Chunk.from_record(json.loads(line)) for line in
                  (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        dense = faiss.read_index(str(index_dir / "dense.faiss"))
        sentence_vectors = np.load(index_dir / "sentence_vectors.npy", allow_pickle=False)
        lexical = LexicalIndex.load(index_dir / "bm25")
        documents = {p.stem: p.read_text(encoding="utf-8") for p in sorted((index_dir / "documents").glob("*.txt"))}
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise IndexCorruptError(f"The index in {index_dir} is unreadable ({error}): run `assistant index --force`.") from error
    counts = [len(c.sentences) for c in chunks]
    if dense.ntotal != len(chunks) or sentence_vectors.shape[0] != sum(counts):
        raise IndexCorruptError(f"The index in {index_dir} is inconsistent (vector and chunk counts differ): "
                                "run `assistant index --force`.")
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if counts else np.zeros(0, np.int64)
    return LoadedIndex(manifest, chunks, dense, lexical, sentence_vectors, offsets, documents)


def ensure_index(settings: Settings, progress: ProgressCallback | None = None, force: bool = False) -> BuildReport | None:
    """Build the index when it is missing, stale or `force` is set; return the report, else None."""
    if not force and not staleness(settings):
        return None
    with build_lock(settings.index_dir):
        # Another process may have built it while this one waited for the lock.
        if force or staleness(settings):
            return build_index(settings, progress)
    return None


@contextlib.contextmanager
def build_lock(index_dir: Path):
    """One build at a time per index folder (the app and the CLI may start together): an
    exclusive lock on a file beside the folder, released when the holder exits or dies."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(index_dir.with_name(f".{index_dir.name}.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
