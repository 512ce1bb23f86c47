"""Cleaning on the real report: what the reader saw, without extraction residue."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from assistant.clean import join_hyphenated, join_lines
from tests.conftest import REPORT

RAW = REPORT.read_text(encoding="utf-8")


def test_no_running_headers_or_fused_page_numbers(body_chunks):
    for chunk in body_chunks:
        assert "Assessing the Effectiveness of the UN Mission in Mali" not in chunk.text, chunk.id
        assert not re.search(r"\b\d{1,3}(?:Assessing|\s[IVX]+\.\s[A-Z][a-z]+ and Historical)", chunk.text), chunk.id


def test_line_break_hyphenation_is_repaired(body_chunks):
    """Every word the source splits as 'con-\\nflict', and writes whole elsewhere, is whole."""
    whole_words = Counter(w.lower() for w in re.findall(r"[A-Za-z]+", RAW))
    split = set(re.findall(r"([A-Za-z]+)-\s*\n\s*([a-z]+)", RAW))
    checked = 0
    text = "\n".join(c.text for c in body_chunks)
    for left, right in split:
        if whole_words[(left + right).lower()] and not re.search(rf"\b{left}-{right}\b", RAW.replace("-\n", "")):
            assert f"{left}-{right}" not in text and f"{left}- {right}" not in text, (left, right)
            checked += 1
    assert checked > 100  # the report has hundreds of such breaks


def test_real_hyphens_are_kept(body_chunks):
    text = "\n".join(c.text for c in body_chunks)
    assert "inter-communal" in text
    assert "JF-G5S" in text
    assert text.count("JFG5S") <= RAW.count("JFG5S")


@pytest.mark.fast
def test_hyphen_decision_uses_the_documents_vocabulary():
    vocabulary = Counter({"conflict": 3, "inter-communal": 2})
    assert join_hyphenated("con", "flict", vocabulary) == "conflict"
    assert join_hyphenated("inter", "communal", vocabulary) == "inter-communal"
    assert join_hyphenated("self", "defence", Counter()) == "self-defence"
    assert join_lines(["a con-", "flict here"], vocabulary) == "a conflict here"


def test_footnotes_are_lifted_out_of_the_body(assistant, body_chunks):
    notes = [c for c in assistant.index.chunks if c.kind == "footnote"]
    assert len(notes) > 250
    body = "\n".join(c.text for c in body_chunks)
    for note in notes:
        words = note.text.split(" ", 1)[1]
        if len(words) >= 60:
            assert words[:60] not in body, note.text[:80]
    assert any(n.text.startswith("74 Interview with MINUSMA official, 7 September 2018") for n in notes)


def test_footnote_markers_are_stripped(body_chunks):
    text = "\n".join(c.text for c in body_chunks)
    assert "crisis.2" not in RAW or "crisis.2" not in text
    glued = re.findall(r"[a-z]{3,}[.,;]\d{1,3}(?=\s)", text)
    assert len(glued) <= 3, glued[:10]


def test_no_figure_residue(body_chunks):
    for chunk in body_chunks:
        assert not re.search(r"(?:\b\d+(?:[.,/]\d+)*\s+){8,}", chunk.text), chunk.text[:200]
        assert "Sum of FATALITIES" not in chunk.text and "Row Labels" not in chunk.text


def test_pull_quotes_are_dropped(body_chunks):
    quote = "The number of people fleeing violence has increased almost four-fold in Mopti and Ségou"
    assert sum(quote in c.text for c in body_chunks) == 1


def test_printed_pages_only_where_known(body_chunks):
    pages = Counter(c.page for c in body_chunks)
    assert pages[None] < len(body_chunks)  # some pages are known ...
    assert set(pages) - {None} <= set(range(5, 130))
    figure3 = next(c for c in body_chunks if "As Figure 3 shows, governance indicators" in c.text)
    assert figure3.page in (26, 27)


def test_a_lost_footnotes_tail_does_not_split_the_sentence_around_it(body_chunks):
    # The extraction lost footnotes 307-311 but kept one line of them, with a web address, at the
    # top of the next page: " 2018, https://www.diis.dk/...". The sentence runs on after it.
    assert "https://www.diis.dk/en/research/a-fragile-military-response" in RAW
    body = "\n".join(c.text for c in body_chunks)
    assert "between the Mission and other actors." in body
    assert not re.search(r"https?://|www\.", body)


# --- quotes without residue: examples from the report (issue 9, item 5) ----------------------

def clean_excerpt(raw: str) -> list[str]:
    """Clean a short excerpt of extracted text; return its body blocks (captions marked)."""
    from pathlib import Path

    from assistant.clean import clean_document
    from assistant.ingest import Page, SourceDocument

    document = clean_document(SourceDocument("excerpt", Path("excerpt.txt"), "text", "", (Page(None, raw),)))
    return [("CAPTION " if b.kind == "caption" else "") + b.text for b in document.blocks]


@pytest.mark.fast
def test_markers_after_acronyms_brackets_and_per_cent_are_stripped():
    raw = ("Mali is between 29% and 31%.1 Decentralisation efforts stalled, and the AU and ECOWAS,2 the\n"
           "Group of Five, acted. Three soldiers were killed by the ISGS.3 Most were from the region\n"
           "(see Figure 7).4 The coalitions were formed in 20155 after the talks.\n\n"
           "1 Interview with MINUSMA official, 7 September 2018, Bamako.\n2 Ibid.\n3 Ibid.\n4 Ibid.\n5 Ibid.\n")
    body = " ".join(clean_excerpt(raw))
    assert "31%. Decentralisation" in body and "ECOWAS, the Group" in body and "ISGS. Most" in body
    assert "(see Figure 7). The" in body and "formed in 2015 after" in body
    assert not re.search(r"[A-Za-z%)][.,]\d", body)


@pytest.mark.fast
def test_numbers_that_are_not_markers_stay():
    raw = ("In 2015, SCR 2227 set 15,201 personnel, a ratio of 1.5 per post, for the G5 Sahel and\n"
           "the JF-G5S.1 A U2 cell was merged.\n\n1 Ibid.\n")
    body = " ".join(clean_excerpt(raw))
    for kept in ("In 2015,", "SCR 2227", "15,201", "1.5 per", "G5 Sahel", "JF-G5S.", "U2 cell"):
        assert kept in body, kept


@pytest.mark.fast
def test_a_hyphen_broken_before_closing_punctuation_is_joined():
    raw = ("This is why some staff questioned, “What’s the point of having 50 staff at a base, when we cannot even go out-\n"
           "?”1 In addition to the risks incurred by Mission staff, civilians may face reprisals.\n\n1 Ibid.\n")
    body = " ".join(clean_excerpt(raw))
    assert "cannot even go out?” In addition" in body and "out-" not in body


@pytest.mark.fast
def test_a_year_that_ends_a_sentence_on_its_own_line_is_text_not_residue():
    raw = ("France is Mali’s most important bilateral donor, with ODA rising from €30 to 124 million between 2012 and\n"
           "2015.1\n\n1 Oxfam, Mobilising Domestic Resources.\n")
    assert "between 2012 and 2015." in " ".join(clean_excerpt(raw))
    axis = "Figure 3: World Governance Indicators Mali average\n0.5\n2010\n2012\n"
    assert not any(re.fullmatch(r"[\d. ]+", b) for b in clean_excerpt(axis))


@pytest.mark.fast
def test_a_footnotes_tail_carried_to_the_next_page_leaves_the_body():
    raw = ("The agendas range from re-establishing the Macina Empire to ridding North Africa of\n"
           "Western influence and overthrowing “apostate” governments (AQIM),\n\n"
           "1 Interview with MINUSMA official, 15 September 2018, Bamako.\n"
           "2 Bøås, Osland and Erstad, Islamic Insurgents in the MENA Region. Global Threat or Regional \n"
           " foothold in Mali, when AQIM became integrated into Northern Mali, the state withdrew and the\n"
           "region was left to itself for many years before the crisis of 2012 began in earnest.\n\n"
           "Menace? NUPI Working Paper, 884. NUPI: Oslo, 25 January 2019.\n"
           "3 Wolfram Lacher and Guido Steinberg, “Spreading local roots.”\n")
    body = " ".join(b for b in clean_excerpt(raw) if not b.startswith("CAPTION"))
    assert "NUPI" not in body


@pytest.mark.fast
def test_captions_do_not_split_a_sentence_and_table_cells_go_with_their_caption():
    raw = ("Displacement fell after the deployment of the Mission, and the return of\n"
           "refugees began in the North and\n\n"
           "Figure 15: Number of IDPs and refugees, September 2012 to March 2019\n\n"
           "continued in the Centre until the violence of 2016 reversed it once more.\n\n"
           "The mandates grew over the years, as the table shows for each resolution of the Council in turn.\n"
           "It lists the political and the security mandate, and the strength of the force each time here.\n\n"
           "SCR 2364 (June 2017)\n\nNo significant changes.\n\n"
           "Table 2: A brief overview of the UN Security Council mandates for MINUSMA\n\n"
           "Source: UN Security Council resolutions\n")
    blocks = clean_excerpt(raw)
    assert any("the North and continued in the Centre" in b for b in blocks)
    assert "CAPTION SCR 2364 (June 2017)" in blocks and "CAPTION No significant changes." in blocks
    assert "SCR 2364 (June 2017)" not in blocks and "No significant changes." not in blocks
    assert any(b.startswith("CAPTION Table 2:") for b in blocks) and any(b.startswith("CAPTION Source:") for b in blocks)


def test_report_examples_are_clean_in_the_body(body_chunks):
    body = "\n".join(c.text for c in body_chunks)
    for glued in ("ISGS.118", "(see Figure 7).145", "(see Figure 15).192", "31%.28", "ECOWAS,114", "go out- ?"):
        assert glued not in body, glued
    for clean in ("the ISGS. Nevertheless", "(see Figure 7). Nonetheless", "31%. Decentralisation",
                  "ECOWAS, the Group", "go out?”"):
        assert clean in body, clean
    assert not any(re.search(r"^(?:Figure|Table) \d+:|^Source:", c.text, re.M) for c in body_chunks)
