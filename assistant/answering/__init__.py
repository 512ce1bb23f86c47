"""Answering: from the retrieved passages to a short, cited answer, or a refusal with its reason.

`answer_question` is the one entry point: score the sentences, let the first answer rule that
applies draft the answer (rules.py), compose it with one [n] per passage (compose.py), and decide
whether to give it or refuse (abstention.py)."""

from __future__ import annotations

import numpy as np

from ..config import Settings
from ..retrieve import Hit
from . import abstention
from .abstention import NOT_ADDRESSED, NOTHING_QUOTABLE, WEAK_EVIDENCE, Vocabulary, build_vocabulary
from .compose import compose
from .rules import AnswerContext, Draft, draft_answer
from .sentences import leans_back, quote_defects, score_sentences
from .types import Answer, Citation, ScoredSentence, Trace

__all__ = ["Answer", "AnswerContext", "Citation", "ScoredSentence", "Trace", "Vocabulary", "answer_question",
           "build_vocabulary", "decide", "leans_back", "quote_defects", "NOT_ADDRESSED"]


def answer_question(question: str, resolved: str, vector: np.ndarray, hits: list[Hit], context: AnswerContext,
                    vocabulary: Vocabulary, question_id: str | None = None) -> Trace:
    """Answer `resolved` (the standalone form of `question`) from the hits; the trace keeps the
    draft and the evidence so that evaluation can re-decide abstention."""
    settings = context.settings
    scored = score_sentences(resolved, vector, hits, context.chunks, context.sentence_vectors,
                             context.sentence_offsets, settings, typed=question)
    draft = draft_answer(resolved, vector, hits, scored, context)
    if not draft.sentences:
        scored, draft = _from_next_quotable(question, resolved, vector, hits, scored, context)
    text, citations = compose(draft.sentences, context.chunks)
    values = abstention.features(resolved, scored, hits, text, vocabulary)
    refusal = abstention.refusal_reason(resolved, values, vocabulary, settings.quantity_gap_limit, settings.off_topic_share,
                                        hits[0].document if hits else None)
    confidence = abstention.confidence(values, settings.abstain_weights, settings.abstain_bias)
    partial = Trace(Answer(question, text, False, tuple(citations), tuple(hits), resolved, question_id, confidence),
                    (text, tuple(citations)), values, refusal, draft.rule, draft.trusted)
    return Trace(decide(partial, settings, refusal_wording=context.refusal, vocabulary=vocabulary), partial.draft, values,
                 refusal, draft.rule, draft.trusted)


def _from_next_quotable(question: str, resolved: str, vector: np.ndarray, hits: list[Hit], scored: list[ScoredSentence],
                        context: AnswerContext) -> tuple[list[ScoredSentence], Draft]:
    """When the best passages hold nothing an answer may quote (a table, a figure's caption,
    footnotes: shown, never quoted) the draft is empty, and an empty draft was refused as if the
    documents were silent. Then the sentences of the next `answer_passages` passages that do hold
    quotable text are scored too, and the rules draft again from all of them."""
    settings = context.settings
    scored_positions = {s.hit.position for s in scored}
    rest = [h for h in hits[settings.answer_passages:] if h.kind == "body" and h.position not in scored_positions]
    rest = rest[: settings.answer_passages]
    if not rest:
        return scored, Draft("none", [])
    more = score_sentences(resolved, vector, rest, context.chunks, context.sentence_vectors, context.sentence_offsets,
                           settings, typed=question)
    widened = scored + more
    return widened, draft_answer(resolved, vector, hits, widened, context)


def decide(trace: Trace, settings: Settings, confidence: float | None = None,
           refusal_wording: str = NOT_ADDRESSED, vocabulary: Vocabulary | None = None) -> Answer:
    """Give the draft, or refuse: a refusal rule fired, the draft is empty, or the evidence is
    too weak (a draft the outline vouches for is never refused on weak evidence alone)."""
    answer = trace.answer
    confidence = answer.confidence if confidence is None else confidence
    text, citations = trace.draft
    reason = trace.refusal
    if reason is None and not citations:
        # Nothing quotable among the passages at all (tables, captions, footnotes): say so, not
        # that no passage answers, since one shown may well do.
        quotable = any(p.kind == "body" for p in answer.passages)
        reason = WEAK_EVIDENCE if quotable else NOTHING_QUOTABLE
    if reason is None and not trace.trusted and confidence < settings.abstain_threshold:
        reason = abstention.weak_evidence_reason(trace.features, answer.resolved_question or answer.question,
                                                   vocabulary)
    if reason is None:
        return Answer(answer.question, text, False, citations, answer.passages, answer.resolved_question, answer.id,
                      confidence)
    return Answer(answer.question, f"{refusal_wording} {reason}", True, (), answer.passages, answer.resolved_question,
                  answer.id, confidence, reason)


def check_settings(settings: Settings) -> Settings:
    """The abstention weights must match the features (config cannot import this stage)."""
    if len(settings.abstain_weights) != len(abstention.ABSTENTION_FEATURES):
        raise ValueError(f"abstain_weights needs {len(abstention.ABSTENTION_FEATURES)} weights, one per feature "
                         f"in answering.abstention.ABSTENTION_FEATURES")
    return settings
