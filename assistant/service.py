"""The assistant as one object: load (building the index when needed), ask, browse."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from .answer import (Answer, abstained_answer, abstention_features, answer_confidence, asks_only_about, compose,
                     named_section, outline_answer, score_sentences, section_hits, section_opening, select_sentences)
from .config import Settings, offline_environment, validated
from .conversation import Conversation
from .embed import load_embedder
from .errors import IndexCorruptError, QuestionError
from .index import BuildProgress, ProgressCallback, ensure_index, load_index
from .lexical import STOPWORDS, inverse_document_frequency, lexical_tokens
from .retrieve import Retriever, plain_title

DEFAULT_CITATION = "EPON, *Assessing the Effectiveness of the United Nations Mission in Mali / MINUSMA* (NUPI, 2019)"
__all__ = ["Assistant", "BuildProgress"]
WEAK_EVIDENCE = "No passage it holds answers the question closely enough."
log = logging.getLogger(__name__)


def single_threaded_blas() -> None:
    """Our matrix products are tiny; OpenBLAS threads left spinning after one of them steal
    both cores from the embedder's own threads (measured: 99 ms per question instead of 16)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def check_question(question: str, settings: Settings) -> str:
    """Reject questions that cannot be searched, with a message saying what to do."""
    if question is not None and not isinstance(question, str):
        raise QuestionError("The question must be text: type a question about the MINUSMA report.")
    if question is None or not question.strip():
        raise QuestionError("The question is empty: type a question about the MINUSMA report.")
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"The question is {len(question):,} characters long; the limit is "
                            f"{settings.max_question_chars:,}. Ask a shorter question (a sentence or two).")
    if not re.search(r"[^\W_]", question):
        raise QuestionError("The question has no words in it: type a question about the MINUSMA report.")
    return " ".join(question.split())


class Assistant:
    """Answers questions about the documents in the index, with citations."""

    def __init__(self, settings: Settings, retriever: Retriever) -> None:
        self.settings = settings
        self.retriever = retriever
        self.index = retriever.index
        self._framework: dict | None = None
        self._aliases = {k: v for outline in self.index.outlines.values() for k, v in outline.items()}
        self._corpus_lower = "\n".join(self.index.documents.values()).lower()
        self._idf = inverse_document_frequency([c.text for c in self.index.chunks])
        self._chapter_list = list(dict.fromkeys(c.section.split(" > ")[0] for c in self.index.chunks if c.kind == "body"))

    @classmethod
    def load(cls, settings: Settings | None = None, progress: ProgressCallback | None = None,
             force: bool = False) -> "Assistant":
        """Load the model and the index, building the index first when missing or stale."""
        offline_environment()
        single_threaded_blas()
        settings = validated(settings or Settings())
        ensure_index(settings, progress, force)
        try:
            index = load_index(settings.index_dir)
        except IndexCorruptError as error:
            # A damaged index is rebuilt once from the documents rather than left broken.
            log.warning("%s Rebuilding it.", error)
            ensure_index(settings, progress, force=True)
            index = load_index(settings.index_dir)
        index.outlines = _load_aliases(settings.documents_dir, index.manifest)
        return cls(settings, Retriever(index, load_embedder(settings.embedder)))

    @property
    def citation_prefix(self) -> str:
        docs = self.index.manifest.get("documents", [])
        return (docs[0].get("citation") if docs else None) or DEFAULT_CITATION

    def ask(self, question: str, conversation: Conversation | None = None, settings: Settings | None = None,
            question_id: str | None = None) -> Answer:
        """Answer one question; a follow-up is resolved against the conversation's last turns."""
        settings = settings or self.settings
        question = check_question(question, settings)
        resolved = conversation.resolve(question) if conversation else question
        vector = self.retriever.query_vector(resolved)
        hits = self.retriever.search(resolved, settings, vector)
        scored = score_sentences(resolved, vector, hits, self.index.chunks, self.index.sentence_vectors,
                                 self.index.sentence_offsets, settings)
        unknown = self.unknown_terms(resolved)
        features = self.abstention_features(resolved, scored, hits, unknown)
        confidence = answer_confidence(features, settings.abstain_weights, settings.abstain_bias)
        reason = refusal_reason(unknown, features, settings)
        named = named_section(resolved, self.index.chunks, self._aliases)
        # A question that names a section of the report ('option 3') is one the report takes up,
        # however weak the retrieval evidence looks; the refusal rules still apply.
        doubtful = confidence < settings.abstain_threshold and named is None
        if reason or doubtful or not hits:
            reason = reason or WEAK_EVIDENCE
            text, citations = abstained_answer(resolved, hits, reason)
            return Answer(question, text, True, tuple(citations), tuple(hits), resolved, question_id, confidence, reason)
        chosen = (self._named_section_answer(resolved, named, vector, settings)
                  or outline_answer(resolved, hits, self.index.chunks, self._aliases)
                  or select_sentences(resolved, scored, settings))
        text, citations = compose(resolved, chosen, self.index.chunks)
        if not citations:
            text, citations = abstained_answer(resolved, hits, WEAK_EVIDENCE)
            return Answer(question, text, True, (), tuple(hits), resolved, question_id, confidence, WEAK_EVIDENCE)
        return Answer(question, text, False, tuple(citations), tuple(hits), resolved, question_id, confidence)

    def _named_section_answer(self, question: str, named: tuple[str, str] | None, vector, settings: Settings) -> list:
        """For a question that names a section by number ('option 2b', 'the second dilemma'):
        the section's opening when nothing more is asked, else its best sentences."""
        if named is None:
            return []
        section, alias = named
        hits = section_hits(section, self.index.chunks)
        if asks_only_about(question, alias, section.split(" > ")[-1]):
            return section_opening(hits, self.index.chunks)
        scored = score_sentences(question, vector, hits, self.index.chunks, self.index.sentence_vectors,
                                 self.index.sentence_offsets, settings)
        return select_sentences(question, scored, settings)

    def abstention_features(self, question: str, scored, hits, unknown: list[str] | None = None) -> dict[str, float]:
        """Features of the abstention model for one question (see answer.ABSTENTION_FEATURES),
        and the quantity gap that answer.quantity_gap measures."""
        words = [w for w in re.findall(r"[a-z]{4,}", question.lower()) if w not in STOPWORDS]
        unknown_share = (sum(not all(self.index.lexical.knows(t) for t in lexical_tokens(w)) for w in words)
                         / len(words)) if words else 0.0
        unknown = self.unknown_terms(question) if unknown is None else unknown
        return abstention_features(question, scored, hits, len(unknown), unknown_share, self._idf)

    def unknown_terms(self, question: str) -> list[str]:
        """Names (runs of capitalised words), years and numbers in the question that occur
        nowhere in the documents: 'Central African Republic', 'Wagner', '2021'."""
        corpus = self._corpus_lower
        unknown = []
        for name in name_phrases(question):
            words = [w for w in re.split(r"[\s-]+", name) if w]
            known_words = all(all(self.index.lexical.knows(t) for t in lexical_tokens(w)) for w in words)
            if not known_words or (" " in name and name.lower() not in corpus):
                unknown.append(name)
        return unknown

    def context(self, chunk_id: str, chars: int = 800) -> tuple[str, str, str]:
        """The text before and after a chunk in its cleaned document, for 'surrounding text'."""
        chunk = next((c for c in self.index.chunks if c.id == chunk_id), None)
        if chunk is None:
            raise KeyError(f"No passage with id {chunk_id!r} in the index.")
        text = self.index.documents.get(chunk.document, chunk.text)
        return text[max(0, chunk.start - chars): chunk.start], text[chunk.start: chunk.end], text[chunk.end: chunk.end + chars]

    def chapters(self) -> list[str]:
        """Chapter titles in document order, for the section filter."""
        return list(self._chapter_list)

    def framework(self) -> dict[str, list[tuple[str, str, str]]]:
        """The eight dimensions, four dilemmas and the options, each with a one-line summary
        (computed once: the page asks for it on every rerun)."""
        if self._framework is None:
            self._framework = self._build_framework()
        return self._framework

    def _build_framework(self) -> dict[str, list[tuple[str, str, str]]]:
        """The sections the outline numbers as dimensions, dilemmas and options ('dimension 3',
        'dilemma 2', 'option 2b'), in reading order, each with its first sentence and a question
        that names it (answered from the section itself)."""
        sections = list(dict.fromkeys(c.section for c in self.index.chunks if c.kind == "body" and not c.summary))
        groups: dict[str, list[tuple[str, str, str]]] = {"dimensions": [], "dilemmas": [], "options": []}
        for section in sections:
            title = section.split(" > ")[-1]
            numbered = [m for alias in self._aliases.get(title, []) if (m := FRAMEWORK_ALIAS.match(alias))]
            if numbered:
                kind, alias = numbered[0].group(1), numbered[0].group(0)
                plain = plain_title(title)
                groups[kind + "s"].append((title, self._first_sentence(section),
                                           f"What does the report say about {alias} ({plain.rstrip('?')})?"))
        return groups

    def _first_sentence(self, section: str) -> str:
        """The section's first sentence after its heading (the heading itself if that is all)."""
        opening = section_opening(section_hits(section, self.index.chunks), self.index.chunks)
        return next((s.text for s in opening if not s.heading), opening[0].text if opening else "")


def refusal_reason(unknown: list[str], features: dict[str, float], settings: Settings) -> str | None:
    """The rules that refuse outright, with the reason in words: a name or year that occurs
    nowhere in the documents, or a figure the passages do not give."""
    if unknown:
        return "It never mentions " + ", ".join(f"“{term}”" for term in unknown) + "."
    if features["quantity_gap"] >= settings.quantity_gap_limit:
        return "It gives no figure for this."
    return None


# An outline alias that numbers a part of the report's framework: 'dimension 3', 'option 2b'.
FRAMEWORK_ALIAS = re.compile(r"^(dimension|dilemma|option) (\d\w?)$")
NAME_WORD = r"(?:[A-Z][\w’'-]*|\d{4})"
NAME_PHRASE = re.compile(rf"{NAME_WORD}(?:\s+(?:of\s+the\s+|of\s+|de\s+)?{NAME_WORD})*")


def name_phrases(question: str) -> list[str]:
    """Runs of capitalised words and years, without the question's first word."""
    first = re.match(r"\s*\S+", question)
    body = question[first.end():] if first else question
    phrases = [p.strip() for m in NAME_PHRASE.finditer(body) for p in re.split(r"[’']s\b", m.group(0))]
    return [p for p in phrases if p and p.lower() not in STOPWORDS]


def _load_aliases(documents_dir: Path, manifest: dict) -> dict[str, dict]:
    """Section aliases from each document's outline file (e.g. 'option 2b')."""
    aliases = {}
    for doc in manifest.get("documents", []):
        path = Path(documents_dir) / f"{doc['id']}.outline.json"
        if path.exists():
            aliases[doc["id"]] = json.loads(path.read_text(encoding="utf-8")).get("aliases", {})
    return aliases
