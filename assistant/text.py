"""Text utilities shared by the stages: normalisation, tokens, sentence spans."""

from __future__ import annotations

import re

SOFT_HYPHEN = "\u00ad"
CURLY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
# Words that end in a period without ending a sentence.
ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "no", "nos", "p", "pp", "vol",
    "al", "ed", "eds", "cf", "fig", "st", "jr", "sr", "inc", "ltd", "co", "gen", "col", "lt",
    "u.s", "u.n", "approx", "ibid", "op", "cit", "art", "para", "sect", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
SENTENCE_BREAK = re.compile(r"[.!?](?:[”\"’')\]]+)?\s+(?=[“\"‘'(\[]?[A-Z0-9•])")
WORD = re.compile(r"[a-z0-9]+")
BULLET = re.compile(r"\s(?=[•▪]\s)|(?<=[.;:,])\s+(?=-\s[A-Z])")


def normalise(text: str) -> str:
    """The evaluation contract's normalisation, before tokenising."""
    text = text.replace(SOFT_HYPHEN, "")
    text = re.sub(r"(\w)-[ \t]*\n\s*(\w)", r"\1\2", text)
    return text.lower().translate(CURLY)


def word_tokens(text: str) -> list[str]:
    """Lower-case runs of [a-z0-9]: the word tokens that cleaning (duplicates, pull-quotes),
    retrieval (restated summary passages), the refusal vocabulary and the evaluation share.
    Search terms (lexical.lexical_tokens) build on the same runs, keeping hyphenated compounds."""
    return WORD.findall(text.lower())


def eval_tokens(text: str) -> list[str]:
    """Tokens as the evaluation contract counts them: word tokens after normalise()."""
    return word_tokens(normalise(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (and bullet items) of a paragraph-sized text."""
    cuts = [0]
    for match in SENTENCE_BREAK.finditer(text):
        word = re.search(r"(\S+)$", text[: match.start() + 1])
        token = word.group(1).rstrip(".").lstrip("([\"“‘'").lower() if word else ""
        line_start = text.rfind("\n", 0, match.start()) + 1
        if token.isdigit() and len(token) <= 2 and not text[line_start: match.start() - len(token)].strip():
            continue  # "1. First item": a list number, not a sentence end
        if token in ABBREVIATIONS or re.fullmatch(r"[a-z]", token) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token):
            continue
        cuts.append(match.end())
    for match in BULLET.finditer(text):
        cuts.append(match.end())
    for match in re.finditer(r"\n\s*\n", text):  # a paragraph break always ends a sentence
        cuts.append(match.end())
    cuts = sorted(set(cuts)) + [len(text)]
    spans = []
    for start, end in zip(cuts, cuts[1:]):
        segment = text[start:end]
        stripped_start = start + len(segment) - len(segment.lstrip())
        stripped_end = start + len(segment.rstrip())
        if stripped_end > stripped_start:
            spans.append((stripped_start, stripped_end))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of a text, as strings."""
    return [text[a:b] for a, b in sentence_spans(text)]


def word_count(text: str) -> int:
    return len(text.split())


# A web address, without the bracket or full stop that may close the sentence around it.
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]{}\"'`]*[^\s<>()\[\]{}\"'`.,;:!?]", re.I)
# A figure or table caption, or an axis label: never an answer sentence, never a passage to show.
CAPTION = re.compile(r"^(?:Figure|Fig\.|Table|Graph|Chart|Map|Box|Source)\s*\d*\s*[:.–-]", re.I)
# A footnote's number and its source ("240 Interview with ...", "185 BBC, ...", "12 See ..."),
# for a passage whose kind is not known; a body sentence may open with a number ("15
# peacekeepers were killed").
FOOTNOTE_START = re.compile(r"^\s*\d{1,3}\s+(?:[A-Z][\w’'.-]*,|See\b|Ibid|Interview)")


def is_substantive(text: str, kind: str = "body") -> bool:
    """A passage worth showing beside a refusal: real prose (twelve words or more besides web
    addresses), not a footnote (by its chunk kind, or by its opening when the kind is not known)
    and not a figure's caption."""
    prose = URL.sub(" ", text or "")
    if kind == "footnote" or CAPTION.match(prose.strip()) or FOOTNOTE_START.match(text or ""):
        return False
    return len(re.findall(r"[^\W\d_]{2,}", prose)) >= 12
