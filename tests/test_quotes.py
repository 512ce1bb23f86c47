"""Every sentence the answer layer can quote is clean: no footnote marker, broken hyphenation,
figure caption or list fragment (a property test over the whole real index)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from assistant.index import load_index

# A footnote number glued after a word, an acronym, a per cent sign, a closing bracket or quote,
# or a year: "crisis.2", "ISGS.118", "ECOWAS,114", "31%.28", "(see Figure 7).145", "out?”216",
# "2016.195", "signed in 201546". Not "2015", "(15,201)", "SCR 2423", "1.5", "JF-G5S" or "G5".
GLUED_MARKER = re.compile(
    r"(?:[A-Za-z]{2,}|[%)\]]|(?<![\d,.])(?:19|20)\d\d)[.,;:!?’”\"')\]]*\d{1,3}(?![\d%A-Za-z])(?![.,]\d)")
# A word cut at a line-break hyphen and never joined: "go out- ?", "con- flict". A suspended
# hyphen ("pre- and post-election", "short- to long-term") is English, not a break.
BROKEN_HYPHEN = re.compile(r"[A-Za-z]-\s+(?:[?!.,;:”’)]|(?!(?:and|or|to|nor|as)\b)[a-z])")
CAPTION = re.compile(r"^(?:Figure|Table|Chart|Map|Graph)\s+\d+\s*[:.]|^Sources?\s*:|\b(?:Figure|Table)\s+\d+\s*:")
NUMERIC = re.compile(r"^[\d.,/%:<>()\-–]+$")
LIST_MARKER = re.compile(r"^(?:[-•▪–]\s|\d{1,2}\.\s|[a-h]\)\s)")
CONTINUES = re.compile(r"(?:[,;:]|\b(?:and|or))$")
ENDS = re.compile(r"[.!?…”’\"')\]]$")


def glued_markers(sentence: str) -> list[str]:
    """The footnote markers left glued in a sentence."""
    return [m.group(0) for m in GLUED_MARKER.finditer(sentence)]


def broken_hyphens(sentence: str) -> list[str]:
    return [m.group(0) for m in BROKEN_HYPHEN.finditer(sentence)]


def is_caption_or_residue(sentence: str) -> bool:
    """A figure or table caption, a source line, or a run of axis numbers."""
    tokens = sentence.split()
    numeric = sum(bool(NUMERIC.match(t)) for t in tokens)
    return bool(CAPTION.search(sentence)) or (len(tokens) >= 3 and numeric / len(tokens) >= 0.6)


def is_list_fragment(sentence: str) -> bool:
    """A piece of a sentence cut at a list: an item that runs on into the next one ("- EU
    Training Mission in Mali (EUTM Mali), and"), or fewer than four words that neither end a
    sentence nor stand as a list item ("SCR 2391 (December")."""
    if LIST_MARKER.match(sentence):
        return bool(CONTINUES.search(sentence))
    return len(sentence.split()) < 4 and not ENDS.search(sentence)


def quote_problems(sentence: str) -> dict[str, list[str]]:
    """Each kind of problem found in one quotable sentence (empty when clean)."""
    found = {"footnote marker": glued_markers(sentence), "broken hyphenation": broken_hyphens(sentence),
             "caption or residue": [sentence] if is_caption_or_residue(sentence) else [],
             "list fragment": [sentence] if is_list_fragment(sentence) else []}
    return {kind: hits for kind, hits in found.items() if hits}


def quotable_sentences(chunks) -> list[tuple[str, str]]:
    """(chunk id, sentence) for every sentence the answer layer may quote: body chunks only,
    without the sub-heading that opens a section's first chunk."""
    return [(chunk.id, chunk.text[a:b]) for chunk in chunks if chunk.kind == "body"
            for k, (a, b) in enumerate(chunk.sentences) if not (k == 0 and chunk.opens_with_heading)]


@pytest.fixture(scope="module")
def index_chunks(settings):
    return load_index(settings.index_dir).chunks


@pytest.mark.fast
def test_the_detectors_catch_what_the_report_showed():
    for sentence in ("three American soldiers by the ISGS.118 Nevertheless", "(see Figure 7).145",
                     "to displaced people (see Figure 15).192", "is between 29% and 31%.28",
                     "side-lined the AU and ECOWAS,114 the Group", "signed in 201546", "in 2016.195 The"):
        assert glued_markers(sentence), sentence
    for sentence in ("signed in 2015 in Algiers", "(15,201)", "SCR 2423 (June 2018)", "a 1.5 ratio", "the JF-G5S",
                     "the G5 Sahel", "from 63% to 31%.", "1,440 police personnel", "S/2015/426"):
        assert not glued_markers(sentence), sentence
    assert broken_hyphens("when we cannot even go out- ?”") and broken_hyphens("a con- flict")
    assert not broken_hyphens("pre- and post-election violence") and not broken_hyphens("short- to long-term")
    assert is_caption_or_residue("Figure 12: Fatality ratios for relevant UN peacekeeping operations")
    assert is_caption_or_residue("Source: SIPRI Multilateral Peace Operations Database")
    assert is_caption_or_residue("500 400 300 200 100")
    assert not is_caption_or_residue("As Figure 2 shows, levels of violence surged following the crisis.")
    assert is_list_fragment("- EU Training Mission in Mali (EUTM Mali), and")
    assert is_list_fragment("- French Operation Barkhane,") and is_list_fragment("SCR 2391 (December")
    assert not is_list_fragment("4. Political primacy") and not is_list_fragment("MINUSMA is worthless!")
    assert not is_list_fragment("• External partners of the Mission, multilateral and bilateral.")


def test_every_quotable_sentence_is_clean(index_chunks):
    sentences = quotable_sentences(index_chunks)
    assert len(sentences) > 1000  # the whole report, not a sample
    failures: dict[str, list] = {}
    for chunk_id, sentence in sentences:
        for kind, hits in quote_problems(sentence).items():
            failures.setdefault(kind, []).append((chunk_id, hits[0][:100]))
    counts = Counter({kind: len(found) for kind, found in failures.items()})
    assert not failures, f"{dict(counts)}: " + "; ".join(f"{k}: {v[:5]}" for k, v in failures.items())


def test_a_passage_shown_beside_a_refusal_is_never_a_footnote_or_caption(index_chunks):
    """Property over every passage of the index: footnotes and figure captions are never shown as
    closest passages (a table's cells may be: 'What was ASIFU?' is answered only in a table);
    body prose of twenty words or more always can be."""
    from assistant.text import is_substantive

    labelled = re.compile(r"^\s*(?:Figure|Table|Chart|Map|Graph)\s+\d+", re.I)
    shown_wrongly = [c.id for c in index_chunks if is_substantive(c.text, c.kind)
                     and (c.kind == "footnote" or (c.kind == "caption" and labelled.match(c.text)))]
    hidden_wrongly = [c.id for c in index_chunks
                      if c.kind == "body" and len(c.text.split()) >= 20 and not is_substantive(c.text, c.kind)]
    assert not shown_wrongly and not hidden_wrongly, (shown_wrongly[:5], hidden_wrongly[:5])
    assert is_substantive("15 peacekeepers were killed in an attack on the camp at Aguelhok, the deadliest "
                          "single attack on the Mission in that year, as the report describes.")  # prose may open with a number
    assert not is_substantive("Figure 11: Fatality ratios for UN peacekeeping operations overall due to hostile "
                              "acts (average annual hostile deaths per 1,000 uniformed personnel deployed)")
