"""Turn chosen sentences into the answer text: one [n] per passage, each citation a verbatim,
contiguous quote of its passage."""

from __future__ import annotations

import re

from ..chunk import Chunk
from .sentences import LIST_ITEM, is_heading
from .types import Citation, ScoredSentence


def compose(chosen: list[ScoredSentence], chunks: list[Chunk]) -> tuple[str, list[Citation]]:
    """Group the sentences by passage (in the order the passages were chosen), close any gap
    inside a passage so that its quote is one contiguous span, and number the passages."""
    order = list(dict.fromkeys(s.hit.position for s in chosen))
    parts, citations = [], []
    for position in order:
        picked = [s for s in chosen if s.hit.position == position]
        chunk = chunks[position]
        first, last = min(s.index for s in picked), max(s.index for s in picked)
        spans = chunk.sentences[first: last + 1]
        texts = [chunk.text[a:b] for a, b in spans]
        quote = chunk.text[spans[0][0]: spans[-1][1]]
        n = len(citations) + 1
        citation = Citation(n, chunk.id, chunk.document, chunk.section, chunk.page, quote)
        if not verify_citation(citation, chunk, texts):
            continue  # never show a quote that is not verbatim in its passage
        citations.append(citation)
        lines = [is_heading(chunk, first + k) or bool(LIST_ITEM.match(t)) for k, t in enumerate(texts)]
        texts[-1] = with_marker(texts[-1], n)
        parts.append((join_lines(list(zip(texts, lines))), any(lines)))
    return join_lines(parts), citations


def with_marker(sentence: str, n: int) -> str:
    """Put the [n] marker before a closing full stop: 'held 66 interviews [1].'; after a
    question mark, so that a heading stays whole: 'To stay on the coast, or not? [1]'."""
    if sentence.rstrip().endswith(("?", "!", "?”", "?\"")):
        return f"{sentence.rstrip()} [{n}]"
    match = re.search(r"([.;:][”\"’)]?|[”\"’])$", sentence)  # '(WPS)' keeps its bracket: '(WPS) [1]'
    tail = match.group(1) if match else ""
    body = sentence[: len(sentence) - len(tail)] if tail else sentence
    return f"{body.rstrip()} [{n}]{tail}"


def join_lines(pieces: list[tuple[str, bool]]) -> str:
    """Sentences run on; list items and headings (flagged True) go on lines of their own."""
    text, previous_line = "", False
    for piece, as_line in pieces:
        separator = "\n" if as_line or previous_line else " "
        text = f"{text}{separator}{piece}" if text else piece
        previous_line = as_line
    return text


def verify_citation(citation: Citation, chunk: Chunk, sentences: list[str]) -> bool:
    """A citation holds only if its quote is verbatim in the chunk and contains each sentence."""
    return citation.quote in chunk.text and all(s in citation.quote for s in sentences)
