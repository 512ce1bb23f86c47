"""The answer rules, tried in order: the first that applies composes the draft answer.

Each rule is a small function `(question, query vector, hits, scored sentences, context) -> Draft
| None` with a docstring saying when it applies. The last rule, a span of the passage that
answers, always applies."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..chunk import Chunk
from ..config import Settings
from ..lexical import lexical_tokens
from ..retrieve import Hit
from ..sections import SectionPath
from . import document_self, outline
from .sentences import LIST_ITEM, can_stand_alone, leans_back, score_sentences
from .types import ScoredSentence

# A question with two parts: 'What is X, and why ...?', 'Who ...? What ...?'
SECOND_PART = re.compile(r"(?:\?\s+|,?\s+and\s+)(?=(?:what|how|why|when|who|which|where|whom)\b)", re.I)


@dataclass(frozen=True)
class AnswerContext:
    """What the rules may read: the index's chunks and sentence vectors, each document's aliases
    and framework kinds (from its profile), settings."""

    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray
    aliases: dict[str, dict[str, list[str]]]  # document -> heading -> aliases
    kinds: dict[str, dict[str, list[tuple[str, str]]]]  # document -> kind -> [(heading, alias)]
    settings: Settings
    refusal: str = "The report does not address this question."  # how a refusal opens (the profile's)
    subjects: dict[str, frozenset[str]] = field(default_factory=dict)  # document -> words naming its subject


@dataclass(frozen=True)
class Draft:
    """The sentences a rule chose, and whether they need no evidence check (the outline vouches
    for them: a section named by number, a framework list)."""

    rule: str
    sentences: list[ScoredSentence]
    trusted: bool = False


Rule = Callable[[str, "np.ndarray", list[Hit], list[ScoredSentence], AnswerContext], "Draft | None"]


def named_section_rule(question, vector, hits, scored, context) -> Draft | None:
    """The question names one section by number ('part 2b', 'the second scenario'): the
    section's opening when nothing more is asked, else its best sentences."""
    named = outline.named_section(question, context.chunks, _in_scope(context.aliases, context), hits)
    if named is None:
        return None
    document, section, alias = named
    inside = outline.section_hits(section, context.chunks, document)
    if outline.asks_only_about(question, alias, SectionPath(section).title, set(context.kinds.get(document, {}))):
        return Draft("named section", outline.section_opening(inside, context.chunks), trusted=True)
    settings = context.settings.replace(answer_passages=len(inside))
    in_section = score_sentences(question, vector, inside, context.chunks, context.sentence_vectors,
                                 context.sentence_offsets, settings)
    return Draft("named section", passage_span(question, in_section, context.chunks, context.settings), trusted=True)


def framework_list_rule(question, vector, hits, scored, context) -> Draft | None:
    """The question asks for the list of a framework's parts in any wording ('What are the four
    scenarios?', 'List the options', 'Name the eight principles'): their headings, each cited."""
    asked = outline.asked_kind(question, _in_scope(context.kinds, context), hits, context.subjects)
    if asked is None:
        return None
    items = outline.kind_list(*asked, context.kinds, context.chunks)
    return Draft("framework list", items, trusted=True) if len(items) >= 2 else None


def subsection_list_rule(question, vector, hits, scored, context) -> Draft | None:
    """A list question that names a section with sub-sections by its title words ('Which
    scenarios does the report see?'): the sub-sections' headings."""
    items = outline.subsection_list(question, hits, context.chunks, _in_scope(context.aliases, context))
    return Draft("sub-section list", items) if items else None


def document_self_rule(question, vector, hits, scored, context) -> Draft | None:
    """The question asks who made the document itself or when ('Who wrote the report?', 'When was
    the fieldwork done?', 'Who carried out the study?'): a span around a sentence in which the
    document speaks of its own making, from any of its passages (the question's words are not the
    report's, 'wrote', so the passages found need not be where it speaks of itself), preferring
    one that holds the kind of thing asked (the people who made it, then a body, for 'who'; a date
    beside the doing of the research for 'when'), then one that can only mean this document ('this
    research', 'the team'), then the better scored. It applies only when such a span holds that
    kind of thing, and is then vouched for: a report always says who made it, and its words for
    that ('conducted this research') are not the question's, which the evidence model reads as
    unknown words."""
    kind = document_self.asks_who_or_when(question)
    if kind is None or not hits or not document_self.asks_about_the_document(question):
        return None
    best = _best_self_span(question, kind, vector, _whole_document(hits, context), context)
    if best is None or not best[0]:
        return None  # nothing the document says of itself answers it: the ordinary rules do
    return Draft("document itself", best[3], trusted=True)


def _whole_document(hits: list[Hit], context: AnswerContext) -> list[Hit]:
    """The best passage's document as hits: the first `document_self_passages` hits as ranked,
    then its other body passages, ranked after them (so that the rank prior does not favour them)."""
    pool = [h for h in hits[: context.settings.document_self_passages] if h.document == hits[0].document]
    taken = {h.position for h in pool}
    rest = [(i, c) for i, c in enumerate(context.chunks)
            if c.document == hits[0].document and c.kind == "body" and not c.summary and i not in taken]
    return pool + [Hit(len(pool) + k, c.id, c.document, c.section, c.page, 0.0, c.text, i, c.kind)
                   for k, (i, c) in enumerate(rest, 1)]


def _best_self_span(question: str, kind: str, vector, pool: list[Hit], context: AnswerContext) -> tuple | None:
    """(fits, strength, score, span) of the best span around a sentence of the pool in which the
    document speaks of itself; None when no sentence does."""
    settings = context.settings.replace(answer_passages=len(pool))
    wider = score_sentences(question, vector, pool, context.chunks, context.sentence_vectors,
                            context.sentence_offsets, settings)
    candidates = []
    for sentence in wider:
        subjects = context.subjects.get(sentence.hit.document, frozenset())
        if can_stand_alone(sentence) and document_self.speaks_of_itself(sentence.text, subjects):
            span = _span_around(question, sentence, wider, context)
            fits = document_self.answers_kind(kind, question, sentence.text, " ".join(s.text for s in span))
            candidates.append((fits, document_self.self_reference_strength(sentence.text), sentence.score, span))
    return max(candidates, key=lambda c: c[:3]) if candidates else None


def _span_around(question: str, sentence: ScoredSentence, scored: list[ScoredSentence],
                 context: AnswerContext) -> list[ScoredSentence]:
    """The span passage_span gives when `sentence` is the best of its passage."""
    top = max(s.score for s in scored) + 1.0
    in_passage = [dataclasses.replace(s, score=top) if s is sentence else s
                  for s in scored if s.hit.position == sentence.hit.position]
    span = passage_span(question, in_passage, context.chunks, context.settings)
    by_index = {s.index: s for s in scored if s.hit.position == sentence.hit.position}
    return [by_index[s.index] for s in span]


def passage_span_rule(question, vector, hits, scored, context) -> Draft | None:
    """Every other question: a contiguous span of the passage that answers, and a span of a
    second passage only for a second part of the question."""
    chosen = passage_span(question, scored, context.chunks, context.settings)
    parts = SECOND_PART.split(question, maxsplit=1)
    if chosen and len(parts) == 2 and len(lexical_tokens(parts[1])) >= 2:
        chosen += second_part_span(parts[1], scored, chosen, context)
    return Draft("passage span", chosen)


def _in_scope(per_document: dict, context: AnswerContext) -> dict:
    """Only the documents searched (Settings.documents; empty = every document)."""
    scope = context.settings.documents
    return {d: v for d, v in per_document.items() if d in scope} if scope else per_document


RULES: tuple[Rule, ...] = (named_section_rule, framework_list_rule, subsection_list_rule, document_self_rule,
                          passage_span_rule)


def draft_answer(question: str, vector: np.ndarray, hits: list[Hit], scored: list[ScoredSentence],
                 context: AnswerContext) -> Draft:
    """The draft of the first rule that applies. Rules that read the outline see every document,
    so a search limited to some documents keeps only their sentences."""
    scope = set(context.settings.documents)
    for rule in RULES:
        draft = rule(question, vector, hits, scored, context)
        if draft is not None and scope:
            draft = Draft(draft.rule, [s for s in draft.sentences if s.hit.document in scope], draft.trusted)
        if draft is not None and draft.sentences:
            return draft
    return Draft("none", [])


def passage_span(question: str, scored: list[ScoredSentence], chunks: list[Chunk], settings: Settings) -> list[ScoredSentence]:
    """The passage that holds the best sentence, and the span of it that completes that
    sentence: the longest run of up to `max_answer_sentences` consecutive sentences around it
    that fits the word budget (ties: the better-scored run), preferring a run that does not open
    with a sentence leaning on one it leaves out ('This was ...', 'However, ...'). A lead-in that ends with a colon
    brings its list items instead."""
    usable = [s for s in scored if can_stand_alone(s)]
    if not usable:
        return []
    best = max(usable, key=lambda s: s.score + settings.passage_rank_weight * s.hit.score)
    in_passage = {s.index: s for s in scored if s.hit.position == best.hit.position}
    if best.text.rstrip().endswith(":"):
        return [best] + _list_after(best, in_passage, settings.max_list_items)
    runs = []
    for first in range(best.index - settings.max_answer_sentences + 1, best.index + 1):
        for last in range(best.index, first + settings.max_answer_sentences):
            run = [in_passage.get(k) for k in range(first, last + 1)]
            if all(_usable_neighbour(s) or s is best for s in run):
                words = sum(len(s.text.split()) for s in run)
                # A best sentence that leans back ('This would have been the best option')
                # may bring the sentence it leans on past the word budget: read alone it says nothing.
                antecedent = len(run) == 2 and run[1] is best and leans_back(best.text) and words <= settings.answer_max_words
                if len(run) == 1 or words <= settings.span_max_words or antecedent:
                    runs.append((not leans_back(run[0].text), len(run), sum(s.score for s in run), run))
    return max(runs, key=lambda r: r[:3])[3]


def _usable_neighbour(sentence: ScoredSentence | None) -> bool:
    return sentence is not None and not sentence.heading and len(sentence.text.split()) >= 3


def _list_after(lead: ScoredSentence, in_passage: dict[int, ScoredSentence], limit: int) -> list[ScoredSentence]:
    """The list items right after a lead-in sentence that ends with a colon."""
    items, k = [], lead.index + 1
    while k in in_passage and LIST_ITEM.match(in_passage[k].text) and len(items) < limit:
        items.append(in_passage[k])
        k += 1
    return items


def second_part_span(part: str, scored: list[ScoredSentence], chosen: list[ScoredSentence],
                     context: AnswerContext) -> list[ScoredSentence]:
    """For the second part of a two-part question: the best sentence for that part from another
    passage, when the first span does not already cover the part's words."""
    words = set(lexical_tokens(part))
    covered = set(lexical_tokens(" ".join(s.text for s in chosen)))
    if words <= covered:
        return []
    taken = {s.hit.position for s in chosen}
    others = [s for s in scored if s.hit.position not in taken and can_stand_alone(s)]
    if not others:
        return []
    best = max(others, key=lambda s: len(words & set(lexical_tokens(s.text))) + s.score)
    return [best] if words & set(lexical_tokens(best.text)) - covered else []
