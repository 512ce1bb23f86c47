"""Follow-up questions: keep the history and resolve a follow-up against the earlier turns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .answer import Answer
from .lexical import STOPWORDS

FOLLOW_UP_OPENERS = re.compile(r"^\s*(?:and|but|also|so|what about|how about|and what about|and how about|why|why not|how so)\b", re.I)
WHAT_ABOUT = re.compile(r"^\s*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(.+?)\s*\??\s*$", re.I)
PRONOUNS = re.compile(r"\b(?:it|its|this|that|these|those|they|them|their|there|he|she|the same|the latter|the former)\b", re.I)
ABOUT_FRAME = re.compile(r"^(.*\babout\b)\s+(.+?)\s*\??\s*$", re.I)
# "And the Centre?", "And option 2c?": a short follow-up that only names a new topic.
AND_TOPIC = re.compile(r"^\s*(?:and|but)\s+(?!(?:why|how|what|when|who|where|which|is|are|was|were|did|does|do|can|could|"
                       r"would|should|will)\b)(.+?)\s*\??\s*$", re.I)
ORDINALS = "first|second|third|fourth|fifth|sixth|seventh|eighth"
ORDINAL_WORD = re.compile(rf"\b(?:{ORDINALS})\b", re.I)
BARE_ORDINAL = re.compile(rf"(?:the\s+)?({ORDINALS})(?:\s+one)?", re.I)
# A section named by number: "the second dilemma", "option 2b", "dimension 3".
REFERENCE = re.compile(rf"\b(?:{ORDINALS})\s+(?:dimension|dilemma|option)\b|\b(?:dimension|dilemma|option)\s+\d[a-h]?\b", re.I)


@dataclass
class Conversation:
    """The turns of one conversation, oldest first."""

    turns: list[Answer] = field(default_factory=list)

    def add(self, answer: Answer) -> None:
        self.turns.append(answer)

    def clear(self) -> None:
        self.turns.clear()

    def resolve(self, question: str) -> str:
        """The question with what a follow-up leaves implicit filled in from the last turn."""
        if not self.turns or not is_follow_up(question):
            return question
        previous = self.turns[-1].resolved_question or self.turns[-1].question
        topic = WHAT_ABOUT.match(question) or AND_TOPIC.match(question)
        if topic:
            swapped = swap_reference(topic.group(1), previous)
            if swapped:  # "What is the second dilemma?" + "And the third?"
                return swapped
            frame = ABOUT_FRAME.match(previous)
            if frame:  # "What does it say about option 2a?" + "And what about the Centre?"
                return f"{frame.group(1)} {topic.group(1)}?"
            return f"{topic.group(1)} ({content_words(previous)})"
        return f"{question.rstrip()} ({content_words(previous)})"


def swap_reference(topic: str, previous: str) -> str | None:
    """The previous question about another numbered section: 'the third' after 'What is the
    second dilemma?' gives 'What is the third dilemma?'; 'option 2c' after '... option 2b?' gives
    '... option 2c?'. None when the topic is not such a reference."""
    topic = re.sub(r"^the\s+", "", topic.strip(), flags=re.I)
    bare = BARE_ORDINAL.fullmatch(topic)
    if bare and REFERENCE.search(previous):
        reference = REFERENCE.search(previous)
        renamed = ORDINAL_WORD.sub(bare.group(1), reference.group(0), count=1)
        if renamed == reference.group(0):  # 'option 2b' has no ordinal word to change
            return None
        return previous[: reference.start()] + renamed + previous[reference.end():]
    if REFERENCE.fullmatch(topic) and REFERENCE.search(previous):
        return REFERENCE.sub(lambda _m: topic, previous, count=1)
    return None


def content_words(text: str) -> str:
    """The topic-bearing words of a question."""
    words = re.findall(r"[\w’'-]+", text)
    return " ".join(w for w in words if w.lower() not in STOPWORDS and (len(w) > 2 or any(ch.isdigit() for ch in w)))


def is_follow_up(question: str) -> bool:
    """A short question that opens like a follow-up or leans on a pronoun."""
    words = [w for w in re.findall(r"[\w’'-]+", question.lower()) if w not in STOPWORDS]
    if len(words) > 8:
        return False
    return bool(FOLLOW_UP_OPENERS.match(question)) or (bool(PRONOUNS.search(question)) and len(words) <= 4)
