"""What the chat page shows, as safe Markdown: cards, highlights, relevance, history turns.

Pure functions, no Streamlit. Everything that comes from a question or a document is escaped
character by character, so that no Markdown image, link, HTML tag, list, heading or Streamlit
directive in it is ever rendered (or fetched by the browser): it is shown as the text it is.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from .briefing import (CLOSEST_HEADING, NOT_ADDRESSED, citations_by_passage, closest_passages, refusal_reason,
                       section_path, understood_as)

__all__ = ["CLOSEST_HEADING", "NOT_ADDRESSED", "Card", "Turn", "addition_messages", "answer_cards", "documents_note", "escape", "filter_note",
           "highlight", "markdown_lines", "refusal_cards", "refusal_reason", "relevance", "shown_question",
           "trim_context", "understood_as"]

SHOWN_QUESTION_CHARS = 300
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# A sentence ends at . ! ? or … (a closing quote or bracket may follow) before a space, or at a
# paragraph break.
_SENTENCE_END = re.compile(r"[.!?…][”’\"')\]]*\s+|\n\s*\n")


def pages_label(document: Any) -> str:
    """How many pages a shelf document has: a PDF's pages, or for a text file the printed page
    numbers its text shows (an extraction may keep only a few running headers)."""
    if document.file.lower().endswith(".pdf"):
        return f"{document.pages} pages"
    return f"{document.pages} page numbers in the text"


def escape(text: str) -> str:
    """Every ASCII punctuation mark backslash-escaped: Markdown shows the text as it is."""
    return _PUNCTUATION.sub(r"\\\1", text)


def _join_lines(lines: list[str]) -> str:
    """Lines as Markdown: a line break inside a paragraph, an empty line between paragraphs."""
    out, previous_blank = "", True
    for line in lines:
        if not line.strip():
            if not previous_blank:
                out += "\n\n"
            previous_blank = True
            continue
        out += ("" if previous_blank else "  \n") + line
        previous_blank = False
    return out.strip()


def markdown_lines(text: str) -> str:
    """Escaped Markdown that keeps each line of the text on its own line (a heading above its
    text, option lines), with leading spaces dropped so that no line becomes a code block."""
    return _join_lines([escape(line.strip()) for line in (text or "").split("\n")])


def shown_question(question: str) -> str:
    """The question as typed, escaped, on one line, shortened when very long."""
    text = " ".join((question or "").split())
    if not text:
        return "*(empty question)*"
    if len(text) > SHOWN_QUESTION_CHARS:
        text = text[:SHOWN_QUESTION_CHARS] + f" … ({len(question):,} characters)"
    return escape(text)


# --- highlighting the quoted sentences -----------------------------------------------------


def _find(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text``, ignoring case and runs of whitespace."""
    words = quote.split()
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(w) for w in words), text, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def _sentences(quote: str) -> list[str]:
    """The sentences of a quote, for finding a quote that is not found whole."""
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(quote):
        parts.append(quote[start:match.start() + 1])
        start = match.end()
    parts.append(quote[start:])
    return [p.strip() for p in parts if p.strip()]


def quote_spans(text: str, quotes: list[str]) -> list[tuple[int, int]]:
    """The spans of the quotes in the passage (sentence by sentence when a quote is not found
    whole), merged where they touch."""
    spans = []
    for quote in quotes:
        whole = _find(text, quote)
        spans.extend([whole] if whole else [s for s in (_find(text, q) for q in _sentences(quote)) if s])
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, quotes: list[str]) -> str:
    """The passage as escaped Markdown with the quoted sentences in **bold**, line by line
    (Markdown's ** does not reach across a line break)."""
    pieces, last = [], 0
    for start, end in quote_spans(text, quotes):
        pieces += [(text[last:start], False), (text[start:end], True)]
        last = end
    pieces.append((text[last:], False))
    lines: list[str] = [""]
    for piece, bold in pieces:
        for k, part in enumerate(piece.split("\n")):
            if k:
                lines.append("")
            lines[-1] += _bold(part) if bold else escape(part)
    return _join_lines([line.lstrip() for line in lines])


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The sentences of a passage as (start, end) offsets; paragraph breaks end a sentence."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start() + 1))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def shortened(text: str, quotes: list[str], context: int = 1, opening: int = 3) -> str:
    """The passage cut to what a reader needs on a small screen, as highlighted Markdown: the
    sentences that hold a quote and ``context`` sentences either side (or, with no quote, its
    first ``opening`` sentences), gaps marked with "…"."""
    sentences = sentence_spans(text)
    quoted = quote_spans(text, quotes)
    keep = set()
    for i, (start, end) in enumerate(sentences):
        if any(a < end and start < b for a, b in quoted):
            keep.update(range(max(0, i - context), min(len(sentences), i + context + 1)))
    if not keep:
        keep = set(range(min(opening, len(sentences))))
    if len(keep) >= len(sentences):
        return highlight(text, quotes)
    runs: list[list[int]] = []
    for i in sorted(keep):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts = [highlight(text[sentences[run[0]][0]: sentences[run[-1]][1]], quotes) for run in runs]
    body = " … ".join(parts)
    return ("… " if runs[0][0] > 0 else "") + body + (" …" if runs[-1][-1] < len(sentences) - 1 else "")


def _bold(part: str) -> str:
    """Escaped text in ** marks, with the spaces around it left outside them."""
    core = part.strip()
    if not core:
        return part
    lead, trail = part[: len(part) - len(part.lstrip())], part[len(part.rstrip()):]
    return f"{lead}**{escape(core)}**{trail}"


# --- cards ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One passage as the page shows it."""

    label: str  # "[1]", "[1, 3]", or "Passage 2 — not an answer"
    section: str  # the full path, chapter first
    page: int | None
    text: str  # the passage, without a first line that repeats the section's own heading
    quotes: tuple[str, ...]
    score: float | None
    chunk_id: str
    document: str = ""  # the document's short title, shown when the shelf holds several documents

    @property
    def header(self) -> str:
        """Bold label, then the document (when named) and the section path (escaped)."""
        where = escape(section_path(self.section) or "Unknown section")
        if self.document:
            where = f"*{escape(self.document)}* › {where}"
        return f"**{escape(self.label)}** {where}"

    @property
    def details(self) -> str:
        """Page where known and relevance in words (no raw score, no "page n/a")."""
        parts = [f"p. {self.page}"] if self.page is not None else []
        if self.score is not None:
            parts.append(relevance(self.score))
        return " · ".join(parts)

    @property
    def body(self) -> str:
        """The quoted sentences in bold with a sentence either side; a passage without a quote
        (a refusal's) by its opening. The whole passage is under "Surrounding text"."""
        return shortened(self.text, list(self.quotes))

    @property
    def full_body(self) -> str:
        """The whole passage with the quoted sentences in bold."""
        return highlight(self.text, list(self.quotes))


def without_heading(text: str, section: str) -> str:
    """The passage without its first line when that line is the section's own heading, which
    the card's breadcrumb already shows."""
    heading = (section or "").split(">")[-1].strip()
    first, newline, rest = (text or "").lstrip().partition("\n")
    if heading and newline and " ".join(first.split()).lower() == " ".join(heading.split()).lower():
        return rest.lstrip("\n")
    return text


def _hit(answer: Any, chunk_id: str) -> Any | None:
    """The retrieved passage with this chunk id, if the answer carries it."""
    return next((h for h in getattr(answer, "passages", None) or () if h.chunk_id == chunk_id), None)


def answer_cards(answer: Any, titles: dict[str, str] | None = None) -> list[Card]:
    """One card per cited passage, however many [n] point to it. With `titles` (document name
    -> short title, given when the shelf holds several documents) each card names its document."""
    titles = titles or {}
    cards = []
    for numbers, citation, quotes in citations_by_passage(answer):
        hit = _hit(answer, citation.chunk_id)
        text = hit.text if hit else "\n\n".join(quotes)
        cards.append(Card("[" + ", ".join(str(n) for n in numbers) + "]", citation.section, citation.page,
                          without_heading(text, citation.section), tuple(quotes),
                          hit.score if hit else None, citation.chunk_id,
                          _title(titles, getattr(citation, "document", ""))))
    return cards


def refusal_cards(answer: Any, titles: dict[str, str] | None = None) -> list[Card]:
    """At most three closest passages of a refusal, none a footnote stub or a bare address."""
    return [Card(f"Passage {i} — not an answer", hit.section, hit.page, without_heading(hit.text, hit.section),
                 (), hit.score, hit.chunk_id, _title(titles or {}, getattr(hit, "document", "")))
            for i, hit in enumerate(closest_passages(answer), start=1)]


def _title(titles: dict[str, str], document: str) -> str:
    """The document's short title when titles are given (a document no longer on the shelf
    keeps its name)."""
    return (titles.get(document) or document) if titles else ""


def relevance(score: float) -> str:
    """A retrieval score in [0, 1] as a small bar and a word: "relevance ●●●○○ medium"."""
    value = min(max(float(score), 0.0), 1.0)
    filled = min(max(round(value * 5), 1), 5)
    word = "high" if value >= 0.6 else "medium" if value >= 0.4 else "low"
    return f"relevance {'●' * filled}{'○' * (5 - filled)} {word}"


def trim_context(before: str, after: str) -> tuple[str, str]:
    """Surrounding text cut at sentence boundaries: ``before`` from the first sentence that
    starts inside it, ``after`` up to the last sentence that ends inside it."""
    starts = list(_SENTENCE_END.finditer(before or ""))
    before = before[starts[0].end():] if starts else ""
    padded = (after or "") + " "  # a sentence that ends the text ends before this space
    ends = list(_SENTENCE_END.finditer(padded))
    after = padded[: ends[-1].end()] if ends else ""
    return before.strip(), after.strip()


# --- the history of the page ----------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One exchange on the page: an answer, or a question rejected with its message."""

    question: str
    answer: Any | None = None
    message: str | None = None  # why the question was not searched (empty, too long, ...)
    chapters: tuple[str, ...] = ()  # the chapter filter that shaped the answer (full titles)
    documents: tuple[str, ...] = ()  # the document filter that shaped the answer (short titles)


def filter_note(chapters: tuple[str, ...]) -> str:
    """The chapter filter, spelled out on the answer it shaped."""
    if not chapters:
        return ""
    return "Searched only " + ("chapter " if len(chapters) == 1 else "chapters ") + "; ".join(
        escape(c) for c in chapters)


def documents_note(titles: tuple[str, ...]) -> str:
    """The document filter, spelled out on the answer it shaped."""
    if not titles:
        return ""
    return "Searched only " + "; ".join(escape(t) for t in titles)


# --- the shelf ------------------------------------------------------------------------------


def addition_messages(report: Any) -> list[tuple[str, str]]:
    """What an addition to the shelf did (a shelf.ShelfChangeReport), one (kind, Markdown) message
    per file: "success" for a document added, "error" for a file not added or not indexed."""
    messages = []
    for document in report.added:
        pages = f"{pages_label(document)}, " if document.pages else ""
        messages.append(("success", f"Added {escape(document.short_title or document.name)} "
                                    f"({escape(document.file)}): {pages}{document.chunks} chunks."))
    messages += [("error", f"Not added: {escape(n.file)}: {escape(n.reason)}") for n in report.not_added]
    messages += [("error", f"Not indexed: {escape(n.file)}: {escape(n.reason)}") for n in report.not_indexed]
    return messages
