"""Read the source documents (.pdf, .txt, .md) into pages of raw text."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import DocumentError, NoDocumentsError

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """One page of extracted text; `number` is the printed page number when known."""

    number: int | None
    text: str


@dataclass(frozen=True)
class Bookmark:
    """An entry of a PDF's outline (its bookmarks): a heading's title, its depth, its page."""

    title: str
    level: int  # 1 = a top-level entry (a chapter)
    page: int | None  # the printed page number of the page it points to, where known


@dataclass(frozen=True)
class SourceDocument:
    """A document as read from disk, before cleaning."""

    doc_id: str
    path: Path
    kind: str  # "pdf" or "text"
    sha256: str
    pages: tuple[Page, ...]
    bookmarks: tuple[Bookmark, ...] = ()  # the PDF's outline, in reading order
    metadata_title: str = ""  # the PDF's document information, where given
    metadata_author: str = ""


@dataclass(frozen=True)
class IngestReport:
    """What was read, and what was skipped with the reason."""

    documents: tuple[SourceDocument, ...]
    skipped: tuple[tuple[str, str], ...]  # (file name, reason)


@dataclass(frozen=True)
class Limits:
    """How large one document may be; a larger one is skipped with the reason (None: no limit)."""

    max_pages: int | None = None
    max_chars: int | None = None


def document_files(folder: str | Path) -> list[Path]:
    """The supported files of a folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NoDocumentsError(f"The documents folder {folder} does not exist.")
    try:
        entries = list(folder.iterdir())
    except OSError as error:
        raise NoDocumentsError(f"The documents folder {folder} cannot be listed ({error.strerror or error}).") from error
    return sorted(p for p in entries if p.suffix.lower() in SUPPORTED_SUFFIXES and _is_file(p))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # an entry that cannot even be inspected is not a document we can read
        return False


def file_sha256(path: Path) -> str:
    """Checksum of a file's bytes, for staleness checks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_folder(folder: str | Path, limits: Limits = Limits()) -> IngestReport:
    """Read every supported document; a bad one is skipped with its reason, not fatal."""
    files = document_files(folder)
    if not files:
        raise NoDocumentsError(
            f"No .pdf, .txt or .md file in {folder}: put the report there (see README)."
        )
    documents, skipped = [], []
    for path in files:
        try:
            documents.append(read_document(path, limits))
        except DocumentError as error:
            log.warning("%s", error)
            skipped.append((path.name, str(error)))
    if not documents:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped)
        raise NoDocumentsError(f"No document in {folder} could be read ({reasons}).")
    return IngestReport(tuple(documents), tuple(skipped))


def read_document(path: Path, limits: Limits = Limits()) -> SourceDocument:
    """Read one file into pages; raise DocumentError naming the file when it cannot be used.

    Any failure while reading becomes a DocumentError: readers raise far more than their
    documented errors on damaged files (pypdf: NotImplementedError for an unknown filter,
    LimitReachedError, RecursionError...), and one bad file must never stop the shelf."""
    try:
        return _read_document(path, limits)
    except DocumentError:
        raise
    except PermissionError as error:
        raise DocumentError(f"{path.name}: the file may not be read by this program ({error.strerror}); "
                            "check its permissions.") from error
    except MemoryError as error:
        raise DocumentError(f"{path.name}: the file is too large to read in memory.") from error
    except Exception as error:  # noqa: BLE001 - see the docstring
        raise DocumentError(f"{path.name}: the file cannot be read ({describe_error(error)}).") from error


def describe_error(error: BaseException, limit: int = 160) -> str:
    """The error's type and message on one line, cut short (a reader may quote raw bytes)."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _read_document(path: Path, limits: Limits) -> SourceDocument:
    kind = "pdf" if path.suffix.lower() == ".pdf" else "text"
    if kind == "pdf":
        pdf = read_pdf(path, limits.max_pages)
        pages, bookmarks, title, author = pdf.pages, pdf.bookmarks, pdf.title, pdf.author
    else:
        pages, bookmarks, title, author = (Page(None, read_text_file(path)),), (), "", ""
    if not any(page.text.strip() for page in pages):
        raise DocumentError(f"{path.name}: the document contains no text.")
    chars = sum(len(page.text) for page in pages)
    if limits.max_chars is not None and chars > limits.max_chars:
        raise DocumentError(f"{path.name}: the document has {chars:,} characters of text; the limit is "
                            f"{limits.max_chars:,} (Settings.max_document_chars). Split it into smaller files.")
    return SourceDocument(path.stem, path, kind, file_sha256(path), pages, bookmarks, title, author)


def read_text_file(path: Path) -> str:
    """Read a UTF-8 text file (a BOM is tolerated)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"{path.name}: not valid UTF-8 text (byte {error.start}); save it as UTF-8 and re-run."
        ) from error


@dataclass(frozen=True)
class PdfContent:
    """What a PDF gives besides its pages' text: its bookmarks and document information."""

    pages: tuple[Page, ...]
    bookmarks: tuple[Bookmark, ...] = ()
    title: str = ""
    author: str = ""


def read_pdf_pages(path: Path, max_pages: int | None = None) -> tuple[Page, ...]:
    """Extract each page's text with pypdf, numbered by its printed page label when it has one."""
    return read_pdf(path, max_pages).pages


def read_pdf(path: Path, max_pages: int | None = None) -> PdfContent:
    """Each page's text (numbered by its printed page label when it has one), the outline
    (bookmarks) and the title and author of the document information, with pypdf."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _try_empty_password(reader):
            raise DocumentError(f"{path.name}: the PDF is encrypted; save an unprotected copy.")
        count = len(reader.pages)
        if max_pages is not None and count > max_pages:
            raise DocumentError(f"{path.name}: the PDF has {count:,} pages; the limit is {max_pages:,} "
                                "(Settings.max_document_pages). Split it into smaller files.")
        texts = [page.extract_text() or "" for page in reader.pages]
        labels = list(reader.page_labels)
    except (DocumentError, PermissionError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise DocumentError(f"{path.name}: the PDF cannot be read ({describe_error(error)}).") from error
    texts = strip_repeated_margins(texts)
    title, author = _information(reader)
    return PdfContent(tuple(Page(page_number(labels, i), text) for i, text in enumerate(texts)),
                      read_bookmarks(reader, labels), title, author)


def _information(reader) -> tuple[str, str]:
    """The title and author of the PDF's document information ('' where missing or unreadable)."""
    try:
        info = reader.metadata
        return (" ".join(str(info.title or "").split()), " ".join(str(info.author or "").split())) if info else ("", "")
    except Exception:  # noqa: BLE001 - damaged information is no reason to skip the text
        return "", ""


def read_bookmarks(reader, labels: list[str]) -> tuple[Bookmark, ...]:
    """The PDF's outline flattened in reading order, each entry with its depth and printed page.
    A damaged outline gives none: the headings are then found in the text."""
    found: list[Bookmark] = []

    def walk(entries, level: int) -> None:
        for entry in entries:
            if isinstance(entry, list):  # pypdf nests an entry's children in a list after it
                walk(entry, level + 1)
                continue
            title = " ".join(str(getattr(entry, "title", "") or "").split())
            try:
                index = reader.get_destination_page_number(entry)
            except Exception:  # noqa: BLE001 - an entry that points nowhere still names a heading
                index = None
            if title:
                found.append(Bookmark(title, level, page_number(labels, index) if index is not None else None))

    try:
        walk(reader.outline, 1)
    except Exception:  # noqa: BLE001 - see the docstring
        return ()
    return tuple(found)


def _try_empty_password(reader) -> bool:
    """Many 'encrypted' PDFs only restrict printing and open with an empty password."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # pypdf raises several types for unsupported encryption
        return False


def page_number(labels: list[str], index: int) -> int | None:
    """The printed page label when it is a number, else the page index + 1."""
    label = labels[index] if index < len(labels) else ""
    if label.isdigit():
        return int(label)
    return index + 1 if not label or label == str(index + 1) else None


def _margin_key(line: str) -> str:
    """A line with its digits removed, so 'Page 3' and 'Page 4' count as the same header."""
    return "".join(ch for ch in line.strip() if not ch.isdigit()).strip()


def strip_repeated_margins(texts: list[str], share: float = 0.5) -> list[str]:
    """Remove lines repeated at the top or bottom of most pages (running headers, footers)."""
    if len(texts) < 3:
        return texts
    counts: Counter[str] = Counter()
    for text in texts:
        lines = [line for line in text.splitlines() if line.strip()]
        counts.update({_margin_key(line) for line in lines[:2] + lines[-2:]})
    repeated = {key for key, n in counts.items() if key and n >= share * len(texts)}
    cleaned = []
    for text in texts:
        lines = text.splitlines()
        nonblank = [i for i, line in enumerate(lines) if line.strip()]
        margin = set(nonblank[:2] + nonblank[-2:])
        kept = [l for i, l in enumerate(lines) if not (i in margin and _margin_key(l) in repeated)]
        cleaned.append("\n".join(kept))
    return cleaned
