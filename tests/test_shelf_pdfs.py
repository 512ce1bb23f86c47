"""Real PDFs on the shelf: the MINUSMA report rendered to a paged PDF with bookmarks (fpdf2), and a
PDF nobody here wrote, the Gutenprint manual from Debian's gutenprint-doc (fetched by `make test`,
tests/fetch_debian_pdf.sh). Citations from a PDF carry its printed page numbers; with the manual on
the shelf beside the report, a question about the manual cites the manual, questions about the
report cite the report, and the report's evaluation scores do not move."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from assistant import evaluate
from assistant.config import PROJECT_ROOT
from assistant.ingest import read_document
from assistant.store import load_index
from documents_support import (DEBIAN_PDF_NAME, REPORT_NAME, REPORT_TXT, SHELF_CACHE, build_shelf,
                               debian_pdf_source, report_lines)

CHAPTERS = ["Abstract", "I. Introduction", "II. Framework and Methodology", "III. Context and Historical Background",
            "IV. The Peace Operation", "V. Protection and Stabilisation", "VI. People-Centred Approach",
            "VII. Legitimacy and Credibility", "VIII. Political Primacy", "IX. National and Local Ownership",
            "X. Women, Peace and Security", "XI. International Support", "XII. Coherence and Partnerships",
            "XIII. Overall Findings", "XIV. Strategic Policy Options", "Back cover"]
TEST_ITEMS = [i for i in evaluate.load_items(PROJECT_ROOT / "eval") if i.split == "test"]
# Answers of the two shelves are compared on every third test question (time); the scores on all.
SAMPLE = TEST_ITEMS[::3]
SCORES = ("recall@5", "mrr@10", "key_facts", "abstention")
MANUAL_QUESTION = "How much free disk space is needed to compile and install Gutenprint?"


# --- the report as a PDF: pages and bookmarks (no model) ------------------------------------------

@pytest.mark.fast
def test_the_pdf_carries_the_printed_page_numbers_and_chapter_bookmarks(minusma_pdf):
    reader = PdfReader(minusma_pdf.path)
    numbers = [page.number for page in minusma_pdf.pages]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # every page, in order
    assert list(reader.page_labels) == [str(n) for n in numbers]
    outline = [(entry.title, reader.page_labels[reader.get_destination_page_number(entry)]) for entry in reader.outline]
    assert [title for title, _ in outline] == CHAPTERS
    # Each bookmark points at the page that holds the chapter's opening line.
    for (title, label), mark in zip(outline, minusma_pdf.bookmarks):
        assert int(label) == minusma_pdf.pages[mark.page].number, title
    assert int(outline[-2][1]) < int(outline[-1][1]) and reader.metadata.title.startswith("Assessing the Effectiveness")


@pytest.mark.fast
def test_the_pages_hold_the_whole_text_and_the_headers_the_text_kept():
    from documents_support import RUNNING_HEADER, paginate

    lines = report_lines()
    pages = paginate(lines)
    assert [line for page in pages for line in page.lines] == lines  # nothing lost, nothing repeated
    headers = [(int(m.group(1)), i) for i, line in enumerate(lines) if (m := RUNNING_HEADER.match(line))]
    starts = {page.first_line: page.number for page in pages}
    assert len(headers) >= 5 and all(starts.get(i) == number for number, i in headers)


@pytest.mark.fast
def test_ingest_reads_each_pdf_page_with_its_printed_number(minusma_pdf):
    source = read_document(minusma_pdf.path)
    assert source.kind == "pdf"
    assert [page.number for page in source.pages] == [page.number for page in minusma_pdf.pages]
    for page, printed in zip(source.pages, minusma_pdf.pages):
        # Its first line of text (a tab between table cells is printed as a gap).
        opening = next((" ".join(line.split()) for line in printed.lines[1 if printed.from_header else 0:]
                        if line.strip()), "")
        assert opening and opening in " ".join(page.text.split()), (printed.number, opening)


# --- the report as a PDF: an index and answers (real model, real index) ---------------------------

@pytest.fixture(scope="module")
def pdf_shelf(minusma_pdf, tmp_path_factory):
    return build_shelf(tmp_path_factory.mktemp("pdf-shelf"), [minusma_pdf.path])


@pytest.fixture(scope="module")
def pdf_assistant(pdf_shelf):
    from assistant.service import Assistant

    return Assistant.load(pdf_shelf.settings)


def test_the_pdf_index_has_the_texts_of_the_text_file_and_embeds_nothing_new(pdf_shelf, settings):
    print(f"PDF shelf: {pdf_shelf.built.chunks} chunks, {pdf_shelf.built.pages} pages, "
          f"{pdf_shelf.built.embedded} texts embedded ({pdf_shelf.cache_files} cache files copied)")
    from_pdf = load_index(pdf_shelf.settings.index_dir).chunks
    from_text = load_index(settings.index_dir).chunks
    assert [(c.section, c.text) for c in from_pdf] == [(c.section, c.text) for c in from_text]
    assert pdf_shelf.cache_files and pdf_shelf.built.embedded == 0


def test_every_pdf_chunk_has_the_page_the_text_shows(pdf_shelf, settings):
    from_pdf = load_index(pdf_shelf.settings.index_dir).chunks
    from_text = load_index(settings.index_dir).chunks
    known = [(p.page, t.page) for p, t in zip(from_pdf, from_text) if t.page is not None]
    assert len(known) >= 50 and all(pdf_page == text_page for pdf_page, text_page in known), known
    assert all(c.page is not None for c in from_pdf)
    pages = [c.page for c in from_pdf if c.kind == "body"]
    assert pages == sorted(pages)  # body text runs through the report in page order


def test_answers_from_the_pdf_cite_the_pages_of_the_text(pdf_assistant, assistant):
    cited_pages = 0
    for item in SAMPLE:
        from_pdf, from_text = pdf_assistant.ask(item.question), assistant.ask(item.question)
        assert from_pdf.answer == from_text.answer, item.id
        assert [c.chunk_id for c in from_pdf.citations] == [c.chunk_id for c in from_text.citations], item.id
        for pdf_citation, text_citation in zip(from_pdf.citations, from_text.citations):
            assert pdf_citation.document == REPORT_NAME and pdf_citation.page is not None, item.id
            assert text_citation.page in (None, pdf_citation.page), item.id
            cited_pages += text_citation.page is not None
    assert cited_pages >= 1  # some citations carry a page the text itself shows, and they agree


# --- two documents on the shelf (real model, real index) ------------------------------------------

@pytest.fixture(scope="module")
def two_shelf(debian_pdf, tmp_path_factory):
    """The report (text) and the Debian PDF; the manual's vectors are kept in tests/.data/."""
    return build_shelf(tmp_path_factory.mktemp("two-shelf"), [REPORT_TXT, debian_pdf], keep_cache=SHELF_CACHE)


@pytest.fixture(scope="module")
def shelf_assistant(two_shelf):
    from assistant.service import Assistant

    return Assistant.load(two_shelf.settings)


def test_both_documents_are_on_the_shelf(two_shelf, shelf_assistant):
    print(f"two-document shelf ({debian_pdf_source()}): {two_shelf.built.chunks} chunks, "
          f"{two_shelf.built.embedded} texts embedded")
    names = [d["id"] for d in shelf_assistant.index.manifest["documents"]]
    assert names == [REPORT_NAME, DEBIAN_PDF_NAME] and not two_shelf.built.skipped
    manual = [c for c in shelf_assistant.index.chunks if c.document == DEBIAN_PDF_NAME]
    assert len(manual) >= 50 and all(c.page is not None for c in manual)


def test_a_question_only_the_manual_answers_cites_it_with_its_page(shelf_assistant, debian_pdf):
    answer = shelf_assistant.ask(MANUAL_QUESTION)
    assert not answer.abstained and answer.citations, answer.answer
    assert "50 MB" in answer.answer
    reader = PdfReader(debian_pdf)
    for citation in answer.citations:
        assert citation.document == DEBIAN_PDF_NAME and citation.page is not None
        # The cited page is the manual's printed page that holds the quote.
        words = re.sub(r"\s+", "", citation.quote[:60])
        holding = [label for label, page in zip(reader.page_labels, reader.pages)
                   if words in re.sub(r"\s+", "", page.extract_text() or "")]
        assert holding == [str(citation.page)], (citation.page, holding)


def test_questions_about_the_report_cite_the_report_only(shelf_assistant):
    cited = 0
    for item in SAMPLE:
        answer = shelf_assistant.ask(item.question)
        assert all(c.document == REPORT_NAME for c in answer.citations), (item.id, answer.citations)
        cited += bool(answer.citations)
    assert cited >= len([i for i in SAMPLE if i.answerable]) // 2


def test_the_report_scores_do_not_move_with_a_second_document(shelf_assistant, assistant):
    alone = evaluate.evaluate(assistant, TEST_ITEMS)["summary"]
    shelved = evaluate.evaluate(shelf_assistant, TEST_ITEMS)["summary"]
    print("test split, one document -> two documents: " + ", ".join(
        f"{metric} {alone[metric]:.3f} -> {shelved[metric]:.3f}" for metric in SCORES))
    for metric in SCORES:
        assert abs(shelved[metric] - alone[metric]) <= 0.01, (metric, alone[metric], shelved[metric])


def test_a_second_document_takes_ranks_from_the_report_but_never_reorders_it(shelf_assistant, assistant):
    """The shelf-wide fusion decides which document holds each rank; within a document the order
    is the one it has alone (its own BM25 statistics, its own rank lists)."""
    interleaved = 0
    for item in SAMPLE:
        alone = [p.chunk_id for p in assistant.ask(item.question).passages]
        shelved = [p.chunk_id for p in shelf_assistant.ask(item.question).passages if p.document == REPORT_NAME]
        assert shelved == alone[:len(shelved)], item.id
        interleaved += len(shelved) < len(alone)
    print(f"{interleaved} of {len(SAMPLE)} questions have a passage of the manual among their top ten")
