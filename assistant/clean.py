"""Turn extracted page text into the paragraphs a reader saw: no running headers, page
numbers, line-break hyphenation, footnotes in the body, pull-quotes or figure residue."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass

from .ingest import SourceDocument
from .profile import DocumentProfile, load_profile
from .text import word_tokens

FOOTNOTE_START = re.compile(r"^(\d{1,3})\s+(?=\S)(?!\d)")
URL = re.compile(r"https?://|www\.")
CAPTION = re.compile(r"^\s*(Figure|Table)\s+\d+\s*:")
NUMERIC_TOKEN = re.compile(r"^[\d.,/%:<>()\-–]+$|^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$")
SENTENCE_END = re.compile(r"[.!?:;”\"’]\d{0,3}\s*$")  # a footnote number may follow
# Prefixes that keep their hyphen when a line break falls after them and the document
# gives no evidence either way ("inter-\ncommunal" stays "inter-communal").
HYPHEN_PREFIXES = {"inter", "intra", "self", "non", "anti", "counter", "co", "ex", "cross", "multi",
                   "post", "pre", "semi", "mid", "well", "long", "short", "high", "low", "full", "re"}


@dataclass(frozen=True)
class Layout:
    """What cleaning needs to know of a document's print layout, from its profile: the running
    header (a printed page number fused with the report's title, '27Title', or with the chapter,
    '32 III. Chapter'; the number is the page of the text that follows), how a chapter heading
    opens, and the headings known beforehand (bookmarks, numbered heading lines)."""

    header: re.Pattern | None = None
    chapter: re.Pattern = re.compile(r"(?!)")
    headings: frozenset[str] = frozenset()  # squashed texts of known headings

    @classmethod
    def of(cls, profile: DocumentProfile) -> "Layout":
        return cls(profile.running_header(), profile.chapter_heading(),
                   frozenset(squash(h.title) for h in profile.headings))

    def is_header(self, line: str) -> re.Match | None:
        return self.header.match(line) if self.header else None

    def is_known(self, text: str) -> bool:
        """A heading known beforehand (a bookmark, a numbered heading line)."""
        return bool(self.headings) and squash(text) in self.headings

    def is_heading(self, text: str) -> bool:
        """A chapter heading by the scheme's numbering, or a heading known beforehand."""
        return bool(self.chapter.match(text)) or self.is_known(text)


def squash(text: str) -> str:
    """Text with its white space folded and in lower case, to compare headings."""
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass(frozen=True)
class Block:
    """A paragraph of body text (or a caption) with the printed page it starts on."""

    text: str
    page: int | None
    kind: str = "text"  # "text" or "caption"


@dataclass(frozen=True)
class Footnote:
    """A footnote lifted out of the body, with its number and the body block it follows."""

    number: int
    text: str
    page: int | None
    after_block: int  # index into CleanDocument.blocks of the last body block before it


@dataclass(frozen=True)
class CleanDocument:
    """A document reduced to body blocks and footnotes, in reading order."""

    doc_id: str
    blocks: tuple[Block, ...]
    footnotes: tuple[Footnote, ...]
    marker_block: dict  # footnote number -> index of the block whose marker was stripped
    profile: DocumentProfile | None = None  # the profile it was cleaned with (structure reads it too)


@dataclass
class _Line:
    text: str
    page: int | None
    kind: str  # "body", "blank", "note" (footnote text), "drop"
    note: int | None = None


def clean_document(source: SourceDocument, profile: DocumentProfile | None = None) -> CleanDocument:
    """Clean a source document into body blocks and footnotes, with the layout its profile
    gives (the profile beside the document, or one inferred, when none is passed)."""
    profile = profile or load_profile(source.path, source)
    layout = Layout.of(profile)
    lines = _page_lines(source, layout)
    _mark_footnotes(lines, layout)
    _drop_footnote_tails(lines)
    _mark_orphan_footnote_lines(lines)
    _mark_residue(lines)
    vocabulary = _hyphen_vocabulary("\n".join(l.text for l in lines))
    blocks, notes = _build_blocks(lines, vocabulary, layout)
    blocks = _drop_figure_labels(blocks, layout)
    blocks = _merge_continuations(blocks, vocabulary, layout)
    blocks, marker_block = _strip_footnote_markers(blocks)
    blocks = _drop_pull_quotes(blocks)
    footnotes = tuple(
        Footnote(n, text, page, _block_after(marker_block, n, after, len(blocks)))
        for n, text, page, after in notes
    )
    return CleanDocument(source.doc_id, tuple(blocks), footnotes, marker_block, profile)


def _block_after(marker_block: dict, number: int, fallback: int, count: int) -> int:
    """Attach a footnote to the block that cites it, else to where it stood."""
    return marker_block.get(number, min(fallback, max(count - 1, 0)))


# --- pages -----------------------------------------------------------------------------------

def _page_lines(source: SourceDocument, layout: Layout) -> list[_Line]:
    """Split pages into lines, each knowing its printed page (None where unknown)."""
    if source.kind == "pdf":
        lines = []
        for page in source.pages:
            lines.extend(_Line(t, page.number, "body") for t in page.text.splitlines())
            lines.append(_Line("", page.number, "boundary"))
        return lines
    raw = "\n".join(page.text for page in source.pages).splitlines()
    pages = infer_text_pages(raw, layout)
    return [
        _Line("", pages[i], "drop") if layout.is_header(t) else _Line(t, pages[i], "body")
        for i, t in enumerate(raw)
    ] if raw else []


def page_boundaries(raw: list[str], layout: Layout = Layout()) -> list[int]:
    """Line indices where a new page begins in PDF-extracted text: a line opening with a
    single space (not a list dash or a figure caption), or the first line after 3+ blank lines."""
    bounds, blank = [], 0
    for i, line in enumerate(raw):
        if not line.strip():
            blank += 1
            continue
        if layout.is_header(line):
            blank = 0
            continue
        single_space = re.match(r"^ [^ \-•]", line) and not CAPTION.match(line)
        if single_space or (blank >= 3 and i > 0):
            bounds.append(i)
        blank = 0
    return bounds


def infer_text_pages(raw: list[str], layout: Layout = Layout()) -> list[int | None]:
    """Printed page per line. Known only next to a running header ("27Title of the report"),
    and between two headers when the page breaks counted between them fit exactly; else None."""
    anchors = [(i, int(m.group(1))) for i, t in enumerate(raw) if (m := layout.is_header(t))]
    bounds = page_boundaries(raw, layout)
    pages: list[int | None] = [None] * len(raw)
    edges = [(-1, None)] + anchors + [(len(raw), None)]
    for (start, first), (end, last) in zip(edges, edges[1:]):
        inner = [b for b in bounds if start < b < end]
        cuts = [max(start, 0)] + inner + [end]
        if first is not None and last is not None and len(inner) == last - first - 1:
            for k, (a, b) in enumerate(zip(cuts, cuts[1:])):
                pages[a:b] = [first + k] * (b - a)
            continue
        if first is not None:  # the page that a header opens runs to the next break
            stop = inner[0] if inner else end
            pages[start:stop] = [first] * (stop - start)
        if last is not None and inner:  # the page that ends at the next header
            pages[inner[-1]:end] = [last - 1] * (end - inner[-1])
    return pages


# --- footnotes and residue ---------------------------------------------------------------------

def _mark_footnotes(lines: list[_Line], layout: Layout) -> None:
    """Footnotes sit at the foot of a page: from a line starting with the next footnote
    number up to the next page break, every line is footnote text."""
    expected, current = 1, None
    bounds = set(page_boundaries([l.text for l in lines], layout))
    for i, line in enumerate(lines):
        # Any line opening with a single space starts new page content, captions included.
        if line.kind == "boundary" or i in bounds or re.match(r"^ \S", line.text):
            current = None
        if line.kind not in ("body",):
            continue
        match = FOOTNOTE_START.match(line.text)
        number = int(match.group(1)) if match else None
        # Numbers run in order; a few footnotes may be missing from the extraction.
        if number is not None and expected <= number <= expected + 10 and _looks_like_note(line.text):
            current, expected = number, number + 1
            line.kind, line.note = "note", number
            line.text = line.text[match.end():]
        elif current is not None:
            line.kind, line.note = ("note", current) if line.text.strip() else ("blank", None)


def _drop_footnote_tails(lines: list[_Line]) -> None:
    """A line with a web address right after footnote text is the tail of a footnote whose start
    the extraction lost (' 2018, https://…'); left in the body, it splits the sentence that runs on
    after it ('… between the operation' / 'and other actors.')."""
    previous = None
    for line in lines:
        if not line.text.strip():
            continue
        if line.kind == "body" and previous is not None and previous.kind == "note" and URL.search(line.text):
            line.kind = "drop"
        previous = line


def _mark_orphan_footnote_lines(lines: list[_Line]) -> None:
    """A lone line set off by a blank line and run straight into the next footnote is the end
    of the footnote before it, carried over to this page ('Menace? Working Paper, 884.' above
    '54 Wolfram Lacher ...'); left in the body, it ends the paragraph above mid-sentence."""
    last_note = None
    for i, line in enumerate(lines):
        if line.kind == "note":
            last_note = line.note
            continue
        following = lines[i + 1] if i + 1 < len(lines) else None
        if (line.kind == "body" and line.text.strip() and last_note is not None and i > 0
                and not lines[i - 1].text.strip() and following is not None and following.kind == "note"
                and following.note == last_note + 1):
            line.kind, line.note = "note", last_note


def _looks_like_note(text: str) -> bool:
    """A footnote opens with its number and a source or a sentence, not a table row."""
    rest = FOOTNOTE_START.sub("", text, count=1)
    return bool(rest) and not NUMERIC_TOKEN.match(rest.split()[0])


def _mark_residue(lines: list[_Line]) -> None:
    """Drop figure and table residue: lines mostly made of numbers, or tab-separated cells."""
    previous = None
    for line in lines:
        if line.kind != "body":
            continue
        if not line.text.strip():
            line.kind = "blank"
            continue
        above, previous = previous, line
        if above is not None and _ends_open_sentence(above.text, line.text):
            continue
        tokens = line.text.split()
        numbers = sum(1 for t in tokens if NUMERIC_TOKEN.match(t))
        numeric = numbers / len(tokens)
        words = sum(1 for t in tokens if re.search(r"[A-Za-z]{2}", t) and not NUMERIC_TOKEN.match(t))
        has_lower_word = any(re.fullmatch(r"[a-z]{3,}[.,;:]?", t) for t in tokens)
        # "SCR 2423", "(June 2018)" and "May 2018 and May 2019." are text; "Chad 5,59 2,3",
        # "Jul 2013 0" and a lone axis label "500" are not.
        if "\t" in line.text or numeric == 1.0 or (numbers >= 2 and numeric >= 0.5 and not has_lower_word
                                                     and (words <= 1 or numeric >= 0.75)):
            line.kind = "drop"


# A year that closes a sentence or a bracket on a line of its own: "2015.124", "2017)".
CLOSING_YEAR = re.compile(r"^(?:19|20)\d\d(?:[.)][.,;:]?\d{0,3})$")


def _ends_open_sentence(previous: str, text: str) -> bool:
    """A line that is only a year is text, not an axis label, when it finishes the line above:
    that line stops mid-sentence ('between 2012 and', 'SCR 2391 (December') and the year ends
    the sentence or closes the bracket."""
    stripped, above = text.strip(), previous.rstrip()
    if not CLOSING_YEAR.match(stripped) or SENTENCE_END.search(above) or not re.search(r"[A-Za-z]{2,}", above):
        return False
    return stripped[4] == "." or above.count("(") > above.count(")")


# --- paragraphs --------------------------------------------------------------------------------

def _hyphen_vocabulary(text: str) -> Counter:
    """Word counts of the document, to decide whether a line-break hyphen is real."""
    return Counter(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*", text))


def join_hyphenated(left: str, right: str, vocabulary: Counter) -> str:
    """Join two words split at a line-break hyphen: drop the hyphen when the document
    knows the joined word, keep it when it knows the hyphenated one or the prefix asks for it."""
    joined, hyphenated = (left + right).lower(), f"{left}-{right}".lower()
    if vocabulary[hyphenated] > vocabulary[joined]:
        return f"{left}-{right}"
    if vocabulary[joined] or vocabulary[joined.rstrip(".,;:")]:
        return left + right
    if left.lower() in HYPHEN_PREFIXES or right[:1].isupper() or left[-1:].isdigit():
        return f"{left}-{right}"
    return left + right


def join_lines(lines: list[str], vocabulary: Counter) -> str:
    """Rebuild a paragraph from wrapped lines, repairing line-break hyphenation."""
    text = ""
    for raw in lines:
        line = raw.replace("\u00ad", "").strip()
        if not line:
            continue
        match = re.search(r"([A-Za-z0-9]+)-$", text)
        if match and re.match(r"[?!.,;:”’\")]", line):
            # The line broke at a hyphen just before the closing punctuation: "go out-" / "?”".
            text = text[:-1] + line
        elif match and re.match(r"[A-Za-z]", line):
            word = re.match(r"[A-Za-z0-9]+", line).group(0)
            text = text[: match.start()] + join_hyphenated(match.group(1), word, vocabulary) + line[len(word):]
        else:
            text = f"{text} {line}" if text else line
    return repair_ligatures(re.sub(r"[ \t]+", " ", text).strip(), vocabulary)


def repair_ligatures(text: str, vocabulary: Counter) -> str:
    """Rejoin words the PDF split after an 'fi'/'fl' ligature ("confl ict" -> "conflict")."""
    def join(match: re.Match) -> str:
        joined = match.group(1) + match.group(2)
        return joined if vocabulary[joined.lower()] and not vocabulary[match.group(1).lower()] else match.group(0)

    return re.sub(r"\b([A-Za-z]*f[fil]) ([a-z]+)\b", join, text) if vocabulary else text


def _build_blocks(lines: list[_Line], vocabulary: Counter, layout: Layout):
    """Group body lines into blocks at blank lines; collect footnote lines by number. A line
    that is a heading known beforehand is a block of its own (a PDF may set no blank line
    between a heading and its text)."""
    blocks: list[Block] = []
    notes: dict[int, list] = {}
    note_pages: dict[int, tuple] = {}
    pending: list[_Line] = []

    def flush():
        if pending:
            text = join_lines([l.text for l in pending], vocabulary)
            if text:
                kind = "caption" if CAPTION.match(text) or text.startswith("Source:") else "text"
                blocks.append(Block(text, pending[0].page, kind))
            pending.clear()

    for line in lines:
        if line.kind == "body" and layout.is_known(line.text):
            flush()
            pending.append(line)
            flush()
        elif line.kind == "body" and re.match(r"^ \S", line.text):
            flush()  # a single leading space opens a new page: the merge step rejoins sentences
            pending.append(line)
        elif line.kind == "body":
            pending.append(line)
        elif line.kind == "note":
            flush()
            notes.setdefault(line.note, []).append(line.text)
            note_pages.setdefault(line.note, (line.page, len(blocks) - 1))
        elif line.kind == "boundary" or (line.kind == "blank" and not _double_spaced(pending)):
            flush()
        # "drop" lines vanish without ending a paragraph (a header mid-sentence)
    flush()
    collected = [
        (n, join_lines(parts, vocabulary), note_pages[n][0], max(note_pages[n][1], 0))
        for n, parts in sorted(notes.items())
    ]
    return blocks, collected


def _double_spaced(pending: list[_Line]) -> bool:
    """Double-spaced text (the back cover) puts a blank line after every wrapped line: a long
    line that stops mid-sentence goes on after the blank line."""
    if not pending:
        return False
    last = pending[-1].text.rstrip()
    return not CAPTION.match(pending[0].text) and len(last) >= 75 and not SENTENCE_END.search(last)


def _merge_continuations(blocks: list[Block], vocabulary: Counter, layout: Layout) -> list[Block]:
    """Rejoin a paragraph cut by a page break, footnotes or a figure: the first part does not
    end a sentence and the second starts in lower case. A caption that stood between the two
    parts is moved after the rejoined paragraph, where it no longer splits a sentence."""
    merged: list[Block] = []
    held: list[Block] = []  # captions met since the last text block
    for block in blocks:
        if block.kind == "caption":
            held.append(block)
            continue
        previous = merged[-1] if merged else None
        if (previous and previous.kind == "text" and block.kind == "text"
                and not SENTENCE_END.search(previous.text)
                and not layout.is_known(previous.text)
                and (block.text[:1].islower() or (_stops_mid_sentence(previous) and _is_continuation(block)
                                                  and not layout.is_heading(previous.text)
                                                  and not layout.is_heading(block.text)))):
            merged[-1] = Block(join_lines([previous.text, block.text], vocabulary), previous.page)
        else:
            merged.extend(held)
            held = []
            merged.append(block)
    return merged + held


def _stops_mid_sentence(block: Block) -> bool:
    """A paragraph-length block without closing punctuation was cut by a page break or by
    double spacing (the back cover), even when the next part starts with a capital (a
    chapter heading is never such a block: the caller checks)."""
    return len(block.text.split()) >= 20


def _is_continuation(block: Block) -> bool:
    """A capitalised block can continue a sentence unless it looks like a heading (the caller
    checks the chapter headings)."""
    return len(block.text.split()) >= 14


def _is_short_label(block: Block) -> bool:
    return block.kind == "text" and len(block.text.split()) < 14 and not SENTENCE_END.search(block.text)


def _is_acronym_residue(block: Block) -> bool:
    """Axis labels such as 'UNOSOM II UNAMIR UNMIK MONUA': several words, no lower case."""
    return block.kind == "text" and len(block.text.split()) >= 4 and not re.search(r"[a-z]", block.text)


def _is_table_cell(block: Block) -> bool:
    """A table cell is short; it may be a whole sentence ('No significant changes.')."""
    return block.kind == "text" and len(block.text.split()) < 30


def _drop_figure_labels(blocks: list[Block], layout: Layout) -> list[Block]:
    """Handle the blocks in a run ending at a caption (the caption is printed under its figure or
    table): a figure's short unpunctuated axis and box labels are dropped; a table's cells, back
    to the last paragraph-length block, are kept as part of its caption, so that no cell stands
    in the body as a sentence or a heading."""
    kept: list[Block] = []
    for block in blocks:
        if block.kind == "caption" and re.match(r"(Figure|Table)\s", block.text):
            belongs = _is_table_cell if block.text.startswith("Table") else _is_short_label
            run = []
            while kept and belongs(kept[-1]) and not layout.is_heading(kept[-1].text):
                run.insert(0, kept.pop())
            if block.text.startswith("Table"):
                kept.extend(Block(cell.text, cell.page, "caption") for cell in run)
        kept.append(block)
    return [b for b in kept if not _is_acronym_residue(b)]


# A footnote number glued after a word ("crisis.2", "groups,77"), an acronym behind punctuation
# ("ISGS.118", "ECOWAS,114", "(DRC).168"), a per cent sign, bracket or quote ("31%.28",
# "(see Figure 7).145", "out?”216") or a year ("2016.195", "signed in 201546"); never inside a
# number such as "15,201" or "1.5", nor in a name such as "G5" or "U2" (no punctuation between).
MARKER = re.compile(
    r"((?:[A-Za-z]{2}[.,;:!?’”\")\]]{1,3}|[%)\]’”\"][.,;:!?’”\")\]]{0,3}|[a-z]{2}"
    r"|(?<![\d,.])(?:19|20)\d\d[.,;:!?’”\")\]]{0,3}))(\d{1,3})(?=[\s,.;:)—–]|$)")


def _strip_footnote_markers(blocks: list[Block]):
    """Remove footnote numbers glued to words ("crisis.2" -> "crisis."). Footnotes are
    numbered in order, so a glued number counts as a marker only near the last one seen."""
    last, marker_block, cleaned = 0, {}, []
    for index, block in enumerate(blocks):
        def strip(match: re.Match) -> str:
            nonlocal last
            number = int(match.group(2))
            if last < number <= last + 15:
                last = number
                marker_block[number] = index
                return match.group(1)
            return match.group(0)

        cleaned.append(Block(MARKER.sub(strip, block.text), block.page, block.kind))
    return cleaned, marker_block


def covered_fraction(needle: list[str], haystack: list[str], min_run: int = 3) -> float:
    """Share of `needle`'s tokens found in `haystack` in in-order runs of `min_run` or more."""
    if not needle:
        return 0.0
    matcher = difflib.SequenceMatcher(None, needle, haystack, autojunk=False)
    return sum(b.size for b in matcher.get_matching_blocks() if b.size >= min_run) / len(needle)


def _drop_pull_quotes(blocks: list[Block], window: int = 6) -> list[Block]:
    """Drop a highlighted pull-quote: a short block whose words (perhaps abridged) also
    stand in a nearby body paragraph."""
    words = [word_tokens(b.text) for b in blocks]  # once per block, not once per neighbour
    keep = []
    for i, block in enumerate(blocks):
        if block.kind == "text" and 8 <= len(words[i]) <= 60:
            near = [j for j in range(max(0, i - window), min(len(blocks), i + window + 1)) if j != i]
            if any(len(words[j]) > len(words[i]) and covered_fraction(words[i], words[j]) >= 0.85 for j in near):
                continue
        keep.append(block)
    return keep
