"""Embeddings cached by (embedder, sha256 of the exact text embedded), beside the index.

The cache is a folder of segments, each a pair of plain files written atomically:
`<id>.npy` (float32 rows) and `<id>.json` (the text hashes of those rows, the embedder, the
shape and the sha256 of the .npy). A segment is used only when all of that checks out; a
damaged one is ignored (and removed), never trusted. No pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# More segments than this are merged into one at the next save, so a cache that grows by small
# appends (one per added document) stays quick to open.
MAX_SEGMENTS = 16
# While embedding, new vectors are saved at least this often: a killed build loses at most this much.
SAVE_EVERY_SECONDS = 15.0
# Target duration of one embedding batch, so that progress is reported about this often.
BATCH_SECONDS = 2.0


def text_key(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_dir_for(index_dir: Path, embedder_key: str) -> Path:
    """Where the cache of one embedder lives: beside the index folder, so that a rebuilt or
    deleted index keeps it."""
    return Path(index_dir).parent / ".embedding-cache" / embedder_key


class EmbeddingCache:
    """Vectors by text hash for one embedder; `lookup` in memory, `save` appends a segment."""

    def __init__(self, folder: Path, model_name: str, dim: int) -> None:
        self.folder = Path(folder)
        self.model_name = model_name
        self.dim = dim
        self._rows: dict[str, np.ndarray] = {}
        self._pending: dict[str, np.ndarray] = {}
        self.ignored: list[str] = []  # segments found damaged, with the reason
        self._segments = self._load()

    def _load(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        segments = []
        for meta_path in sorted(self.folder.glob("*.json")):
            try:
                keys, vectors = self._read_segment(meta_path)
            except Exception as error:  # noqa: BLE001 - any damage means: do not use it
                self.ignored.append(f"{meta_path.stem}: {error}")
                log.warning("Ignoring damaged embedding-cache segment %s (%s).", meta_path, error)
                self._remove_segment(meta_path.stem)
                continue
            self._rows.update(zip(keys, vectors))
            segments.append(meta_path.stem)
        return segments

    def _read_segment(self, meta_path: Path) -> tuple[list[str], np.ndarray]:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("model") != self.model_name or meta.get("dim") != self.dim:
            raise ValueError(f"written by {meta.get('model')} ({meta.get('dim')} dimensions)")
        data_path = meta_path.with_suffix(".npy")
        raw = data_path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
            raise ValueError("checksum mismatch")
        vectors = np.load(data_path, allow_pickle=False)
        keys = meta.get("keys")
        if (vectors.dtype != np.float32 or vectors.ndim != 2 or not isinstance(keys, list)
                or vectors.shape != (len(keys), self.dim)):
            raise ValueError(f"shape {vectors.shape} {vectors.dtype} does not match its {len(keys or [])} keys")
        if not np.isfinite(vectors).all():
            raise ValueError("non-finite values")
        return keys, vectors

    def __len__(self) -> int:
        return len(self._rows) + len(self._pending)

    def get(self, text: str) -> np.ndarray | None:
        key = text_key(text)
        row = self._rows.get(key)
        return row if row is not None else self._pending.get(key)

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember new vectors (kept in memory until `save`)."""
        for text, row in zip(texts, np.asarray(vectors, dtype=np.float32)):
            self._pending[text_key(text)] = row

    def save(self) -> None:
        """Append the pending vectors as one new segment (atomically); merge segments when there
        are many. A cache that cannot be written only costs time later, so failures are logged."""
        if not self._pending:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write_segment(self._pending)
            self._rows.update(self._pending)
            self._pending = {}
            if len(self._segments) > MAX_SEGMENTS:
                self._compact()
        except OSError as error:
            log.warning("The embedding cache in %s cannot be written (%s); it will be rebuilt later.",
                        self.folder, error)

    def _write_segment(self, rows: dict[str, np.ndarray]) -> str:
        segment = uuid.uuid4().hex
        keys = list(rows)
        vectors = np.vstack([rows[k] for k in keys]).astype(np.float32)
        data_path = self.folder / f"{segment}.npy"
        _write_atomic(data_path, _npy_bytes(vectors))
        meta = {"model": self.model_name, "dim": self.dim, "rows": len(keys),
                "sha256": hashlib.sha256(data_path.read_bytes()).hexdigest(), "keys": keys}
        # The .json goes last: a segment without one is an unfinished write and is never read.
        _write_atomic(self.folder / f"{segment}.json", json.dumps(meta).encode("utf-8"))
        self._segments.append(segment)
        return segment

    def _compact(self) -> None:
        old = list(self._segments)
        self._segments = []
        self._write_segment(self._rows)
        for segment in old:
            self._remove_segment(segment)

    def _remove_segment(self, segment: str) -> None:
        for suffix in (".json", ".npy"):
            try:
                (self.folder / f"{segment}{suffix}").unlink(missing_ok=True)
            except OSError:
                pass


def _npy_bytes(vectors: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, rename over `path`."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def cached_embed(cache: EmbeddingCache | None, encode, texts: list[str], on_batch=None,
                 batch: int = 4) -> np.ndarray:
    """Vectors for `texts`: cached rows where known, `encode` for the rest in small batches
    (`on_batch(done, total)` after each, for progress). The batch grows or shrinks so that one
    takes about BATCH_SECONDS: progress moves every few seconds even on a busy machine. New
    vectors are saved to the cache every SAVE_EVERY_SECONDS, so a killed build keeps its work."""
    dim = cache.dim if cache else None
    out: list[np.ndarray | None] = [cache.get(t) if cache else None for t in texts]
    # Shortest first: a batch then holds texts of similar length, so the model pads little.
    missing = sorted(dict.fromkeys(t for t, row in zip(texts, out) if row is None), key=len)
    fresh: dict[str, np.ndarray] = {}
    report = on_batch or (lambda _done, _total: None)
    report(0, len(missing))
    last_save = time.monotonic()
    start = 0
    while start < len(missing):
        part = missing[start:start + batch]
        began = time.monotonic()
        vectors = np.asarray(encode(part), dtype=np.float32)
        rate = len(part) / max(time.monotonic() - began, 1e-3)
        batch = int(min(64, max(1, rate * BATCH_SECONDS)))
        fresh.update(zip(part, vectors))
        if cache is not None:
            cache.put(part, vectors)
            if time.monotonic() - last_save > SAVE_EVERY_SECONDS:
                cache.save()
                last_save = time.monotonic()
        start += len(part)
        report(start, len(missing))
    if cache is not None:
        cache.save()
    rows = [row if row is not None else fresh[t] for t, row in zip(texts, out)]
    if not rows:
        return np.zeros((0, dim or 1), np.float32)
    return np.vstack(rows).astype(np.float32)
