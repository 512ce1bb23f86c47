"""A temporary copy of the project's shelf, and a second report made with fpdf2, for the tests
that add and remove documents (the app, the browser): they never touch documents/ or index/."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_NAME = "epon-minusma-2019"

# A short report with facts no other document on the shelf has, one chapter per page after a
# title page, each page numbered in its footer.
RAILWAYS_NAME = "northern-railways-2021"
RAILWAYS_TITLE = "Review of the Northern Railway Company of Velmora"
RAILWAYS_PAGES = (
    ("I. Network", "The Northern Railway Company of Velmora runs 420 kilometres of track between Velmora and "
     "Ostrin. The line crosses the Sorren river on the Kessel viaduct, which was rebuilt in 2016. Passenger "
     "trains stop at fourteen stations; freight trains serve the quarries near Ostrin."),
    ("II. Fleet", "The company owns 36 locomotives. Eleven of the locomotives were bought in 2019 with a state "
     "loan of 84 million crowns, and the oldest nine are to be retired by 2024. Each locomotive is "
     "inspected at the Ostrin depot every six months."),
    ("III. Finances", "Ticket revenue covered 64 percent of the company's operating costs in 2020. The "
     "remainder came from a subsidy paid by the Velmora regional council under a ten-year contract."),
)
RAILWAYS_QUESTION = "How many locomotives does the Northern Railway Company own?"
RAILWAYS_FACT_PAGE = 3  # the title page is 1, the Network chapter 2, the Fleet chapter 3
MINUSMA_QUESTION = "How many interviews did the research team conduct?"


def copy_shelf(target: Path) -> tuple[Path, Path]:
    """Copy documents/ and index/ into `target`, with the embedding cache beside the index
    (see assistant.cache.cache_dir_for), so that nothing already embedded is embedded again.
    Returns (documents folder, index folder)."""
    documents, index = target / "documents", target / "index"
    shutil.copytree(ROOT / "documents", documents)
    shutil.copytree(ROOT / "index", index)
    if (ROOT / ".embedding-cache").is_dir():
        shutil.copytree(ROOT / ".embedding-cache", target / ".embedding-cache")
    return documents, index


def make_railways_pdf(path: Path) -> Path:
    """The railways report as a real PDF: a title page, then a chapter per page, numbered."""
    from fpdf import FPDF

    class Report(FPDF):
        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 10, str(self.page_no()), align="C")

    pdf = Report()
    pdf.set_title(RAILWAYS_TITLE)
    pdf.set_author("Velmora Transport Audit Office")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 10, RAILWAYS_TITLE, new_x="LMARGIN", new_y="NEXT")
    _blank_line(pdf)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Velmora Transport Audit Office, 2021", new_x="LMARGIN", new_y="NEXT")
    for heading, text in RAILWAYS_PAGES:
        pdf.add_page()
        pdf.start_section(heading)  # a bookmark, as published reports have
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        _blank_line(pdf)
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def _blank_line(pdf) -> None:
    """An empty line in the text layer: the paragraph break a reader of the PDF sees."""
    pdf.cell(0, 6, " ", new_x="LMARGIN", new_y="NEXT")
