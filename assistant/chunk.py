"""Cut the structured document into citable chunks that respect sentences and sections."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .structure import LIST_ITEM, Paragraph, StructuredDocument, section_label
from .sections import SectionPath
from .text import sentence_spans, word_count

# A list item that runs on into the next one: "- French Operation Sangaris,", "... (EUTT RCA), and".
RUNS_ON = re.compile(r"(?:[,;]|\b(?:and|or))$")


@dataclass(frozen=True)
class Chunk:
    """A retrievable, citable unit of text: never crosses a section."""

    id: str
    document: str
    section: SectionPath  # full path, chapter first
    paragraph: int  # number of its first paragraph within the section
    page: int | None
    start: int  # character span in the cleaned document text
    end: int
    text: str
    kind: str  # "body", "caption" (figure and table captions, never quoted) or "footnote"
    summary: bool  # from a chapter that restates the body (abstract, back cover)
    sentences: tuple[tuple[int, int], ...]  # sentence spans within `text`

    def __post_init__(self) -> None:
        if not isinstance(self.section, SectionPath):  # read back from chunks.jsonl as a plain str
            object.__setattr__(self, "section", SectionPath(self.section))

    @property
    def opens_with_heading(self) -> bool:
        """Whether the chunk starts with its section's heading (the section's first chunk)."""
        return self.kind == "body" and self.text.startswith(self.section.title + "\n\n")

    def text_after_heading(self) -> str:
        """The text without its opening heading: the heading already stands in the section path."""
        if not self.opens_with_heading:
            return self.text
        return self.text[len(self.section.title):].lstrip()

    def to_record(self) -> dict:
        """The chunks.jsonl line."""
        record = {k: getattr(self, k) for k in ("id", "document", "section", "page", "text", "paragraph",
                                               "start", "end", "kind", "summary")}
        record["sentences"] = [list(span) for span in self.sentences]
        return record

    @classmethod
    def from_record(cls, record: dict) -> "Chunk":
        fields = {k: record[k] for k in ("id", "document", "section", "page", "text", "paragraph",
                                          "start", "end", "kind", "summary")}
        return cls(sentences=tuple(tuple(s) for s in record["sentences"]), **fields)


@dataclass(frozen=True)
class _Unit:
    """Paragraphs that must stay together (a list with its lead-in), or a piece of a long one."""

    paragraphs: tuple[Paragraph, ...]
    start: int
    end: int
    words: int


def chunk_document(doc: StructuredDocument, target_words: int, max_words: int) -> list[Chunk]:
    """Pack each section's paragraphs into chunks of about `target_words` words."""
    chunks: list[Chunk] = []
    for run in _section_runs([p for p in doc.paragraphs if p.kind not in ("footnote", "caption")]):
        for k, group in enumerate(_pack(_units(run, doc.text, max_words), target_words, max_words)):
            heading_start = _heading_start(doc, run[0]) if k == 0 and run[0].ordinal == 1 else None
            chunks.append(_make_chunk(doc, group, "body", heading_start))
    # Captions (with a table's cells and a figure's source line) are chunked like the body, by
    # section, but apart from it: they are found by search and shown, never quoted.
    for run in _section_runs([p for p in doc.paragraphs if p.kind == "caption"]):
        units = [_Unit((p,), p.start, p.end, word_count(p.text)) for p in run]
        chunks.extend(_make_chunk(doc, group, "caption") for group in _pack(units, target_words, max_words))
    for note in (p for p in doc.paragraphs if p.kind == "footnote"):
        unit = _Unit((note,), note.start, note.end, word_count(note.text))
        chunks.append(_make_chunk(doc, [unit], "footnote"))
    return chunks


def _section_runs(paragraphs: list[Paragraph]) -> list[list[Paragraph]]:
    """Consecutive paragraphs of one section: a chunk's span never contains a heading."""
    runs: list[list[Paragraph]] = []
    for paragraph in paragraphs:
        if runs and runs[-1][-1].section == paragraph.section:
            runs[-1].append(paragraph)
        else:
            runs.append([paragraph])
    return runs


def _units(paragraphs: list[Paragraph], text: str, max_words: int) -> list[_Unit]:
    """Glue each list to its lead-in paragraph; split over-long paragraphs at sentences."""
    groups: list[list[Paragraph]] = []
    for paragraph in paragraphs:
        if paragraph.kind == "list" and groups:
            groups[-1].append(paragraph)
        else:
            groups.append([paragraph])
    units = []
    for group in groups:
        start, end = group[0].start, group[-1].end
        words = word_count(text[start:end])
        if words <= max_words or len(group) > 1:
            units.append(_Unit(tuple(group), start, end, words))
        else:
            units.extend(_split_long(group[0], max_words))
    return units


def _split_long(paragraph: Paragraph, max_words: int) -> list[_Unit]:
    """Split a paragraph longer than `max_words` into runs of whole sentences."""
    pieces, current, count = [], [], 0
    for a, b in sentence_spans(paragraph.text):
        n = word_count(paragraph.text[a:b])
        if current and count + n > max_words * 0.6:
            pieces.append((current[0][0], current[-1][1], count))
            current, count = [], 0
        current.append((a, b))
        count += n
    if current:
        pieces.append((current[0][0], current[-1][1], count))
    return [_Unit((paragraph,), paragraph.start + a, paragraph.start + b, n) for a, b, n in pieces]


def _pack(units: list[_Unit], target_words: int, max_words: int) -> list[list[_Unit]]:
    """Greedy packing: add units until the target is reached; never pass the maximum."""
    groups: list[list[_Unit]] = []
    count = 0
    for unit in units:
        if groups and count < target_words and count + unit.words <= max_words:
            groups[-1].append(unit)
            count += unit.words
        else:
            groups.append([unit])
            count = unit.words
    return groups


def _heading_start(doc: StructuredDocument, first: Paragraph) -> int | None:
    """Where the sub-heading printed just above a section's first paragraph begins, so the
    section's first chunk opens with the heading the reader saw ("b) Focus on the coast",
    "V. Protection and Stabilisation"). A title the text does not print (supplied by the
    outline) is not found there and is left out."""
    if not first.section:
        return None
    heading = first.section[-1]
    start = first.start - 2 - len(heading)
    return start if start >= 0 and doc.text[start: first.start] == heading + "\n\n" else None


def _make_chunk(doc: StructuredDocument, units: list[_Unit], kind: str, heading_start: int | None = None) -> Chunk:
    first = units[0].paragraphs[0]
    start, end = units[0].start if heading_start is None else heading_start, units[-1].end
    text = doc.text[start:end]
    section = section_label(first.section)
    digest = hashlib.sha1(f"{doc.doc_id}|{section}|{text}".encode()).hexdigest()[:12]
    summary = first.section[0] in doc.summary_chapters
    spans = quotable_spans(text)
    if heading_start is not None:
        # The heading is one line, whatever its punctuation ('VI. People-Centred Approach').
        heading_end = len(first.section[-1])
        body = text.index("\n\n", heading_end)
        spans = [(0, heading_end)] + [(a, b) for a, b in spans if a >= body]
    return Chunk(f"{doc.doc_id}:{digest}", doc.doc_id, section, first.ordinal, first.page,
                 start, end, text, kind, summary, tuple(spans) or ((0, len(text)),))


def sentence_windows(chunk: Chunk, size: int) -> list[tuple[int, int]]:
    """Spans of `size` consecutive sentences of a chunk, one starting at each sentence (a chunk
    with fewer sentences gives one span of them all). A question's wording often matches two or
    three sentences together better than one sentence (too little context) or the whole
    passage (too much). The opening heading is left out: the section path already stands for
    it. Spans only: what is embedded is verbatim chunk text."""
    spans = list(chunk.sentences)
    if not spans:
        return []
    if chunk.opens_with_heading and len(spans) > 1:
        spans = spans[1:]
    count = max(1, len(spans) - size + 1)
    return [(spans[k][0], spans[min(len(spans), k + size) - 1][1]) for k in range(count)]


def quotable_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, except that a list which continues a sentence stays in it: the lead-in
    ('... including the:') and items that run on ('- French Operation Sangaris,', '- EU Training
    Team in the CAR (EUTT RCA), and') up to the item that ends the sentence are one span, so
    that no item is quoted as a sentence of its own. Items that stand alone ('1. Political
    primacy', '• External partners of the operation.') stay separate."""
    spans: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        if spans and LIST_ITEM.match(text[a:b]):
            before, item = text[spans[-1][0]:spans[-1][1]], text[a:b]
            if RUNS_ON.search(before) or (before.endswith(":") and RUNS_ON.search(item)):
                spans[-1] = (spans[-1][0], b)
                continue
        spans.append((a, b))
    return spans
