"""Retrieval signals: the sentence-window list (windows of consecutive sentences of a chunk)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assistant.chunk import Chunk, sentence_windows
from assistant.config import Settings, validated
from assistant.sections import SectionPath
from assistant.text import sentence_spans

HEADED = "b) Focus on the Centre\n\nOne came first. Two came next. Three was later. Four was last. Five ended it."


def make_chunk(text: str, section: str = "XIV. Options > b) Focus on the Centre") -> Chunk:
    spans = [(0, len("b) Focus on the Centre"))] + [(a, b) for a, b in sentence_spans(text) if a > 20]
    return Chunk("doc:1", "doc", SectionPath(section), 1, None, 0, len(text), text, "body", False, tuple(spans))


@pytest.mark.fast
def test_windows_slide_one_sentence_at_a_time_and_leave_out_the_heading():
    chunk = make_chunk(HEADED)
    assert chunk.opens_with_heading
    windows = [chunk.text[a:b] for a, b in sentence_windows(chunk, 3)]
    assert windows == ["One came first. Two came next. Three was later.",
                       "Two came next. Three was later. Four was last.",
                       "Three was later. Four was last. Five ended it."]
    assert [chunk.text[a:b] for a, b in sentence_windows(chunk, 1)] == [
        "One came first.", "Two came next.", "Three was later.", "Four was last.", "Five ended it."]


@pytest.mark.fast
def test_a_chunk_shorter_than_a_window_is_one_window_of_all_its_sentences():
    text = "Only one. And two."
    chunk = Chunk("doc:2", "doc", SectionPath("I. Intro"), 1, None, 0, len(text), text, "body", False,
                  tuple(sentence_spans(text)))
    assert [text[a:b] for a, b in sentence_windows(chunk, 3)] == ["Only one. And two."]
    heading_only = dataclasses.replace(make_chunk(HEADED), sentences=((0, 22),))
    assert sentence_windows(heading_only, 3) == [(0, 22)]


@pytest.mark.fast
def test_window_size_is_checked():
    with pytest.raises(ValueError, match="window_sentences"):
        validated(Settings(window_sentences=0))
    with pytest.raises(ValueError, match="list weights must not be negative"):
        validated(Settings(weight_windows=-1.0))


def test_every_window_vector_belongs_to_its_chunk(assistant):
    """The stored window rows line up with the chunks: a window's own text, embedded again,
    matches its row, and the window list ranks the window's chunk first for it."""
    retriever, index = assistant.retriever, assistant.index
    size = index.manifest["settings"]["window_sentences"]
    counts = [len(sentence_windows(c, size)) for c in index.chunks]
    assert index.window_vectors.shape == (sum(counts), index.dense.d)
    body = [i for i, c in enumerate(index.chunks) if c.kind == "body" and len(sentence_windows(c, size)) >= 3]
    for i in (body[0], body[len(body) // 2], body[-1]):
        chunk = index.chunks[i]
        k = len(sentence_windows(chunk, size)) // 2
        a, b = sentence_windows(chunk, size)[k]
        fresh = retriever.embedder.passages([chunk.text[a:b]])[0]
        assert float(fresh @ index.window_vectors[index.window_offsets[i] + k]) > 0.99
        scores = retriever._window_scores(retriever.embedder.queries([chunk.text[a:b]])[0])
        assert int(np.argmax(scores)) == i


def test_the_window_list_takes_part_in_the_fusion(assistant):
    question = "What did Paris set out to achieve when it first sent troops in?"
    with_windows = assistant.retriever.search(question, assistant.settings)
    without = assistant.retriever.search(question, assistant.settings.replace(weight_windows=0.0))
    assert [h.chunk_id for h in with_windows] != [h.chunk_id for h in without]
