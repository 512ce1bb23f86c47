"""References, the copy text and the exports (assistant.briefing), and what the page shows
(assistant.display): fast tests on answers built from the real types and the real report's
reference data, no model and no index."""

from __future__ import annotations

import io
import json

import pytest

from assistant import briefing, display
from assistant.answering.types import Answer, Citation
from assistant.retrieve import Hit

pytestmark = pytest.mark.fast  # no model and no index: make test-fast

DOC = "epon-minusma-2019"
DILEMMA = "XIII. Overall Findings > Strategic Policy Dilemmas > To concentrate on the North, the Centre, or both?"
METHOD = "II. Framework and Methodology"
IMAGE = "![x](http://127.0.0.1:9/p.png)"
TAG = "<img src=x onerror=alert(1)>"
PASSAGE_1 = ("To concentrate on the North, the Centre, or both?\n\nOriginally, MINUSMA was set up to deal with the "
             "conflict in the North. Over the past two years, the conflict has intensified in the central regions. "
             f"A document may hold {IMAGE} or {TAG} as text.")
QUOTE_1 = ("Originally, MINUSMA was set up to deal with the conflict in the North. Over the past two years, the "
           "conflict has intensified in the central regions.")
PASSAGE_2 = ("The multinational team of seven persons that conducted this research travelled in different groups "
             "twice to Mali. Three researchers visited Bamako from 2 to 6 July 2018.")
QUOTE_2 = "The multinational team of seven persons that conducted this research travelled in different groups twice to Mali."
PASSAGE_3 = ("In total, 66 semi-structured interviews were conducted with MINUSMA and other international officials, "
             "Malian officials and researchers in Bamako, Gao and Mopti.")
QUOTE_3 = PASSAGE_3
FULL_NOTE = ("Jaïr van der Lijn et al., Assessing the Effectiveness of the United Nations Mission in Mali / MINUSMA "
             "(Norwegian Institute of International Affairs [NUPI], 2019)")
LIST_ENTRY = ("Van der Lijn, Jaïr, et al. 2019. Assessing the Effectiveness of the United Nations Mission in Mali / "
              "MINUSMA. Norwegian Institute of International Affairs (NUPI).")


def hit(rank: int, chunk: str, section: str, page: int | None, score: float, text: str) -> Hit:
    return Hit(rank, chunk, DOC, section, page, score, text, rank)


HITS = (hit(1, "c1", DILEMMA, None, 0.71, PASSAGE_1), hit(2, "c2", METHOD, 7, 0.45, PASSAGE_2),
        hit(3, "c3", METHOD, 7, 0.30, PASSAGE_3))


def answered(question: str = f"What is the second dilemma {IMAGE} {TAG}?", resolved: str | None = None) -> Answer:
    citations = (Citation(1, "c1", DOC, DILEMMA, None, QUOTE_1), Citation(2, "c2", DOC, METHOD, 7, QUOTE_2),
                 Citation(3, "c3", DOC, METHOD, 7, QUOTE_3))
    text = "Originally, MINUSMA dealt with the North [1]. Seven persons did the research [2]. 66 interviews [3]."
    return Answer(question, text, False, citations, HITS, resolved or question)


def refused() -> Answer:
    stubs = (hit(4, "f1", METHOD, None, 0.6, "240 Interview with Malian researcher, 3 July 2018, Bamako."),
             hit(5, "f2", METHOD, None, 0.6, "https://www.un.org/securitycouncil/content/resolutions-adopted"))
    reason = "It never mentions “Central African Republic”."
    return Answer("How many police officers serve in the Central African Republic?",
                  f"{briefing.NOT_ADDRESSED} {reason}", True, (), stubs + HITS + HITS,
                  "How many police officers serve in the Central African Republic?", reason=reason)


# --- the reference data ---------------------------------------------------------------------


def test_reference_data_comes_from_the_outline_file() -> None:
    ref = briefing.document_reference(DOC)
    assert ref.title == "Assessing the Effectiveness of the United Nations Mission in Mali / MINUSMA"
    assert ref.authors[0] == "van der Lijn, Jaïr" and ref.year == "2019"
    assert "NUPI" in ref.publisher and ref.short_title


def test_reference_data_falls_back_to_the_citation_then_the_id(tmp_path) -> None:
    (tmp_path / "a.outline.json").write_text(json.dumps({"citation": "X, *A Title* (Y, 2017)"}), encoding="utf-8")
    ref = briefing.document_reference("a", tmp_path)
    assert (ref.title, ref.year, ref.authors) == ("A Title", "2017", ())
    assert briefing.document_reference("missing", tmp_path).title == "missing"
    runs = briefing.full_reference(ref, "notes")
    assert "".join(r.text for r in runs) == "A Title (2017)" and runs[0].italic


# --- references in the two styles -------------------------------------------------------------


def test_notes_give_one_full_reference_then_short_ones_with_duplicates_merged() -> None:
    text = briefing.copy_text(answered(), "notes")
    lines = text.splitlines()
    assert lines[0].endswith("[3].")
    notes = [line for line in lines if line.startswith("[")]
    assert notes[0] == (f"[1] {FULL_NOTE}, section “XIII. Overall Findings › Strategic Policy Dilemmas › "
                        "To concentrate on the North, the Centre, or both?”.")
    # [2] and [3] have the same locator (section and page): one short note for both.
    assert notes[1] == ("[2, 3] Van der Lijn et al., Assessing the Effectiveness of MINUSMA, "
                        "section “II. Framework and Methodology”, 7.")
    assert len(notes) == 2 and text.count("Jaïr") == 1
    assert "both?." not in text and "n/a" not in text


def test_author_date_cites_in_the_text_and_lists_the_report_once() -> None:
    text = briefing.copy_text(answered(), "author-date")
    assert "dealt with the North (van der Lijn et al. 2019, sec. XIII)." in text
    assert "the research (van der Lijn et al. 2019, 7)." in text
    assert "[1]" not in text and text.count(LIST_ENTRY) == 1


def test_copy_text_of_a_refusal_keeps_its_reason() -> None:
    assert briefing.copy_text(refused()) == (f"{briefing.NOT_ADDRESSED} It never mentions "
                                             "“Central African Republic”.\n")


# --- exports ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", list(briefing.STYLES))
def test_plain_text_export_holds_question_quotes_sections_pages_and_reference(style: str) -> None:
    text = briefing.answer_plaintext(answered(), style)
    assert text.startswith("Question: What is the second dilemma")
    for quote in (QUOTE_1, QUOTE_2, QUOTE_3):
        assert f"“{quote}”" in text
    assert "II. Framework and Methodology, p. 7" in text
    assert "XIII. Overall Findings › Strategic Policy Dilemmas" in text
    assert (FULL_NOTE if style == "notes" else LIST_ENTRY) in text
    assert "**" not in text and "\\" not in text and "Understood as" not in text


def test_understood_as_only_when_the_question_was_rewritten() -> None:
    rewritten = answered("Why?", resolved="Why was option 2b not chosen?")
    assert "Understood as: Why was option 2b not chosen?" in briefing.answer_plaintext(rewritten)
    assert "Understood as" not in briefing.answer_markdown(answered())


def test_refusal_export_keeps_its_reason_and_three_real_passages() -> None:
    text = briefing.answer_plaintext(refused())
    assert f"{briefing.NOT_ADDRESSED}\nWhy: It never mentions “Central African Republic”." in text
    assert briefing.CLOSEST_HEADING in text
    assert "240 Interview" not in text and "un.org" not in text  # footnote stub, bare address
    assert [line[:2] for line in text.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")] == ["1.", "2.", "3."]


def rendered_html(markdown: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").render(markdown)  # raw HTML on, as a careless viewer


@pytest.mark.parametrize("export", [lambda a: briefing.answer_markdown(a),
                                    lambda a: briefing.conversation_markdown([a, refused()], "author-date")],
                         ids=["answer", "conversation"])
def test_markdown_exports_render_no_image_link_or_html(export) -> None:
    markdown = export(answered())
    html = rendered_html(markdown)
    assert "<img" not in html and "<a " not in html and "<script" not in html
    assert "![x](<code>http://127.0.0.1:9/p.png</code>)" in html  # shown as text, the address as code
    assert "&lt;img src=x" in html
    assert "\\>" not in markdown  # section paths use ›, so no escaped > to paste
    assert "<img" not in markdown and "&lt;img src=x onerror" in markdown  # no raw tag in the file


def test_conversation_export_numbers_the_questions_and_gives_the_full_reference_once() -> None:
    text = briefing.conversation_plaintext([answered(), refused(), answered("Who did the research?")])
    assert text.count("Jaïr van der Lijn") == 1
    assert "\n1. What is the second dilemma" in text and "\n3. Who did the research?" in text
    assert "Why: It never mentions" in text


def test_docx_export_opens_with_python_docx() -> None:
    docx = pytest.importorskip("docx")
    data = briefing.conversation_docx([answered(), refused()], "notes")
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "What is the second dilemma" in text and f"“{QUOTE_2}”" in text
    assert "II. Framework and Methodology, p. 7" in text and FULL_NOTE in text
    assert "Why: It never mentions" in text
    titles = [r for p in document.paragraphs for r in p.runs if r.text.startswith("Assessing the Effectiveness")]
    assert titles and all(r.italic for r in titles)
    assert {p.style.name for p in document.paragraphs} >= {"Heading 1", "Heading 2", "Quote"}


# --- what the page shows ------------------------------------------------------------------


def test_escape_shows_images_links_and_html_as_text() -> None:
    html = rendered_html(display.shown_question(f"Look {IMAGE} {TAG} [a](http://e.x) :red[x] 1. # $x$"))
    assert "<img" not in html and "<a " not in html
    assert IMAGE in html and "&lt;img src=x" in html


def test_one_card_per_passage_however_many_markers_point_to_it() -> None:
    answer = answered()
    twice = Answer(answer.question, answer.answer + " Again [4].",
                   False, answer.citations + (Citation(4, "c1", DOC, DILEMMA, None, QUOTE_1),), HITS, answer.question)
    cards = display.answer_cards(twice)
    assert [card.label for card in cards] == ["[1, 4]", "[2]", "[3]"]


def test_card_highlights_the_quote_drops_the_repeated_heading_and_shows_relevance_in_words() -> None:
    [first, second, third] = display.answer_cards(answered())
    assert not first.text.startswith("To concentrate")  # the breadcrumb shows the heading
    assert "**Originally, MINUSMA was set up" in first.body.replace("\\", "")
    assert first.body.count("**") == 2 and "<img" not in rendered_html(first.body)
    assert first.details == "relevance ●●●●○ high"  # page unknown: no page, no "n/a"
    assert second.details == "p. 7 · relevance ●●○○○ medium"
    assert "low" in third.details and "0.3" not in third.details


def test_highlight_bolds_line_by_line() -> None:
    passage = "b) Focus on the Centre\n\nConsidering the risks, a refocus might help. Other text."
    body = display.highlight(passage, ["b) Focus on the Centre\n\nConsidering the risks, a refocus might help."])
    assert body == "**b\\) Focus on the Centre**\n\n**Considering the risks\\, a refocus might help\\.** Other text\\."


def test_refusal_cards_are_at_most_three_and_never_stubs() -> None:
    cards = display.refusal_cards(refused())
    assert len(cards) == 3 and all("not an answer" in card.label for card in cards)
    assert all(card.chunk_id.startswith("c") for card in cards)


def test_surrounding_text_is_cut_at_sentence_boundaries() -> None:
    before, after = display.trim_context("veral limitations. The team met them. ", "engage with them. Then it left. And w")
    assert (before, after) == ("The team met them.", "engage with them. Then it left.")
    assert display.trim_context("no boundary at all", "none here either") == ("", "")


def test_filter_note_names_the_chapters_in_full() -> None:
    note = display.filter_note(("V. Protection and Stabilisation", "XIV. Strategic Policy Options"))
    assert note.replace("\\", "") == "Searched only chapters V. Protection and Stabilisation; XIV. Strategic Policy Options"


def test_card_shows_the_quote_with_a_sentence_either_side_and_marks_the_gaps() -> None:
    passage = "First point. Second point. The quoted sentence. Fourth point.\n\nFifth point. Sixth point."
    body = display.shortened(passage, ["The quoted sentence."])
    assert body == "… Second point\\. **The quoted sentence\\.** Fourth point\\. …"
    assert display.shortened(passage, []) == "First point\\. Second point\\. The quoted sentence\\. …"
    assert display.shortened("Short. Whole.", ["Whole."]) == "Short\\. **Whole\\.**"
