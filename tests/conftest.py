"""Shared, expensive fixtures: the real report, the real model and the real index; and the
guard of the fast tier (`pytest -m fast`): a test marked `fast` that loads the embedding model
or opens an index file fails, whatever the order the tests run in."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings

REPORT = PROJECT_ROOT / "documents" / "epon-minusma-2019.txt"

# Files that only an index folder holds (CONTRACTS.md §4 and assistant/store.py): opening one
# means reading or building an index.
INDEX_FILE_NAMES = frozenset({"manifest.json", "chunks.jsonl", "dense.faiss", "sentence_vectors.npy", "window_vectors.npy"})
# Fixtures that hold the model or the index: a fast test may not ask for them, even when an
# earlier test already built them.
HEAVY_FIXTURES = frozenset({"assistant", "body_chunks", "index_chunks"})


class SlowResourceError(AssertionError):
    """A test marked `fast` used the embedding model or an index."""


class _Guard:
    """Whether the test running now is a fast one, and its name for the message."""

    test: str | None = None


def _refusal(test: str, what: str) -> SlowResourceError:
    return SlowResourceError(f"{test} is marked fast but {what}; fast tests run without the model and the "
                             "index (make test-fast). Remove its @pytest.mark.fast or give it small data.")


def _audit(event: str, args: tuple) -> None:
    """Refuse to open an index file while a fast test runs (an audit hook sees every open())."""
    if _Guard.test is None or event != "open" or not args:
        return
    path = args[0]
    if isinstance(path, (str, bytes, os.PathLike)) and Path(os.fsdecode(path)).name in INDEX_FILE_NAMES:
        raise _refusal(_Guard.test, f"opened the index file {os.fsdecode(path)}")


class _RefusingCache(dict):
    """Stands in for the embedder cache of assistant.embed: any look-up means loading a model."""

    def __init__(self, test: str) -> None:
        super().__init__()
        self.test = test

    def __contains__(self, name) -> bool:
        raise _refusal(self.test, f"loaded the embedding model {name!r}")


@contextlib.contextmanager
def no_model_or_index(test: str):
    """Within this block, loading an embedder or opening an index file raises SlowResourceError."""
    from assistant import embed

    def refuse(self, *args, **kwargs):
        raise _refusal(test, f"constructed {type(self).__name__}")

    saved = embed._LOADED, {cls: cls.__init__ for cls in (embed.E5Embedder, embed.MiniLMEmbedder)}
    embed._LOADED = _RefusingCache(test)
    for cls in saved[1]:
        cls.__init__ = refuse
    previous, _Guard.test = _Guard.test, test
    try:
        yield
    finally:
        _Guard.test = previous
        embed._LOADED = saved[0]
        for cls, init in saved[1].items():
            cls.__init__ = init


def pytest_configure(config) -> None:
    # Audit hooks cannot be removed: install one per process, active only inside a fast test.
    if not getattr(sys, "_assistant_fast_guard", False):
        sys.addaudithook(_audit)
        sys._assistant_fast_guard = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    heavy = HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if item.get_closest_marker("fast") is not None and heavy:
        raise _refusal(item.nodeid, f"asks for the fixture(s) {', '.join(sorted(heavy))}")
    with _guarded(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _guarded(item):
        return (yield)


def _guarded(item):
    """The guard for a fast test (session fixtures it sets up included), nothing for the rest."""
    return no_model_or_index(item.nodeid) if item.get_closest_marker("fast") is not None else contextlib.nullcontext()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The shipped settings, on the project's own index/ (built by `make test` before pytest)."""
    return Settings()


@pytest.fixture(scope="session")
def assistant(settings):
    from assistant.service import Assistant

    return Assistant.load(settings)


@pytest.fixture(scope="session")
def report_document():
    """The report, cleaned and structured."""
    from assistant.clean import clean_document
    from assistant.ingest import read_document
    from assistant.structure import structure_document

    return structure_document(clean_document(read_document(REPORT)), REPORT)


@pytest.fixture(scope="session")
def body_chunks(assistant):
    return [c for c in assistant.index.chunks if c.kind == "body"]


# --- real documents (tests/documents_support.py) ----------------------------------------------

@pytest.fixture(scope="session")
def minusma_pdf(tmp_path_factory):
    """The MINUSMA report rendered to a paged PDF with chapter bookmarks (fpdf2), in a documents
    folder of its own with the report's outline/profile files: `.path`, `.pages`, `.bookmarks`."""
    from documents_support import render_report_shelf

    return render_report_shelf(tmp_path_factory.mktemp("minusma-pdf") / "documents")


@pytest.fixture(scope="session")
def debian_pdf():
    """The Gutenprint manual from Debian's gutenprint-doc (fetched by `make test`); without it the
    test fails and says how to fetch it."""
    from documents_support import debian_pdf as find

    try:
        return find()
    except FileNotFoundError as missing:
        message = str(missing)
    pytest.fail(message, pytrace=False)
