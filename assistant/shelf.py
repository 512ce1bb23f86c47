"""The shelf: which documents the index holds, and adding or removing them (files and index together).

A shelf change moves files in the documents folder and then rebuilds the index (embedding only
new texts). The two stay in step: if the rebuild fails or is interrupted, the files are put back
as they were and the last complete index is kept. One change runs at a time per documents
folder (a lock beside it); a change killed outright (SIGKILL, power cut) leaves a
`.shelf-undo-*` folder with a journal, which the next change finishes or undoes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import AssistantError
from .index import ProgressCallback, ensure_index, staleness
from .ingest import SUPPORTED_SUFFIXES
from .profile import PROFILE_SUFFIXES
from .store import LoadedIndex, read_manifest

__all__ = ["COMPANIONS", "FileCheck", "NotAdded", "SHELF_RESTORED", "Shelf", "ShelfChange", "ShelfChangeReport",
           "ShelfDocument", "ShelfError", "SkippedFile", "SUFFIXES", "Upload", "add_documents", "add_uploads",
           "apply_additions", "check_files", "check_new_file", "document_name", "read_shelf", "recover_changes",
           "remove_document", "shelf_change", "shelf_files", "short_title"]
log = logging.getLogger(__name__)

SUFFIXES = SUPPORTED_SUFFIXES  # what can be added: what the index reads
COMPANIONS = PROFILE_SUFFIXES  # per-document files that go with a document
UNDO_PREFIX = ".shelf-undo-"  # a hidden folder: never read as a document
JOURNAL = "journal.json"
# Added to the error that interrupted a change, once its files are back as they were.
SHELF_RESTORED = "The shelf was left as it was."
SHORT_TITLE_CHARS = 48


class ShelfError(AssistantError):
    """A shelf change cannot be made as asked (unknown document, the last document, a bad name)."""


# --- reading the shelf -------------------------------------------------------------------------


@dataclass(frozen=True)
class ShelfDocument:
    """One indexed document, for the document list."""

    name: str  # the document id: its file name without the extension
    title: str
    file: str
    pages: int
    chunks: int
    short_title: str = ""  # what cards and lists call it when the shelf holds several documents


@dataclass(frozen=True)
class SkippedFile:
    """A file of documents/ that is not indexed, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class Shelf:
    """What the index holds and what it left out."""

    documents: tuple[ShelfDocument, ...]
    skipped: tuple[SkippedFile, ...]
    built_at: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.documents)

    def document(self, name: str) -> ShelfDocument | None:
        return next((d for d in self.documents if d.name == name), None)

    def short_titles(self) -> dict[str, str]:
        """Each document's short title by name."""
        return {d.name: d.short_title or d.name for d in self.documents}


def short_title(entry: dict) -> str:
    """A manifest entry's short title: the profile's when it has one, else the title cut at a
    word boundary, else the document's name."""
    given = " ".join(str(entry.get("short_title") or "").split())
    if given:
        return given
    title = " ".join(str(entry.get("title") or "").split())
    if not title:
        return entry.get("id", "")
    if len(title) <= SHORT_TITLE_CHARS:
        return title
    cut = title[: SHORT_TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:/-–")
    return f"{cut}…"


def read_shelf(settings: Settings, index: LoadedIndex | None = None) -> Shelf:
    """The documents of the index (the one given, else the one on disk, unverified) and the
    files it skipped; an empty shelf when there is no readable index."""
    if index is not None:
        manifest = index.manifest
    else:
        try:
            manifest = read_manifest(settings.index_dir)
        except (AssistantError, OSError):
            return Shelf((), (), None)
    chunk_counts: dict[str, int] = {}
    for chunk in index.chunks if index is not None else ():
        chunk_counts[chunk.document] = chunk_counts.get(chunk.document, 0) + 1
    documents = tuple(ShelfDocument(d.get("id", ""), d.get("title") or d.get("id", ""), d.get("file", ""),
                                    int(d.get("pages") or 0), int(d.get("chunks", chunk_counts.get(d.get("id"), 0))),
                                    short_title(d))
                      for d in manifest.get("documents", []))
    skipped = tuple(SkippedFile(s.get("file", ""), s.get("reason", "")) for s in manifest.get("skipped", []))
    return Shelf(documents, skipped, manifest.get("built_at"))


def document_name(name: str) -> str:
    """A document's name on the shelf is its file name without the suffix."""
    path = Path(name.strip())
    return path.stem if path.suffix.lower() in SUFFIXES else path.name


def shelf_files(folder: Path) -> dict[str, list[Path]]:
    """The document files of the documents folder by name (a name may have, wrongly, two files:
    report.pdf and report.txt)."""
    files: dict[str, list[Path]] = {}
    if Path(folder).is_dir():
        for path in sorted(Path(folder).iterdir()):
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                files.setdefault(path.stem, []).append(path)
    return files


# --- checking new files ------------------------------------------------------------------------


@dataclass(frozen=True)
class NotAdded:
    """A file that is not on the shelf (or not in the index) after a change, and why."""

    file: str  # as the user named it: a path, or an uploaded file's name
    reason: str


@dataclass(frozen=True)
class FileCheck:
    """Files that may be added, and those refused before anything changed."""

    accepted: tuple[Path, ...]
    refused: tuple[NotAdded, ...]


def check_new_file(path: Path, on_shelf: dict, taken: set, replace: bool,
                   replace_hint: str = "use --replace to replace it") -> str | None:
    """Why a file cannot be added, or None. Reading it here, with the reader the index uses,
    keeps a bad file off the shelf instead of finding out in the middle of a build."""
    from .ingest import read_document

    if not path.is_file():
        return "no such file" if not path.exists() else "not a file"
    if path.suffix.lower() not in SUFFIXES:
        return f"only {', '.join(SUFFIXES)} files can be added, not {path.suffix or 'a file without a suffix'}"
    if path.name.startswith(".") or not path.stem.strip():
        return "its name must not start with a dot"
    if path.stem in taken:
        return f"another file named {path.stem!r} is being added"
    if path.stem in on_shelf and not replace:
        return f"a document named {path.stem!r} is already on the shelf; {replace_hint}"
    try:
        read_document(path)
    except AssistantError as error:
        return str(error).removeprefix(f"{path.name}: ")
    except Exception as error:  # the PDF reader raises many types on damaged files
        return f"cannot be read ({type(error).__name__}: {error})"
    return None


def check_files(paths: Iterable[str | Path], settings: Settings, replace: bool = False,
                replace_hint: str = "use --replace to replace it") -> FileCheck:
    """Each file checked for adding (see check_new_file), in the order given."""
    on_shelf = shelf_files(settings.documents_dir)
    accepted: list[Path] = []
    refused: list[NotAdded] = []
    for name in paths:
        path = Path(name)
        problem = check_new_file(path, on_shelf, {p.stem for p in accepted}, replace, replace_hint)
        if problem:
            refused.append(NotAdded(str(name), problem))
        else:
            accepted.append(path)
    return FileCheck(tuple(accepted), tuple(refused))


# --- changing the shelf --------------------------------------------------------------------------


@dataclass(frozen=True)
class ShelfChangeReport:
    """What a shelf change did."""

    added: tuple[ShelfDocument, ...] = ()
    not_added: tuple[NotAdded, ...] = ()  # refused before the change (bad, missing, name taken)
    not_indexed: tuple[NotAdded, ...] = ()  # put on the shelf, but the build skipped it
    removed: tuple[str, ...] = ()  # file names taken off the shelf
    shelf: Shelf | None = None  # the shelf after the change (None when nothing changed)

    @property
    def ok(self) -> bool:
        """Everything asked for was done."""
        return not self.not_added and not self.not_indexed


class ShelfChange:
    """Files put on or taken off the shelf, undone together if the index cannot be rebuilt.
    A journal in the undo folder says what was done, for a later process to finish or undo it
    when this one is killed before it can."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.backup = Path(tempfile.mkdtemp(prefix=UNDO_PREFIX, dir=self.folder))
        self.added: list[Path] = []
        self.taken: list[Path] = []
        self._write_journal()

    def put(self, source: Path) -> None:
        """Copy a file onto the shelf (setting aside the document it replaces)."""
        for old in shelf_files(self.folder).get(source.stem, []):
            if old.exists() and old.resolve() != Path(source).resolve():
                self.take(old)
        target = self.folder / source.name
        if target.exists() and target.resolve() == Path(source).resolve():
            return  # already in place: only (re)index it
        self.added.append(target)
        self._write_journal()  # before the file appears: a kill in between leaves nothing unknown
        partial = self.backup / f"{source.name}.part"
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # whole or not at all: a build never reads half a file

    def take(self, path: Path) -> None:
        """Move a file off the shelf, keeping it until the change is done."""
        if path.exists():
            self.taken.append(path)
            self._write_journal()
            os.replace(path, self.backup / path.name)

    def undo(self) -> None:
        """Put the files back as they were before the change."""
        _undo(self.folder, self.backup, [p.name for p in self.added], [p.name for p in self.taken])

    def finish(self) -> None:
        shutil.rmtree(self.backup, ignore_errors=True)

    def _write_journal(self) -> None:
        journal = {"added": [p.name for p in self.added], "taken": [p.name for p in self.taken]}
        partial = self.backup / f"{JOURNAL}.part"
        partial.write_text(json.dumps(journal), encoding="utf-8")
        os.replace(partial, self.backup / JOURNAL)


def _undo(folder: Path, backup: Path, added: list[str], taken: list[str]) -> None:
    for name in added:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    for name in taken:
        if (backup / name).exists():
            os.replace(backup / name, folder / name)


@contextlib.contextmanager
def shelf_lock(folder: Path):
    """One shelf change at a time per documents folder (the app and the CLI may both change it):
    an exclusive lock on a hidden file beside the folder (as index.build_lock does), released
    when the holder exits or dies."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(f".{folder.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recover_changes(settings: Settings) -> list[str]:
    """Finish or undo shelf changes whose process died (call under the shelf lock, so that no
    live change is touched). When the index was built from the files as they are now, the
    change got that far: only its undo folder is removed. Otherwise its files are put back.
    Returns what was done, one line per change."""
    folder = Path(settings.documents_dir)
    done = []
    for backup in sorted(folder.glob(f"{UNDO_PREFIX}*")) if folder.is_dir() else ():
        if not backup.is_dir():
            continue
        try:
            journal = json.loads((backup / JOURNAL).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # No journal (an older version, or killed while creating it): restore what was
            # set aside where nothing has taken its place; added files cannot be known.
            journal = {"added": [], "taken": [p.name for p in backup.iterdir()
                                             if not p.name.endswith(".part") and p.name != JOURNAL
                                             and not (folder / p.name).exists()]}
        if journal["added"] or journal["taken"]:
            if staleness(settings) is None:
                done.append(f"an interrupted change was complete ({_summary(journal)}); its undo folder was removed")
            else:
                _undo(folder, backup, journal["added"], journal["taken"])
                done.append(f"an interrupted change was undone ({_summary(journal)})")
        shutil.rmtree(backup, ignore_errors=True)
    for line in done:
        log.warning("Shelf: %s.", line)
    return done


def _summary(journal: dict) -> str:
    parts = []
    if journal["added"]:
        parts.append("added " + ", ".join(journal["added"]))
    if journal["taken"]:
        parts.append("took off " + ", ".join(journal["taken"]))
    return "; ".join(parts)


@contextlib.contextmanager
def shelf_change(settings: Settings, progress: ProgressCallback | None = None):
    """Change the shelf's files, then rebuild the index; if the rebuild fails or is interrupted,
    the files are put back as they were (the error carries SHELF_RESTORED as a note) and the
    last complete index is kept."""
    folder = Path(settings.documents_dir)
    with shelf_lock(folder):
        recover_changes(settings)
        change = ShelfChange(folder)
        try:
            yield change
            ensure_index(settings, progress)
        except BaseException as error:
            change.undo()
            error.add_note(SHELF_RESTORED)
            raise
        finally:
            change.finish()


def apply_additions(check: FileCheck, settings: Settings, progress: ProgressCallback | None = None,
                    replace: bool = False) -> ShelfChangeReport:
    """Copy the accepted files onto the shelf and rebuild the index; report each file."""
    if not check.accepted:
        return ShelfChangeReport(not_added=check.refused)
    with shelf_change(settings, progress) as change:
        refused = list(check.refused)
        on_shelf = shelf_files(change.folder)
        for path in check.accepted:
            if path.stem in on_shelf and not replace and path.resolve() not in [p.resolve() for p in on_shelf[path.stem]]:
                # Someone else added it since the check.
                refused.append(NotAdded(str(path), f"a document named {path.stem!r} is already on the shelf"))
                continue
            change.put(path)
    shelf = read_shelf(settings)
    skipped = {s.file: s.reason for s in shelf.skipped}
    added, not_indexed = [], []
    for path in check.accepted:
        if any(r.file == str(path) for r in refused):
            continue
        document = shelf.document(path.stem)
        if document is None:
            not_indexed.append(NotAdded(str(path), skipped.get(path.name, "not in the index after the build")))
        else:
            added.append(document)
    return ShelfChangeReport(tuple(added), tuple(refused), tuple(not_indexed), (), shelf)


def add_documents(paths: Iterable[str | Path], settings: Settings, progress: ProgressCallback | None = None,
                  replace: bool = False) -> ShelfChangeReport:
    """Check the files, copy the good ones onto the shelf and index them (only their texts are
    embedded); the bad ones are named with the reason and the rest of the shelf is untouched."""
    return apply_additions(check_files(paths, settings, replace), settings, progress, replace)


@dataclass(frozen=True)
class Upload:
    """A file sent from a browser: its name as the user's computer called it, and its bytes."""

    name: str
    data: bytes


def add_uploads(uploads: Sequence[Upload], settings: Settings, progress: ProgressCallback | None = None,
                replace: bool = False) -> ShelfChangeReport:
    """Add uploaded files as `add_documents` adds files, reported by the names they were sent with."""
    with tempfile.TemporaryDirectory(prefix="assistant-upload-") as staging:
        paths, refused = [], []
        for upload in uploads:
            name = Path(upload.name.replace("\\", "/")).name  # a browser may send a path
            if not name or name in {p.name for p in paths}:
                refused.append(NotAdded(upload.name or "(no name)", "a file of the same name is already being added"
                                        if name else "the file has no name"))
                continue
            path = Path(staging) / name
            path.write_bytes(upload.data)
            paths.append(path)
        check = check_files(paths, settings, replace, replace_hint="choose to replace it")
        report = apply_additions(FileCheck(check.accepted, tuple(refused) + check.refused), settings, progress, replace)
    return _by_upload_name(report)


def _by_upload_name(report: ShelfChangeReport) -> ShelfChangeReport:
    """The report with staging paths replaced by the uploaded file names."""
    def named(items):
        return tuple(NotAdded(Path(i.file).name, i.reason) for i in items)

    return ShelfChangeReport(report.added, named(report.not_added), named(report.not_indexed), report.removed,
                             report.shelf)


def remove_document(name: str, settings: Settings, progress: ProgressCallback | None = None) -> ShelfChangeReport:
    """Take a document (its files, outline and profile) off the shelf and rebuild the index.
    The last document stays: an empty shelf cannot answer questions."""
    folder = Path(settings.documents_dir)
    name = document_name(name)
    on_shelf = shelf_files(folder)
    if name not in on_shelf:
        raise ShelfError(f"No document named {name!r} on the shelf; it holds: "
                         f"{', '.join(on_shelf) or 'nothing'} (see `assistant documents`).")
    if len(on_shelf) == 1:
        raise ShelfError(f"{name!r} is the only document on the shelf; add another one first "
                         "(an empty shelf cannot answer questions).")
    with shelf_change(settings, progress) as change:
        for path in on_shelf[name] + [folder / f"{name}{suffix}" for suffix in COMPANIONS]:
            change.take(path)
    return ShelfChangeReport(removed=tuple(p.name for p in change.taken), shelf=read_shelf(settings))
