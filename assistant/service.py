"""The assistant as one object: load (building the index when needed), ask, browse."""

from __future__ import annotations

import dataclasses
import functools
import re

from .answering import AnswerContext, Trace, answer_question, build_vocabulary, check_settings
from .answering.outline import body_sections, framework_kinds, section_hits, section_opening, subject_words
from .answering.types import Answer
from .config import Settings, offline_environment, validated
from .conversation import Conversation, subject_anchors
from .embed import load_embedder
from .errors import QuestionError
from .index import BuildProgress, ProgressCallback, open_index
from .profile import DEFAULT_REFUSAL, DocumentProfile, shelf_profiles
from .retrieve import Retriever, plain_title
from .sections import SectionPath

__all__ = ["Assistant", "BuildProgress"]
# Control characters end what the embedder reads ('What is\u0000 ...' is read as 'What is').
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@functools.lru_cache(maxsize=1)
def single_threaded_blas() -> None:
    """Our matrix products are tiny; OpenBLAS threads left spinning after one of them steal
    both cores from the embedder's own threads (measured: 99 ms per question instead of 16).
    Once per process: a second call was seen to leave the embedder slow."""
    import faiss
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    # faiss's own OpenMP pool too: one query's search is small, and a pool of two threads would
    # put an OpenMP barrier back in the path of a question (see config.offline_environment).
    faiss.omp_set_num_threads(1)


def alias_maps(profiles: dict[str, DocumentProfile]) -> dict[str, dict[str, list[str]]]:
    """Per document, its aliases by section title: two documents may share a heading or an alias
    ('part 2'), and each resolves within its own document."""
    return {doc: {title: list(aliases) for title, aliases in p.aliases.items()} for doc, p in profiles.items()}


def check_question(question: str, settings: Settings) -> str:
    """Reject questions that cannot be searched, with a message saying what to do; remove
    control characters and fold white space."""
    if question is not None and not isinstance(question, str):
        raise QuestionError("The question must be text: type a question about the documents.")
    if question is None or not question.strip():
        raise QuestionError("The question is empty: type a question about the documents.")
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"The question is {len(question):,} characters long; the limit is "
                            f"{settings.max_question_chars:,}. Ask a shorter question (a sentence or two).")
    question = CONTROL.sub(" ", question)
    if not re.search(r"[^\W_]", question):
        raise QuestionError("The question has no words in it: type a question about the documents.")
    return " ".join(question.split())


class Assistant:
    """Answers questions about the documents in the index, with citations."""

    def __init__(self, settings: Settings, retriever: Retriever, warnings: tuple[str, ...] = (),
                 profiles: dict[str, DocumentProfile] | None = None) -> None:
        self.settings = check_settings(settings)
        self.retriever = retriever
        self.index = retriever.index
        self.warnings = warnings  # what the user should know about the index (e.g. a rebuild failed)
        self._framework: dict | None = None
        self.profiles: dict[str, DocumentProfile] = (
            profiles if profiles is not None else shelf_profiles(self.settings.documents_dir, self.index.manifest))
        self._aliases = alias_maps(self.profiles)
        self._kinds = {doc: kinds for doc, p in self.profiles.items()
                       if (kinds := framework_kinds(self._aliases[doc], p.framework_kinds))}
        self._subjects = {doc: subject_words(p.title, p.short_title, p.subject_names) for doc, p in self.profiles.items()}
        self.reference_kinds = tuple(dict.fromkeys(k for kinds in self._kinds.values() for k in kinds))
        # The numbered names of every document's sections, by title, for follow-ups ('the third one').
        self.reference_aliases = {title: names for aliases in self._aliases.values() for title, names in aliases.items()}
        subject_names = [n for p in self.profiles.values() for n in p.subject_names]
        self._vocabulary = build_vocabulary([c.text for c in self.index.chunks], [c.document for c in self.index.chunks],
                                            self.index.documents or None, subject_names)
        self._chapter_list = list(dict.fromkeys(c.section.chapter for c in self.index.chunks if c.kind == "body"))
        self.reference_anchors = subject_anchors(subject_names, self._chapter_list, self.reference_kinds,
                                                 self._vocabulary.common)

    @classmethod
    def load(cls, settings: Settings | None = None, progress: ProgressCallback | None = None,
             force: bool = False) -> "Assistant":
        """Load the model and the index, building the index first when missing or stale."""
        offline_environment()
        single_threaded_blas()
        settings = validated(settings or Settings())
        # Builds when missing or stale, repairs a damaged index, and serves the last complete
        # one (with a warning) when a rebuild cannot be written.
        opened = open_index(settings, progress, force)
        index = opened.index
        # The retriever reads each document's aliases (a chunk takes only its own document's);
        # the profiles are read once, here, and handed on.
        profiles = shelf_profiles(settings.documents_dir, index.manifest)
        index.outlines = alias_maps(profiles)
        return cls(settings, Retriever(index, load_embedder(settings.embedder)), opened.warnings, profiles)

    @property
    def citation_prefix(self) -> str:
        """The one-line citation (else the title) of every document on the shelf."""
        docs = self.index.manifest.get("documents", [])
        return "; ".join(d.get("citation") or d.get("title") or d["id"] for d in docs)

    def short_title(self, document: str) -> str:
        """The short title a citation names its document by (the name when it has none)."""
        profile = self.profiles.get(document)
        return (profile.short_title or profile.title) if profile and (profile.short_title or profile.title) else document

    def ask(self, question: str, conversation: Conversation | None = None, settings: Settings | None = None,
            question_id: str | None = None) -> Answer:
        """Answer one question; a follow-up is resolved against the conversation's earlier turns."""
        return self.ask_traced(question, conversation, settings, question_id).answer

    def ask_traced(self, question: str, conversation: Conversation | None = None, settings: Settings | None = None,
                   question_id: str | None = None) -> Trace:
        """The answer with the trace of how it was decided (for evaluation)."""
        settings = check_settings(settings or self.settings)
        question = check_question(question, settings)
        resolved = conversation.resolve(question, self.reference_kinds, self.reference_aliases,
                                                 self.reference_anchors) if conversation else question
        vector = self.retriever.query_vector(resolved)
        hits = self.retriever.search(resolved, settings, vector)
        context = AnswerContext(self.index.chunks, self.index.sentence_vectors, self.index.sentence_offsets,
                                self._aliases, self._kinds, settings, self.refusal_wording(settings), self._subjects)
        trace = answer_question(question, resolved, vector, hits, context, self._vocabulary, question_id)
        return dataclasses.replace(trace, answer=self._with_titles(trace.answer))

    def refusal_wording(self, settings: Settings | None = None) -> str:
        """How a refusal opens: the profile's wording when one document is searched (the shelf
        holds one, or the search is limited to one), else the general wording."""
        searched = (settings or self.settings).documents or tuple(self.profiles)
        return self.profiles[searched[0]].refusal if len(searched) == 1 and searched[0] in self.profiles \
            else DEFAULT_REFUSAL

    def _with_titles(self, answer: Answer) -> Answer:
        """Each citation with the short title of its document (shown beside it, not in the JSON)."""
        citations = tuple(dataclasses.replace(c, title=self.short_title(c.document)) for c in answer.citations)
        return dataclasses.replace(answer, citations=citations)

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

    def framework(self) -> dict[str, dict[str, list[tuple[str, str, str]]]]:
        """Each document's framework, when its profile has one: per document, per kind in the
        plural ('scenarios'), the numbered parts, each with a one-line summary and a question
        that names it (computed once: the page asks for it on every rerun)."""
        if self._framework is None:
            self._framework = {doc: groups for doc in self._kinds if (groups := self._build_framework(doc))}
        return self._framework

    def _build_framework(self, document: str) -> dict[str, list[tuple[str, str, str]]]:
        sections = {SectionPath(s).title: s for s in body_sections(self.index.chunks, document)}
        # With one document on the shelf 'the report' is unambiguous; else the question names it.
        subject = "the report" if len(self.profiles) <= 1 else f"“{self.short_title(document)}”"
        groups: dict[str, list[tuple[str, str, str]]] = {}
        for kind, parts in self._kinds[document].items():
            for title, alias in parts:
                if title in sections:
                    question = f"What does {subject} say about {alias} ({plain_title(title).rstrip('?')})?"
                    summary = self._first_sentence(sections[title], document)
                    groups.setdefault(f"{kind}s", []).append((title, summary, question))
        return groups

    def _first_sentence(self, section: str, document: str) -> str:
        """The section's first sentence after its heading (the heading itself if that is all)."""
        opening = section_opening(section_hits(section, self.index.chunks, document), self.index.chunks)
        return next((s.text for s in opening if not s.heading), opening[0].text if opening else "")
