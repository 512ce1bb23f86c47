"""Find the passages for a question: dense retrieval (FAISS over chunks; best sentence; best
window of a few sentences), BM25, a section-title match, acronym expansion, reciprocal-rank
fusion and collapsing of duplicate passages."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .chunk import Chunk
from .config import Settings
from .errors import AssistantError
from .index import LoadedIndex
from .lexical import lexical_tokens
from .text import word_tokens

ACRONYM_IN_PARENS = re.compile(r"\(\s*([A-Z][A-Za-z0-9\-]{1,9})\s*\)")
FUNCTION_WORDS = {"of", "for", "the", "and", "in", "on", "de", "du", "des", "la", "le", "et", "pour", "to", "a"}


class UnknownDocumentError(AssistantError, ValueError):
    """A search was limited to a document that is not on the shelf."""


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, best first."""

    rank: int
    chunk_id: str
    document: str
    section: str
    page: int | None
    score: float  # fused score scaled to [0, 1]: 1 = first in every ranked list
    text: str
    position: int  # row of the chunk in the index
    kind: str = "body"  # the chunk's kind: "body", "footnote" or "caption" (not in the JSON)
    lexical: float = 0.0  # the chunk's raw BM25 score for the question, within its document (not in the JSON)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("rank", "chunk_id", "document", "section", "page", "score", "text")}


def _initials(words: list[str]) -> Counter:
    """Initials of the content words, hyphenated words counting each part."""
    parts = [p for w in words if w.lower() not in FUNCTION_WORDS for p in w.split("-") if p]
    return Counter(p[0].lower() for p in parts)


def find_acronyms(texts: list[str]) -> dict[str, str]:
    """Acronyms a document spells out once, e.g. 'Forces Armées Françaises (FAF)',
    'protection of civilians (PoC)', 'National Movement for the Liberation of the Coast (NMLC)':
    the shortest run of words before the brackets whose initials hold the acronym's letters."""
    found: dict[str, str] = {}
    for text in texts:
        for match in ACRONYM_IN_PARENS.finditer(text):
            acronym = match.group(1)
            if acronym in found:
                continue
            stem = acronym[:-1] if acronym.endswith("s") and acronym[:-1].isupper() else acronym  # "TCCs"
            letters = Counter(re.sub(r"[^a-z]", "", stem.lower()))
            words = re.findall(r"[\w’'-]+", text[max(0, match.start() - 150): match.start()])
            options = []
            for k in range(1, min(len(words), 2 * sum(letters.values()) + 4) + 1):
                candidate = words[-k:]
                if candidate[0].lower() in FUNCTION_WORDS:
                    continue
                initials = _initials(candidate)
                every_initial = {p[0].lower() for w in candidate for p in w.split("-") if p}
                if set(letters) <= every_initial and abs(sum(initials.values()) - sum(letters.values())) <= 2:
                    # Prefer: the first word gives the first letter; as many words as letters; short.
                    options.append((candidate[0][0].lower() != stem[0].lower(),
                                    abs(sum(initials.values()) - sum(letters.values())), k, " ".join(candidate)))
            if options:
                found[acronym] = min(options)[3]
    return found


def expand_query(question: str, acronyms: dict[str, str]) -> str:
    """Add the long form of each acronym in the question, and the acronym of each long form."""
    additions = []
    lowered = question.lower()
    for acronym, long_form in acronyms.items():
        if re.search(rf"(?<![\w-]){re.escape(acronym)}(?![\w-])", question, flags=re.IGNORECASE if len(acronym) > 3 else 0):
            additions.append(long_form)
        elif long_form.lower() in lowered:
            additions.append(acronym)
    return question + (" (" + "; ".join(additions) + ")" if additions else "")


# The numbering a heading may open with, in any document's scheme: 'IV.', '2.', '1.2', 'b)',
# 'Chapter 3:'.
SECTION_NUMBER = re.compile(r"^(?:[IVXLC]+\.\s*|\d{1,2}(?:\.\d{1,2})*\.\s*|\d{1,2}(?:\.\d{1,2})+\s+|[a-z]\)\s*"
                            r"|Chapter\s+\d{1,2}[.:]?\s+)")


def _best_per_chunk(vectors: np.ndarray, offsets: np.ndarray, query: np.ndarray,
                    documents: list[tuple[int, int]]) -> np.ndarray:
    """Each chunk's best similarity to the query among its rows (`offsets`: each chunk's first
    row). The product is taken one document (`documents`: runs of chunks) at a time: BLAS splits
    a longer matrix otherwise and the last bit of a score, and so a near tie, would depend on
    what else is on the shelf."""
    best = np.zeros(len(offsets), dtype=np.float32)
    ends = np.append(offsets[1:], len(vectors))
    for first, last in documents:
        rows = slice(offsets[first], ends[last - 1])
        best[first:last] = np.maximum.reduceat(vectors[rows] @ query, offsets[first:last] - offsets[first])
    return best


def _runs(names) -> list[tuple[int, int]]:
    """(first, last + 1) of each run of equal names."""
    runs, first = [], 0
    for _, group in itertools.groupby(names):
        last = first + sum(1 for _ in group)
        runs.append((first, last))
        first = last
    return runs


def plain_title(title: str) -> str:
    """A heading without its numbering: 'b) Focus on the coast' -> 'Focus on the coast'."""
    return SECTION_NUMBER.sub("", title)


def _shingles(text: str) -> frozenset:
    words = word_tokens(text)
    return frozenset(zip(words, words[1:], words[2:]))


def _containment(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a) if a else 0.0


class Retriever:
    """Hybrid retrieval over one loaded index."""

    def __init__(self, index: LoadedIndex, embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.chunks: list[Chunk] = index.chunks
        self.acronyms = find_acronyms([c.text for c in self.chunks])
        self._shingles = [_shingles(c.text) for c in self.chunks]
        self._twins = self._summary_twins()
        # The leaf title, without numbering ("b) Focus on the coast" -> focus, coast).
        self._title_tokens = [set(lexical_tokens(plain_title(c.section.title)))
                              for c in self.chunks]
        # Per chunk, compiled once: the aliases its document's profile gives its sections
        # ("part 2b"); a heading shared by two documents takes only its own document's aliases.
        self._alias_patterns = [[re.compile(rf"\b{re.escape(a.lower())}\b") for a in self._aliases_of(c)]
                                for c in self.chunks]
        self._is_footnote = np.array([c.kind == "footnote" for c in self.chunks], dtype=bool)
        self._document_of = np.array([c.document for c in self.chunks], dtype=object)
        self.document_names = tuple(dict.fromkeys(c.document for c in self.chunks))
        # Each document's run of chunks (first, last + 1): the index keeps a document's chunks together.
        self._document_runs = _runs(c.document for c in self.chunks)
        self._last = ("", "")

    def _summary_twins(self) -> dict[int, int]:
        """For each summary chunk, the body chunk that says the same at more length."""
        body = [i for i, c in enumerate(self.chunks) if c.kind == "body" and not c.summary]
        twins = {}
        for i, chunk in enumerate(self.chunks):
            if not chunk.summary:
                continue
            best = max(body, key=lambda j: _containment(self._shingles[i], self._shingles[j]), default=None)
            if best is not None and _containment(self._shingles[i], self._shingles[best]) >= 0.25:
                twins[i] = best
        return twins

    def expanded(self, question: str) -> str:
        """The question with its acronyms spelled out (and long forms abbreviated), computed
        once per question: both the embedding and the lexical search use it."""
        last_question, last_expanded = self._last  # one tuple: threads sharing the retriever never mix halves
        if question == last_question:
            return last_expanded
        expanded = expand_query(question, self.acronyms)
        self._last = (question, expanded)
        return expanded

    def query_vector(self, question: str) -> np.ndarray:
        return self.embedder.queries([self.expanded(question)])[0]

    def search(self, question: str, settings: Settings, query_vector: np.ndarray | None = None) -> list[Hit]:
        """The top `settings.top_k` passages for a question, best first."""
        expanded = self.expanded(question)
        allowed = self._allowed(settings)
        lists: list[tuple[float, np.ndarray]] = []
        if settings.mode in ("hybrid", "dense"):
            vector = query_vector if query_vector is not None else self.query_vector(question)
            lists.append((settings.weight_dense, self._dense_scores(vector)))
        if settings.mode == "hybrid" and settings.weight_sentences > 0:
            lists.append((settings.weight_sentences, self._sentence_scores(vector)))
        if settings.mode == "hybrid" and settings.weight_windows > 0:
            lists.append((settings.weight_windows, self._window_scores(vector)))
        # Computed in every mode: the refusal evidence reads each hit's BM25 score.
        lexical = self.index.lexical.scores(expanded)
        if settings.mode in ("hybrid", "bm25"):
            lists.append((settings.weight_bm25, lexical))
        if settings.mode == "hybrid" and settings.weight_section > 0:
            lists.append((settings.weight_section, self._section_scores(expanded)))
        fused = self._fuse(lists, allowed, settings)
        order = [int(i) for i in np.argsort(-fused, kind="stable") if fused[i] > 0][: settings.candidates]
        searched = [(first, last) for first, last in self._document_runs if allowed[first:last].any()]
        if len(searched) > 1:
            fused = self._fuse(lists, allowed, settings, searched)
            order = self._fill_document_slots(order, fused)
        if settings.collapse_duplicates:
            order = self._collapse(order, settings.duplicate_overlap, allowed)
        best_possible = sum(w for w, _ in lists) / (settings.rrf_k + 1)
        return [self._hit(rank, i, float(fused[i]) / best_possible, float(lexical[i]))
                for rank, i in enumerate(order[: settings.top_k], 1)]

    def _dense_scores(self, vector: np.ndarray) -> np.ndarray:
        total = self.index.dense.ntotal
        scores, ids = self.index.dense.search(vector.reshape(1, -1).astype(np.float32), total)
        dense = np.full(total, -1.0, dtype=np.float32)
        dense[ids[0]] = scores[0]
        return dense

    def _sentence_scores(self, vector: np.ndarray) -> np.ndarray:
        """Each chunk scored by its best-matching sentence: precise questions match one sentence
        better than they match a whole passage."""
        return _best_per_chunk(self.index.sentence_vectors, self.index.sentence_offsets, vector, self._document_runs)

    def _window_scores(self, vector: np.ndarray) -> np.ndarray:
        """Each chunk scored by its best window of a few consecutive sentences: a paraphrased
        question often matches two or three sentences together better than any one of them
        or the whole passage."""
        return _best_per_chunk(self.index.window_vectors, self.index.window_offsets, vector, self._document_runs)

    def _section_scores(self, question: str) -> np.ndarray:
        """How exactly the question names a chunk's section: a profile alias ('part 2b', 'the
        second scenario') or most of a section title's words."""
        query = set(lexical_tokens(question))
        lowered = question.lower()
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        for i, patterns in enumerate(self._alias_patterns):
            if any(p.search(lowered) for p in patterns):
                scores[i] += 1.0
            title = self._title_tokens[i]
            if len(title) >= 2 and len(query & title) / len(title) >= 0.6:
                scores[i] += len(query & title) / len(title)
        return scores

    def _aliases_of(self, chunk: Chunk) -> list[str]:
        aliases = self.index.outlines.get(chunk.document, {})
        return [a for title in chunk.section.parts for a in aliases.get(title, [])]

    def _allowed(self, settings: Settings) -> np.ndarray:
        mask = np.ones(len(self.chunks), dtype=bool)
        if settings.sections:
            mask &= np.array([any(c.section.startswith(p) for p in settings.sections) for c in self.chunks])
        if settings.documents:
            # Applied before fusion, so every signal (dense, sentences, BM25, section titles)
            # ranks only these documents' chunks.
            mask &= np.isin(self._document_of, self.check_documents(settings.documents))
        if not settings.include_footnotes:
            mask &= ~self._is_footnote
        return mask

    def check_documents(self, names) -> list[str]:
        """The names of a document filter, each checked against the documents in the index."""
        unknown = [n for n in names if n not in self.document_names]
        if unknown:
            raise UnknownDocumentError(
                f"No document named {', '.join(repr(n) for n in unknown)} on the shelf; "
                f"it holds: {', '.join(self.document_names) or 'nothing'}.")
        return list(names)

    def _fuse(self, lists, allowed: np.ndarray, settings: Settings,
              runs: list[tuple[int, int]] | None = None) -> np.ndarray:
        """Weighted reciprocal-rank fusion; only chunks with a positive score are ranked. With
        `runs` (each document's chunks, first to last + 1), each chunk is ranked among its own
        document's chunks only, so that a document's fused scores do not depend on what else is
        on the shelf."""
        fused = np.zeros(len(self.chunks), dtype=np.float64)
        for weight, scores in lists:
            for first, last in runs or [(0, len(self.chunks))]:
                part = scores[first:last]
                candidates = np.where(allowed[first:last] & (part > 0))[0]
                ranked = first + candidates[np.argsort(-part[candidates], kind="stable")]
                fused[ranked] += weight / (settings.rrf_k + 1 + np.arange(len(ranked)))
        fused[self._is_footnote] *= settings.footnote_penalty
        return fused

    def _fill_document_slots(self, order: list[int], within: np.ndarray) -> list[int]:
        """Shelf-wide fusion decides which document holds each rank; each document fills the
        ranks it holds with its own passages in its own order (`within`: fusion within documents).
        A document's passages then keep the order they have when it is alone on the shelf: a
        second document can take ranks from it but never reorder it."""
        queues = {}
        for first, last in self._document_runs:
            if any(first <= i < last for i in order):
                own = first + np.where(within[first:last] > 0)[0]
                queues[first] = iter(own[np.argsort(-within[own], kind="stable")].tolist())
        run_of = {i: first for first, last in self._document_runs for i in order if first <= i < last}
        return [next(queues[run_of[i]]) for i in order]

    def _collapse(self, order: list[int], threshold: float, allowed: np.ndarray) -> list[int]:
        """Keep one of each set of near-duplicate passages, preferring the body over a summary."""
        kept: list[int] = []
        for i in order:
            if i in self._twins and allowed[self._twins[i]]:
                i = self._twins[i]  # the summary restates this body passage: show the full one
            if i in kept:
                continue
            duplicate = next((k for k in kept if max(_containment(self._shingles[i], self._shingles[k]),
                                                       _containment(self._shingles[k], self._shingles[i])) >= threshold), None)
            if duplicate is None:
                kept.append(i)
            elif self.chunks[duplicate].summary and not self.chunks[i].summary:
                kept[kept.index(duplicate)] = i
        return kept

    def _hit(self, rank: int, i: int, score: float, lexical: float = 0.0) -> Hit:
        c = self.chunks[i]
        return Hit(rank, c.id, c.document, c.section, c.page, round(min(score, 1.0), 4), c.text, i, c.kind, lexical)
