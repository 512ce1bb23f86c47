"""The objects answering passes around: scored sentences, citations, the answer, and a trace of
how the answer was decided (for evaluation and cross-validation)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..retrieve import Hit
from ..text import is_substantive


@dataclass(frozen=True)
class Citation:
    """A numbered source: one passage and the exact text taken from it."""

    n: int
    chunk_id: str
    document: str
    section: str
    page: int | None
    quote: str
    # The document's short title, for people (cards, printed sources); not in the answer JSON,
    # whose citation fields CONTRACTS.md §3 fixes.
    title: str = ""

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("n", "chunk_id", "document", "section", "page", "quote")}


@dataclass(frozen=True)
class Answer:
    """The answer object of the command line and the chat (see CONTRACTS.md §3)."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    resolved_question: str = ""
    id: str | None = None
    confidence: float = 0.0
    reason: str | None = None  # why the assistant abstained, in one sentence (None when it answered)

    @property
    def understood_as(self) -> str | None:
        """The standalone question searched, when the question was resolved as a follow-up."""
        resolved = " ".join((self.resolved_question or "").split())
        return resolved if resolved and resolved != " ".join(self.question.split()) else None

    @property
    def closest(self) -> tuple[Hit, ...]:
        """What to show beside a refusal: at most three passages, none that is a footnote, a
        figure caption or a web address."""
        return tuple(h for h in self.passages if is_substantive(h.text, h.kind))[:3]

    def to_dict(self) -> dict:
        record = {"id": self.id, "question": self.question, "answer": self.answer, "abstained": self.abstained,
                  "reason": self.reason, "understood_as": self.understood_as,
                  "citations": [c.to_dict() for c in self.citations], "passages": [p.to_dict() for p in self.passages]}
        if self.id is None:
            record.pop("id")
        return record


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a retrieved passage with its score against the question."""

    hit: Hit
    index: int  # sentence number within the chunk
    start: int
    end: int
    text: str
    score: float
    similarity: float
    overlap: float
    heading: bool = False  # the sub-heading that opens a section's first chunk


@dataclass(frozen=True)
class Trace:
    """How one answer was decided: the answer composed before the abstention decision (the
    draft), the features of the abstention model, and the rule that refused or decided, if any.
    Evaluation re-decides abstention from this when it cross-validates the model."""

    answer: Answer
    draft: tuple[str, tuple[Citation, ...]]  # (text, citations) composed before deciding to abstain
    features: dict[str, float] = field(default_factory=dict)
    refusal: str | None = None  # a rule that refuses outright (unknown term, no figure, off-topic)
    rule: str = ""  # the answer rule that composed the draft
    trusted: bool = False  # a rule that needs no evidence check (a section named by number)
