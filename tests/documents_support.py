"""Real documents for the tests: the MINUSMA report rendered to a paged PDF with bookmarks
(fpdf2), the Debian PDF fetched by tests/fetch_debian_pdf.sh, and temporary shelves.

The report's text is what an extractor got from its PDF; `paginate` puts its printed pages back.
Page breaks show in the text as a line opening with a single space or as a run of 3+ blank
lines; a running header fused with its page number ("27Assessing the Effectiveness of the UN
Mission in Mali") opens a page and fixes its number. Between two headers the breaks are counted:
when the text shows fewer breaks than the numbers say, pages are cut again at paragraph ends;
when it shows more, the shortest pages are joined. The first and last page between two headers
are never cut nor joined, so that every line whose page the text itself shows (see
assistant.clean.infer_text_pages) keeps that page in the PDF.

The PDF reproduces the text layer line by line: a blank line is a line holding one space (so that
an extractor sees the paragraph break), the running header is printed on every page, and each
page carries its printed number as its page label.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.clean import CAPTION, Layout, page_boundaries
from assistant.config import PROJECT_ROOT, Settings
from assistant.profile import load_profile

if TYPE_CHECKING:  # the index module is imported only by the tests that build one
    from assistant.index import BuildReport

REPORT_NAME = "epon-minusma-2019"
REPORT_TXT = PROJECT_ROOT / "documents" / f"{REPORT_NAME}.txt"
# The report's running header, as its profile gives it to cleaning: the PDF prints it on every page.
REPORT_LAYOUT = Layout.of(load_profile(REPORT_TXT))
RUNNING_TITLE = load_profile(REPORT_TXT).running_headers[0]
RUNNING_HEADER = REPORT_LAYOUT.header
CHAPTER_LINE = re.compile(r"^ ?([IVX]+)\.\s+(\S.*?)\s*$")
FOOTNOTE_LINE = re.compile(r"^\d{1,3}\s+\S")
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV"]
# Chapters whose heading the extraction lost, with the chapter they follow: the bookmark goes
# where their text starts.
UNPRINTED_CHAPTERS = {
    "XIII. Overall Findings": ("XII", "Until 2016, MINUSMA was a relatively successful peace operation. It managed"),
    "Back cover": ("XIV", "This report assesses the extent to which the UN Multidimensional Integrated"),
}

DATA_DIR = Path(__file__).resolve().parent / ".data"
DEBIAN_PDF = DATA_DIR / "gutenprint-users-manual.pdf"
DEBIAN_PDF_NAME = "gutenprint-users-manual"
FETCH_SCRIPT = Path(__file__).resolve().parent / "fetch_debian_pdf.sh"
EMBEDDING_CACHE = PROJECT_ROOT / ".embedding-cache"
SHELF_CACHE = DATA_DIR / "embedding-cache"  # the Debian PDF's vectors, kept between runs

# Layout, in millimetres. A blank line is lower than a text line but higher than 0.8 of the font
# size, the step below which pypdf joins two lines into one.
FONT_SIZE = 7.5
TEXT_LINE = 3.3
BLANK_LINE = 2.4
PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0
MARGIN = 12.0
HEADER_HEIGHT = 8.0


@dataclass(frozen=True)
class PrintedPage:
    """One printed page of the report: its number and the text lines on it."""

    number: int
    first_line: int  # index of its first line in the text file
    lines: tuple[str, ...]
    from_header: bool  # its number is printed in a running header the text kept


@dataclass(frozen=True)
class Bookmark:
    """An outline entry: a chapter title and where it starts."""

    title: str
    page: int  # index into the list of printed pages
    line: int  # index of the line within that page


# --- pages ------------------------------------------------------------------------------------

def report_lines() -> list[str]:
    """The report's text lines, as the extractor wrote them."""
    return REPORT_TXT.read_text(encoding="utf-8").splitlines()


def natural_breaks(lines: list[str]) -> list[int]:
    """Line indices where the text shows a new page: a running header, or a page boundary as
    cleaning finds one (clean.page_boundaries: a line opening with a single space, not a list
    dash or a figure caption, or the first line after 3+ blank lines)."""
    headers = {i for i, line in enumerate(lines) if REPORT_LAYOUT.is_header(line)}
    breaks = sorted(headers.union(page_boundaries(lines, REPORT_LAYOUT)))
    return breaks if breaks and breaks[0] == 0 else [0] + breaks


def paginate(lines: list[str]) -> list[PrintedPage]:
    """Cut the text into printed pages and number them (see the module docstring)."""
    breaks = natural_breaks(lines)
    anchors = [(i, int(m.group(1))) for i, line in enumerate(lines) if (m := RUNNING_HEADER.match(line))]
    starts: list[int] = []
    numbers: list[int] = []
    first_anchor, first_number = anchors[0]
    before = [b for b in breaks if b < first_anchor]
    starts += before
    numbers += [first_number - len(before) + k for k in range(len(before))]
    for (start, number), (end, following) in zip(anchors, anchors[1:]):
        cuts = _fit_cuts([b for b in breaks if start <= b < end], end, following - number, lines)
        starts += cuts
        # The page before the next header is numbered from it: where the text shows too few
        # breaks to cut enough pages, numbers are skipped there, never shifted.
        numbers += [number + k for k in range(len(cuts) - 1)] + [following - 1 if len(cuts) > 1 else number]
    last_anchor, last_number = anchors[-1]
    after = [b for b in breaks if b >= last_anchor]
    starts += after
    numbers += [last_number + k for k in range(len(after))]
    ends = starts[1:] + [len(lines)]
    return [PrintedPage(n, a, tuple(lines[a:b]), bool(RUNNING_HEADER.match(lines[a])))
            for n, a, b in zip(numbers, starts, ends)]


def _fit_cuts(cuts: list[int], end: int, pages: int, lines: list[str]) -> list[int]:
    """Page starts between two running headers, `pages` of them where the text allows: cut the
    longest inner page at a paragraph end, or join the two shortest neighbouring inner pages."""
    cuts = list(cuts)
    while len(cuts) < pages:
        spans = sorted(((b - a, k) for k, (a, b) in enumerate(zip(cuts, cuts[1:] + [end]))
                        if 0 < k < len(cuts) - 1), reverse=True)
        cut = next((c for _, k in spans if (c := _paragraph_cut(lines, cuts[k], (cuts + [end])[k + 1]))), None)
        if cut is None:
            break  # numbers are skipped before the last page instead
        cuts = sorted(cuts + [cut])
    while len(cuts) > pages and len(cuts) > 2:
        # Drop the inner break whose two pages are together the shortest.
        bounds = cuts + [end]
        k = min(range(2, len(cuts) - 1) if len(cuts) > 3 else [], key=lambda j: bounds[j + 1] - bounds[j - 1],
                default=None)
        if k is None:
            break
        del cuts[k]
    return cuts


def _paragraph_cut(lines: list[str], start: int, end: int) -> int | None:
    """The paragraph start nearest the middle of lines[start:end] that a page may open with:
    after a blank line and a sentence end, capitalised, and above the page's first footnote
    (below it, every line up to the next page belongs to the footnotes)."""
    notes = next((i for i in range(start + 1, end) if FOOTNOTE_LINE.match(lines[i])), end)
    middle = (start + end) // 2
    candidates = [i for i in range(start + 2, notes)
                  if lines[i][:1].isupper() and not lines[i - 1].strip() and lines[i - 2].strip()
                  and re.search(r"[.!?”]\d{0,3}\s*$", lines[i - 2]) and not CAPTION.match(lines[i])]
    return min(candidates, key=lambda i: abs(i - middle), default=None)


def bookmarks(pages: list[PrintedPage]) -> list[Bookmark]:
    """The chapters' places: 'Abstract', the Roman-numeral chapters in order (a title split over
    two lines is joined) and the chapters whose heading the extraction lost."""
    found: list[Bookmark] = []
    expected = 0
    located = {title: False for title in UNPRINTED_CHAPTERS}
    for p, page in enumerate(pages):
        for k, line in enumerate(page.lines):
            text = line.strip()
            if not found and text == "Abstract":
                found.append(Bookmark("Abstract", p, k))
            match = CHAPTER_LINE.match(line)
            if (match and expected < len(ROMAN) and match.group(1) == ROMAN[expected]
                    and len(text.split()) <= 10):
                title = _chapter_title(text, page.lines[k + 1] if k + 1 < len(page.lines) else "")
                found.append(Bookmark(title, p, k))
                expected += 1
                if ROMAN[expected - 1] == "XII":
                    expected += 1  # XIII has no printed heading
            for title, (after, opening) in UNPRINTED_CHAPTERS.items():
                if not located[title] and ROMAN.index(after) < expected and text.startswith(opening):
                    found.append(Bookmark(title, p, k))
                    located[title] = True
    return found


def _chapter_title(text: str, following: str) -> str:
    """'III. Context and Historical' + 'Background' -> one title; a trailing note number goes."""
    following = following.strip()
    if following and len(following.split()) <= 2 and following[:1].isupper() and not following.endswith("."):
        text = f"{text} {following}"
    return re.sub(r"(?<=[a-z])\d{1,3}$", "", re.sub(r"\s+", " ", text))


# --- the PDF ------------------------------------------------------------------------------------

def font_path() -> Path:
    """DejaVu Sans from matplotlib (a dependency of the project): the report is not Latin-1."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def render_report_pdf(path: Path) -> list[PrintedPage]:
    """Write the report as a paged PDF: one PDF page per printed page, its number as the page
    label, the running header on top, chapter bookmarks. Returns the pages written."""
    from fpdf import FPDF
    from pypdf import PdfWriter

    pages = paginate(report_lines())
    marks: dict[tuple[int, int], str] = {(b.page, b.line): b.title for b in bookmarks(pages)}
    pdf = FPDF(unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN)
    pdf.add_font("DejaVu", "", str(font_path()))
    pdf.set_title("Assessing the Effectiveness of the United Nations Mission in Mali / MINUSMA")
    pdf.set_author("Jaïr van der Lijn et al.")
    pdf.set_creator("tests/documents_support.py (fpdf2)")
    for p, page in enumerate(pages):
        body = page.lines[1:] if page.from_header else page.lines
        skip = 1 if page.from_header else 0
        height = MARGIN * 2 + HEADER_HEIGHT + sum(TEXT_LINE if line.strip() else BLANK_LINE for line in body)
        # A page the text overfills (a chart's data, a table) grows rather than spilling over.
        pdf.add_page(format=(PAGE_WIDTH, max(PAGE_HEIGHT, height)))
        pdf.set_font("DejaVu", size=FONT_SIZE)
        pdf.cell(0, HEADER_HEIGHT, f"{page.number}{RUNNING_TITLE}", new_x="LMARGIN", new_y="NEXT")
        for k, line in enumerate(body):
            title = marks.get((p, k + skip))
            if title:
                pdf.start_section(title)
            _write_line(pdf, line)
    raw = path.with_suffix(".unlabelled.pdf")
    pdf.output(str(raw))
    writer = PdfWriter(clone_from=str(raw))
    for p, page in enumerate(pages):
        writer.set_page_label(p, p, style="/D", start=page.number)
    with open(path, "wb") as handle:
        writer.write(handle)
    raw.unlink()
    return pages


def _write_line(pdf, line: str) -> None:
    """One line of the text layer. Tabs (table cells) become wide gaps; a line wider than the
    page is narrowed so that nothing runs off it."""
    text = line.replace("\t", "    ").rstrip() or " "
    width = pdf.get_string_width(text)
    room = PAGE_WIDTH - 2 * MARGIN
    stretch = min(100.0, 100.0 * room / width) if width else 100.0
    pdf.set_stretching(stretch)
    pdf.cell(0, TEXT_LINE if line.strip() else BLANK_LINE, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_stretching(100.0)


# --- shelves ------------------------------------------------------------------------------------

def report_side_files() -> list[Path]:
    """The files beside the report that describe it (outline, profile), copied with any copy."""
    return sorted(p for p in (PROJECT_ROOT / "documents").glob(f"{REPORT_NAME}.*.json"))


def copy_side_files(folder: Path) -> None:
    for side in report_side_files():
        shutil.copy2(side, folder / side.name)


def copy_embedding_cache(index_dir: Path, *extra: Path) -> int:
    """Copy the project's embedding cache (and any `extra` caches) beside a temporary index
    folder, so that texts embedded before are not embedded again; returns the files there.
    Segments have unique names, so caches copied into one folder simply add up."""
    target = Path(index_dir).parent / ".embedding-cache"
    for source in (EMBEDDING_CACHE, *extra):
        if Path(source).is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for p in target.rglob("*") if p.is_file())


def keep_embedding_cache(index_dir: Path, keep: Path) -> None:
    """Keep the cache a temporary build grew (e.g. with the Debian PDF's vectors) in `keep`, a
    gitignored folder, so that the next test run embeds nothing new; the project cache is
    never written by the tests."""
    source = Path(index_dir).parent / ".embedding-cache"
    staging = keep.with_name(keep.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    shutil.rmtree(keep, ignore_errors=True)
    staging.rename(keep)


def debian_pdf() -> Path:
    """The Debian PDF, fetched by `make test`; a clear failure says how to fetch it."""
    if not DEBIAN_PDF.is_file():
        raise FileNotFoundError(
            f"{DEBIAN_PDF} is missing: the two-document shelf tests need the Gutenprint manual from "
            f"Debian's gutenprint-doc package. Fetch it with `bash {FETCH_SCRIPT.relative_to(PROJECT_ROOT)}` "
            "(make test runs it; it needs apt-get and Debian's package registry).")
    return DEBIAN_PDF


def debian_pdf_source() -> str:
    """'gutenprint-doc VERSION', as the fetch script recorded it."""
    record = DATA_DIR / "gutenprint-users-manual.source"
    return record.read_text(encoding="utf-8").strip() if record.exists() else "gutenprint-doc"


@dataclass(frozen=True)
class RenderedReport:
    """The report as a PDF in a documents folder of its own, with its side files beside it."""

    path: Path
    pages: tuple[PrintedPage, ...]
    bookmarks: tuple[Bookmark, ...]


def render_report_shelf(folder: Path) -> RenderedReport:
    """`folder/epon-minusma-2019.pdf` and the report's outline/profile files beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{REPORT_NAME}.pdf"
    pages = render_report_pdf(path)
    copy_side_files(folder)
    return RenderedReport(path, tuple(pages), tuple(bookmarks(pages)))


@dataclass(frozen=True)
class TempShelf:
    """A documents folder and its index in a temporary folder, built with the real model."""

    settings: Settings
    built: BuildReport
    cache_files: int  # embedding-cache files copied beside the index before the build


def build_shelf(folder: Path, documents: list[Path], keep_cache: Path | None = None) -> TempShelf:
    """Copy `documents` (with the report's side files when the report is among them) into
    folder/documents, copy the embedding caches beside folder/index, and build the index.
    With `keep_cache`, the grown cache is kept there for the next run."""
    from assistant.index import build_index

    shelf = folder / "documents"
    shelf.mkdir(parents=True, exist_ok=True)
    for document in documents:
        shutil.copy2(document, shelf / document.name)
        if document.stem == REPORT_NAME:
            copy_side_files(shelf)
    settings = Settings(documents_dir=shelf, index_dir=folder / "index")
    cache_files = copy_embedding_cache(settings.index_dir, *([keep_cache] if keep_cache else []))
    built = build_index(settings)
    if keep_cache is not None:
        keep_embedding_cache(settings.index_dir, keep_cache)
    return TempShelf(settings, built, cache_files)
