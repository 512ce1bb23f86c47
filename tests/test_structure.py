"""Sections and chunks of the real report."""

from __future__ import annotations

import pytest

from assistant.chunk import chunk_document
from assistant.text import split_sentences

CHAPTERS = ["I. Introduction", "II. Framework and Methodology", "III. Context and Historical Background",
            "IV. The Peace Operation", "V. Protection and Stabilisation", "VI. People-Centred Approach",
            "VII. Legitimacy and Credibility", "VIII. Political Primacy", "IX. National and Local Ownership",
            "X. Women, Peace and Security", "XI. International Support", "XII. Coherence and Partnerships",
            "XIII. Overall Findings", "XIV. Strategic Policy Options"]


@pytest.mark.fast
def test_all_fourteen_chapters_and_the_summary(report_document):
    chapters = {s[0] for s in report_document.sections}
    assert set(CHAPTERS) <= chapters
    assert "Abstract" in chapters and "Back cover" in report_document.summary_chapters


@pytest.mark.fast
def test_dilemmas_and_options_are_sections(report_document):
    paths = {" > ".join(s) for s in report_document.sections}
    for dilemma in ("To decentralise the Mission, or not?", "To concentrate on the North, the Centre, or both?",
                    "To link with the government, or not?",
                    "To support counter-terrorism and stabilisation, or go back to basics?"):
        assert f"XIII. Overall Findings > Strategic Policy Dilemmas > {dilemma}" in paths
    option2 = "XIV. Strategic Policy Options > 2. Continuation as a peacekeeping and stabilisation operation"
    for letter in "abcd":
        assert any(p.startswith(f"{option2} > {letter})") for p in paths), letter
    assert any(p.startswith("XIV. Strategic Policy Options > 1. Drawdown") for p in paths)
    assert any(p.startswith("XIV. Strategic Policy Options > 3. Readjustment") for p in paths)


@pytest.mark.fast
def test_section_xiii_starts_where_the_lost_heading_was(report_document):
    first = next(p for p in report_document.paragraphs if p.section[0] == "XIII. Overall Findings")
    assert first.text.startswith("Until 2016, MINUSMA was a relatively successful peace operation.")


@pytest.mark.fast
def test_chunks_stay_in_one_section_and_carry_spans(report_document):
    chunks = chunk_document(report_document, 120, 220)
    headings = {s[-1] for s in report_document.sections if len(s) > 1}
    for chunk in chunks:
        assert report_document.text[chunk.start:chunk.end] == chunk.text
        assert chunk.section
        for heading in headings:
            assert f"\n\n{heading}\n\n" not in chunk.text


@pytest.mark.fast
def test_list_stays_with_its_lead_in(report_document):
    chunks = chunk_document(report_document, 120, 220)
    dimensions = next(c for c in chunks if "1. Protection and stabilisation" in c.text)
    assert "8. Coherence and partnerships" in dimensions.text
    assert "eight dimensions" in dimensions.text


@pytest.mark.fast
def test_chunk_ids_are_stable(report_document):
    first = [c.id for c in chunk_document(report_document, 120, 220)]
    again = [c.id for c in chunk_document(report_document, 120, 220)]
    assert first == again and len(set(first)) == len(first)


@pytest.mark.fast
def test_sentence_splitting_respects_abbreviations():
    text = "The team (i.e. EPON) met on 5 Sept. 2018 in Gao. It held 66 interviews, e.g. in Mopti.\n\n1. First item"
    assert split_sentences(text) == ["The team (i.e. EPON) met on 5 Sept. 2018 in Gao.",
                                     "It held 66 interviews, e.g. in Mopti.", "1. First item"]


@pytest.mark.fast
def test_captions_are_laid_out_after_the_body_in_caption_chunks(report_document):
    chunks = chunk_document(report_document, 160, 280)
    body = [c for c in chunks if c.kind == "body"]
    captions = [c for c in chunks if c.kind == "caption"]
    text = "\n\n".join(c.text for c in captions)
    assert all(f"Figure {n}:" in text for n in range(1, 16)) and "Table 1:" in text and "Table 2:" in text
    assert max(c.end for c in body) < min(c.start for c in captions)  # no body span runs through one
    figure10 = next(c for c in captions if "Figure 10:" in c.text)
    assert "Source: SIPRI" in figure10.text and figure10.section.startswith("IV. The Peace Operation")
    assert {"id", "document", "section", "page", "text"} <= set(figure10.to_record())
    assert all(c.kind == "caption" for c in chunks if "Table 2:" in c.text or "SCR 2391 (December 2017)" in c.text)
    assert "SCR 2391 (December 2017)" in text  # a table cell, with the year the residue rule kept
    assert not any("SCR 2391" in " > ".join(s) for s in report_document.sections)  # a cell is no heading
    assert max(len(c.text.split()) for c in captions) <= 280  # a long table is cut like the body


@pytest.mark.fast
def test_a_list_that_continues_a_sentence_is_one_quotable_sentence(report_document):
    chunks = chunk_document(report_document, 160, 280)
    sentences = [c.text[a:b] for c in chunks if c.kind == "body" for a, b in c.sentences]
    joined = next(s for s in sentences if "including the:" in s)
    assert joined.startswith("• Representatives of international") and joined.endswith("( JF-G5S).")
    assert "- EU Training Mission in Mali (EUTM Mali), and" in joined
    assert not any(s.startswith("- ") and s.rstrip().endswith((",", "and")) for s in sentences)
    assert "4. Political primacy" in sentences  # a list of standalone items stays itemised
