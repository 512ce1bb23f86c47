"""Document profiles: the shipped report's profile, a legacy outline file, profiles inferred from
small PDFs (made with fpdf2, with and without bookmarks) and from plain text, aliases that
resolve within their own document, and no document's names in the general code. No model and
no index: every test here is fast."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfWriter

from assistant.answering.outline import asked_kind, counted_kind, framework_kinds, named_section, subject_words
from assistant.chunk import chunk_document
from assistant.clean import clean_document
from assistant.config import PROJECT_ROOT
from assistant.ingest import SUPPORTED_SUFFIXES, read_document
from assistant.profile import (ProfileError, infer_profile, load_profile, numbered_headings, profile_from_json,
                               shelf_profiles)
from assistant.retrieve import Hit
from assistant.structure import structure_document

pytestmark = pytest.mark.fast

DOCUMENTS = PROJECT_ROOT / "documents"
ASSISTANT = PROJECT_ROOT / "assistant"
BODY = ("The harbour of Northport handled more ships this year than ever before, and the pilots said that "
        "the channel needs dredging before the winter storms arrive at the coast. ")
WORDS = ("cranes tugs quays pilots dredgers buoys ferries tankers barges lighthouses wharves moorings "
         "tides charts locks berths").split()


def body(seed: int, sentences: int = 4) -> str:
    """Text that differs from section to section (repeated text would read as a pull-quote)."""
    return " ".join(f"In year {seed * 10 + k} the port counted {WORDS[(seed + k) % len(WORDS)]} and "
                    f"{WORDS[(seed * 3 + k) % len(WORDS)]} along the {WORDS[(seed * 5 + k) % len(WORDS)]} of the bay."
                    for k in range(sentences))


def structured(path: Path):
    return structure_document(clean_document(read_document(path)), path)


def sections(path: Path) -> set[str]:
    return {" > ".join(p.section) for p in structured(path).paragraphs if p.kind == "text"}


# --- the shipped profiles ----------------------------------------------------------------------

def shipped_profiles():
    return sorted(DOCUMENTS.glob("*.profile.json"))


def test_every_shipped_profile_loads_with_reference_data_and_a_known_scheme():
    assert shipped_profiles(), "documents/ should hold at least one profile"
    for path in shipped_profiles():
        profile = profile_from_json(path.name.removesuffix(".profile.json"), json.loads(path.read_text("utf-8")))
        assert profile.title and profile.short_title and profile.year, path.name
        if profile.aliases:  # every framework kind numbers at least two parts
            kinds = framework_kinds({t: list(a) for t, a in profile.aliases.items()}, profile.framework_kinds)
            assert set(kinds) == set(profile.framework_kinds), path.name


def test_the_reports_running_headers_come_from_its_profile():
    profile = load_profile(DOCUMENTS / "epon-minusma-2019.txt")
    header = profile.running_header()
    assert profile.source == "profile" and header is not None
    for text in profile.running_headers:  # odd pages: the page number fused with the header text
        assert header.match(f"27{text}").group(1) == "27"
    assert header.match("32 III. Context and Historical Background").group(1) == "32"  # even pages
    assert not header.match("32 people were killed in the attack on the camp.")


def test_a_legacy_outline_file_is_read_when_no_profile_exists(tmp_path):
    (tmp_path / "old.txt").write_text(f"I. Start\n\n{body(1)}\n\nII. End\n\n{body(2)}", encoding="utf-8")
    (tmp_path / "old.outline.json").write_text(json.dumps(
        {"title": "An Old Study", "aliases": {"II. End": ["part 2", "second part"], "I. Start": ["part 1"]}}),
        encoding="utf-8")
    profile = load_profile(tmp_path / "old.txt")
    assert profile.source == "outline" and profile.title == "An Old Study"
    assert profile.heading_scheme == "roman"  # what the outline files assumed
    assert {"I. Start", "II. End"} <= {s.split(" > ")[0] for s in sections(tmp_path / "old.txt")}


def test_a_profile_without_a_heading_scheme_keeps_the_inferred_headings(tmp_path):
    path = tmp_path / "ports.txt"
    path.write_text(f"1. Background\n\n{body(1)}\n\n2. Results\n\n{body(2)}", encoding="utf-8")
    (tmp_path / "ports.profile.json").write_text('{"title": "Ports", "short_title": "Ports"}', encoding="utf-8")
    assert load_profile(path, read_document(path)).heading_scheme == "numbered"
    assert {"1. Background", "2. Results"} <= sections(path)
    assert structured(path).title == "Ports"


def test_a_bad_profile_is_named_in_the_error(tmp_path):
    (tmp_path / "bad.txt").write_text(BODY, encoding="utf-8")
    (tmp_path / "bad.profile.json").write_text('{"heading_scheme": "hieroglyphs"}', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"bad\.profile\.json: heading_scheme must be one of"):
        load_profile(tmp_path / "bad.txt")
    (tmp_path / "bad.profile.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ProfileError, match="one JSON object"):
        load_profile(tmp_path / "bad.txt")


# --- inferred profiles ------------------------------------------------------------------------

def make_pdf(path: Path, bookmarks: bool = True, first_label: int | None = None) -> Path:
    """Three chapters of two sections each, headings printed in bold, with (or without) the
    PDF outline that fpdf2's start_section writes, and a title and author in the metadata."""
    pdf = FPDF()
    pdf.set_title("Harbour Safety in Northport")
    pdf.set_author("Ada Quill; Ben Roe")
    for number, chapter in enumerate(["Introduction", "Findings", "Recommendations"], 1):
        pdf.add_page()
        for level, title, size in ((0, f"{number}. {chapter}", 14), (1, f"{number}.1 Cranes and tugs", 12)):
            if bookmarks:
                pdf.start_section(title, level=level)
            pdf.set_font("Helvetica", "B", size)
            pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, f"In chapter {chapter.lower()}: " + body(number * 2 + level))
            pdf.ln(4)
    pdf.output(str(path))
    if first_label is not None:
        writer = PdfWriter(clone_from=str(path))
        writer.set_page_label(0, 2, style="/D", start=first_label)
        writer.write(str(path))
    return path


def test_pdf_bookmarks_reach_the_source_document_with_levels_and_printed_pages(tmp_path):
    source = read_document(make_pdf(tmp_path / "harbour.pdf", first_label=7))
    assert [(b.title, b.level, b.page) for b in source.bookmarks[:3]] == [
        ("1. Introduction", 1, 7), ("1.1 Cranes and tugs", 2, 7), ("2. Findings", 1, 8)]
    assert source.metadata_title == "Harbour Safety in Northport"


def test_a_pdf_without_profile_gets_title_authors_and_sections_from_its_bookmarks(tmp_path):
    path = make_pdf(tmp_path / "harbour.pdf")
    profile = load_profile(path)
    assert (profile.source, profile.heading_scheme) == ("inferred", "bookmarks")
    assert profile.title == "Harbour Safety in Northport" and profile.authors == ("Quill, Ada", "Roe, Ben")
    found = sections(path)
    assert {"1. Introduction", "1. Introduction > 1.1 Cranes and tugs", "3. Recommendations > 3.1 Cranes and tugs"} <= found
    doc = structured(path)
    first = next(p for p in doc.paragraphs if p.section == ("2. Findings",))
    assert first.text.startswith("In chapter findings:") and first.page == 2
    assert doc.title == "Harbour Safety in Northport"


def test_a_table_of_contents_does_not_take_the_headings_of_the_bookmarks(tmp_path):
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    chapters = ["Dredging", "Cranes", "Tugs", "Quays"]  # enough pages that no heading looks like a running header
    pdf.multi_cell(0, 6, "Contents\n\n" + "\n\n".join(f"{n}. {t}" for n, t in enumerate(chapters, 1)))
    for number, title in enumerate(chapters, 1):
        pdf.add_page()
        pdf.start_section(f"{number}. {title}")
        pdf.cell(0, 10, f"{number}. {title}", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, body(number))
    path = tmp_path / "toc.pdf"
    pdf.output(str(path))
    doc = structured(path)
    assert [p.section for p in doc.paragraphs if p.text.startswith("In year 10 ")] == [("1. Dredging",)]
    assert [p.section for p in doc.paragraphs if p.text.startswith("In year 20 ")] == [("2. Cranes",)]


def test_a_pdf_without_bookmarks_gets_sections_from_numbered_headings(tmp_path):
    path = make_pdf(tmp_path / "plain.pdf", bookmarks=False)
    profile = load_profile(path)
    assert profile.heading_scheme == "numbered"
    assert [(h.title, h.level) for h in profile.headings[:2]] == [("1. Introduction", 1), ("1.1 Cranes and tugs", 2)]
    assert {"2. Findings", "2. Findings > 2.1 Cranes and tugs"} <= sections(path)


@pytest.mark.parametrize("headings, expected", [
    (["1. Background", "1.2 Scope of the study", "2. Results"], ["1. Background", "1. Background > 1.2 Scope of the study", "2. Results"]),
    (["I. Context", "II. The operation"], ["I. Context", "II. The operation"]),
    (["Chapter 1: Early years", "Chapter 2: The reform"], ["Chapter 1: Early years", "Chapter 2: The reform"]),
])
def test_plain_text_gets_sections_from_numbered_headings(tmp_path, headings, expected):
    text = "A Study of Ports\n\nBy Ada Quill and Ben Roe, 2021\n\n" + "".join(
        f"{h}\n\n{body(k)}\n\n" for k, h in enumerate(headings))
    path = tmp_path / "ports.txt"
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    assert profile.title == "A Study of Ports" and profile.authors == ("Quill, Ada", "Roe, Ben") and profile.year == "2021"
    assert set(expected) <= sections(path)


def test_text_without_headings_still_works_more_plainly(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("Harbour notes\n\n" + BODY * 3 + "\n\n1. dredge the channel\n", encoding="utf-8")
    profile = load_profile(path)
    assert (profile.heading_scheme, profile.title, profile.framework_kinds) == ("none", "Harbour notes", ())
    chunks = chunk_document(structured(path), 160, 280)
    assert chunks and all(c.section == "Front matter" for c in chunks)


def test_numbered_list_items_are_not_headings():
    assert numbered_headings("1. We dredged the channel, as the pilots had asked us to do in spring.\n"
                             "2. They agreed.\n") == ()


# --- aliases within their own document --------------------------------------------------------

def two_documents(tmp_path):
    """Two reports with the same heading and the same alias ('part 2'), each in its profile."""
    for seed, (name, place) in enumerate((("north", "Northport"), ("south", "Southport"))):
        (tmp_path / f"{name}.txt").write_text(
            f"I. Overview\n\n{place}. {body(seed * 3)}\n\nII. Dredging\n\n{body(seed * 3 + 1)}\n\n"
            f"III. Cranes\n\n{body(seed * 3 + 2)}", encoding="utf-8")
        (tmp_path / f"{name}.profile.json").write_text(json.dumps({
            "title": f"{place} Harbour Review", "year": 2020, "heading_scheme": "roman", "framework_kinds": ["part"],
            "aliases": {"II. Dredging": ["part 1"], "III. Cranes": ["part 2", "second part"]}}), encoding="utf-8")
    chunks = [c for name in ("north", "south") for c in chunk_document(structured(tmp_path / f"{name}.txt"), 160, 280)]
    profiles = {name: load_profile(tmp_path / f"{name}.txt") for name in ("north", "south")}
    aliases = {name: {t: list(a) for t, a in p.aliases.items()} for name, p in profiles.items()}
    return chunks, aliases


def hits_for(chunks, document):
    return [Hit(rank, c.id, c.document, c.section, c.page, 1.0, c.text, i)
            for rank, (i, c) in enumerate(((i, c) for i, c in enumerate(chunks) if c.document == document), 1)]


def test_an_alias_resolves_within_the_document_of_the_best_passage(tmp_path):
    chunks, aliases = two_documents(tmp_path)
    for document in ("north", "south"):
        named = named_section("What is part 2?", chunks, aliases, hits_for(chunks, document))
        assert named == (document, "III. Cranes", "part 2")
    # Limited to one document, its alias resolves whatever ranks first.
    assert named_section("What is part 2?", chunks, {"south": aliases["south"]}, hits_for(chunks, "north"))[0] == "south"


def test_a_framework_list_is_the_one_of_the_document_asked_about(tmp_path):
    chunks, aliases = two_documents(tmp_path)
    kinds = {d: framework_kinds(a, ("part",)) for d, a in aliases.items()}
    assert asked_kind("What are the parts?", kinds, hits_for(chunks, "south")) == ("south", "part")
    assert framework_kinds(aliases["north"], ("scenario",)) == {}  # only the profile's kinds


@pytest.mark.fast
def test_a_list_asked_by_its_count_names_the_one_framework_with_that_many_parts():
    kinds = {"north": {"scenario": [(f"S{n}", f"scenario {n}") for n in range(1, 5)],
                       "principle": [(f"P{n}", f"principle {n}") for n in range(1, 9)]}}
    assert counted_kind("What are the eight areas the review judges?", kinds) == ("north", "principle")
    assert counted_kind("Which 4 main criteria does it use?", kinds) == ("north", "scenario")
    assert counted_kind("What were the four soldiers doing?", kinds) is None  # not a noun for parts
    assert counted_kind("What are the six areas?", kinds) is None  # no framework has six parts
    kinds["north"]["option"] = [(f"O{n}", f"option {n}") for n in range(1, 5)]
    assert counted_kind("What are the four areas?", kinds) is None  # two kinds have four parts


def test_a_list_question_may_add_the_words_that_name_the_documents_subject(tmp_path):
    chunks, aliases = two_documents(tmp_path)
    kinds = {d: framework_kinds(a, ("part",)) for d, a in aliases.items()}
    subjects = {"north": subject_words("Northport Harbour Review", "", ("Northport",)),
                "south": subject_words("Southport Quay Audit", "", ())}
    # 'harbour' names the north document's subject: the list is still the whole list, and it is north's.
    assert asked_kind("What are the parts of the harbour review?", kinds, hits_for(chunks, "south"), subjects) \
        == ("north", "part")
    # A word that names neither document's subject narrows the question: sentences, not the list.
    assert asked_kind("What are the parts about cranes?", kinds, hits_for(chunks, "north"), subjects) is None
    assert asked_kind("What are the parts of the harbour review?", kinds, hits_for(chunks, "north")) is None


def test_shelf_profiles_read_files_and_fall_back_to_the_built_title(tmp_path):
    two_documents(tmp_path)
    manifest = {"documents": [{"id": "north", "title": "x"}, {"id": "loose", "title": "A Loose Paper: With a Subtitle"}]}
    profiles = shelf_profiles(tmp_path, manifest)
    assert profiles["north"].title == "Northport Harbour Review"
    assert profiles["loose"].short_title == "A Loose Paper"


def test_infer_profile_needs_no_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Short Title\n\n" + BODY, encoding="utf-8")
    assert infer_profile(read_document(path)).title == "Short Title"


# --- no document's names in the general code ---------------------------------------------------

# Framework kinds that are also ordinary words of software ('--document' options, the embedding's
# dimensions): for these only the numbered forms ('option 2b', 'the second option') are the
# document's; every other kind word may not appear at all.
GENERAL_WORDS = frozenset({"option", "dimension"})
ORDINALS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"


def document_text(name: str) -> str:
    path = next((DOCUMENTS / f"{name}{s}" for s in SUPPORTED_SUFFIXES if (DOCUMENTS / f"{name}{s}").is_file()), None)
    if path is None:
        return ""
    return "\n".join(p.text for p in read_document(path).pages)


def proper_nouns(title: str, text: str) -> set[str]:
    """Title words the document writes with a capital in mid-sentence more often than without
    ('Mission' is a name in its text; 'Effectiveness' is only capitalised in the title)."""
    nouns = set()
    for word in set(re.findall(r"[A-Za-z][\w-]+", title)):
        if word.isupper() and len(word) > 1:
            nouns.add(word)
            continue
        capital = len(re.findall(rf"(?<=[a-z,;] ){re.escape(word)}\b", text))
        lower = len(re.findall(rf"\b{re.escape(word.lower())}\b", text))
        if word[0].isupper() and capital > lower:
            nouns.add(word)
    return nouns


def distinctive_names(path: Path) -> list[tuple[str, re.Pattern]]:
    name = path.name.removesuffix(".profile.json")
    profile = profile_from_json(name, json.loads(path.read_text("utf-8")))
    nouns = proper_nouns(profile.title, document_text(name)) - set(profile.subject_names)
    names = [(n, re.compile(rf"\b{re.escape(n)}\b")) for n in sorted(nouns)]
    names += [(n, re.compile(rf"\b{re.escape(n)}\b", re.I)) for n in profile.subject_names]
    names += [(t, re.compile(re.escape(t), re.I)) for t in profile.running_headers]
    families = [a.split(",")[0].strip() for a in profile.authors if a.strip().lower() not in ("others", "et al.")]
    names += [(f, re.compile(rf"\b{re.escape(f)}\b", re.I)) for f in families]
    names += [(a, re.compile(rf"\b{re.escape(a)}\b")) for a in re.findall(r"\b[A-Z]{3,}\b", profile.publisher)]
    for kind in profile.framework_kinds:
        numbered = rf"\b{kind}s?\s+\d|\b(?:{ORDINALS})\s+{kind}s?\b"
        names.append((kind, re.compile(numbered if kind in GENERAL_WORDS else rf"\b{kind}s?\b", re.I)))
    return names


def test_no_documents_names_in_the_general_code():
    """Every distinctive name of every profile on the shelf (title words that are names, subject
    names, running headers, authors, the publisher's acronym, framework kinds) is absent from
    assistant/: what the code knows about a document lives in its profile."""
    code = {p: p.read_text("utf-8") for p in sorted(ASSISTANT.rglob("*.py"))}
    found = []
    for profile_file in shipped_profiles():
        for name, pattern in distinctive_names(profile_file):
            found += [f"{path.relative_to(PROJECT_ROOT)}:{text[:m.start()].count(chr(10)) + 1}: {name!r}"
                      for path, text in code.items() for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


def test_the_name_check_would_catch_a_name():
    names = dict(distinctive_names(DOCUMENTS / "epon-minusma-2019.profile.json"))
    assert names["MINUSMA"].search("see the MINUSMA report") and names["option"].search("What is option 2b?")
    assert not names["option"].search("the --document option") and names["dilemma"].search("four dilemmas")
