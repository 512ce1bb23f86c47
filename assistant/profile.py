"""What the code knows about one document, kept beside it in `<name>.profile.json`.

A profile holds the reference data (title, authors, publisher, year), the running headers, the
heading scheme, the framework kinds and their numbered aliases, the fixes to an outline the text
cannot show, the document's own subject names and its refusal wording. The general code reads
these facts from the profile and never names a document. A document without a profile file gets
one inferred from the document itself (`infer_profile`): title and author from the PDF metadata
or the first page, headings from the PDF's bookmarks or from numbered heading lines. A legacy
`<name>.outline.json` is still read when no profile exists."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import DocumentError
from .ingest import SourceDocument

PROFILE_SUFFIX = ".profile.json"
LEGACY_SUFFIX = ".outline.json"
# The files beside a document that describe it: they go on and off the shelf with it, and a
# change to one makes the index stale.
PROFILE_SUFFIXES = (LEGACY_SUFFIX, PROFILE_SUFFIX)
DEFAULT_REFUSAL = "The report does not address this question."

# How a scheme's chapter headings open: 'V. Protection' (roman), '3. Findings' (arabic),
# 'Chapter 3: Findings' (chapter).
CHAPTER_NUMBERING = {
    "roman": r"[IVXL]+\.",
    "arabic": r"\d{1,2}\.",
    "chapter": r"Chapter\s+\d{1,2}[.:]?",
}
# Schemes whose headings are listed in the profile (from bookmarks or numbered heading lines)
# rather than found by the rules of assistant/structure.py.
LISTED_SCHEMES = ("bookmarks", "numbered", "none")
SCHEMES = tuple(CHAPTER_NUMBERING) + LISTED_SCHEMES

# Numbered heading lines of a document without bookmarks, with the level each gives:
# 'I. Introduction', '1. Introduction', '1.2 Scope', 'Chapter 3: Findings'.
NUMBERED_HEADINGS = (
    (re.compile(r"^Chapter\s+\d{1,2}\b[.:]?\s*\S"), lambda m: 1),
    (re.compile(r"^[IVXL]+\.\s+[A-Z]"), lambda m: 1),
    (re.compile(r"^(\d{1,2}(?:\.\d{1,2})+)\.?\s+[A-Z]"), lambda m: m.group(1).count(".") + 1),
    (re.compile(r"^\d{1,2}\.\s+[A-Z]"), lambda m: 1),
)
MAX_HEADING_WORDS = 12
MIN_NUMBERED_HEADINGS = 2  # fewer numbered lines than this are list items or chance, not a scheme


class ProfileError(DocumentError):
    """A profile file that cannot be used: its name and what is wrong."""


@dataclass(frozen=True)
class Heading:
    """A heading known before reading the text: a PDF bookmark or a numbered heading line."""

    title: str
    level: int  # 1 = chapter
    page: int | None = None  # printed page number where known


@dataclass(frozen=True)
class ChapterFix:
    """A chapter the text cannot show as one: its heading was lost, or it is a summary that
    restates the body (`role` "summary")."""

    title: str
    starts_with: str
    role: str = ""
    why: str = ""


@dataclass(frozen=True)
class LevelFix:
    """Sub-headings of a chapter that typography, lost in the text, nests one level deeper."""

    chapter: str
    level: int
    headings: tuple[str, ...]
    why: str = ""


@dataclass(frozen=True)
class DocumentProfile:
    """Everything the code knows about one document (see the module docstring)."""

    name: str
    title: str
    short_title: str = ""
    authors: tuple[str, ...] = ()  # "Family, Given"; "others" at the end: et al.
    publisher: str = ""
    year: str = ""
    citation: str = ""
    running_headers: tuple[str, ...] = ()  # printed header texts, fused with the page number
    chapter_running_headers: bool = False  # even pages print the page number and the chapter
    heading_scheme: str = "none"  # one of SCHEMES ("" in a profile file that states none)
    headings: tuple[Heading, ...] = ()  # for the listed schemes
    chapters: tuple[ChapterFix, ...] = ()
    levels: tuple[LevelFix, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # heading -> other names
    framework_kinds: tuple[str, ...] = ()  # 'scenario', ... (each numbered by aliases 'scenario 3')
    subject_names: tuple[str, ...] = ()  # names so common in the document that they name nothing
    refusal: str = DEFAULT_REFUSAL
    source: str = "inferred"  # "profile", "outline" (legacy file) or "inferred"

    @property
    def chapter_numbering(self) -> str | None:
        """The regular expression a chapter heading opens with, for the rule-based schemes."""
        return CHAPTER_NUMBERING.get(self.heading_scheme)

    @property
    def lists_headings(self) -> bool:
        """Whether the headings come from the profile's list rather than from the rules."""
        return self.heading_scheme in LISTED_SCHEMES or not self.heading_scheme

    def chapter_heading(self) -> re.Pattern:
        """A block that opens a chapter: its numbering and a word ('V. Protection ...')."""
        numbering = self.chapter_numbering
        return re.compile(rf"^({numbering})\s+\S") if numbering else re.compile(r"(?!)")

    def running_header(self) -> re.Pattern | None:
        """A printed page number fused with a running header ('27Title of the report', or
        '32 III. Chapter title'); group 1 is the page number. None when the profile has none."""
        parts = [re.escape(text) for text in self.running_headers]
        if self.chapter_running_headers and self.chapter_numbering:
            parts.append(rf"\s+{self.chapter_numbering}\s+\S.*")
        return re.compile(rf"^(\d{{1,3}})(?:{'|'.join(parts)})\s*$") if parts else None


# --- reading a profile ------------------------------------------------------------------------

def load_profile(document_path: str | Path, source: SourceDocument | None = None) -> DocumentProfile:
    """The document's profile: its `.profile.json`, else a legacy `.outline.json`, else one
    inferred from the document (read from disk unless `source` is given). A profile file that
    states no heading scheme takes the inferred headings when `source` is given (cleaning and
    structure always give it; references need no headings)."""
    document_path = Path(document_path)
    for suffix, kind in ((PROFILE_SUFFIX, "profile"), (LEGACY_SUFFIX, "outline")):
        path = document_path.with_name(document_path.stem + suffix)
        if path.is_file():
            profile = profile_from_json(document_path.stem, _read_object(path), kind, path.name)
            if not profile.heading_scheme and source is not None:
                inferred = infer_profile(source)
                profile = replace(profile, heading_scheme=inferred.heading_scheme, headings=inferred.headings)
            return profile
    if source is None:
        from .ingest import read_document

        source = read_document(document_path)
    return infer_profile(source)


def _read_object(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ProfileError(f"{path.name}: the profile cannot be read ({error}); fix or remove it.") from error
    if not isinstance(data, dict):
        raise ProfileError(f"{path.name}: a profile must be one JSON object.")
    return data


def profile_from_json(name: str, data: dict, kind: str = "profile", file_name: str = "") -> DocumentProfile:
    """A profile from the JSON object of a profile (or legacy outline) file; keys that are
    missing take the defaults; a key of the wrong type is named in a ProfileError."""
    where = file_name or f"{name}{PROFILE_SUFFIX}"
    try:
        header = data.get("running_header") or {}
        # Outline files were written for the Roman-numeral rules; a profile file without a scheme
        # takes the inferred one (load_profile).
        scheme = data.get("heading_scheme") or ("roman" if kind == "outline" else "")
        if scheme and scheme not in SCHEMES:
            raise ValueError(f"heading_scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
        authors = data.get("authors") or ()
        profile = DocumentProfile(
            name=name, title=str(data.get("title") or ""), short_title=str(data.get("short_title") or ""),
            authors=(authors,) if isinstance(authors, str) else tuple(str(a) for a in authors),
            publisher=str(data.get("publisher") or ""), year=str(data.get("year") or ""),
            citation=str(data.get("citation") or ""),
            running_headers=tuple(str(t) for t in header.get("texts", ())),
            chapter_running_headers=bool(header.get("chapter_titles", False)),
            heading_scheme=scheme,
            headings=tuple(Heading(str(h["title"]), int(h.get("level", 1)), h.get("page")) for h in data.get("headings", ())),
            chapters=tuple(ChapterFix(c["title"], c["starts_with"], c.get("role", ""), c.get("why", ""))
                           for c in data.get("chapters", ())),
            levels=tuple(LevelFix(rule["chapter"], int(rule["level"]), tuple(rule["headings"]), rule.get("why", ""))
                         for rule in data.get("levels", ())),
            aliases={str(title): tuple(str(a) for a in names) for title, names in (data.get("aliases") or {}).items()},
            framework_kinds=tuple(str(k) for k in data.get("framework_kinds", ())),
            subject_names=tuple(str(n) for n in data.get("subject_names", ())),
            refusal=str(data.get("refusal") or DEFAULT_REFUSAL), source=kind)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ProfileError(f"{where}: {_describe(error)}; see documents/*.profile.json for the format.") from error
    return profile


def _describe(error: Exception) -> str:
    """A missing key named as such; other errors by their message."""
    return f"missing key {error}" if isinstance(error, KeyError) else str(error)


# --- inferring a profile -------------------------------------------------------------------------

def infer_profile(source: SourceDocument) -> DocumentProfile:
    """A plain profile for a document that has none: title and authors from the PDF metadata or
    the first page, headings from the PDF's bookmarks or else from numbered heading lines."""
    lines = [line.strip() for line in "\n".join(p.text for p in source.pages[:1]).splitlines() if line.strip()]
    title = source.metadata_title or _first_page_title(lines) or source.doc_id
    authors = _authors_from_metadata(source.metadata_author) or _authors_from_first_page(lines)
    year = _first_year(" ".join(lines[:12]))
    if source.bookmarks:
        headings, scheme = tuple(Heading(b.title, b.level, b.page) for b in source.bookmarks), "bookmarks"
    else:
        headings = numbered_headings("\n".join(p.text for p in source.pages))
        scheme = "numbered" if headings else "none"
    return DocumentProfile(name=source.doc_id, title=title, short_title=_short(title), authors=authors, year=year,
                           heading_scheme=scheme, headings=headings, source="inferred")


def numbered_headings(text: str) -> tuple[Heading, ...]:
    """Lines that look like numbered headings ('1. Introduction', '1.2 Scope', 'I. Context',
    'Chapter 3: Findings'), each with its level; none when fewer than two are found."""
    found = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line or len(line.split()) > MAX_HEADING_WORDS or re.search(r"[.,;:]$", line):
            continue
        for pattern, level in NUMBERED_HEADINGS:
            match = pattern.match(line)
            if match:
                found.append(Heading(line, level(match)))
                break
    return tuple(found) if len(found) >= MIN_NUMBERED_HEADINGS else ()


def _first_page_title(lines: list[str]) -> str:
    """The first short line of the first page that is not a number or a date."""
    for line in lines[:8]:
        words = line.split()
        if 1 <= len(words) <= 20 and re.search(r"[A-Za-z]{3}", line) and not re.search(r"[.;:,]$", line):
            return " ".join(words)
    return ""


def _authors_from_metadata(author: str) -> tuple[str, ...]:
    """'Ada Quill; Ben Roe' or 'Ada Quill and Ben Roe' as ('Quill, Ada', 'Roe, Ben')."""
    names = [n.strip() for n in re.split(r";|\band\b|&", author or "") if re.search(r"[^\W\d_]{2}", n)]
    return tuple(_family_first(n) for n in names)


def _authors_from_first_page(lines: list[str]) -> tuple[str, ...]:
    """A 'By Ada Quill and Ben Roe' line near the top of the first page."""
    for line in lines[:10]:
        match = re.match(r"^by\s+(.+)$", line, re.I)
        if match:
            return _authors_from_metadata(match.group(1).replace(",", ";"))
    return ()


def _family_first(name: str) -> str:
    """'Ada Quill' -> 'Quill, Ada'; a name already written 'Quill, Ada' stays."""
    if "," in name:
        return name
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name


def _first_year(text: str) -> str:
    years = re.findall(r"\b(?:19|20)\d\d\b", text)
    return years[0] if years else ""


def _short(title: str, words: int = 8) -> str:
    """A short title: the part before a colon, cut to a few words."""
    head = re.split(r"\s*[:/]\s+", title, maxsplit=1)[0]
    parts = head.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


# --- across documents ----------------------------------------------------------------------------

def shelf_profiles(documents_dir: str | Path, manifest: dict) -> dict[str, DocumentProfile]:
    """The profile of each document in an index manifest: its profile (or legacy outline) file,
    else a plain one from the title the build inferred (no document is read again)."""
    profiles = {}
    for entry in manifest.get("documents", []):
        name = entry["id"]
        stem = Path(documents_dir) / name
        found = [(stem.with_name(name + suffix), kind) for suffix, kind in
                 ((PROFILE_SUFFIX, "profile"), (LEGACY_SUFFIX, "outline"))]
        path, kind = next(((p, k) for p, k in found if p.is_file()), (None, ""))
        if path is not None:
            profiles[name] = profile_from_json(name, _read_object(path), kind, path.name)
        else:
            title = str(entry.get("title") or name)
            profiles[name] = DocumentProfile(name=name, title=title, short_title=_short(title))
    return profiles
