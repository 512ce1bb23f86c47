"""Questions whose subject is the document itself: who wrote it or carried out the research, who
funded or supported it, how and when it was done ('Who wrote the report?', 'When was the
fieldwork done?', 'What methods did the researchers use?').

Such a question names nothing the report is about, so the off-topic rule used to read it as a
question in words the report never uses ('wrote', 'fieldwork'), and the ordinary sentence
scoring picked whichever sentence shared a verb ('The interviews ... were carried out with the
explicit consent ...'). A report does say who made it and how: in the sentences where it speaks
of itself ('The multinational team of seven persons that conducted this research ...', 'The
research team conducted 66 interviews ...')."""

from __future__ import annotations

import re

from ..lexical import ASKING_WORDS, STOPWORDS

# Nouns by which a question names the document or its making. 'report' is a stopword of the
# lexical tokens, and is named here as the thing asked about.
DOCUMENT_NOUNS = frozenset("report reports study studies research researchers researcher authors author team "
                           "fieldwork assessment paper publication methodology methods method".split())
# Words that ask how the document was made, and carry no subject of their own.
MAKING_WORDS = frozenset("write wrote written writing writer writers authored conduct conducted carry carried out make "
                         "made prepare prepared produce produced publish published fund funded funding finance "
                         "financed financing pay paid sponsor sponsored commission commissioned support supported "
                         "undertake undertook undertaken behind responsible use used based gather gathered collect "
                         "collected field work data done conducting carrying".split())
# Words of a question that only ask ('write' among them is also a making word, which the check
# allows either way), and adverbs that only stress the asking ('Who actually wrote it?').
_ASKING = ASKING_WORDS | frozenset({"exactly", "actually"})

# A sentence in which the document speaks of itself: 'this research', 'the report', 'the
# research team', 'the multinational team'; between the determiner and the noun only lower-case
# words or the document's own subject names ('the Brahimi report' is another document).
_SELF_NOUN = r"(?:research(?:\s+team)?|study|report|team|researchers|assessment|fieldwork|field\s+research)"
# What answers 'who' about the making of a document: the people who made it, or else a body.
PEOPLE = re.compile(r"\b(?:team|researchers?|persons|consultants?|authors?)\b")
BODY = re.compile(r"\b(?:institutes?|network|grateful|by\s+(?:the\s+)?[A-Z])")
DATE = re.compile(r"\b(?:1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|October|"
                  r"November|December)\b")


def question_words(question: str) -> list[str]:
    """The question's words of three letters or more that are not stopwords or asking words."""
    return [w for w in re.findall(r"[^\W\d_]{3,}", question.lower()) if w not in STOPWORDS and w not in _ASKING]


def asks_about_the_document(question: str) -> bool:
    """Whether the question's subject is the document itself: it names the document or its making
    (a word of DOCUMENT_NOUNS, or 'report', which the word lists leave out as a stopword) and every
    other word it has only asks how it was made. 'Who wrote the Algiers Agreement?' names
    another subject; 'Who wrote the report?' and 'When was the fieldwork done?' do not."""
    words = question_words(question)
    names_it = bool(re.search(r"\breports?\b", question, re.I)) or any(w in DOCUMENT_NOUNS for w in words)
    return names_it and all(w in DOCUMENT_NOUNS or w in MAKING_WORDS for w in words)


def speaks_of_itself(sentence: str, subject_words: frozenset[str] = frozenset()) -> bool:
    """Whether a sentence is one where the document speaks of its own making ('The team is very
    grateful ...', 'The multinational team of seven persons that conducted this research ...').
    Between the determiner and the noun only lower-case words or the document's subject words
    ('the research team'); a name there is another document's ('the Brahimi report')."""
    names = "|".join(re.escape(w) for w in sorted(subject_words, key=len, reverse=True) if w)
    word = rf"(?:[a-z][\w-]*|(?i:{names})[a-z]*)" if names else r"[a-z][\w-]*"
    return bool(re.search(rf"\b(?:[Tt]his|[Tt]he|[Oo]ur)\s+(?:{word}\s+){{0,2}}?{_SELF_NOUN}\b", sentence))


def self_reference_strength(sentence: str) -> int:
    """How surely a sentence that speaks of itself speaks of this document: 2 for 'this research',
    'our study' or the team ('The multinational team of seven persons ...'), which can only be the
    document's own; 1 for 'the report', 'the study', which may be another document's."""
    if re.search(rf"\b(?:[Tt]his|[Oo]ur)\s+(?:[a-z][\w-]*\s+)?{_SELF_NOUN}\b|\b[Tt]he\s+(?:[\w-]+\s+){{0,2}}?team\b",
                 sentence):
        return 2
    return 1


def asks_who_or_when(question: str) -> str | None:
    """'who' or 'when' for a question that asks who made the document or when ('Who wrote the
    report?', 'When was the fieldwork done?'); None for any other ('How was the study done?' is
    answered by the ordinary sentence scoring, which finds its method sentences)."""
    opening = question.strip().lower()
    if re.match(r"(?:who|whom|whose|by\s+whom)\b", opening):
        return "who"
    if re.match(r"(?:when|in\s+which\s+year|(?:in\s+)?what\s+year)\b", opening):
        return "when"
    return None


# A question about who paid for or published the document asks about that, not about who did the
# research: the span must say it ('The team is very grateful for the generous support ...').
FUNDING_ASKED = re.compile(r"\b(?:fund\w*|financ\w*|paid|pay|sponsor\w*|commission\w*|support\w*)\b", re.I)
FUNDING_SAID = re.compile(r"\b(?:fund\w*|financ\w*|support\w*|grateful|sponsor\w*|commission\w*)\b", re.I)
PUBLISHING_ASKED = re.compile(r"\bpublish\w*\b", re.I)
# When the document was made: a date beside the doing of the research ('Three researchers visited
# Bamako from 2 to 6 July 2018'), not any date in a sentence that names the study ('interviewed
# for this study agreed that ... since 2016').
MAKING_DONE = re.compile(r"\b(?:conduct\w*|carried\s+out|undert\w*|visit\w*|travel\w*|held|organised|wr[io]te|written|"
                         r"publish\w*)\b", re.I)


def answers_kind(kind: str, question: str, sentence: str, span: str) -> int:
    """How well a span around a sentence answers 'who' or 'when' about the document: for 'who', 2
    when the sentence names the people who made it (the team, the researchers), 1 when the span
    names a body that did ('conducted by the network'); for 'when', 1 when the span holds a
    date beside the doing of the research; 0 otherwise, and 0 for who paid for or published it
    unless the span says so."""
    if FUNDING_ASKED.search(question) and not FUNDING_SAID.search(span):
        return 0
    if PUBLISHING_ASKED.search(question) and not PUBLISHING_ASKED.search(span):
        return 0
    if kind == "who":
        return 2 if PEOPLE.search(sentence) else int(bool(BODY.search(span) or PEOPLE.search(span)))
    return int(bool(DATE.search(span) and MAKING_DONE.search(span)))
