"""Answers that come from a document's outline rather than from sentence scores: a section
named by number ('part 2b', 'the second scenario'), and the list of a framework's parts ('What
are the four scenarios?'). The framework kinds come from each document's profile and its numbered
aliases ('scenario 2', 'part 2b'), so no kind is written into this code. Aliases resolve within
the document they belong to: two documents may both have a 'part 2'."""

from __future__ import annotations

import re

from ..chunk import Chunk
from ..lexical import lexical_tokens
from ..retrieve import Hit, plain_title
from ..sections import SectionPath
from .sentences import is_heading
from .types import ScoredSentence

# A profile alias that numbers a part of a framework: 'scenario 3', 'part 2b'.
NUMBERED_KIND = re.compile(r"^(?P<kind>[a-z]+) (?P<number>\d{1,2}[a-h]?)$")
# An alias that names one section by its number: 'part 2b', 'the second scenario', 'scenario 3'
# (not the keyword aliases such as 'harbour safety quays', which only help BM25).
NUMBERED_ALIAS = re.compile(r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b|\d", re.I)
NUMBER_WORDS = "two three four five six seven eight nine ten eleven twelve"
# Words a question may use when it asks for a list of parts and nothing more.
LIST_REQUEST_WORDS = frozenset(lexical_tokens(
    "see sees identify identifies identified propose proposes proposed consider considers considered list "
    "name names main key possible strategic policy policies future report study outline outlines outlined "
    "set sets describe describes discuss discusses different various give gives present presents "
    "recommend recommends suggested suggest suggests put forward lay laid face faces faced facing confront "
    "confronts now currently current today right " + NUMBER_WORDS))
NUMBER_VALUE = {word: n for n, word in enumerate(NUMBER_WORDS.split(), 2)}
# 'the eight areas', 'the four main criteria': a count and a noun that can name a framework's parts.
COUNTED = re.compile(rf"\b(?P<number>\d{{1,2}}|{'|'.join(NUMBER_WORDS.split())})\s+(?P<nouns>[a-z]+(?:\s+[a-z]+)?)\b", re.I)
PART_NOUNS = frozenset(lexical_tokens("areas aspects criteria dimensions elements pillars components categories "
                                      "themes parts fields domains"))


def body_sections(chunks: list[Chunk], document: str | None = None) -> list[str]:
    """Section paths of the body (not summaries) in reading order, of one document or all."""
    return list(dict.fromkeys(c.section for c in chunks if c.kind == "body" and not c.summary
                              and (document is None or c.document == document)))


def framework_kinds(aliases: dict[str, list[str]], allowed: tuple[str, ...] = ()) -> dict[str, list[tuple[str, str]]]:
    """Kinds of numbered parts in one document's aliases ('scenario' -> [(title, 'scenario 1'),
    ...]), in the order of their numbers; only the profile's framework kinds when it names them."""
    kinds: dict[str, list[tuple[str, str, str]]] = {}
    for title, names in aliases.items():
        for alias in names:
            match = NUMBERED_KIND.match(alias.lower())
            if match and (not allowed or match.group("kind") in allowed):
                kinds.setdefault(match.group("kind"), []).append((match.group("number"), title, alias))
                break
    return {kind: [(title, alias) for _n, title, alias in sorted(parts, key=lambda p: _number_key(p[0]))]
            for kind, parts in kinds.items() if len(parts) >= 2}


def _number_key(number: str) -> tuple[int, str]:
    digits = re.match(r"\d+", number)
    return (int(digits.group(0)) if digits else 0, number[len(digits.group(0)) if digits else 0:])


def pick_document(candidates, hits: list[Hit]) -> str | None:
    """Of the documents that could be meant, the one alone, else the one whose passage ranks
    best for the question; None when no retrieved passage is from any of them."""
    candidates = list(dict.fromkeys(candidates))
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    return next((h.document for h in hits if h.document in candidates), None)


def named_section(question: str, chunks: list[Chunk], aliases: dict[str, dict[str, list[str]]],
                  hits: list[Hit] = ()) -> tuple[str, str, str] | None:
    """The section a question names by number, as (document, section path, the alias used),
    within the document whose aliases name it (the best-ranked one when several do); None when
    it names none, or several in that document ('part 2a or part 2b?': retrieval weighs both)."""
    lowered = question.lower()
    named: dict[str, dict[str, str]] = {}
    for document, titles in aliases.items():
        for title, names in titles.items():
            for alias in names:
                if NUMBERED_ALIAS.search(alias) and re.search(rf"(?<![\w-]){re.escape(alias.lower())}(?![\w-])", lowered):
                    named.setdefault(document, {})[title] = max(named.get(document, {}).get(title, ""), alias, key=len)
    document = pick_document(named, hits)
    if document is None or len(named[document]) != 1:
        return None
    title, alias = next(iter(named[document].items()))
    section = next((s for s in body_sections(chunks, document) if SectionPath(s).title == title), None)
    return (document, section, alias) if section else None


def section_hits(section: str, chunks: list[Chunk], document: str | None = None) -> list[Hit]:
    """The body passages of a section and its sub-sections, in reading order, as hits (of one
    document when given: two documents may share a heading)."""
    inside = [(i, c) for i, c in enumerate(chunks) if c.kind == "body" and not c.summary
              and (document is None or c.document == document)
              and SectionPath(section).contains(c.section)]
    return [Hit(rank, c.id, c.document, c.section, c.page, 1.0, c.text, i, c.kind) for rank, (i, c) in enumerate(inside, 1)]


def asks_only_about(question: str, alias: str, title: str, kinds: set[str]) -> bool:
    """'What is part 2b?', 'What does the report say about the second scenario (To stay on the
    coast, or not?)': nothing is asked beyond the section itself."""
    named = set(lexical_tokens(alias)) | set(lexical_tokens(title)) | set(lexical_tokens(" ".join(kinds)))
    return not set(lexical_tokens(question)) - named - set(lexical_tokens("propose proposes mean"))


def section_opening(hits: list[Hit], chunks: list[Chunk], sentences: int = 3) -> list[ScoredSentence]:
    """The opening of a section: its heading, when the passage starts with one, and the first
    sentences after it (three sentences in all)."""
    if not hits:
        return []
    hit = hits[0]
    chunk = chunks[hit.position]
    return [ScoredSentence(hit, k, a, b, chunk.text[a:b], 1.0, 1.0, 1.0, is_heading(chunk, k))
            for k, (a, b) in enumerate(chunk.sentences[:sentences])]


def heading_item(section: str, chunks: list[Chunk], document: str | None = None) -> ScoredSentence | None:
    """A section's heading as an answer line, cited to the passage it opens."""
    for position, chunk in enumerate(chunks):
        if (chunk.section == section and chunk.kind == "body" and not chunk.summary and is_heading(chunk, 0)
                and (document is None or chunk.document == document)):
            a, b = chunk.sentences[0]
            hit = Hit(0, chunk.id, chunk.document, chunk.section, chunk.page, 1.0, chunk.text, position, chunk.kind)
            return ScoredSentence(hit, 0, a, b, chunk.text[a:b], 1.0, 1.0, 1.0, True)
    return None


def asked_kind(question: str, kinds: dict[str, dict[str, list[tuple[str, str]]]],
               hits: list[Hit] = (), subjects: dict[str, frozenset[str]] | None = None) -> tuple[str, str] | None:
    """The framework kind whose list a question asks for, as (document, kind): 'What are the
    four scenarios?', 'Name the eight principles', 'What policy options does the report
    propose?', 'What are the dimensions of effectiveness?'. The kind must be in the plural and
    nothing may be asked besides but list words and the words that name the document's own
    subject (`subjects`: per document, the stemmed words of its title and subject names: they
    narrow nothing in it); when several documents have the kind, the one whose passage ranks best
    is meant."""
    words = re.findall(r"[a-z]+", question.lower().replace("’", "'"))
    query = {t for t in lexical_tokens(question) if len(t) > 1}
    subjects = subjects or {}
    names = dict.fromkeys(kind for document_kinds in kinds.values() for kind in document_kinds)
    for kind in names:
        if f"{kind}s" not in words:
            continue
        having = [d for d, document_kinds in kinds.items() if kind in document_kinds
                  and not query - set(lexical_tokens(kind)) - LIST_REQUEST_WORDS - subjects.get(d, frozenset())]
        if having:
            document = pick_document(having, hits)
            return (document, kind) if document else None
    return counted_kind(question, kinds, hits)


def counted_kind(question: str, kinds: dict[str, dict[str, list[tuple[str, str]]]],
                 hits: list[Hit] = ()) -> tuple[str, str] | None:
    """A list asked for by its count in other words than the kind's: 'What are the eight areas
    the study judges a mission on?' names the framework that has eight parts, when exactly one
    kind has that many and the counted noun can name parts of a framework ('areas', 'criteria')."""
    for match in COUNTED.finditer(question):
        number = match.group("number").lower()
        count = int(number) if number.isdigit() else NUMBER_VALUE[number]
        if not set(lexical_tokens(match.group("nouns"))) & PART_NOUNS:  # 'eight areas', 'four main criteria'
            continue
        fitting = [(d, kind) for d, document_kinds in kinds.items() for kind, parts in document_kinds.items()
                   if len(parts) == count]
        if len({kind for _d, kind in fitting}) == 1:
            document = pick_document([d for d, _kind in fitting], hits)
            return (document, fitting[0][1]) if document else None
    return None


def subject_words(title: str, short_title: str, subject_names) -> frozenset[str]:
    """The stemmed words that name what a whole document is about: its title, short title and
    subject names (a list question that adds them asks for nothing narrower)."""
    return frozenset(lexical_tokens(" ".join([title, short_title, *subject_names])))


def kind_list(document: str, kind: str, kinds: dict[str, dict[str, list[tuple[str, str]]]],
              chunks: list[Chunk]) -> list[ScoredSentence]:
    """The headings of every part of one document's kind, in the profile's order."""
    parts = kinds[document][kind]
    titles = {title for title, _alias in parts}
    by_title = {SectionPath(s).title: s for s in body_sections(chunks, document) if SectionPath(s).title in titles}
    items = [heading_item(by_title[title], chunks, document) for title, _alias in parts if title in by_title]
    return [item for item in items if item is not None]


def subsection_list(question: str, hits: list[Hit], chunks: list[Chunk],
                    aliases: dict[str, dict[str, list[str]]]) -> list[ScoredSentence]:
    """For 'Which options does the report see?': the headings of the sub-sections of the
    section the question names (by title word or profile alias), each cited to its passage;
    within the document of the best passage."""
    if not hits:
        return []
    document = hits[0].document
    titles = aliases.get(document, {})
    query = set(lexical_tokens(question))
    sections = body_sections(chunks, document)
    best, best_overlap = None, 0
    for parent in dict.fromkeys(SectionPath(s).parent for s in sections if SectionPath(s).parent):
        overlap = len(query & title_words(parent.title, titles))
        children = [s for s in sections if s != parent and parent.contains(s)]
        if overlap > best_overlap and len(children) >= 2:
            best, best_overlap = parent, overlap
    if best is None or not any(h.section.startswith(best) and h.document == document for h in hits[:5]):
        return []
    named = title_words(SectionPath(best).title, titles)
    if {t for t in query if len(t) > 1} - named - LIST_REQUEST_WORDS:
        return []  # 'What are the risks of ...?' wants sentences, not the list of headings
    items = [heading_item(s, chunks, document) for s in sections if s != best and SectionPath(best).contains(s)]
    items = [item for item in items if item is not None]
    return items if len(items) >= 2 else []


def title_words(title: str, aliases: dict[str, list[str]]) -> set[str]:
    """The words that name a section: its title without numbering, and its profile aliases."""
    return set(lexical_tokens(plain_title(title))) | {t for alias in aliases.get(title, []) for t in lexical_tokens(alias)}
