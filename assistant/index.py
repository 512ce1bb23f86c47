"""Build the index, decide when it is stale, and open it whatever state the disk is in.

`open_index` is the one entry point for a program that wants to answer questions: it repairs
an interrupted rebuild, builds when needed, verifies what it loads, rebuilds a damaged index
once, and serves the last complete index with a warning when a rebuild cannot be written.
The files themselves are written, verified and loaded by `store`; embeddings come through
`cache`, so only texts never embedded before cost model time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .cache import EmbeddingCache, cache_dir_for, cached_embed
from .chunk import Chunk, chunk_document, sentence_windows
from .clean import clean_document
from .config import INDEX_FORMAT_VERSION, Settings
from .embed import load_embedder
from .errors import AssistantError, IndexCorruptError, IndexMissingError, IndexUnavailableError, NoDocumentsError
from .ingest import Limits, describe_error, document_files, file_sha256, read_document
from .profile import PROFILE_SUFFIXES
from .lexical import LexicalIndex, lexical_text
from .store import INDEX_FILES, LoadedIndex, load_index, read_manifest, recover, write_index
from .structure import structure_document

# The shelf's read side (what the index holds) and its changes live in `shelf`.
__all__ = ["BuildProgress", "BuildReport", "LoadedIndex", "OpenedIndex", "ProgressCallback", "build_index",
           "build_lock", "ensure_index", "load_index", "open_index", "staleness", "INDEX_FILES"]
log = logging.getLogger(__name__)


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
    embedded: int = 0  # texts sent to the model; the others came from the embedding cache


@dataclass(frozen=True)
class OpenedIndex:
    """An index ready to answer from, and what the user should know about it."""

    index: LoadedIndex
    warnings: tuple[str, ...] = ()
    built: BuildReport | None = None  # set when this call built the index


ProgressCallback = Callable[[BuildProgress], None]


# --- staleness -------------------------------------------------------------------------------

_CHECKSUMS: dict[tuple, str] = {}  # (path, size, mtime, inode) -> sha256: unchanged files are not re-read


def _checksum(path: Path) -> str:
    """The file's sha256, or 'unreadable (...)': a file we may not read must not stop the check
    (the build skips it with the same reason, so the index stays fresh until it changes)."""
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if key not in _CHECKSUMS:
            _CHECKSUMS[key] = file_sha256(path)
        return _CHECKSUMS[key]
    except OSError as error:
        return f"unreadable ({error.strerror or type(error).__name__})"


def source_checksums(documents_dir: Path) -> dict[str, str]:
    """Checksums of every document and every profile or outline file the index is built from."""
    try:
        files = document_files(documents_dir)
    except NoDocumentsError:
        return {}
    extras = [p for suffix in PROFILE_SUFFIXES for p in Path(documents_dir).glob(f"*{suffix}")]
    return {p.name: _checksum(p) for p in sorted(files + extras)}


def staleness(settings: Settings) -> str | None:
    """Why the index must be (re)built, or None when it is fresh. Cheap, and never raises: it
    reads the manifest and checksums the documents (unchanged files are remembered)."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexMissingError:
        return "no index has been built yet"
    except (AssistantError, OSError):
        return "the index manifest is unreadable"
    checks = [
        (manifest.get("format_version") != INDEX_FORMAT_VERSION, "the index format changed"),
        (manifest.get("settings") != _jsonable(settings.index_fingerprint()), "index settings changed"),
        (manifest.get("sources") != source_checksums(settings.documents_dir), "the documents changed"),
    ]
    return next((why for failed, why in checks if failed), None)


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


# --- building --------------------------------------------------------------------------------

def build_index(settings: Settings, progress: ProgressCallback | None = None) -> BuildReport:
    """Build the index into a temporary folder and swap it in only when complete. Vectors of
    texts embedded before (by any earlier build) come from the embedding cache."""
    began = time.perf_counter()
    notify = progress or (lambda _p: None)
    sources = source_checksums(settings.documents_dir)  # before reading: a later edit makes it stale
    documents, skipped = read_documents(settings, notify)
    documents, structured, per_doc = prepare_documents(documents, settings, skipped, notify)
    chunks = [c for doc_chunks in per_doc for c in doc_chunks]
    embedder = load_embedder(settings.embedder)
    cache = _open_cache(settings, embedder)
    before = len(cache)
    chunk_vectors = cached_embed(cache, embedder.passages,
                                 [embedding_text(c, settings.embed_section_titles) for c in chunks],
                                 lambda done, total: notify(BuildProgress("embedding chunks", done, total)))
    sentences = [c.text[a:b] for c in chunks for a, b in c.sentences]
    headings = np.array([c.opens_with_heading and k == 0 for c in chunks for k in range(len(c.sentences))], dtype=bool)
    sentence_vectors = cached_embed(cache, embedder.passages, sentences,
                                    lambda done, total: notify(BuildProgress("embedding sentences", done, total)))
    # A heading is not evidence: a zero vector keeps it out of the best-sentence ranking.
    if len(headings):
        sentence_vectors[headings] = 0.0
    windows = [c.text[a:b] for c in chunks for a, b in sentence_windows(c, settings.window_sentences)]
    window_vectors = cached_embed(cache, embedder.passages, windows,
                                  lambda done, total: notify(BuildProgress("embedding sentence windows", done, total)))
    notify(BuildProgress("writing index", 0, 1))
    # Each chunk takes its own document's aliases: two documents may share a heading.
    aliases = {doc.doc_id: doc.aliases for doc in structured}
    lexical = LexicalIndex.build([lexical_text(c, aliases.get(c.document, {})) for c in chunks],
                                 [c.document for c in chunks])
    pages = [len(s.pages) if s.kind == "pdf" else len({p.page for p in d.paragraphs if p.page}) or 1
             for s, d in zip(documents, structured)]
    manifest = {
        "format_version": INDEX_FORMAT_VERSION,
        "package_version": __version__,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": embedder.name, "key": settings.embedder, "dimension": embedder.dim},
        "embedded_as": "section path (last two parts), a newline, then the chunk text" if settings.embed_section_titles else "chunk text",
        "settings": _jsonable(settings.index_fingerprint()),
        "sources": sources,
        # short_title: what lists and cards call the document (from its profile, where the
        # structured document carries one); the shelf falls back to a shortened title.
        "documents": [{"id": d.doc_id, "title": d.title, "short_title": d.short_title or None,
                       "citation": d.citation, "file": s.path.name,
                       "pages": n_pages, "chunks": len(doc_chunks), "characters": len(d.text),
                       "sections": len(d.sections), "summary_chapters": list(d.summary_chapters)}
                      for s, d, n_pages, doc_chunks in zip(documents, structured, pages, per_doc)],
        "counts": {"documents": len(structured), "pages_known": sum(pages),
                   "sections": sum(len(d.sections) for d in structured),
                   "chunks": len(chunks), "body_chunks": sum(c.kind == "body" for c in chunks),
                   "sentences": len(sentences), "windows": len(windows)},
        "skipped": [{"file": name, "reason": why} for name, why in skipped],
    }
    write_index(settings.index_dir, manifest, chunks, chunk_vectors, sentence_vectors, window_vectors, lexical,
                {d.doc_id: d.text for d in structured})
    notify(BuildProgress("writing index", 1, 1))
    notify(BuildProgress("done", 1, 1))
    return BuildReport(len(structured), sum(pages), manifest["counts"]["sections"], len(chunks),
                       time.perf_counter() - began, tuple(skipped), len(cache) - before)


def read_documents(settings: Settings, notify: ProgressCallback):
    """Every readable document of the shelf, and (file, reason) for each one skipped."""
    files = document_files(settings.documents_dir)
    if not files:
        raise NoDocumentsError(f"No .pdf, .txt or .md file in {settings.documents_dir}: put the report there (see README).")
    limits = Limits(settings.max_document_pages, settings.max_document_chars)
    documents, skipped = [], []
    for i, path in enumerate(files):
        notify(BuildProgress("reading documents", i, len(files)))
        try:
            documents.append(read_document(path, limits))
        except AssistantError as error:  # read_document turns any failure into a DocumentError
            log.warning("Skipped %s", error)
            skipped.append((path.name, str(error)))
    notify(BuildProgress("reading documents", len(files), len(files)))
    if not documents:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped)
        raise NoDocumentsError(f"No document in {settings.documents_dir} could be read ({reasons}).")
    return documents, skipped


def prepare_documents(documents, settings: Settings, skipped: list, notify: ProgressCallback):
    """Clean, structure and chunk each document. A document whose text trips a later stage is
    skipped with its name like an unreadable file (appended to `skipped`), not fatal."""
    kept, structured, per_doc = [], [], []
    for i, source in enumerate(documents):
        notify(BuildProgress("cleaning and structuring", i, len(documents)))
        try:
            doc = structure_document(clean_document(source), source.path)
            doc_chunks = chunk_document(doc, settings.chunk_target_words, settings.chunk_max_words)
        except Exception as error:  # noqa: BLE001 - one odd document must not stop the shelf
            reason = f"{source.path.name}: its text could not be processed ({describe_error(error)})."
            log.warning("Skipped %s", reason)
            skipped.append((source.path.name, reason))
            continue
        if not doc_chunks:
            skipped.append((source.path.name, f"{source.path.name}: no passage of text was found in it."))
            continue
        kept.append(source)
        structured.append(doc)
        per_doc.append(doc_chunks)
    notify(BuildProgress("cleaning and structuring", len(documents), len(documents)))
    if not structured:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped)
        raise NoDocumentsError(f"No document in {settings.documents_dir} could be indexed ({reasons}).")
    return kept, structured, per_doc


def _open_cache(settings: Settings, embedder) -> EmbeddingCache:
    cache = EmbeddingCache(cache_dir_for(settings.index_dir, settings.embedder), embedder.name, embedder.dim)
    for problem in cache.ignored:
        log.warning("Embedding cache: ignored a damaged segment (%s); its texts are embedded again.", problem)
    return cache


def embedding_text(chunk: Chunk, with_section_titles: bool = True) -> str:
    """What is embedded for a chunk: its closest headings give context the text lacks."""
    if chunk.kind != "body":
        return chunk.text
    if not with_section_titles:
        return chunk.text_after_heading()
    return f"{' > '.join(chunk.section.split(' > ')[-2:])}\n{chunk.text_after_heading()}"


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: bool = True):
    """One build at a time per index folder (the app and the CLI may start together): an
    exclusive lock on a file beside the folder, released when the holder exits or dies.
    With wait=False, raise BlockingIOError at once when another process holds it."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(index_dir.with_name(f".{index_dir.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_index(settings: Settings, progress: ProgressCallback | None = None, force: bool = False) -> BuildReport | None:
    """Build the index when it is missing, stale or `force` is set; return the report, else None.
    Under the lock it first repairs an interrupted rebuild and removes dead builds' folders."""
    if not force and not staleness(settings) and not _has_leftovers(settings.index_dir):
        return None
    with build_lock(settings.index_dir):
        recover(settings.index_dir)
        # Another process may have built it while this one waited for the lock.
        if force or staleness(settings):
            return build_index(settings, progress)
    return None


def _has_leftovers(index_dir: Path) -> bool:
    from .store import leftovers

    return bool(leftovers(index_dir))


# --- opening, whatever the state of the disk -------------------------------------------------

# Rebuilds that could not be written, by (index folder, why it was stale): the next open in this
# process serves the last index at once instead of building for minutes to fail again.
_FAILED_BUILDS: dict[tuple[str, str], str] = {}


def open_index(settings: Settings, progress: ProgressCallback | None = None, force: bool = False) -> OpenedIndex:
    """The index to answer from, built, repaired or verified as needed (see the module doc).
    Raises IndexUnavailableError when there is no usable index and none can be written,
    NoDocumentsError when there is nothing to build from, IndexCorruptError when a damaged
    index cannot be rebuilt."""
    index_dir = Path(settings.index_dir)
    warnings = _recover_quietly(index_dir)
    why = "a rebuild was asked for" if force else staleness(settings)
    built, failure = _try_build(settings, progress, force, why) if why else (None, None)
    try:
        index = load_index(index_dir)
    except IndexMissingError as error:
        if failure:
            raise IndexUnavailableError(f"There is no index in {index_dir} and none can be built: {failure} "
                                        "Make that folder writable (or free disk space), or use another "
                                        "--index-dir.") from error
        raise
    except IndexCorruptError as error:
        index, note, built = _rebuild_damaged(settings, progress, error, failure)
        warnings.append(note)
    if failure:
        warnings.append(f"{failure} Answers come from the last complete index "
                        f"(built {index.manifest.get('built_at')}).")
    return OpenedIndex(index, tuple(warnings), built)


def _recover_quietly(index_dir: Path) -> list[str]:
    """Repair an interrupted swap and clear dead builds' folders. When index/ is missing this
    waits for a running build (it may be mid-swap); else it only tries the lock, so that
    opening never waits behind someone else's long build just to tidy up."""
    from .store import leftovers

    try:
        if index_dir.exists() and not leftovers(index_dir):
            return []
        with build_lock(index_dir, wait=not index_dir.exists()):
            return recover(index_dir)
    except BlockingIOError:
        return []
    except OSError as error:  # a read-only place: nothing can be tidied, the load decides
        log.warning("Could not check %s for interrupted builds (%s).", index_dir, error)
        return []


def _try_build(settings: Settings, progress, force: bool, why: str) -> tuple[BuildReport | None, str | None]:
    """Build; when the result cannot be written, say why (once per staleness reason per process)."""
    key = (str(Path(settings.index_dir).resolve()), why)
    if key in _FAILED_BUILDS:
        return None, _FAILED_BUILDS[key]
    try:
        return ensure_index(settings, progress, force), None
    except OSError as error:
        message = (f"The index needs rebuilding ({why}) but it cannot be written in "
                   f"{settings.index_dir.parent}: {_describe(error)}.")
        log.warning("%s", message)
        _FAILED_BUILDS[key] = message
        return None, message


def _describe(error: OSError) -> str:
    import errno

    plain = {errno.EROFS: "the file system is read-only", errno.ENOSPC: "the disk is full",
             errno.EDQUOT: "the disk quota is exceeded", errno.EACCES: "permission denied",
             errno.EPERM: "permission denied", errno.EFBIG: "a file would be too large"}
    what = plain.get(error.errno, error.strerror or str(error) or type(error).__name__)
    where = f" ({error.filename})" if error.filename else ""
    return f"{what}{where}"


def _rebuild_damaged(settings: Settings, progress, error: IndexCorruptError, failure: str | None):
    """Rebuild a damaged index once (cheap: embeddings come from the cache) and load it."""
    if failure:
        raise IndexCorruptError(f"{error} It cannot be rebuilt here: {failure}") from error
    log.warning("%s Rebuilding it.", error)
    try:
        built = ensure_index(settings, progress, force=True)
    except OSError as write_error:
        raise IndexCorruptError(f"{error} It cannot be rebuilt here: {_describe(write_error)}. Make "
                                f"{settings.index_dir.parent} writable, or use another --index-dir.") from write_error
    index = load_index(settings.index_dir)
    return index, f"The index was damaged and has been rebuilt ({_first_sentence(str(error))}).", built


def _first_sentence(text: str) -> str:
    return text.split(": run")[0]
