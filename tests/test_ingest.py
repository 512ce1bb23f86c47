"""Reading documents: real PDFs made here with fpdf2, text files, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from assistant.clean import clean_document
from assistant.errors import DocumentError, NoDocumentsError
from assistant.ingest import Limits, read_document, read_folder

pytestmark = pytest.mark.fast  # no model and no index: make test-fast

HEADER = "Assessing the Effectiveness of the UN Mission in Mali"


def make_report_pdf(path: Path, first_label: int = 11) -> Path:
    """Three pages with a running header, a footnote, a word hyphenated across a line
    break, and printed page labels starting at `first_label`."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    bodies = [
        ["The Mission faced a difficult con-", "flict in the North of the country.1",
         "It supported the peace process."],
        ["Central Mali destabilised after 2016, and", "inter-communal violence grew."],
        ["The options for the Mission are discussed here.", "A drawdown is one of them."],
    ]
    for number, lines in enumerate(bodies):
        pdf.add_page()
        pdf.cell(0, 8, HEADER, new_x="LMARGIN", new_y="NEXT")
        for line in lines:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
        if number == 0:
            pdf.set_y(250)
            pdf.cell(0, 8, "1 Interview with a MINUSMA official, Bamako, 2018.", new_x="LMARGIN", new_y="NEXT")
    raw = path.with_suffix(".raw.pdf")
    pdf.output(str(raw))
    writer = PdfWriter(clone_from=str(raw))
    writer.set_page_label(0, 2, style="/D", start=first_label)
    writer.write(str(path))
    raw.unlink()
    return path


def test_pdf_pages_keep_their_printed_labels(tmp_path):
    pdf = make_report_pdf(tmp_path / "report.pdf")
    assert list(PdfReader(pdf).page_labels) == ["11", "12", "13"]
    document = read_document(pdf)
    assert [p.number for p in document.pages] == [11, 12, 13]


def test_pdf_running_headers_removed_and_text_cleaned(tmp_path):
    document = read_document(make_report_pdf(tmp_path / "report.pdf"))
    assert all(HEADER not in p.text for p in document.pages)
    cleaned = clean_document(document)
    text = " ".join(b.text for b in cleaned.blocks)
    assert "conflict in the North" in text and "con- flict" not in text
    assert "inter-communal" in text
    assert "country.1" not in text and "country." in text
    assert [f.number for f in cleaned.footnotes] == [1]
    assert "Interview with a MINUSMA official" in cleaned.footnotes[0].text
    assert cleaned.footnotes[0].page == 11
    assert {b.page for b in cleaned.blocks} == {11, 12, 13}


def test_corrupt_pdf_is_reported_by_name_and_others_still_read(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf body\n%%EOF")
    make_report_pdf(tmp_path / "good.pdf")
    report = read_folder(tmp_path)
    assert [d.doc_id for d in report.documents] == ["good"]
    assert report.skipped[0][0] == "broken.pdf"
    assert "broken.pdf" in report.skipped[0][1]


def test_encrypted_pdf_is_refused_clearly(tmp_path):
    source = make_report_pdf(tmp_path / "plain.pdf")
    writer = PdfWriter(clone_from=str(source))
    writer.encrypt(user_password="secret", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    writer.write(str(locked))
    source.unlink()
    with pytest.raises(DocumentError, match="locked.pdf.*encrypted"):
        read_document(locked)


def test_non_utf8_text_file_is_named(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes("Mopti région".encode("latin-1"))
    with pytest.raises(DocumentError, match="notes.txt.*UTF-8"):
        read_document(bad)


def test_document_without_text(tmp_path):
    (tmp_path / "empty.md").write_text("   \n\n", encoding="utf-8")
    with pytest.raises(NoDocumentsError, match="empty.md.*no text"):
        read_folder(tmp_path)


def test_empty_folder_says_what_to_do(tmp_path):
    with pytest.raises(NoDocumentsError, match="No .pdf, .txt or .md file"):
        read_folder(tmp_path)


def test_any_reader_error_skips_the_file_by_name(tmp_path):
    """A one-byte change of a filter name makes pypdf raise NotImplementedError (issue 12)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "The Mission supported the peace process in the North. " * 20)
    data = bytes(pdf.output())
    assert b"/FlateDecode" in data
    (tmp_path / "filter.pdf").write_bytes(data.replace(b"/FlateDecode", b"/FiateDecode"))
    make_report_pdf(tmp_path / "good.pdf")
    report = read_folder(tmp_path)
    assert [d.doc_id for d in report.documents] == ["good"]
    assert report.skipped[0][0] == "filter.pdf"
    assert report.skipped[0][1].startswith("filter.pdf: the PDF cannot be read (NotImplementedError")


def test_documents_over_the_size_limits_are_skipped_with_the_reason(tmp_path):
    make_report_pdf(tmp_path / "three-pages.pdf")
    (tmp_path / "long.txt").write_text("The Mission was deployed in 2013. " * 200, encoding="utf-8")
    (tmp_path / "short.txt").write_text("The Mission was deployed in 2013.", encoding="utf-8")
    report = read_folder(tmp_path, Limits(max_pages=2, max_chars=1000))
    assert [d.doc_id for d in report.documents] == ["short"]
    reasons = dict(report.skipped)
    assert "has 6,800 characters" in reasons["long.txt"] and "max_document_chars" in reasons["long.txt"]
    assert "has 3 pages; the limit is 2" in reasons["three-pages.pdf"]


def test_a_folder_entry_that_is_not_a_file_is_ignored(tmp_path):
    (tmp_path / "folder.pdf").mkdir()
    (tmp_path / "note.txt").write_text("The Mission was deployed in 2013.", encoding="utf-8")
    (tmp_path / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    assert [d.doc_id for d in read_folder(tmp_path).documents] == ["note"]
