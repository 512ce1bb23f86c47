"""BM25 over chunk text plus section path and aliases (bm25s, with an English stemmer)."""

from __future__ import annotations

import math
from collections import Counter
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from .chunk import Chunk

# Short, common English words that carry no topic.
STOPWORDS = frozenset("""a an the and or but if of in on at to for from by with about as into over under
is are was were be been being has have had do does did done can could would should will shall may might
must it its this that these those there here what which who whom whose when where why how all any
each some such no not only than then so too very just also their they them he she his her we our you your
i me my report say says said tell tells""".split())


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def lexical_tokens(text: str) -> list[str]:
    """Lower-case word tokens without stopwords, stemmed (Snowball English)."""
    words = [w for w in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower().replace("’", "'")) if w not in STOPWORDS]
    parts = [p for w in words for p in ([w] + (w.split("-") if "-" in w else []))]
    return _stemmer().stemWords(parts)


def inverse_document_frequency(texts: list[str]) -> dict[str, float]:
    """log(1 + N / (1 + df)) per token: how much a shared word says about a match."""
    return idf_from_frequencies(document_frequencies(texts), len(texts))


def document_frequencies(texts: list[str]) -> Counter:
    """In how many of the texts each token occurs."""
    return Counter(token for text in texts for token in set(lexical_tokens(text)))


def idf_from_frequencies(frequencies: Counter, texts: int) -> dict[str, float]:
    """log(1 + N / (1 + df)) per token, from the document frequencies of N texts."""
    return {token: math.log(1 + texts / (1 + n)) for token, n in frequencies.items()}


def lexical_text(chunk: Chunk, aliases: dict[str, list[str]]) -> str:
    """What BM25 sees for a chunk: its section path, the aliases of its sections, its text."""
    titles = list(chunk.section.parts)
    extra = [alias for title in titles for alias in aliases.get(title, [])]
    return " ".join(titles + extra + [chunk.text_after_heading()])


class LexicalIndex:
    """A bm25s index that is saved as plain .npy and .json files."""

    def __init__(self, retriever) -> None:
        self._retriever = retriever

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25()
        retriever.index([lexical_tokens(t) for t in texts], show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        if not Path(folder).is_dir():
            raise OSError(f"missing BM25 folder {folder}")
        return cls(bm25s.BM25.load(str(folder)))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when no query word is known)."""
        vocabulary = self._retriever.vocab_dict
        known = [t for t in lexical_tokens(query) if t in vocabulary]
        size = self._retriever.scores["num_docs"]
        if not known:
            return np.zeros(size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def knows(self, token: str) -> bool:
        return token in self._retriever.vocab_dict
