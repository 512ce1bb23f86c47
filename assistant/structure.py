"""Find chapters and sub-headings, so that every paragraph knows its full section path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .clean import SENTENCE_END, Block, CleanDocument, squash
from .profile import ChapterFix, DocumentProfile, Heading, load_profile
from .sections import SectionPath
from .text import word_count

NUMBERED = re.compile(r"^(\d{1,2})\.\s+\S")
LETTERED = re.compile(r"^([a-h])\)\s+\S")
LETTERED_PREFIX = re.compile(r"^[a-h]\)\s+")
LIST_ITEM = re.compile(r"^(?:[•▪-]\s|\d{1,2}\.\s)")
CAPTIONS_HEADING = "Figures and tables"


@dataclass(frozen=True)
class Paragraph:
    """A paragraph (or list item, caption, footnote) placed in the document's sections."""

    text: str
    kind: str  # "text", "list", "caption", "footnote"
    page: int | None
    section: tuple[str, ...]
    ordinal: int  # paragraph number within its section, from 1
    start: int  # span in StructuredDocument.text
    end: int
    note: int | None = None  # footnote number


@dataclass(frozen=True)
class StructuredDocument:
    """The cleaned text of a document with its paragraphs and sections."""

    doc_id: str
    title: str
    citation: str
    text: str
    paragraphs: tuple[Paragraph, ...]
    sections: tuple[tuple[str, ...], ...]
    summary_chapters: tuple[str, ...]
    aliases: dict  # heading -> its other names ('part 2b'), from the profile
    short_title: str = ""


def _profile_chapter(block: Block, profile: DocumentProfile) -> ChapterFix | None:
    for chapter in profile.chapters:
        if squash(block.text).startswith(squash(chapter.starts_with)):
            return chapter
    return None


def _is_body(block: Block | None) -> bool:
    return block is not None and block.kind == "text" and word_count(block.text) >= 20


def _heading_candidate(block: Block) -> bool:
    text = block.text
    if block.kind != "text" or word_count(text) > 16 or LIST_ITEM.match(text) and not NUMBERED.match(text):
        return False
    if re.search(r"[.,;:]$", text) or not re.match(r"[A-Z0-9a-h]", text) or _unbalanced(LETTERED_PREFIX.sub("", text)):
        return False
    return not text.endswith("?") or text.count("?") == 1


def _unbalanced(text: str) -> bool:
    """A table cell cut mid-parenthesis ("SCR 2391 (December") is no heading."""
    return text.count("(") != text.count(")")


def _heading_level(text: str, chapter: str, profile: DocumentProfile, numbered_level: int | None) -> int:
    for rule in profile.levels:
        if chapter.startswith(rule.chapter) and text in rule.headings:
            return rule.level
    if LETTERED.match(text) and numbered_level:
        return numbered_level + 1
    return 2


def structure_document(clean: CleanDocument, document_path: Path,
                       profile: DocumentProfile | None = None) -> StructuredDocument:
    """Assign every block to a section path; headings become path elements, not paragraphs.
    The profile (the one the document was cleaned with, unless given) says how headings look:
    found by rules for a chapter numbering scheme, or listed (bookmarks, numbered lines)."""
    profile = profile or clean.profile or load_profile(document_path)
    if profile.lists_headings:
        placed, block_sections, summary = _place_by_listed_headings(clean, profile)
        return _assemble(clean, profile, placed, block_sections, summary)
    chapter_heading = profile.chapter_heading()
    blocks = list(clean.blocks)
    path: list[str] = []
    placed: list[tuple[Block, tuple[str, ...]]] = []
    block_sections: list[tuple[str, ...]] = []
    summary: list[str] = []
    numbered_level = None
    previous_was_heading = True
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        chapter = _profile_chapter(block, profile)
        if chapter or (chapter_heading.match(block.text) and word_count(block.text) <= 10 and block.kind == "text"):
            title = chapter.title if chapter else block.text
            path = [title]
            numbered_level = None
            if chapter and chapter.role == "summary":
                summary.append(title)
            block_sections.append(tuple(path))
            if squash(block.text) != squash(title):
                placed.append((block, tuple(path)))  # the heading was lost: this is body text
            previous_was_heading = True
            continue
        is_heading = (_heading_candidate(block) and path
                      and (previous_was_heading or _is_body(blocks[i - 1]) or blocks[i - 1].kind == "caption"
                           or bool(SENTENCE_END.search(blocks[i - 1].text)))
                      and (_is_body(following) or (following is not None and _heading_candidate(following)
                                                    and _is_body(blocks[i + 2] if i + 2 < len(blocks) else None)))
                      and not (NUMBERED.match(block.text) and following is not None and NUMBERED.match(following.text)))
        if is_heading:
            level = _heading_level(block.text, path[0], profile, numbered_level)
            if NUMBERED.match(block.text):
                numbered_level = level
            path = path[: level - 1] + [block.text] if len(path) >= level - 1 else path + [block.text]
            block_sections.append(tuple(path))
            previous_was_heading = True
            continue
        previous_was_heading = False
        placed.append((block, tuple(path) if path else ("Front matter",)))
        block_sections.append(tuple(path) if path else ("Front matter",))
    return _assemble(clean, profile, placed, block_sections, summary)


def _place_by_listed_headings(clean: CleanDocument, profile: DocumentProfile):
    """Sections from the headings the profile lists (a PDF's bookmarks, numbered heading
    lines): a block that is the next listed heading of its title opens a section at its level;
    every other block is body text of the section it falls in."""
    remaining: dict[str, list[Heading]] = {}
    for heading in profile.headings:
        remaining.setdefault(squash(heading.title), []).append(heading)
    path: list[str] = []
    placed, block_sections, summary = [], [], []
    for block in clean.blocks:
        chapter = _profile_chapter(block, profile)
        listed = _listed_heading(block, remaining) if block.kind == "text" else None
        if chapter or listed:
            heading = Heading(chapter.title, 1) if chapter else listed
            path = path[: heading.level - 1] + [heading.title]
            if chapter and chapter.role == "summary":
                summary.append(chapter.title)
            if chapter and squash(block.text) != squash(chapter.title):
                placed.append((block, tuple(path)))  # the heading was lost: this is body text
            block_sections.append(tuple(path))
            continue
        section = tuple(path) if path else ("Front matter",)
        placed.append((block, section))
        block_sections.append(section)
    return placed, block_sections, summary


def _listed_heading(block: Block, remaining: dict[str, list[Heading]]) -> Heading | None:
    """The first listed heading not yet met with the block's text, on the block's page where
    both pages are known (a table of contents repeats the headings on another page)."""
    candidates = remaining.get(squash(block.text), [])
    for k, heading in enumerate(candidates):
        if heading.page is None or block.page is None or heading.page == block.page:
            return candidates.pop(k)
    return None


def _assemble(clean: CleanDocument, profile: DocumentProfile, placed, block_sections, summary) -> StructuredDocument:
    """Lay out the cleaned text (body, then captions, then notes) and record each paragraph's
    span. Captions go after the body, each keeping its section, so that no span of body text
    (a chunk, a quoted sentence) runs through a figure's caption."""
    parts: list[str] = []
    paragraphs: list[Paragraph] = []
    offset = 0
    counters: dict[tuple[str, ...], int] = {}
    current_section: tuple[str, ...] | None = None

    def add(text: str, kind: str, page, section, note=None):
        nonlocal offset
        counters[section] = counters.get(section, 0) + 1
        paragraphs.append(Paragraph(text, kind, page, section, counters[section], offset, offset + len(text), note))
        parts.append(text)
        offset += len(text) + 2

    def add_heading(text: str):
        nonlocal offset
        parts.append(text)
        offset += len(text) + 2

    for block, section in placed:
        if block.kind == "caption":
            continue
        if section != current_section:
            for title in section if current_section is None else _new_titles(current_section, section):
                add_heading(title)
            current_section = section
        add(block.text, "list" if LIST_ITEM.match(block.text) else "text", block.page, section)
    captions = [(block, section) for block, section in placed if block.kind == "caption"]
    if captions:
        add_heading(CAPTIONS_HEADING)
    for block, section in captions:
        add(block.text, "caption", block.page, section)
    if clean.footnotes:
        add_heading("Notes")
    for note in clean.footnotes:
        index = min(note.after_block, len(block_sections) - 1)
        section = block_sections[index] if block_sections else ("Notes",)
        add(f"{note.number} {note.text}", "footnote", note.page, section, note.number)
    sections = tuple(dict.fromkeys(p.section for p in paragraphs))
    return StructuredDocument(clean.doc_id, profile.title or clean.doc_id, profile.citation,
                              "\n\n".join(parts), tuple(paragraphs), sections, tuple(summary),
                              {title: list(names) for title, names in profile.aliases.items()},
                              profile.short_title or profile.title or clean.doc_id)


def _new_titles(old: tuple[str, ...], new: tuple[str, ...]) -> list[str]:
    """The headings to print when moving from one section to the next."""
    common = 0
    while common < min(len(old), len(new)) and old[common] == new[common]:
        common += 1
    return list(new[common:])


def section_label(section: tuple[str, ...]) -> SectionPath:
    """The full section path, chapter first."""
    return SectionPath.of(section)
