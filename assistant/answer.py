"""Compose a short extractive answer from the retrieved passages: pick sentences, attach [n]
markers and verbatim citations, or abstain when the report does not answer the question."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .chunk import Chunk
from .config import Settings
from .lexical import lexical_tokens
from .retrieve import Hit, plain_title

LIST_QUESTION = re.compile(r"^\s*(?:what|which|who|list|name)\b.*\b(?:are|were|include|list|dimensions|options|dilemmas|stakeholders|groups)\b", re.I)
LIST_ITEM = re.compile(r"^(?:[•▪-]\s|\d{1,2}\.\s)")
NOT_ADDRESSED = "The report does not address this question."


FACTOID = re.compile(r"^\s*(?:how many|how much|what (?:share|percentage|proportion|number)|when|in which year|which year)\b", re.I)


@dataclass(frozen=True)
class Citation:
    """A numbered source: the passage and the exact text taken from it."""

    n: int
    chunk_id: str
    document: str
    section: str
    page: int | None
    quote: str

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


def score_sentences(question: str, query_vector: np.ndarray, hits: list[Hit], chunks: list[Chunk],
                    sentence_vectors: np.ndarray, offsets: np.ndarray, settings: Settings) -> list[ScoredSentence]:
    """Score every sentence of the top passages: meaning (embedding similarity), shared
    words, and a small prior for the better-ranked passage."""
    query = set(lexical_tokens(question))
    term = defined_term(question)
    wants_number = bool(FACTOID.match(question))
    scored = []
    for hit in hits[: settings.answer_passages]:
        chunk = chunks[hit.position]
        if chunk.kind == "footnote" and not settings.answer_from_footnotes:
            continue  # a source reference is shown among the passages, not quoted as the answer
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


DEFINITION = re.compile(r"^\s*(?:(?:what|who)\s+(?:is|are|was|were)\s+(?:the\s+|an?\s+)?(?P<term>[^?]{2,60}?)"
                        r"|what\s+does\s+(?P<acronym>[^?]{2,20}?)\s+stand\s+for)\s*\??\s*$", re.I)


def defined_term(question: str) -> str | None:
    """The term of a definition question: 'What is FAMA?' -> 'FAMA'."""
    match = DEFINITION.match(question)
    return (match.group("term") or match.group("acronym")).strip() if match else None


def definition_bonus(term: str | None, sentence: str, settings: Settings) -> float:
    """Prefer the sentence that spells the term out ('Forces Armées Maliennes (FAMA)'), then one
    that says what it is ('MINUSMA’s mandate is ...'), then one that names it."""
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
    """A term as a sentence may word it: 'mandate of MINUSMA' is also 'MINUSMA’s mandate'."""
    match = re.match(r"^(.+?)\s+of\s+(?:the\s+)?(.+)$", term, re.I)
    if not match:
        return [term]
    return [term, f"{match.group(2)}’s {match.group(1)}", f"{match.group(2)}'s {match.group(1)}"]


def is_heading(chunk: Chunk, k: int) -> bool:
    """Whether sentence k of a chunk is the section heading it opens with."""
    return k == 0 and chunk.opens_with_heading


def outline_answer(question: str, hits: list[Hit], chunks: list[Chunk], aliases: dict[str, list[str]]) -> list[ScoredSentence]:
    """For 'Which options does the report see?': the headings of the sub-sections of the
    section the question names (by title word or outline alias), each cited to its passage."""
    if not LIST_QUESTION.match(question):
        return []
    query = set(lexical_tokens(question))
    sections = list(dict.fromkeys(c.section for c in chunks if c.kind == "body" and not c.summary))
    best, best_overlap = None, 0
    for parent in dict.fromkeys(s.rsplit(" > ", 1)[0] for s in sections if " > " in s):
        overlap = len(query & _title_words(parent.split(" > ")[-1], aliases))
        children = [s for s in sections if s.startswith(parent + " > ")]
        if overlap > best_overlap and len(children) >= 2:
            best, best_overlap = parent, overlap
    if best is None or not any(h.section.startswith(best) for h in hits[:5]):
        return []
    if not _asks_for_the_list(query, best, aliases):
        return []  # 'What are the risks of ...?' wants sentences, not the list of headings
    items = []
    for section in (s for s in sections if s.startswith(best + " > ")):
        position, chunk = next((i, c) for i, c in enumerate(chunks) if c.section == section and c.kind == "body")
        if is_heading(chunk, 0):
            a, b = chunk.sentences[0]
            hit = Hit(0, chunk.id, chunk.document, chunk.section, chunk.page, 0.0, chunk.text, position)
            items.append(ScoredSentence(hit, 0, a, b, chunk.text[a:b], 1.0, 1.0, 1.0, True))
    return items if len(items) >= 2 else []


# An outline alias that names one section by its number: 'option 2b', 'the second dilemma',
# 'dimension 3' (not the keyword aliases such as 'WPS gender women', which only help BM25).
NUMBERED_ALIAS = re.compile(r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth)\b|\d", re.I)


def named_section(question: str, chunks: list[Chunk], aliases: dict[str, list[str]]) -> tuple[str, str] | None:
    """The section a question names by number, as (section path, the alias used); None when it
    names none, or several ('option 2a or option 2b?': ordinary retrieval weighs both)."""
    lowered = question.lower()
    named = {}
    for title, names in aliases.items():
        for alias in names:
            if NUMBERED_ALIAS.search(alias) and re.search(rf"(?<![\w-]){re.escape(alias.lower())}(?![\w-])", lowered):
                named[title] = max(named.get(title, ""), alias, key=len)
    if len(named) != 1:
        return None
    title, alias = next(iter(named.items()))
    section = next((c.section for c in chunks if c.kind == "body" and not c.summary
                    and c.section.split(" > ")[-1] == title), None)
    return (section, alias) if section else None


def section_hits(section: str, chunks: list[Chunk]) -> list[Hit]:
    """The body passages of a section and its sub-sections, in reading order, as hits."""
    inside = [(i, c) for i, c in enumerate(chunks) if c.kind == "body" and not c.summary
              and (c.section == section or c.section.startswith(section + " > "))]
    return [Hit(rank, c.id, c.document, c.section, c.page, 1.0, c.text, i) for rank, (i, c) in enumerate(inside, 1)]


SECTION_KIND_WORDS = frozenset(lexical_tokens("option dilemma dimension"))


def asks_only_about(question: str, alias: str, title: str = "") -> bool:
    """'What is option 2b?', 'What does the report say about the second dilemma (To concentrate
    on the North, the Centre, or both?)': nothing is asked beyond the section itself."""
    named = set(lexical_tokens(alias)) | set(lexical_tokens(title)) | SECTION_KIND_WORDS
    return not set(lexical_tokens(question)) - named


def section_opening(hits: list[Hit], chunks: list[Chunk], sentences: int = 3) -> list[ScoredSentence]:
    """The opening of a section: its heading, when the passage starts with one, and the first
    sentences after it (three sentences in all)."""
    if not hits:
        return []
    hit = hits[0]
    chunk = chunks[hit.position]
    return [ScoredSentence(hit, k, a, b, chunk.text[a:b], 1.0, 1.0, 1.0, is_heading(chunk, k))
            for k, (a, b) in enumerate(chunk.sentences[:sentences])]


# Words a question may use when it asks for a section's list of sub-sections and nothing more.
LIST_REQUEST_WORDS = frozenset(lexical_tokens("see sees identify identifies propose proposes consider considers "
                                              "list name main key possible strategic policy future report study "
                                              "mission minusma"))


def _asks_for_the_list(query: set[str], parent: str, aliases: dict[str, list[str]]) -> bool:
    """'Which options does it see for the Mission's future?' asks for the list; 'What are the
    strategic priorities under resolution 2480?' does not, though it shares a word with a title."""
    named = _title_words(parent.split(" > ")[-1], aliases)
    return not {t for t in query if len(t) > 1} - named - LIST_REQUEST_WORDS  # 1 letter: "Mission's" -> s


def _title_words(title: str, aliases: dict[str, list[str]]) -> set[str]:
    """The words that name a section: its title without numbering, and its outline aliases."""
    return set(lexical_tokens(plain_title(title))) | {t for alias in aliases.get(title, []) for t in lexical_tokens(alias)}


def _near_duplicate(a: str, b: str) -> bool:
    x, y = set(lexical_tokens(a)), set(lexical_tokens(b))
    return bool(x and y) and len(x & y) / len(x | y) >= 0.5


def select_sentences(question: str, scored: list[ScoredSentence], settings: Settings) -> list[ScoredSentence]:
    """The few best sentences (or a whole list, for a list question), in reading order."""
    usable = [s for s in scored if not s.heading and (len(s.text.split()) >= 4 or LIST_ITEM.match(s.text))]
    if not usable:
        return []
    ranked = sorted(usable, key=lambda s: -s.score)
    listed = _list_answer(question, ranked, settings)
    if listed:
        return listed
    # Outside a list answer, a short list item ('- French Operation Barkhane,') says nothing alone.
    ranked = [s for s in ranked if len(s.text.split()) >= 4 and not (LIST_ITEM.match(s.text) and len(s.text.split()) < 8)]
    if not ranked:
        return []
    if settings.same_passage_bonus:
        # Neighbours of the best sentence tend to carry the rest of the answer.
        best = ranked[0].hit.position
        ranked = sorted(ranked, key=lambda s: -(s.score + settings.same_passage_bonus * (s.hit.position == best)))
    chosen: list[ScoredSentence] = []
    for sentence in ranked:
        if len(chosen) == settings.max_answer_sentences:
            break
        if sentence.score < settings.sentence_relative_floor * ranked[0].score:
            break
        if any(_near_duplicate(sentence.text, c.text) for c in chosen):
            continue
        chosen.append(sentence)
    return sorted(chosen, key=lambda s: (s.hit.rank, s.index))


def _list_answer(question: str, ranked: list[ScoredSentence], settings: Settings) -> list[ScoredSentence]:
    """For 'What are the eight dimensions?': the lead-in sentence and the list items after it."""
    if not LIST_QUESTION.match(question):
        return []
    for lead in ranked[:3]:
        same_chunk = sorted((s for s in ranked if s.hit.position == lead.hit.position), key=lambda s: s.index)
        items = [s for s in same_chunk if s.index > lead.index and LIST_ITEM.match(s.text)]
        consecutive = [s for k, s in enumerate(items) if s.index == lead.index + 1 + k]
        if len(consecutive) >= 2:
            return [lead] + consecutive[: settings.max_list_items]
    return []


def _with_marker(sentence: str, n: int) -> str:
    """Put the [n] marker before the closing punctuation: 'held 66 interviews [1].'"""
    match = re.search(r"([.!?;:][”\"’)]?|[”\"’])$", sentence)  # '(WPS)' keeps its bracket: '(WPS) [1]'
    tail = match.group(1) if match else ""
    body = sentence[: len(sentence) - len(tail)] if tail else sentence
    return f"{body.rstrip()} [{n}]{tail}"


def compose(question: str, chosen: list[ScoredSentence], chunks: list[Chunk]) -> tuple[str, list[Citation]]:
    """Join the chosen sentences with [n] markers; adjacent sentences of one chunk share a citation."""
    groups: list[list[ScoredSentence]] = []
    for sentence in chosen:
        last = groups[-1][-1] if groups else None
        if last and last.hit.position == sentence.hit.position and sentence.index == last.index + 1:
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    parts, citations = [], []
    for n, group in enumerate(groups, 1):
        chunk = chunks[group[0].hit.position]
        quote = chunk.text[group[0].start: group[-1].end]
        citation = Citation(n, chunk.id, chunk.document, chunk.section, chunk.page, quote)
        if not verify_citation(citation, chunk, [s.text for s in group]):
            continue  # never show a quote that is not verbatim in its passage
        citations.append(citation)
        lines = [s.heading or bool(LIST_ITEM.match(s.text)) for s in group]
        texts = [s.text for s in group[:-1]] + [_with_marker(group[-1].text, n)]
        parts.append((_join(list(zip(texts, lines))), any(lines)))
    # Renumber in case a citation was dropped.
    return _renumber(_join(parts), citations)


def _join(pieces: list[tuple[str, bool]]) -> str:
    """Sentences run on; list items and headings (flagged True) go on lines of their own."""
    text, previous_line = "", False
    for piece, as_line in pieces:
        separator = "\n" if as_line or previous_line else " "
        text = f"{text}{separator}{piece}" if text else piece
        previous_line = as_line
    return text


def _renumber(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    mapping = {c.n: k for k, c in enumerate(citations, 1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping.get(int(m.group(1)), m.group(1))}]", text)
    return text, [Citation(mapping[c.n], c.chunk_id, c.document, c.section, c.page, c.quote) for c in citations]


def verify_citation(citation: Citation, chunk: Chunk, sentences: list[str]) -> bool:
    """A citation holds only if its quote is verbatim in the chunk and contains each sentence."""
    return citation.quote in chunk.text and all(s in citation.quote for s in sentences)


ABSTENTION_FEATURES = ("best_similarity", "best_overlap", "top_passage_score", "unknown_words",
                       "missing_number", "names_not_in_passages", "missing_counted_thing", "names_not_in_sentences")
# A question that asks for an amount: 'How many ...', 'What is the annual budget of ...'. 'What
# percentage of ...' is left out: survey shares are answered in paraphrase ('do not think the Mission
# is effective' for 'judge it ineffective'), which word coverage misreads. (FACTOID is wider: it
# also takes dates, which a year answers.) 'How long' is left out: a date answers it, and FIGURE
# does not count years.
GENERIC_MEASURES = r"number|share|percentage|proportion|total|amount|size|figure"
QUANTITY = re.compile(r"(?:^|[,;:]\s*)(?:(?P<how>how\s+(?:many|much|large|big)\b)|(?P<what>what(?:’s|'s|\s+(?:is|was|are|were))"
                      rf"\s+(?:the\s+)?)(?:[\w’'-]+\s+){{0,2}}?(?P<measure>{GENERIC_MEASURES}|rates?|costs?|budgets?|population"
                      r"|turnout)(?![\w’'-]))", re.I)
# A figure in a sentence: a number that is not a year, a number word or a percentage.
FIGURE = re.compile(r"\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b|%|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                    r"fifteen|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|third|quarter)\b", re.I)
HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\s+(?:of\s+the\s+)?([\w-]+)", re.I)
COMMON_NAMES = {"minusma", "mali", "malian", "malians", "un", "the", "what", "which", "who", "how", "why", "when",
                "does", "did", "is", "are", "was", "were", "epon", "mission", "report", "according", "in"}


def question_names(question: str) -> list[str]:
    """Names, acronyms and numbers in a question (not its first word, not the report's own name)."""
    words = re.findall(r"[\w’'-]+", question)
    return [w for k, w in enumerate(words)
            if k > 0 and (w[:1].isupper() or w[:1].isdigit()) and w.lower() not in COMMON_NAMES]


def abstention_features(question: str, scored: list[ScoredSentence], hits: list[Hit], unknown_names: int,
                        unknown_words: float, idf: dict[str, float] | None = None) -> dict[str, float]:
    """The evidence that the passages answer the question, as numbers a linear model weighs."""
    best = max(scored, key=lambda s: s.score) if scored else None
    top = sorted(scored, key=lambda s: -s.score)[:3]
    wants_number = bool(FACTOID.match(question))
    has_number = any(re.search(r"\d", s.text) for s in top)
    return {
        "best_similarity": best.similarity if best else 0.0,
        "best_overlap": best.overlap if best else 0.0,
        "top_passage_score": hits[0].score if hits else 0.0,
        "unknown_names": float(unknown_names),
        "unknown_words": unknown_words,
        "missing_number": float(wants_number and not has_number),
        "names_not_in_passages": float(sum(name.lower() not in " ".join(h.text for h in hits[:3]).lower()
                                           for name in question_names(question))),
        "missing_counted_thing": float(_counted_thing_missing(question, top)),
        "names_not_in_sentences": float(sum(name.lower() not in " ".join(s.text for s in top).lower()
                                            for name in question_names(question))),
        # Not one of the model's features: a rule of its own (Settings.quantity_gap_limit).
        "quantity_gap": quantity_gap(question, scored, idf or {}),
    }


def quantity_gap(question: str, scored: list[ScoredSentence], idf: dict[str, float], sentences: int = 10) -> float:
    """For a question that asks for an amount: 1 minus the share of the question's words
    (weighted by rarity) found in the best sentence that carries a figure. A figure about something
    else ('four soldiers from Chad raped ...' for 'How many soldiers does Chad contribute?') leaves a gap."""
    match = QUANTITY.search(question)
    if not match:
        return 0.0
    words = set(lexical_tokens(question)) - set(lexical_tokens(_asking_words(match)))
    # A word the documents never use weighs as much as their rarest one: it is what the question
    # is about, and no passage has it.
    unseen = max(idf.values(), default=1.0)
    weight = {w: idf.get(w, unseen) for w in words}
    total = sum(weight.values())
    if not total:
        return 0.0
    best = 0.0
    for sentence in sorted(scored, key=lambda s: -s.score)[:sentences]:
        if FIGURE.search(sentence.text):
            shared = words & set(lexical_tokens(sentence.text))
            best = max(best, sum(weight[w] for w in shared) / total)
    return 1.0 - best


def _asking_words(match: re.Match) -> str:
    """The words that only ask ('how many', 'what is the number'); a specific measure ('budget',
    'turnout') stays among the words a sentence must cover."""
    if match.group("how"):
        return match.group("how")
    measure = match.group("measure")
    return match.group("what") + (measure if re.fullmatch(GENERIC_MEASURES, measure, re.I) else "")


def _counted_thing_missing(question: str, sentences: list[ScoredSentence]) -> bool:
    """'How many schools ...?' wants a sentence with a number and the word 'schools'."""
    match = HOW_MANY.search(question)
    if not match:
        return False
    thing = set(lexical_tokens(match.group(1)))
    return not any(re.search(r"\d", s.text) and thing & set(lexical_tokens(s.text)) for s in sentences)


def answer_confidence(features: dict[str, float], weights: tuple[float, ...], bias: float) -> float:
    """Logistic confidence that the report answers the question (weights fitted on the dev split)."""
    z = bias + sum(w * features[name] for w, name in zip(weights, ABSTENTION_FEATURES))
    return 1.0 / (1.0 + math.exp(-z))


def abstained_answer(question: str, hits: list[Hit], reason: str | None = None) -> tuple[str, list[Citation]]:
    """The words of an abstention; the closest passages travel in Answer.passages."""
    text = NOT_ADDRESSED if reason is None else f"{NOT_ADDRESSED} {reason}"
    return text, []
