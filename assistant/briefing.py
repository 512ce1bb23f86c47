"""Turn answers into text a desk officer can paste into a briefing, and show in the app.

Pure functions, no Streamlit. Three exports:

* ``answer_markdown(answer, prefix)``: the answer with its numbered references, in Markdown;
* ``answer_plaintext(answer, prefix)``: the same without Markdown marks;
* ``conversation_markdown(conversation_or_answers, prefix)``: every turn of a conversation.

A reference reads ``[n] <prefix>, section <section path>, p. <page>.``, where ``prefix`` is
``Assistant.citation_prefix`` (the report's short citation, with its title in *italics*).
An abstained answer is exported as "The report does not address this question." followed by
the closest passages, labelled as not an answer.

A few small presentation helpers (page labels, quote highlighting, chapter prefixes) live here
too, so that the Streamlit page only lays things out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

ABSTENTION = "The report does not address this question."
CLOSEST_HEADING = "Closest passages — not an answer"
EXCERPT_CHARS = 400

# Characters Streamlit's Markdown would treat as formatting (``$`` starts LaTeX).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}<>#|~$])")
_WHITESPACE = re.compile(r"\s+")


# --- small helpers -----------------------------------------------------------------------


def plain_prefix(prefix: str) -> str:
    """The citation prefix without Markdown italics marks."""
    return prefix.replace("*", "")


def page_label(page: int | None) -> str:
    """``"p. 12"``, or ``"page n/a"`` when the page is unknown."""
    return f"p. {page}" if page is not None else "page n/a"


def reference_line(n: int, section: str, page: int | None, prefix: str) -> str:
    """One numbered reference: ``[n] <prefix>, section <path>, p. <page>.``"""
    location = f", section {section}" if section else ""
    pages = f", p. {page}" if page is not None else ""
    return f"[{n}] {prefix}{location}{pages}."


def escape_markdown(text: str) -> str:
    """Escape characters that Streamlit Markdown would format (keeps ``[n]`` markers)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_lines(text: str) -> str:
    """Escaped Markdown that keeps each line of an answer on its own line: a heading above its
    text, or 'a) Focus on the North' list lines, would otherwise run together."""
    return "  \n".join(escape_markdown(line) for line in text.split("\n"))


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def chapter_prefixes(chapter_titles: Iterable[str]) -> tuple[str, ...]:
    """Chapter prefixes for ``Settings.sections``: "V. Protection ..." -> "V."."""
    prefixes = []
    for title in chapter_titles:
        head = title.strip().split(" ", 1)[0] if title.strip() else ""
        if head:
            prefixes.append(head)
    return tuple(prefixes)


def _find_span(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text``, ignoring case and runs of whitespace."""
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(word) for word in words)
    match = re.search(pattern, text, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def highlight_quote(text: str, quote: str) -> str:
    """The passage as escaped Markdown, with the cited quote in **bold**.

    When the quote cannot be found in the passage the passage is returned unhighlighted.
    """
    span = _find_span(text, quote.strip()) if quote else None
    if span is None:
        return escape_markdown(text)
    start, end = span
    # Bold each line on its own: Markdown's ** does not reach across a paragraph break.
    inner = "\n".join(f"**{escape_markdown(line.strip())}**" if line.strip() else line
                      for line in text[start:end].strip().split("\n"))
    return f"{escape_markdown(text[:start])}{inner}{escape_markdown(text[end:])}"


def passage_for(answer: Any, chunk_id: str) -> Any | None:
    """The retrieved passage (Hit) with this chunk id, if the answer carries it."""
    for hit in getattr(answer, "passages", None) or ():
        if hit.chunk_id == chunk_id:
            return hit
    return None


# --- answer exports ------------------------------------------------------------------------


def _references(answer: Any, prefix: str) -> list[str]:
    return [reference_line(c.n, c.section, c.page, prefix) for c in answer.citations]


def _closest_passages(answer: Any, *, markdown: bool) -> list[str]:
    lines = []
    for i, hit in enumerate(answer.passages, start=1):
        where = f"{hit.section}, {page_label(hit.page)}"
        text = excerpt(hit.text)
        if markdown:
            lines.append(f"{i}. *{escape_markdown(where)}* — “{escape_markdown(text)}”")
        else:
            lines.append(f"{i}. {where} — “{text}”")
    return lines


def _abstention(answer: Any, *, markdown: bool) -> str:
    parts = [ABSTENTION]
    passages = _closest_passages(answer, markdown=markdown)
    if passages:
        heading = f"**{CLOSEST_HEADING}:**" if markdown else f"{CLOSEST_HEADING}:"
        parts.append(heading + "\n\n" + "\n".join(passages))
    return "\n\n".join(parts)


def answer_markdown(answer: Any, prefix: str) -> str:
    """The answer and its numbered references, as Markdown."""
    if answer.abstained:
        return _abstention(answer, markdown=True)
    body = markdown_lines(answer.answer.strip())
    references = _references(answer, prefix)
    if not references:
        return body
    listing = "\n".join(f"- {line}" for line in references)
    return f"{body}\n\n**References**\n\n{listing}"


def answer_plaintext(answer: Any, prefix: str) -> str:
    """The answer and its numbered references, as plain text (no Markdown marks)."""
    if answer.abstained:
        return _abstention(answer, markdown=False)
    body = answer.answer.strip()
    references = _references(answer, plain_prefix(prefix))
    if not references:
        return body
    return body + "\n\nReferences\n" + "\n".join(references)


# --- conversation export -------------------------------------------------------------------


def conversation_answers(conversation_or_answers: Any) -> list[Any]:
    """The answers of a Conversation (or of a plain sequence of answers), oldest first."""
    source = conversation_or_answers
    for name in ("answers", "turns", "history"):
        if not isinstance(source, Sequence) and hasattr(source, name):
            source = getattr(source, name)
            break
    if callable(source):
        source = source()
    items = list(source or ())
    return [getattr(item, "answer_obj", None) or _unwrap(item) for item in items]


def _unwrap(item: Any) -> Any:
    """A turn may wrap its Answer; an Answer has a string ``answer`` field."""
    inner = getattr(item, "answer", None)
    if inner is not None and not isinstance(inner, str):
        return inner
    return item


def conversation_markdown(conversation_or_answers: Any, prefix: str) -> str:
    """Every question as a heading, followed by its answer and references."""
    answers = conversation_answers(conversation_or_answers)
    lines = [f"# Questions on {prefix}", ""]
    if not answers:
        lines.append("No questions asked yet.")
    for i, answer in enumerate(answers, start=1):
        question = _WHITESPACE.sub(" ", answer.question).strip()
        lines.append(f"## {i}. {question}")
        resolved = _WHITESPACE.sub(" ", getattr(answer, "resolved_question", "") or "").strip()
        if resolved and resolved != question:
            lines.append("")
            lines.append(f"*Understood as:* {escape_markdown(resolved)}")
        lines.append("")
        lines.append(answer_markdown(answer, prefix))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
