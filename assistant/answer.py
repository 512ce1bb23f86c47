"""Compatibility names for code written before answering became a package (assistant.answering)."""

from __future__ import annotations

from .answering.abstention import NOT_ADDRESSED
from .answering.types import Answer, Citation, ScoredSentence

__all__ = ["Answer", "Citation", "ScoredSentence", "NOT_ADDRESSED", "abstained_answer"]


def abstained_answer(question: str, hits, reason: str | None = None) -> tuple[str, list[Citation]]:
    """The words of an abstention (the closest passages travel in Answer.passages)."""
    return (NOT_ADDRESSED if reason is None else f"{NOT_ADDRESSED} {reason}"), []
