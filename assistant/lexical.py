"""BM25 over chunk text plus section path and aliases (bm25s, with an English stemmer)."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .chunk import Chunk

PARTS_FILE = "parts.json"  # in the BM25 folder: which document each numbered sub-folder indexes

# Words that make a request and name no subject: left out when judging whether a question's
# subject comes up in the documents at all (answering.abstention, answering.document_self).
ASKING_WORDS = frozenset("give show explain describe list provide summarise summarize please want know need "
                         "find write help".split())

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


@dataclass(frozen=True)
class LexicalPart:
    """The BM25 index of one document's passages: rows start .. start + passages of the index."""

    document: str
    start: int
    retriever: object  # a bm25s.BM25

    @property
    def passages(self) -> int:
        return int(self.retriever.scores["num_docs"])


class LexicalIndex:
    """BM25 (bm25s), one index per document, saved as plain .npy and .json files. Each document
    keeps its own statistics (idf, mean passage length): a passage's score, and so the order of a
    document's passages, does not change when another document joins the shelf."""

    def __init__(self, parts: list[LexicalPart]) -> None:
        self.parts = parts

    @classmethod
    def build(cls, texts: list[str], documents: list[str]) -> "LexicalIndex":
        """`documents[i]` names the document of `texts[i]`; a document's texts are consecutive."""
        import bm25s

        parts, start = [], 0
        for name, group in itertools.groupby(documents):
            count = len(list(group))
            if any(p.document == name for p in parts):
                raise ValueError(f"the passages of {name!r} are not consecutive")
            retriever = bm25s.BM25()
            retriever.index([lexical_tokens(t) for t in texts[start:start + count]], show_progress=False)
            parts.append(LexicalPart(name, start, retriever))
            start += count
        return cls(parts)

    @property
    def passages(self) -> int:
        return sum(p.passages for p in self.parts)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for number, part in enumerate(self.parts):
            part.retriever.save(str(folder / str(number)))
        layout = [{"document": p.document, "start": p.start, "passages": p.passages} for p in self.parts]
        (folder / PARTS_FILE).write_text(json.dumps(layout, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        folder = Path(folder)
        if not folder.is_dir():
            raise OSError(f"missing BM25 folder {folder}")
        layout = json.loads((folder / PARTS_FILE).read_text(encoding="utf-8"))
        return cls([LexicalPart(str(entry["document"]), int(entry["start"]), bm25s.BM25.load(str(folder / str(number))))
                    for number, entry in enumerate(layout)])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query, each by its own document's statistics
        (zeros where no query word is known)."""
        tokens = lexical_tokens(query)
        scores = np.zeros(self.passages, dtype=np.float32)
        for part in self.parts:
            known = [t for t in tokens if t in part.retriever.vocab_dict]
            if known:
                scores[part.start:part.start + part.passages] = part.retriever.get_scores(known)
        return scores

    def knows(self, token: str) -> bool:
        return any(token in p.retriever.vocab_dict for p in self.parts)
