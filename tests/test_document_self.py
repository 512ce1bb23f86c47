"""Questions whose subject is the report itself, and drafts left empty by unquotable passages:
two classes of wrong refusals ('the report does not address this') found with eval/probes-fix5.jsonl."""

from __future__ import annotations

import pytest

from assistant.answering import abstention
from assistant.answering.document_self import asks_about_the_document, speaks_of_itself


@pytest.mark.fast
@pytest.mark.parametrize("question, about_it", [
    ("Who wrote the report?", True),
    ("Who carried out the study?", True),
    ("When was the fieldwork done?", True),
    ("Who funded the research?", True),
    ("What methods did the researchers use?", True),
    ("Who wrote the Algiers Agreement?", False),  # another document's authors
    ("What does the report say about Kidal?", False),  # the report's voice, a subject of its own
    ("How many people were interviewed?", False),
    ("Who wrote the recipe for couscous?", False),
])
def test_a_question_about_the_document_itself_is_told_apart(question, about_it):
    assert asks_about_the_document(question) is about_it


@pytest.mark.fast
def test_only_a_sentence_about_this_document_speaks_of_itself():
    subjects = frozenset({"epon", "minusma"})
    assert speaks_of_itself("The EPON research team conducted 66 interviews with officials.", subjects)
    assert speaks_of_itself("The multinational team of seven persons that conducted this research travelled.", subjects)
    assert not speaks_of_itself("The Brahimi report states that the Secretariat must tell the Council.", subjects)
    assert not speaks_of_itself("The interviews were carried out in line with ethical research guidelines.", subjects)


@pytest.mark.parametrize("question", ["Who wrote the report?", "Who carried out the study?", "Who conducted the research?"])
def test_who_made_the_report_is_answered_with_the_team_that_did(assistant, question):
    """Before: 'Who wrote the report?' was refused as off-topic ('wrote' is not the report's word)
    and 'Who carried out the study?' got the sentence on the interviews' consent."""
    answer = assistant.ask(question)
    assert not answer.abstained, answer.reason
    assert ("team of seven persons that conducted this research" in answer.answer
            or "The EPON research team conducted 66 interviews" in answer.answer)
    assert "consent" not in answer.answer


def test_when_the_fieldwork_was_done_is_answered_with_its_dates(assistant):
    answer = assistant.ask("When was the fieldwork done?")
    assert not answer.abstained, answer.reason
    assert "July 2018" in answer.answer and "September 2018" in answer.answer


def test_a_making_question_about_something_else_is_still_refused(assistant):
    answer = assistant.ask("Who wrote the recipe for couscous?")
    assert answer.abstained and answer.reason == abstention.OFF_TOPIC


def test_an_empty_draft_is_answered_from_the_next_passage_that_can_be_quoted(assistant):
    """The best passage of this question is a footnote (shown, never quoted): when only it is
    scored, the draft used to be empty and refused as weak evidence."""
    settings = assistant.settings.replace(answer_passages=1)
    trace = assistant.ask_traced("What did the June 2019 resolution change?", settings=settings)
    answer = trace.answer
    assert answer.passages[0].kind != "body"
    assert not answer.abstained, answer.reason
    cited = {c.chunk_id for c in answer.citations}
    assert cited and all(p.kind == "body" for p in answer.passages if p.chunk_id in cited)
    assert "2019 mandate renewal" in answer.answer


def test_weak_evidence_on_a_subject_the_report_names_is_not_called_off_topic(assistant):
    """'What went wrong after 2016?': 'went' and 'wrong' are not the report's words, 2016 is its
    subject; a refusal may say the evidence is weak, never that the subject does not come up."""
    vocabulary = assistant._vocabulary
    values = {"unknown_words": 2 / 3}
    assert abstention.weak_evidence_reason(values, "What went wrong after 2016?", vocabulary) == abstention.WEAK_EVIDENCE
    assert abstention.weak_evidence_reason(values, "When was the report written?", vocabulary) == abstention.WEAK_EVIDENCE
    assert abstention.weak_evidence_reason(values, "Give me a recipe for couscous", vocabulary) == abstention.OFF_TOPIC
    answer = assistant.ask("What went wrong after 2016?")
    assert not answer.abstained or answer.reason != abstention.OFF_TOPIC
