"""Paste-ready answers: references in two styles, and exports as plain text, Markdown and .docx.

Pure functions, no Streamlit. An answer (or a conversation) is first laid out as a few neutral
blocks (headings, paragraphs, quotes made of text runs); one small renderer per format turns
the blocks into text, Markdown or a Word document, so the three exports always hold the same
things: the question, "Understood as" when the question was resolved as a follow-up, the answer,
each quoted passage with its section path and page where known, and the references. A refusal
keeps its reason and lists at most three closest passages, labelled as not an answer.

Two reference styles (``STYLES``):

* ``"notes"`` (Chicago notes): the answer keeps its [n] markers; the first note on a document
  is its full reference (authors, title, publisher, year), later notes are short; notes with the
  same locator are merged ("[2, 3] ...").
* ``"author-date"`` (Chicago author-date): each [n] marker becomes an in-text citation
  "(Quill et al. 2021, 52)", and the full reference is listed once.

Reference data comes from ``document_reference(doc_id)`` only, which reads the document's
profile (assistant/profile.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .config import PROJECT_ROOT
from .errors import AssistantError
from .ingest import SUPPORTED_SUFFIXES
from .profile import DEFAULT_REFUSAL, DocumentProfile, load_profile, profile_from_json
from .sections import SectionPath
from .text import URL

STYLES = {"notes": "Notes (Chicago)", "author-date": "Author-date (Chicago)"}
NOT_ADDRESSED = DEFAULT_REFUSAL
CLOSEST_HEADING = "Closest passages — not an answer"
SECTION_SEPARATOR = " › "  # shown instead of " > ", which Markdown reads as a quote
MAX_CLOSEST = 3
EXCERPT_CHARS = 400

_WHITESPACE = re.compile(r"\s+")
_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_ETAL = {"others", "et al.", "et al"}


# --- the reference data --------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentReference:
    """What a reference to one document needs. ``authors`` are "Family, Given" (or one name
    for an organisation); "others" at the end means the list is incomplete (et al.)."""

    document: str
    title: str
    short_title: str
    authors: tuple[str, ...] = ()
    publisher: str = ""
    year: str = ""


@lru_cache(maxsize=64)
def document_reference(doc_id: str, documents_dir: Path | None = None) -> DocumentReference:
    """The reference data of one document, from its profile (``documents/<doc_id>.profile.json``,
    a legacy ``.outline.json``, or one inferred from the document: PDF metadata, first page);
    missing fields fall back to what the one-line "citation" gives, then to the document id."""
    folder = Path(documents_dir) if documents_dir else PROJECT_ROOT / "documents"
    profile = _profile(doc_id, folder)
    citation = profile.citation
    title = profile.title or _italic_part(citation) or doc_id
    return DocumentReference(
        document=doc_id, title=title, short_title=profile.short_title or title, authors=profile.authors,
        publisher=profile.publisher, year=profile.year or _year_in(citation) or "")


def _profile(doc_id: str, folder: Path) -> DocumentProfile:
    """The document's profile; an empty one when neither a profile nor the document can be
    read (an export must not fail on a reference)."""
    document = next((folder / f"{doc_id}{suffix}" for suffix in SUPPORTED_SUFFIXES
                     if (folder / f"{doc_id}{suffix}").is_file()), None)
    try:
        if document is not None:
            return load_profile(document)
        legacy = folder / f"{doc_id}.outline.json"  # a profile file whose document is gone
        for path in (folder / f"{doc_id}.profile.json", legacy):
            if path.is_file():
                return load_profile(path.with_name(f"{doc_id}.txt"))
    except (AssistantError, OSError):
        pass
    return profile_from_json(doc_id, {})


def _italic_part(citation: str) -> str:
    """The *italic* part of a one-line citation (its title)."""
    match = re.search(r"\*([^*]+)\*", citation)
    return match.group(1) if match else ""


def _year_in(citation: str) -> str:
    """The last year named in a one-line citation."""
    years = re.findall(r"\b(?:19|20)\d\d\b", citation)
    return years[-1] if years else ""


# --- text runs and blocks ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A piece of text, in italics (a title) or bold (a label) or plain."""

    text: str
    italic: bool = False
    bold: bool = False


@dataclass(frozen=True)
class Block:
    """One block of an export: a heading, a paragraph or a quoted passage."""

    kind: str  # "title", "heading", "paragraph", "quote"
    runs: tuple[Run, ...]


def _block(kind: str, *parts: Run | str) -> Block:
    """A block from runs and plain strings (empty parts dropped)."""
    return Block(kind, tuple(p if isinstance(p, Run) else Run(p) for p in parts if p))


# --- names, locators and references --------------------------------------------------------


def _split_name(author: str) -> tuple[str, str]:
    """("de la Quill", "Ada") from "de la Quill, Ada"; an organisation has no given name."""
    family, _, given = author.partition(",")
    return family.strip(), given.strip()


def _listed(names: list[str]) -> str:
    """"A", "A and B", "A, B, and C"."""
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def _authors(ref: DocumentReference, *, form: str) -> str:
    """The authors as a note names them ("Ada de la Quill et al."), as a short reference does
    ("de la Quill et al."), or as a reference list does ("de la Quill, Ada, et al.")."""
    people = [a for a in ref.authors if a.strip().lower() not in _ETAL]
    incomplete = len(people) < len(ref.authors) or len(people) > 3
    if not people:
        return ""
    if incomplete:
        people = people[:1]
    if form == "list":
        family, given = _split_name(people[0])
        first = f"{family}, {given}" if given else family
        rest = [" ".join(reversed(_split_name(p))).strip() for p in people[1:]]
        text = _listed([first] + rest) if rest else first
        return text + (", et al." if incomplete else "")
    if form == "note":
        names = [" ".join(part for part in reversed(_split_name(p)) if part) for p in people]
    else:
        names = [_split_name(p)[0] for p in people]
    return _listed(names) + (" et al." if incomplete else "")


def _capitalised(text: str) -> str:
    """A reference that opens a note or an entry starts with a capital ("De la Quill")."""
    return text[:1].upper() + text[1:] if text else text


def _bracketed(text: str) -> str:
    """Parentheses inside parentheses become brackets, as Chicago asks."""
    return text.replace("(", "[").replace(")", "]")


def section_path(section: str) -> str:
    """The section path for people: parts joined with › instead of >."""
    return SECTION_SEPARATOR.join(part.strip() for part in SectionPath(section or "").parts if part.strip())


def _chapter(section: str) -> str:
    """The chapter's number in its own numbering ("XIII", "3", "Chapter 3") or, without one,
    its title ("Abstract")."""
    chapter = (section or "").split(">")[0].strip()
    numeral = re.match(r"^((?:[IVXLC]+|\d{1,2})(?=\.\s)|Chapter\s+\d{1,2}(?=\b))", chapter)
    return numeral.group(1) if numeral else chapter


def full_reference(ref: DocumentReference, style: str) -> tuple[Run, ...]:
    """The full reference: a first note (notes) or a reference-list entry (author-date)."""
    if style == "author-date":
        authors = _capitalised(_authors(ref, form="list"))
        head = f"{authors} {ref.year}. " if authors else (f"{ref.year}. " if ref.year else "")
        tail = f". {ref.publisher}." if ref.publisher else "."
        return tuple(r for r in (Run(head), Run(ref.title, italic=True), Run(tail)) if r.text)
    authors = _authors(ref, form="note")
    facts = ", ".join(x for x in (_bracketed(ref.publisher), ref.year) if x)
    return tuple(r for r in (Run(f"{authors}, " if authors else ""), Run(ref.title, italic=True),
                             Run(f" ({facts})" if facts else "")) if r.text)


def short_reference(ref: DocumentReference) -> tuple[Run, ...]:
    """A later note: authors' family names and the short title."""
    authors = _capitalised(_authors(ref, form="short"))
    return tuple(r for r in (Run(f"{authors}, " if authors else ""), Run(ref.short_title, italic=True)) if r.text)


def note_locator(section: str, page: int | None) -> str:
    """Where in the document: the section path, and the page when it is known."""
    parts = [f"section “{section_path(section)}”"] if section else []
    if page is not None:
        parts.append(str(page))
    return ", ".join(parts)


def in_text_citation(ref: DocumentReference, section: str, page: int | None) -> str:
    """An author-date citation: "(Quill et al. 2021, 52)", or the chapter when the page is
    unknown: "(Quill et al. 2021, sec. XIII)"."""
    who = " ".join(x for x in (_authors(ref, form="short") or ref.short_title, ref.year) if x)
    where = str(page) if page is not None else (f"sec. {_chapter(section)}" if section else "")
    return f"({who}, {where})" if where else f"({who})"


# --- the parts of one answer ---------------------------------------------------------------


def flat(text: str) -> str:
    """Text on one line, runs of whitespace as one space."""
    return _WHITESPACE.sub(" ", text or "").strip()


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    line = flat(text)
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0] + " …"


def closest_passages(answer: Any, limit: int = MAX_CLOSEST) -> list[Any]:
    """The first few (at most three: `Answer.closest`) retrieved passages of a refusal that are
    more than a footnote, a figure caption or an address."""
    return list(answer.closest)[:limit]


def citations_by_passage(answer: Any) -> list[tuple[tuple[int, ...], Any, list[str]]]:
    """One entry per cited passage, however many [n] point to it: (numbers, first citation,
    quotes), in the order of the first number."""
    groups: dict[str, tuple[list[int], Any, list[str]]] = {}
    for citation in getattr(answer, "citations", None) or ():
        numbers, first, quotes = groups.setdefault(citation.chunk_id, ([], citation, []))
        numbers.append(citation.n)
        if citation.quote and citation.quote not in quotes:
            quotes.append(citation.quote)
    return [(tuple(numbers), first, quotes) for numbers, first, quotes in groups.values()]


def refusal_reason(answer: Any) -> str:
    """Why the assistant refused, in one sentence ("" when it does not say)."""
    reason = flat(getattr(answer, "reason", None) or "")
    if reason:
        return reason
    text = flat(answer.answer)
    return flat(text[len(NOT_ADDRESSED):]) if text.startswith(NOT_ADDRESSED) else ""


def understood_as(answer: Any) -> str | None:
    """The standalone question that was searched, when the question was resolved as a follow-up."""
    if hasattr(answer, "understood_as"):
        return flat(answer.understood_as or "") or None
    resolved = flat(getattr(answer, "resolved_question", "") or "")
    return resolved if resolved and resolved != flat(answer.question) else None


def _answer_text(answer: Any, style: str, documents_dir: Path | None) -> str:
    """The answer's text in the style: [n] markers, or in-text citations for author-date."""
    text = (answer.answer or "").strip()
    if style != "author-date":
        return text
    by_number = {c.n: c for c in answer.citations}

    def cite(match: re.Match) -> str:
        """One run of markers ('[1][2]') as one parenthetical citation."""
        labels = []
        for n in re.findall(r"\d+", match.group(0)):
            citation = by_number.get(int(n))
            if citation is not None:
                label = in_text_citation(document_reference(citation.document, documents_dir),
                                         citation.section, citation.page)
                if label not in labels:
                    labels.append(label)
        if not labels:
            return match.group(0)
        return " (" + "; ".join(label[1:-1] for label in labels) + ")"

    return _MARKERS.sub(cite, text)


@dataclass
class ReferenceState:
    """What a conversation export has cited so far: a document's first note is its full
    reference, later ones are short; author-date lists each document once at the end."""

    cited: list[str] = field(default_factory=list)


def _notes(answer: Any, state: ReferenceState, documents_dir: Path | None) -> list[Block]:
    """One note per locator, numbers merged ("[2, 3]"), full on a document's first note."""
    merged: dict[tuple[str, str, int | None], list[int]] = {}
    for numbers, citation, _ in citations_by_passage(answer):
        merged.setdefault((citation.document, citation.section, citation.page), []).extend(numbers)
    blocks = []
    for (document, section, page), numbers in merged.items():
        ref = document_reference(document, documents_dir)
        first = document not in state.cited
        if first:
            state.cited.append(document)
        runs = full_reference(ref, "notes") if first else short_reference(ref)
        label = "[" + ", ".join(str(n) for n in sorted(numbers)) + "] "
        locator = note_locator(section, page)
        blocks.append(_block("paragraph", label, *runs, f", {locator}." if locator else "."))
    return blocks


def _quoted_passages(answer: Any, style: str, documents_dir: Path | None) -> list[Block]:
    """Each cited passage once: its label, section path and page, then its quotes."""
    blocks = []
    for numbers, citation, quotes in citations_by_passage(answer):
        if style == "author-date":
            label = in_text_citation(document_reference(citation.document, documents_dir),
                                     citation.section, citation.page)
        else:
            label = "[" + ", ".join(str(n) for n in numbers) + "]"
        where = ", ".join(x for x in (section_path(citation.section),
                                      f"p. {citation.page}" if citation.page is not None else "") if x)
        blocks.append(_block("paragraph", Run(label, bold=True), f" {where}" if where else ""))
        for quote in quotes:
            blocks.append(_block("quote", f"“{flat(quote)}”"))
    return blocks


def refusal_wording(answer: Any) -> str:
    """How the refusal opens (the document's profile may word it), without its reason."""
    text, reason = flat(answer.answer), refusal_reason(answer)
    wording = text[: -len(reason)].strip() if reason and text.endswith(reason) else text
    return wording or NOT_ADDRESSED


def _refusal_blocks(answer: Any) -> list[Block]:
    """The refusal, its reason, and at most three closest passages labelled as not an answer."""
    blocks = [_block("paragraph", Run(refusal_wording(answer), bold=True))]
    reason = refusal_reason(answer)
    if reason:
        blocks.append(_block("paragraph", "Why: ", reason))
    hits = closest_passages(answer)
    if hits:
        blocks.append(_block("heading", CLOSEST_HEADING))
    for i, hit in enumerate(hits, start=1):
        where = ", ".join(x for x in (section_path(hit.section), f"p. {hit.page}" if hit.page is not None else "") if x)
        blocks.append(_block("paragraph", Run(f"{i}.", bold=True), f" {where}"))
        blocks.append(_block("quote", f"“{excerpt(hit.text)}”"))
    return blocks


def answer_blocks(answer: Any, style: str = "notes", state: ReferenceState | None = None,
                  documents_dir: Path | None = None, *, label: str = "Question: ") -> list[Block]:
    """The blocks of one answer: question, understood-as, answer or refusal, quoted passages, notes."""
    style = style if style in STYLES else "notes"
    state = state if state is not None else ReferenceState()
    blocks = [_block("heading", label + flat(answer.question))]
    rewrite = understood_as(answer)
    if rewrite:
        blocks.append(_block("paragraph", Run("Understood as: ", italic=True), rewrite))
    if answer.abstained:
        blocks.extend(_refusal_blocks(answer))
        for document in dict.fromkeys(h.document for h in closest_passages(answer)):
            if document not in state.cited:
                state.cited.append(document)
                if style == "notes":
                    ref = document_reference(document, documents_dir)
                    blocks.append(_block("paragraph", "Searched: ", *full_reference(ref, style), "."))
        return blocks
    for line in _answer_text(answer, style, documents_dir).split("\n"):
        if line.strip():
            blocks.append(_block("paragraph", line.strip()))
    passages = _quoted_passages(answer, style, documents_dir)
    if passages:
        blocks.append(_block("heading", "Quoted passages"))
        blocks.extend(passages)
    if style == "notes":
        notes = _notes(answer, state, documents_dir)
        if notes:
            blocks.append(_block("heading", "Notes"))
            blocks.extend(notes)
    else:
        for citation in answer.citations:
            if citation.document not in state.cited:
                state.cited.append(citation.document)
    return blocks


def reference_list(state: ReferenceState, documents_dir: Path | None = None) -> list[Block]:
    """The author-date reference list: each cited document once, in full."""
    if not state.cited:
        return []
    entries = [_block("paragraph", *full_reference(document_reference(d, documents_dir), "author-date"))
               for d in state.cited]
    return [_block("heading", "References")] + entries


# --- renderers -----------------------------------------------------------------------------


_MARKDOWN_INLINE = re.compile(r"([\\`*_|~$])")
# "<" as an entity: no raw tag is left in the file, even for a reader that ignores backslashes;
# "&" only where it would start an entity of its own.
_ENTITY_START = re.compile(r"&(?=#?\w+;)")
# "[" opens a link or an image unless it is an answer's marker "[1]" / "[2, 3]" with no "(",
# "[" or ":" after it (which would make the marker a link after all).
_OPENING_BRACKET = re.compile(r"\[(?!\d+(?:, \d+)*\](?![(\[:]))")
_BLOCK_START = re.compile(r"^(\s*)(#|>|[-+=]|\d+(?=[.)]))")


def _escape_inline(text: str) -> str:
    """Markdown marks escaped; an answer's [n] markers kept as they are."""
    text = _ENTITY_START.sub("&amp;", text).replace("<", "&lt;")
    return _OPENING_BRACKET.sub(r"\\[", _MARKDOWN_INLINE.sub(r"\\\1", text))


def markdown_inline(text: str) -> str:
    """Text that Markdown shows as it is inside a line: its marks escaped, web addresses as code
    (never a link or an image). ``_block_safe`` does the start of a line."""
    parts, last = [], 0
    for match in URL.finditer(text):
        parts.append(_escape_inline(text[last:match.start()]))
        parts.append("`" + match.group(0).replace("`", "'") + "`")
        last = match.end()
    parts.append(_escape_inline(text[last:]))
    return "".join(parts)


def _block_safe(line: str) -> str:
    """Escape the mark that would make a line a heading, quote, list item or setext underline."""
    match = _BLOCK_START.match(line)
    if not match:
        return line
    lead, mark = match.groups()
    if mark.isdigit():
        end = match.end()
        return line[:end] + "\\" + line[end:]
    return lead + "\\" + line[len(lead):]


def _runs_markdown(runs: Iterable[Run]) -> str:
    """Runs as Markdown, with italics and bold marks kept outside surrounding spaces."""
    out = []
    for run in runs:
        text = markdown_inline(run.text)
        core = text.strip()
        if core and (run.italic or run.bold):
            mark = "**" if run.bold else "*"
            lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
            text = f"{lead}{mark}{core}{mark}{trail}"
        out.append(text)
    return "".join(out)


def _runs_plain(runs: Iterable[Run]) -> str:
    """Runs as plain text."""
    return "".join(run.text for run in runs)


def to_markdown(blocks: Sequence[Block]) -> str:
    """Blocks as Markdown."""
    lines = []
    for block in blocks:
        text = _block_safe(_runs_markdown(block.runs))
        if block.kind == "title":
            lines.append(f"# {text}")
        elif block.kind == "heading":
            lines.append(f"## {text}")
        elif block.kind == "quote":
            lines.append(f"> {text}")
        else:
            lines.append(text)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_text(blocks: Sequence[Block]) -> str:
    """Blocks as plain text, without any Markdown mark (for pasting anywhere)."""
    lines = []
    for i, block in enumerate(blocks):
        text = _runs_plain(block.runs)
        if block.kind in ("title", "heading") and i:
            lines.append("")
        if block.kind == "quote":
            text = "    " + text
        lines.append(text)
        if block.kind == "title":
            lines.append("=" * min(len(text), 78))
    return "\n".join(lines).strip() + "\n"


def to_docx(blocks: Sequence[Block]) -> bytes:
    """Blocks as a Word document (python-docx): headings, paragraphs, quotes in the Quote style."""
    from docx import Document  # imported here: only the .docx export needs it

    document = Document()
    for block in blocks:
        if block.kind == "title":
            paragraph = document.add_heading(level=1)
        elif block.kind == "heading":
            paragraph = document.add_heading(level=2)
        elif block.kind == "quote":
            paragraph = document.add_paragraph(style="Quote")
        else:
            paragraph = document.add_paragraph()
        for run in block.runs:
            added = paragraph.add_run(_xml_safe(run.text))
            added.italic = run.italic or None
            added.bold = run.bold or None
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _xml_safe(text: str) -> str:
    """Word's XML cannot hold control characters; they never carry meaning in an answer."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)


# --- the exports ---------------------------------------------------------------------------


def answer_export(answer: Any, style: str = "notes", documents_dir: Path | None = None) -> list[Block]:
    """The blocks of a one-answer export (author-date adds its reference list)."""
    state = ReferenceState()
    blocks = answer_blocks(answer, style, state, documents_dir)
    if style == "author-date":
        blocks += reference_list(state, documents_dir)
    return blocks


def conversation_export(answers: Sequence[Any], style: str = "notes", documents_dir: Path | None = None,
                        title: str | None = None) -> list[Block]:
    """The blocks of a conversation export: every answered question in order; a document's
    first note is full, later notes short; author-date lists each document once at the end."""
    state = ReferenceState()
    documents = [c.document for a in answers for c in a.citations] + [h.document for a in answers for h in a.passages]
    if title is None:
        first = documents[0] if documents else ""
        title = f"Questions on {document_reference(first, documents_dir).title}" if first else "Questions"
    blocks = [_block("title", title)]
    if not answers:
        blocks.append(_block("paragraph", "No questions asked yet."))
    for i, answer in enumerate(answers, start=1):
        blocks += answer_blocks(answer, style, state, documents_dir, label=f"{i}. ")
    if style == "author-date":
        blocks += reference_list(state, documents_dir)
    return blocks


def copy_text(answer: Any, style: str = "notes", documents_dir: Path | None = None) -> str:
    """What the copy button copies: the answer with its references in the style, as plain text
    (no question, no quoted passages: the paragraph that goes into a briefing note)."""
    state = ReferenceState()
    if answer.abstained:
        reason = refusal_reason(answer)
        return f"{refusal_wording(answer)} {reason}".strip() + "\n"
    lines = [line.strip() for line in _answer_text(answer, style, documents_dir).split("\n") if line.strip()]
    if style == "notes":
        notes = _notes(answer, state, documents_dir)
        return "\n".join(lines) + ("\n\n" + "\n".join(_runs_plain(b.runs) for b in notes) if notes else "") + "\n"
    for citation in answer.citations:
        if citation.document not in state.cited:
            state.cited.append(citation.document)
    entries = reference_list(state, documents_dir)[1:]
    return "\n".join(lines) + ("\n\n" + "\n".join(_runs_plain(b.runs) for b in entries) if entries else "") + "\n"


def answer_markdown(answer: Any, style: str = "notes", documents_dir: Path | None = None) -> str:
    """One answer as Markdown."""
    return to_markdown(answer_export(answer, style, documents_dir))


def answer_plaintext(answer: Any, style: str = "notes", documents_dir: Path | None = None) -> str:
    """One answer as plain text."""
    return to_text(answer_export(answer, style, documents_dir))


def answer_docx(answer: Any, style: str = "notes", documents_dir: Path | None = None) -> bytes:
    """One answer as a Word document."""
    return to_docx(answer_export(answer, style, documents_dir))


def conversation_markdown(answers: Sequence[Any], style: str = "notes", documents_dir: Path | None = None) -> str:
    """A conversation as Markdown."""
    return to_markdown(conversation_export(answers, style, documents_dir))


def conversation_plaintext(answers: Sequence[Any], style: str = "notes", documents_dir: Path | None = None) -> str:
    """A conversation as plain text."""
    return to_text(conversation_export(answers, style, documents_dir))


def conversation_docx(answers: Sequence[Any], style: str = "notes", documents_dir: Path | None = None) -> bytes:
    """A conversation as a Word document."""
    return to_docx(conversation_export(answers, style, documents_dir))
