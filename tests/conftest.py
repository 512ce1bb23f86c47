"""Shared, expensive fixtures: the real report, the real model and the real index."""

from __future__ import annotations


import pytest

from assistant.config import PROJECT_ROOT, Settings

REPORT = PROJECT_ROOT / "documents" / "epon-minusma-2019.txt"


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
