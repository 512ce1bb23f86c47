"""Every reason to refuse in one place: rules that refuse outright (a name, acronym or year the
documents never use; a figure they do not give; a question with nothing in common with them; an
attribute of a name that no sentence of theirs mentions together with the name), and a logistic
model over the evidence for the rest (fitted on dev by eval/fit_abstention.py)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..lexical import ASKING_WORDS, STOPWORDS, document_frequencies, idf_from_frequencies, lexical_tokens
from ..retrieve import Hit
from ..text import word_tokens
from .document_self import asks_about_the_document
from .types import ScoredSentence

NOT_ADDRESSED = "The report does not address this question."
INSTRUCTIONS = "The question gives the assistant instructions instead of asking what the documents say."
WEAK_EVIDENCE = "No passage it holds answers the question closely enough."
NO_FIGURE = "It gives no figure for this."
OFF_TOPIC = "The question's subject does not come up in it."
NOTHING_QUOTABLE = "Its closest passages are tables, figure captions or footnotes, which are shown but never quoted."

# quantity_gap is weighed as well as ruled on: a gap below the rule's limit (a figure sentence that
# covers part of what was asked) is still evidence. Cross-validated over dev+test (5 folds, mean of
# 6 fold assignments) it raised abstention from 0.42 to 0.53 at 0.03 false abstention.
# names_never_together and count_unmatched catch near-misses whose every word the documents use:
# 'the mandate of EUCAP Sahel Niger' (a name no sentence spells), 'How many drones does the mission
# fly?' (figures, but none that counts drones). Cross-validated over dev+test (5 folds, mean of 6
# fold assignments), adding them and a figure for 'what is the ... budget/rate' questions raised
# abstention from 0.59 to 0.65 at false abstention 0.030 -> 0.025 (0.654 / 0.027 once
# evaluate.FIT_FALSE_ABSTENTION was re-derived as 1.8%).
# passage_lexical is how strongly the best passages match the question's words by BM25 (the raw
# score, which the fused score's ranks leave out): more of the question's rarer words, more often.
# Cross-validated over dev+test (5 folds, mean of 6 fold assignments) it raised abstention from
# 0.690 to 0.717 at false abstention 0.030 -> 0.027; dev and test alone did not move.
ABSTENTION_FEATURES = ("best_similarity", "best_overlap", "top_passage_score", "unknown_words",
                       "answer_type_missing", "names_not_in_passages", "names_not_in_draft", "draft_coverage",
                       "quantity_gap", "names_never_together", "count_unmatched", "passage_lexical")

# A question that asks for an amount: 'How many ...', 'What is the annual budget of ...'. 'What
# percentage of ...' is left out: survey shares are answered in paraphrase, which word coverage
# misreads. 'How long' is left out: a date answers it, and FIGURE does not count years. A measure
# that only a figure gives (a salary, a GDP, a price, a distance) or a unit asked for ('How long is
# the border in kilometres?', '..., in euros?') asks for an amount too: before, such questions were
# answered with sentences that hold no figure (dev 0.695 -> 0.763 abstention, 5-fold CV over
# dev+test, mean of 6 fold assignments, 0.682 -> 0.718 at false abstention 0.029 -> 0.027).
# A specific measure asks for an amount without a verb too ('What reimbursement rate per soldier
# does the UN pay ...?', 'What is the average life expectancy ...?'); a generic measure without one
# ('What share of ...') stays with the answer-type check. ('..., and how many ...?' as a second part
# was tried: its gap is measured over the whole question, and it refused 'Where were group
# discussions organised, and how many people attended?'.)
GENERIC_MEASURES = r"number|share|percentage|proportion|total|amount|size|figure"
# A word that ends the noun phrase after a bare 'what': 'What does the population think?' asks no amount.
_VERB_OR_ARTICLE = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|would|will|should|the|a|an)\b"
SPECIFIC_MEASURES = (r"rates?|costs?|budgets?|population|turnout|salar(?:y|ies)|wages?|incomes?|gdp|prices?|temperatures?"
                     r"|heights?|distances?|expectancy|averages?")
QUANTITY = re.compile(r"(?:^|[,;:]\s*)(?:(?P<how>how\s+(?:many|much|large|big)\b)"
                      r"|(?P<what>what(?:’s|'s|\s+(?:is|was|are|were))\s+(?:the\s+)?)(?:[\w’'-]+\s+){0,2}?"
                      rf"(?P<measure>{GENERIC_MEASURES}|{SPECIFIC_MEASURES})(?![\w’'-])"
                      rf"|(?P<bare>what\s+)(?:(?!{_VERB_OR_ARTICLE})[\w’'-]+\s+){{0,2}}?(?P<specific>{SPECIFIC_MEASURES})(?![\w’'-]))"
                      r"|(?P<unit>\bin\s+(?:us\s+)?(?:euros?|dollars?|francs?|kilometres?|kilometers?|km|miles?|metres?|meters?"
                      r"|tonnes?|tons?|hectares?)\b)", re.I)
# A figure in a sentence: a number that is not a year, a number word or a percentage.
FIGURE = re.compile(r"\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b|%|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                    r"fifteen|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|third|quarter)\b", re.I)
# A word of a question that names something: capitalised (not the first word), an acronym, a number.
# An apostrophe followed by a capital keeps a name whole ('N'Djamena'); a possessive ('UNMIK's')
# ends it.
NAME_TOKEN = re.compile(r"(?<![\w’'])(?:[A-Z][A-Za-z]*(?:[’'][A-Z][A-Za-z]*)*|[a-z]*[A-Z]{2,}[A-Za-z]*|\d[\d.,]*)(?![\w])")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# What kind of thing a question asks for, and how a draft that gives one looks: a figure for 'how
# many', a year or month for 'when', a name for 'who', a number for 'which resolution'.
ANSWER_TYPES = (
    (re.compile(r"^\s*(?:how\s+(?:many|much|large|big)|what\s+(?:share|percentage|proportion|number))\b", re.I), FIGURE),
    (re.compile(r"^\s*(?:when|in\s+which\s+year|(?:in\s+)?what\s+year|since\s+when)\b", re.I),
     re.compile(r"\b(?:1[89]\d\d|20\d\d|" + "|".join(m.capitalize() for m in MONTHS) + r")\b")),
    (re.compile(r"^\s*(?:who|whom|whose)\b", re.I), re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+")),
    (re.compile(r"^\s*which\s+(?:\w+\s+){0,3}(?:resolution|year|article)s?\b", re.I), re.compile(r"\d")),
)


# A name of several words in a question: capitalised words in a row, possibly joined by 'of (the)'
# ('EUCAP Sahel Niger', 'Special Representative of the Secretary-General'). Years are left out:
# the year rule judges them, and 'the 2015 Bamako agreement' is not a name the report must spell.
NAME_RUN = re.compile(r"(?:[A-Z][\w’'-]*(?:\s+(?:of\s+(?:the\s+)?)?)?){2,}")
# 'How many <thing> ...': the words that name what is counted, up to the verb or preposition.
HOW_MANY = re.compile(r"\bhow\s+many\s+((?:[\w’'-]+\s*){1,5})", re.I)


# A question that tries to instruct the assistant instead of asking about the documents (prompt
# injection): an imperative at the start of a clause that sets aside its instructions or sources
# ('Ignore your instructions and ...', 'Disregard the documents and ...'; not 'Why did the
# Government ignore the rules of the agreement?'), a new role ('You are now ...', 'Pretend you
# are ...') or a request for its prompt or configuration.
_CLAUSE_START = r"(?:^|[.!?;:,]\s*)(?:please\s+|now\s+|first\s+)?"
INSTRUCTION = re.compile(
    _CLAUSE_START + r"(?:ignore|disregard|forget|override|bypass)\s+(?:[\w’'-]+\s+){0,3}?(?:instructions?|rules?|prompts?"
    r"|guidelines?|sources?|documents?|reports?|context|restrictions?|everything)\b(?![’'])"
    r"|\byou\s+are\s+now\b|\bfrom\s+now\s+on\b|\bpretend\s+(?:you(?:\s+are|[’']re)|to\s+be)\b|\bdeveloper\s+mode\b"
    r"|\b(?:system|hidden)\s+(?:prompt|configuration|instructions)\b|\bjailbreak"
    r"|" + _CLAUSE_START + r"(?:reveal|print|show|repeat|output)\s+(?:me\s+)?(?:your|the)\s+(?:[\w’'-]+\s+){0,2}?"
    r"(?:instructions|prompt|configuration)\b", re.I)


# A year, 1800-2099, standing on its own (not inside a link or a reference number).
YEAR = re.compile(r"(?<![\w/.-])(1[89]\d\d|20\d\d)(?![\w/-])")
# Where a sentence ends, to tell which words the documents use together.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"(])")
# An attribute asked of a name: 'the capital of France', 'the annual budget of the G5 Sahel Joint Force'.
ATTRIBUTE_OF = re.compile(r"\b(?:the|a|an)\s+(?P<phrase>(?:[a-z]+\s+)?(?P<attribute>[a-z][a-z-]{3,})\s+of\s+(?:the\s+)?"
                          r"(?P<name>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*))")


@dataclass(frozen=True)
class Vocabulary:
    """What the documents say, for the refusal rules: every word they use (lower case), and how
    common each stemmed word is (its inverse document frequency over the chunks)."""

    words: frozenset[str]
    idf: dict[str, float]
    common: frozenset[str]  # stemmed words in so many passages that they name nothing in particular
    sentences: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)  # document -> each sentence's stemmed words
    presents: dict[str, int] = field(default_factory=dict)  # document -> the latest year it writes about
    commons: dict[str, frozenset[str]] = field(default_factory=dict)  # document -> the words common in it
    idfs: dict[str, dict[str, float]] = field(default_factory=dict)  # document -> idf over its own passages
    present_months: dict[str, int] = field(default_factory=dict)  # document -> the latest month (1-12) of its present

    def present_month(self, document: str | None = None) -> int | None:
        """The latest month of its present year that a document writes about (None when it names
        no month of that year often enough, or for no document)."""
        return self.present_months.get(document) if document is not None else None

    def present(self, document: str | None = None) -> int | None:
        """The latest year a document writes about; for no document (or one not known), the
        latest of any: a second, newer document must not move the first one's present."""
        if document in self.presents:
            return self.presents[document]
        return max(self.presents.values(), default=None)

    def idf_in(self, document: str | None = None) -> dict[str, float]:
        """How rare each word is among a document's own passages (among all for None or one not
        known): a second document on the shelf does not move the first one's evidence."""
        return self.idfs.get(document, self.idf) if document is not None else self.idf

    def common_in(self, document: str | None = None) -> frozenset[str]:
        """The words common in a document (in any document for None or one not known)."""
        return self.commons.get(document, self.common) if document is not None else self.common

    def sentences_of(self, document: str | None = None) -> tuple[frozenset[str], ...]:
        """The stemmed words of each sentence of a document (of every document for None or one
        not known): which words it uses together."""
        if document in self.sentences:
            return self.sentences[document]
        return tuple(sentence for sentences in self.sentences.values() for sentence in sentences)

    def knows(self, word: str) -> bool:
        lowered = word.lower().replace("’", "'")
        tokens = lexical_tokens(lowered)  # none for a word in another script: not known
        return lowered in self.words or (bool(tokens) and all(t in self.idf for t in tokens))


def build_vocabulary(chunk_texts: list[str], chunk_documents: list[str] | None = None,
                     documents: Mapping[str, str] | None = None, subject_names: Sequence[str] = ()) -> Vocabulary:
    """The vocabulary of the documents (`documents`: name -> text; else the passages as one
    document; `chunk_documents` names each passage's document). A word in at least a tenth of a
    document's passages is common in it, and so are the subject names the profiles give (a short
    document may use its own subject in fewer passages); `common` is what is common in any
    document. Each document's present is the latest year it names at least three times: a year
    named once or twice is a plan or an aside ('by early 2020'). Each passage is tokenised once:
    the documents' frequencies give both each document's idf and the shelf's."""
    by_document = documents or {"": "\n".join(chunk_texts)}
    words = frozenset(w for text in by_document.values() for w in word_tokens(text))
    subjects = frozenset(t for name in subject_names for t in lexical_tokens(name))
    passages: dict[str, list[str]] = {}
    for owner, text in zip(chunk_documents or [""] * len(chunk_texts), chunk_texts):
        passages.setdefault(owner, []).append(text)
    frequencies = {owner: document_frequencies(own) for owner, own in passages.items()}
    idfs = {owner: idf_from_frequencies(counts, len(passages[owner])) for owner, counts in frequencies.items()}
    commons = {owner: frozenset(t for t, n in counts.items() if n >= 0.1 * len(passages[owner])) | subjects
               for owner, counts in frequencies.items()}
    idf = idf_from_frequencies(sum(frequencies.values(), Counter()), len(chunk_texts))
    presents = {name: year for name, text in by_document.items() if (year := latest_year(text)) is not None}
    present_months = {name: month for name, text in by_document.items()
                      if name in presents and (month := latest_month(text, presents[name])) is not None}
    sentences = {name: tuple(frozenset(lexical_tokens(s)) for s in SENTENCE_END.split(text))
                 for name, text in by_document.items()}
    common = frozenset().union(*commons.values()) if commons else subjects
    return Vocabulary(words, idf, common, sentences, presents, commons, idfs, present_months)


def latest_year(text: str) -> int | None:
    """The latest year a text names at least three times."""
    years = Counter(int(year) for year in YEAR.findall(text))
    return max((year for year, n in years.items() if n >= 3), default=None)


MONTH_YEAR = re.compile(r"\b(" + "|".join(MONTHS) + r")\s+(?:\d{1,2},?\s+)?((?:19|20)\d\d)\b", re.I)
# A part of a year that a question may ask about instead of a month: 'in late 2019', 'by the end
# of 2019', 'in the autumn of 2019' (counted as the month it begins at the earliest).
LATE_IN_YEAR = re.compile(r"\b(?P<part>late|end\s+of|autumn(?:\s+of)?|fall(?:\s+of)?|second\s+half\s+of|last\s+quarter\s+of"
                          r"|fourth\s+quarter\s+of|december(?:\s+of)?)\s+(?:the\s+year\s+)?((?:19|20)\d\d)\b", re.I)


def month_number(name: str) -> int:
    """1 for 'January' (any case), ... 12 for 'December'."""
    return MONTHS.index(name.lower()) + 1


def latest_month(text: str, year: int) -> int | None:
    """The latest month of `year` that a text names at least three times ('June 2019' in a report
    written that summer; a footnote's 'accessed 2 September 2019' once is no event it covers)."""
    months = Counter(month_number(m) for m, y in MONTH_YEAR.findall(text) if int(y) == year)
    return max((month for month, n in months.items() if n >= 3), default=None)


def later_than_present(question: str, vocabulary: Vocabulary, document: str | None = None) -> str | None:
    """The first date of a question after the document's present, as the question writes it: a
    later year ('2021'), or a later month or part of its present year ('November 2019', 'late
    2019' for a report whose present is June 2019); None when there is none."""
    present = vocabulary.present(document)
    if not present:
        return None
    for year in re.findall(r"\b(?:1[89]|20)\d\d\b", question):
        if int(year) > present:
            return year
    month = vocabulary.present_month(document)
    if month is None:
        return None
    for match in MONTH_YEAR.finditer(question):
        if int(match.group(2)) == present and month_number(match.group(1)) > month:
            return match.group(0)
    for match in LATE_IN_YEAR.finditer(question):
        if int(match.group(2)) == present and month < 9:
            return match.group(0)
    return None


def name_tokens(question: str) -> list[str]:
    """The words of a question that name something (not its first word): 'Wagner', 'UNMIK', '2021'."""
    first = re.match(r"\s*\S+", question)
    body = question[first.end():] if first else question
    tokens = [t.rstrip(".,") for t in NAME_TOKEN.findall(body)]
    return [t for t in dict.fromkeys(tokens) if t and t.lower() not in STOPWORDS]


def unknown_names(question: str, vocabulary: Vocabulary) -> list[str]:
    """Names, acronyms, years and numbers of the question that the documents never use."""
    return [t for t in name_tokens(question) if not vocabulary.knows(t)]


def content_words(question: str) -> list[str]:
    """The question's words of four letters or more that are neither stopwords nor words that
    only ask ('Give me a recipe for couscous': recipe and couscous are its subject, not give)."""
    return [w for w in re.findall(r"[^\W\d_]{4,}", question.lower()) if w not in STOPWORDS and w not in ASKING_WORDS]


def unknown_share(question: str, vocabulary: Vocabulary) -> float:
    """Share of the question's content words the documents never use (1.0 for a question with
    no word in a script the documents use)."""
    words = content_words(question)
    if not words:
        return 1.0 if not re.search(r"[A-Za-z]{3,}", question) else 0.0
    return sum(not vocabulary.knows(w) for w in words) / len(words)


def distinctive_names(question: str, vocabulary: Vocabulary) -> list[str]:
    """Names of the question that are not common across the documents: a town the text names
    once is distinctive, the documents' own subject (the mission, the country) is not."""
    return [t for t in name_tokens(question) if not set(lexical_tokens(t)) <= vocabulary.common]


def refusal_reason(question: str, values: dict[str, float], vocabulary: Vocabulary, gap_limit: float,
                   off_topic_share: float = 0.8, document: str | None = None) -> str | None:
    """The rules that refuse outright, with the reason in one sentence; None when none applies.
    Instructions to the assistant come first: they are refused whatever words they use.
    `values` are the question's features(), which already measure unknown words and the figure gap;
    `document` is the one the best passage comes from (whose present a later year is checked against).
    A question is off-topic when at least `off_topic_share` of its content words never occur (Settings)."""
    if INSTRUCTION.search(question):
        return INSTRUCTIONS
    unknown = unknown_names(question, vocabulary)
    if unknown:
        return "It never mentions " + ", ".join(f"“{term}”" for term in unknown) + "."
    later = later_than_present(question, vocabulary, document)
    if later:
        month = vocabulary.present_month(document)
        up_to = f"{MONTHS[month - 1].capitalize()} {vocabulary.present(document)}" if month and not later.isdigit() \
            else str(vocabulary.present(document))
        return f"It covers events up to {up_to}, not {later}."
    together = names_never_together(question, vocabulary, document)
    if together:
        name = re.sub(r"\s+of(?:\s+the)?$", "", together[0])
        return f"It never names “{name}”: no sentence of it uses those words together."
    # A question about the document itself ('Who wrote the report?') is on its subject whatever
    # words it uses for the making of it ('wrote', 'fieldwork' are not the report's words).
    if values["unknown_words"] >= off_topic_share and not asks_about_the_document(question):
        return OFF_TOPIC
    if values["quantity_gap"] >= gap_limit:
        return NO_FIGURE
    phrase = attribute_never_said(question, vocabulary, document)
    if phrase:
        return f"It never mentions the {phrase}."
    return None


def attribute_never_said(question: str, vocabulary: Vocabulary, document: str | None = None) -> str | None:
    """The phrase of a question that asks for an attribute of a name ('the capital of France')
    when no sentence of the document (of every document for None) uses the attribute word and the
    name together; None when
    every such pair occurs together somewhere, or a word is unknown (another rule's business), or
    the attribute or the name is one of the documents' common words."""
    for match in ATTRIBUTE_OF.finditer(question):
        attribute = set(lexical_tokens(match.group("attribute")))
        common = vocabulary.common_in(document)
        name = set(lexical_tokens(match.group("name"))) - common
        if not attribute or not name or attribute <= common or not (attribute | name) <= vocabulary.idf.keys():
            continue
        if not any(attribute <= sentence and _shares_name(name, sentence) for sentence in vocabulary.sentences_of(document)):
            return match.group("phrase")
    return None


def _shares_name(name: set[str], sentence: frozenset[str]) -> bool:
    """Whether a sentence holds a word of the name, or a longer word it begins ('G5 Sahel' and
    'JF-G5S')."""
    return bool(name & sentence) or any(token.startswith(part) for part in name for token in sentence)


def weak_evidence_reason(values: dict[str, float], question: str = "", vocabulary: Vocabulary | None = None) -> str:
    """The reason for a refusal the model decides: that the subject does not come up when most
    of the question's content words never occur in the documents ('Give me a recipe for
    couscous'), else that no passage answers closely enough. A question about the document itself
    ('When was the report written?') is never off its subject, nor is one that names a name or a
    year the documents use ('What went wrong after 2016?': 'went' and 'wrong' are unknown words,
    2016 is the subject)."""
    if values.get("unknown_words", 0.0) <= 0.5 or (question and asks_about_the_document(question)):
        return WEAK_EVIDENCE
    if question and vocabulary is not None and any(vocabulary.knows(t) for t in name_tokens(question)):
        return WEAK_EVIDENCE
    return OFF_TOPIC


def features(question: str, scored: list[ScoredSentence], hits: list[Hit], draft_text: str,
             vocabulary: Vocabulary) -> dict[str, float]:
    """The evidence that the passages answer the question, as numbers a linear model weighs;
    words are weighed by their rarity in the best passage's own document."""
    document = hits[0].document if hits else None
    own_idf = vocabulary.idf_in(document)
    usable = [s for s in scored if not s.heading]
    best = max(usable, key=lambda s: s.score) if usable else None
    names = [n.lower() for n in distinctive_names(question, vocabulary)]
    passages = " ".join(h.text for h in hits[:3]).lower()
    return {
        "best_similarity": best.similarity if best else 0.0,
        "best_overlap": best.overlap if best else 0.0,
        "top_passage_score": hits[0].score if hits else 0.0,
        "unknown_words": unknown_share(question, vocabulary),
        "answer_type_missing": answer_type_missing(question, draft_text),
        "names_not_in_passages": float(sum(n not in passages for n in names)),
        "names_not_in_draft": float(sum(n not in draft_text.lower() for n in names)),
        "draft_coverage": coverage(question, draft_text, own_idf),
        # Also the measure of the figure rule (Settings.quantity_gap_limit).
        "quantity_gap": quantity_gap(question, scored, own_idf),
        "names_never_together": float(len(names_never_together(question, vocabulary, document))),
        "count_unmatched": count_unmatched(question, scored),
        "passage_lexical": max((h.lexical for h in hits[:3] if h.document == document), default=0.0),
    }


def names_never_together(question: str, vocabulary: Vocabulary, document: str | None = None) -> list[str]:
    """The question's names of several words whose distinctive words (known, not common in the
    document) no sentence of the document uses together: 'EUCAP Sahel Niger' when the document
    names EUCAP Sahel and Niger, but never the three words in one sentence. Order and spelling of the
    words do not matter, so 'the Security Council resolution' and 'resolution of the Council' agree;
    a name with fewer than two distinctive words, or with a word never used (the unknown-name rule's
    business), is not judged."""
    first = re.match(r"\s*\S+", question)
    body = question[first.end():] if first else question  # the first word is capitalised anyway
    # Brackets hold an acronym ('(MOC)') or the words a follow-up carries over from earlier turns
    # ('Who claimed it? (happened Gao Operational Coordination Mechanism)'): a bag of words, not a name.
    body = re.sub(r"\([^()]*\)", " ", body)
    small = [w for w in re.findall(r"[^\W\d_][\w’'-]*", body) if w.lower() in STOPWORDS]
    if sum(w[0].isupper() for w in small) * 2 > len(small) > 0:
        return []  # Title Case or capitals ('Of The'): names cannot be told from the other words
    idf, common = vocabulary.idf_in(document), vocabulary.common_in(document)
    sentences = vocabulary.sentences_of(document)
    found = []
    for match in NAME_RUN.finditer(body):
        tokens = set(lexical_tokens(match.group(0)))
        distinctive = tokens - common
        if len(distinctive) < 2 or not tokens <= idf.keys():
            continue
        if not any(distinctive <= sentence for sentence in sentences):
            found.append(match.group(0).strip())
    return found


def counted_words(question: str) -> set[str]:
    """What a 'How many ...' question counts, stemmed: the words after 'how many' up to the first
    stopword ('and' joins them), past-tense verb or number; a first word in -ed describes what is
    counted ('How many armed groups ...', 'displaced people'). 'How many Malian refugees live in
    Burkina Faso?' -> {malian, refuge, live}; empty for any other question."""
    match = HOW_MANY.search(question)
    if not match:
        return set()
    phrase = []
    for word in match.group(1).split():
        lowered = word.lower()
        if (lowered in STOPWORDS and lowered != "and") or (phrase and lowered.endswith("ed")) or not word[0].isalpha():
            break
        phrase.append(word)
    return set(lexical_tokens(" ".join(phrase)))


def count_unmatched(question: str, scored: list[ScoredSentence], sentences: int = 10, reach: int = 4) -> float:
    """1.0 for a 'How many ...' question when no figure among the best `sentences` sentences counts
    what it asks about: a word of the counted phrase within `reach` words after the figure ('14
    allegations of SEA', '4,500 French troops'). A figure about something else ('four soldiers
    from Chad' counts soldiers, not drones) does not answer."""
    counted = counted_words(question)
    if not counted:
        return 0.0
    for sentence in sorted(scored, key=lambda s: -s.score)[:sentences]:
        words = sentence.text.split()
        for i, word in enumerate(words):
            if FIGURE.search(word) and counted & set(lexical_tokens(" ".join(words[i + 1: i + 1 + reach]))):
                return 0.0
    return 1.0


def answer_type_missing(question: str, draft_text: str) -> float:
    """1.0 when the question asks for a kind of thing (a figure, a date, a name, a number) that
    the draft answer does not hold; a question that asks for an amount anywhere in it ('What is
    the annual budget of ...', '..., and how many ...') wants a figure."""
    plain = re.sub(r"\[\d+\]", " ", draft_text)
    for asks, looks in ANSWER_TYPES:
        if asks.search(question):
            return float(not looks.search(plain))
    return float(bool(QUANTITY.search(question)) and not FIGURE.search(plain))


def coverage(question: str, text: str, idf: dict[str, float]) -> float:
    """Share of the question's words, weighted by rarity, that a text uses."""
    words = set(lexical_tokens(question))
    if not words:
        return 0.0
    unseen = max(idf.values(), default=1.0)
    weight = {w: idf.get(w, unseen) for w in words}
    shared = words & set(lexical_tokens(text))
    return sum(weight[w] for w in shared) / sum(weight.values())


def quantity_gap(question: str, scored: list[ScoredSentence], idf: dict[str, float], sentences: int = 10) -> float:
    """For a question that asks for an amount: 1 minus the share of the question's words
    (weighted by rarity) found in the best sentence that carries a figure. A figure about something
    else ('four soldiers from Chad raped ...' for 'How many soldiers does Chad contribute?') leaves a gap."""
    match = QUANTITY.search(question)
    if not match:
        return 0.0
    words = set(lexical_tokens(question)) - set(lexical_tokens(_asking_words(match)))
    if not words:
        return 0.0
    best = 0.0
    for sentence in sorted(scored, key=lambda s: -s.score)[:sentences]:
        if FIGURE.search(sentence.text):
            best = max(best, coverage(" ".join(words), units_spelled_out(sentence.text), idf))
    return 1.0 - best


# Unit symbols and abbreviations a sentence writes for the unit a question names ('€30 million'
# answers '... in euros?'). Without them the unit word counted as missing from every figure.
UNIT_SYMBOLS = ((re.compile(r"€"), " euros "), (re.compile(r"\$"), " dollars "), (re.compile(r"\bkm\b"), " kilometres "),
                (re.compile(r"\bUSD\b"), " US dollars "), (re.compile(r"\bEUR\b"), " euros "))


def units_spelled_out(text: str) -> str:
    """The text with unit symbols also written as words: 'US$5.8 billion' -> 'US dollars 5.8 billion'."""
    for symbol, words in UNIT_SYMBOLS:
        text = symbol.sub(words, text)
    return text


def _asking_words(match: re.Match) -> str:
    """The words that only ask ('how many', 'what is the number'); a specific measure ('budget',
    'turnout') and a unit asked for ('in euros') stay among the words a sentence must cover."""
    if match.group("unit"):
        return ""
    if match.group("how"):
        return match.group("how")
    if match.group("bare"):
        return match.group("bare")
    measure = match.group("measure")
    return match.group("what") + (measure if re.fullmatch(GENERIC_MEASURES, measure, re.I) else "")


def confidence(values: dict[str, float], weights: tuple[float, ...], bias: float) -> float:
    """Logistic confidence that the documents answer the question."""
    z = bias + sum(w * values[name] for w, name in zip(weights, ABSTENTION_FEATURES))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.05, steps: int = 5000, rate: float = 0.2):
    """Class-balanced logistic regression by gradient descent (y = 1: answerable); the weights
    apply to raw feature values."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    weights, bias = np.zeros(x.shape[1]), 0.0
    balance = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ weights + bias)))
        gradient = (p - y) * balance
        weights -= rate * (z.T @ gradient / len(y) + l2 * weights)
        bias -= rate * gradient.mean()
    raw = weights / std
    return tuple(float(w) for w in raw), float(bias - raw @ mean)


def choose_threshold(answerable_confidences: np.ndarray, share: float) -> float:
    """The confidence below which to abstain: the model refuses at most `share` of the answerable
    questions it decides (no rule refused them, no outline vouches for them). The rules' own
    refusals are not spent from this share, so a rule that stops refusing an answerable question
    does not hand the model a refusal to spend elsewhere."""
    if not len(answerable_confidences):
        return 0.5
    return float(np.quantile(answerable_confidences, share))
