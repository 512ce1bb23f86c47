"""Score the sentences of the retrieved passages against a question, and tell which sentences
can stand in an answer (no heading, caption, list fragment or footnote residue)."""

from __future__ import annotations

import re

import numpy as np

from ..chunk import Chunk
from ..config import Settings
from ..lexical import lexical_tokens
from ..retrieve import Hit
from ..text import CAPTION
from .types import ScoredSentence

# A sentence that leans on the one before it ('This was ...', 'However, ...') needs it to be read.
LEANS_BACK = re.compile(r"^(?:(?:this|these|that|those|it|its|they|their|such|however|but|yet|moreover|furthermore|"
                        r"in addition|additionally|as a result|therefore|thus|hence|nevertheless|still|also|he|she|"
                        r"the (?:first|second|third|fourth|fifth|sixth|last|latter|former) (?:is|was|are|were|one))\b|"
                        r"(?:second|third|fourth|fifth|finally|lastly),)",  # an item of a list announced before
                        re.I)
LIST_ITEM = re.compile(r"^(?:[•▪-]\s|\d{1,2}\.\s|[a-h]\)\s)")
# A footnote number glued after punctuation ('ISGS.118', '31%.28', 'ECOWAS,114'), not a decimal
# or a thousands separator ('1.5', '2,000').
GLUED_MARKER = re.compile(r"(?<![\d.,])[.,;:%)\]”’\"]\d{1,3}(?=\s|$|[”’\"),;:])")
BROKEN_HYPHEN = re.compile(r"[a-z]-\s+(?:[?!.,;:]|$)")
FACTOID = re.compile(r"^\s*(?:how many|how much|what (?:share|percentage|proportion|number)|when|in which year|which year)\b",
                     re.I)
DEFINITION = re.compile(r"^\s*(?:(?:what|who)\s+(?:is|are|was|were)\s+(?:the\s+|an?\s+)?(?P<term>[^?]{2,60}?)"
                        r"|what\s+does\s+(?P<acronym>[^?]{2,20}?)\s+stand\s+for)\s*\??\s*$", re.I)


def score_sentences(question: str, query_vector: np.ndarray, hits: list[Hit], chunks: list[Chunk],
                    sentence_vectors: np.ndarray, offsets: np.ndarray, settings: Settings,
                    typed: str | None = None) -> list[ScoredSentence]:
    """Score every sentence of the top passages: meaning (embedding similarity), shared
    words, and a small prior for the better-ranked passage. For a follow-up, `question` is the
    resolved question and `typed` what the person typed: the topic the conversation added steers
    the search and the similarity, but only the words the person typed count as shared words (a
    sentence that repeats the earlier topic is not thereby an answer to the new question)."""
    query = set(lexical_tokens(question if typed is None else typed))
    term = defined_term(question)
    wants_number = bool(FACTOID.match(question))
    scored = []
    for hit in hits[: settings.answer_passages]:
        chunk = chunks[hit.position]
        if chunk.kind == "caption" or (chunk.kind == "footnote" and not settings.answer_from_footnotes):
            continue  # a caption or a source reference is shown among the passages, never quoted
        for k, (a, b) in enumerate(chunk.sentences):
            text = chunk.text[a:b]
            similarity = float(sentence_vectors[offsets[hit.position] + k] @ query_vector)
            words = set(lexical_tokens(text))
            overlap = len(query & words) / len(query) if query else 0.0
            score = (settings.sentence_similarity_weight * similarity + settings.sentence_overlap_weight * overlap
                     + settings.sentence_rank_prior / hit.rank + definition_bonus(term, text, settings)
                     + (settings.number_bonus if wants_number and re.search(r"\d", text) else 0.0))
            scored.append(ScoredSentence(hit, k, a, b, text, score, similarity, overlap, is_heading(chunk, k)))
    return scored


def defined_term(question: str) -> str | None:
    """The term of a definition question: 'What is FACA?' -> 'FACA'."""
    match = DEFINITION.match(question)
    return (match.group("term") or match.group("acronym")).strip() if match else None


def definition_bonus(term: str | None, sentence: str, settings: Settings) -> float:
    """Prefer the sentence that spells the term out ('Forces Armées Centrafricaines (FACA)'), then one
    that says what it is ('UNMIK’s mandate is ...'), then one that names it."""
    if not term:
        return 0.0
    if re.search(rf"\(\s*{re.escape(term)}\s*\)", sentence):
        return settings.definition_bonus
    lowered = sentence.lower()
    names = [form.lower() for form in term_forms(term)]
    if any(re.search(rf"{re.escape(name)}\s+(?:is|are|was|were)\b", lowered) for name in names):
        return settings.definition_bonus / 2
    return settings.definition_bonus / 3 if any(name in lowered for name in names) else 0.0


def term_forms(term: str) -> list[str]:
    """A term as a sentence may word it: 'mandate of UNMIK' is also 'UNMIK’s mandate'."""
    match = re.match(r"^(.+?)\s+of\s+(?:the\s+)?(.+)$", term, re.I)
    if not match:
        return [term]
    return [term, f"{match.group(2)}’s {match.group(1)}", f"{match.group(2)}'s {match.group(1)}"]


def leans_back(text: str) -> bool:
    """Whether a sentence opens by leaning on the one before it ('This was ...', 'However, ...'),
    so that read first in an answer it refers to nothing."""
    return bool(LEANS_BACK.match(text))


def is_heading(chunk: Chunk, k: int) -> bool:
    """Whether sentence k of a chunk is the section heading it opens with."""
    return k == 0 and chunk.opens_with_heading


def can_stand_alone(sentence: ScoredSentence) -> bool:
    """A sentence an answer may quote on its own: not a heading, caption or short list fragment."""
    words = len(sentence.text.split())
    if sentence.heading or CAPTION.match(sentence.text) or words < 4:
        return False
    return not (LIST_ITEM.match(sentence.text) and words < 8)


def quote_defects(text: str) -> list[str]:
    """What is wrong with a quote, for the evaluation's hygiene metric: glued footnote markers,
    captions, hyphenation broken across a line."""
    defects = []
    if GLUED_MARKER.search(text):
        defects.append("footnote marker")
    if any(CAPTION.match(line.strip()) for line in text.splitlines()):
        defects.append("caption")
    if BROKEN_HYPHEN.search(text):
        defects.append("broken hyphenation")
    return defects
