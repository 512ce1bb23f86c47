"""Cleaning on the real report: what the reader saw, without extraction residue."""

from __future__ import annotations

import re
from collections import Counter

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
