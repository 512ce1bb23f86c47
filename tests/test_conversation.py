"""Follow-up questions resolved against earlier turns, in real multi-turn conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answering.types import Answer
from assistant.conversation import Conversation, is_follow_up, subject_anchors, swap_reference
from assistant.lexical import lexical_tokens

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"


@pytest.mark.fast
@pytest.mark.parametrize("question", [
    "And what about the Centre?", "Why was it not chosen?", "Why?", "How so?", "And the third?",
    "What is the third one?", "What are its risks?", "Who funds it?", "How did that change after 2015?",
    "And option 2c?", "What about Kidal?",
    # No pronoun, but no subject of their own either.
    "Who won?", "Why so few?", "What are the disadvantages?", "Were the soldiers prosecuted?",
    "And who provides most of the troops?", "Then why not decentralise completely?",
    # A pronoun after a clause that names nothing still points back.
    "Did anything change after it was signed?"])
def test_elliptical_questions_are_follow_ups(question):
    assert is_follow_up(question)


@pytest.mark.fast
@pytest.mark.parametrize("question", [
    "What does the report say about Kidal?",
    "Why has the Mission struggled to protect civilians in central Mali?",
    "Which options does it see for the Mission's future?",  # 'it' is the report speaking
    "And what does the report say about the 2015 peace agreement?",
    "So what is option 2b?", "What does the report recommend on the mandate?",
    # 'there' and 'it' that stand for nothing.
    "Is there a peace process for Central Mali?", "Is it time to scale down in the North?",
    "Should there be dialogue with Islamist leaders?",
    # A pronoun whose subject the question itself names.
    "What is JNIM and which groups formed it?", "How was MINUSMA regarded when it first arrived?",
    "How has MINUSMA used its good offices?", "What did the gendarmerie request that was largely not delivered?",
    "How many challenges to its legitimacy does the report list, and what is the first?",
    # Short, but about a named term or the document itself.
    "What is peacekeeping?", "What is the purpose of the report?"])
def test_a_question_that_names_its_subject_is_never_a_follow_up(question):
    assert not is_follow_up(question)


def test_a_standalone_question_after_a_section_question_is_searched_unchanged(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What does option 2b propose?", conversation))
    question = "Why has the Mission struggled to protect civilians in central Mali?"
    answer = assistant.ask(question, conversation)
    assert answer.understood_as is None and answer.resolved_question == question
    assert answer.to_dict()["understood_as"] is None


def test_what_about_replaces_the_topic(assistant):
    conversation = Conversation()
    first = assistant.ask("What does the report say about the focus on the North?", conversation)
    conversation.add(first)
    second = assistant.ask("And what about the Centre?", conversation)
    assert second.resolved_question == "What does the report say about the Centre?"
    assert second.understood_as == second.resolved_question
    assert any("Centre" in h.section or "Centre" in h.text for h in second.passages[:3])


def test_pronoun_follow_up_keeps_the_subject(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What does option 2d propose?", conversation))
    answer = assistant.ask("Why was it not chosen?", conversation)
    assert "2d" in answer.resolved_question
    assert any("d) Expansion" in h.section for h in answer.passages[:3]), [h.section for h in answer.passages[:3]]


def test_a_new_topic_is_not_rewritten(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What does the report say about Kidal?", conversation))
    question = "How many interviews did the research team conduct?"
    assert assistant.ask(question, conversation).resolved_question == question


@pytest.mark.fast
def test_a_short_question_about_a_thing_leans_back_only_when_the_last_turn_named_it():
    about_kidal = frozenset(lexical_tokens("What does the report say about Kidal? Kidal is still controlled by the CMA."))
    about_soldiers = frozenset(lexical_tokens("Who committed the abuses? Malian soldiers were accused of executions."))
    for question in ("Who trains the army?", "Were the soldiers prosecuted?", "What is the budget?"):
        assert is_follow_up(question)  # with no conversation to look at, it may lean back
        assert not is_follow_up(question, last_words=about_kidal), question
    assert is_follow_up("Were the soldiers prosecuted?", last_words=about_soldiers)
    # A thing that is only ever something's ('the disadvantages' of what was discussed), or no thing at all.
    for question in ("What are the disadvantages?", "Who won?", "Why so few?"):
        assert is_follow_up(question, last_words=about_kidal), question
    assert not is_follow_up("What happened in 2012?", last_words=about_kidal)  # a year with a subject names it
    for question in ("Why in 2015?", "Same in 2016?"):  # a year alone does not
        assert is_follow_up(question, last_words=about_kidal), question


def test_a_short_question_on_a_new_subject_is_not_rewritten(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What does the report say about Kidal?", conversation))
    for question in ("Who trains the army?", "Were the elections fair?", "What happened in 2012?"):
        answer = assistant.ask(question, conversation)
        assert answer.understood_as is None, (question, answer.understood_as)
    assert assistant.ask("What went wrong?", conversation).understood_as  # no subject of its own


def test_a_follow_up_can_move_to_the_next_numbered_section(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What is the second dilemma?", conversation))
    third = assistant.ask("And the third?", conversation)
    assert third.resolved_question == "What is the third dilemma?"
    assert third.answer.splitlines()[0] == "To link with the government, or not?"
    conversation.add(third)
    conversation.add(assistant.ask("What does the report say about option 2b?", conversation))
    other = assistant.ask("And option 2c?", conversation)
    assert other.resolved_question == "What does the report say about option 2c?"
    assert all(c.section.endswith("c) Struggling on with the current resources and focusing on the Centre and the North")
               for c in other.citations)


KINDS = ("dimension", "dilemma", "option")  # the framework kinds of the report's profile


@pytest.mark.fast
def test_swap_reference_only_swaps_numbered_sections():
    assert swap_reference("the fourth", "What is the second dilemma?", KINDS) == "What is the fourth dilemma?"
    assert swap_reference("option 3", "Why was option 2d not chosen?", KINDS) == "Why was option 3 not chosen?"
    assert swap_reference("the third", "What does the report say about option 2b?", KINDS) is None
    assert swap_reference("the Centre", "What is the second dilemma?", KINDS) is None


@pytest.mark.fast
def test_numbered_references_come_from_the_profiles_framework_kinds():
    """A document whose framework has 'scenarios' gets 'the third scenario'; without a
    framework nothing is a numbered reference."""
    assert swap_reference("the third", "What is the second scenario?", ("scenario",)) == "What is the third scenario?"
    assert swap_reference("the third", "What is the second scenario?", KINDS) is None
    assert swap_reference("the fourth", "What is the second dilemma?", ()) is None


def test_a_pronoun_follow_up_on_a_numbered_option_is_answered_from_it(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What is option 2b?", conversation))
    risks = assistant.ask("What are its risks?", conversation)
    assert "option 2b" in risks.resolved_question
    assert risks.citations and all(c.section.endswith("b) Focus on the Centre") for c in risks.citations)


def test_only_the_words_typed_choose_the_sentence_of_a_follow_up(assistant):
    """The topic a follow-up inherits steers the search; the sentence quoted must answer the
    words typed. 'What are the disadvantages?' after a question on option 3 quotes a sentence about
    what is wrong with it, not one that only repeats 'counter-terrorism mission'."""
    conversation = Conversation()
    conversation.add(assistant.ask("Could MINUSMA be turned into a counter-terrorism mission?", conversation))
    answer = assistant.ask("What are the disadvantages?", conversation)
    assert answer.understood_as and "counter-terrorism" in answer.understood_as
    assert not answer.abstained and "disadvantage" in answer.answer.lower(), answer.answer


# --- items of a list named earlier ('the third one', 'the last one', 'the second challenge') -----

SCENARIOS = {"1. Rising seas": ["first scenario", "scenario 1"], "2. Drought": ["second scenario", "scenario 2"],
             "3. Migration": ["third scenario", "scenario 3"]}


def asked(*questions: str) -> Conversation:
    """A conversation whose earlier turns asked these questions (the answers play no part here)."""
    return Conversation([Answer(q, "", False, (), (), q) for q in questions])


@pytest.mark.fast
def test_an_ordinal_after_a_framework_question_names_the_part_and_its_title():
    conversation = asked("What are the three scenarios the study uses?")
    resolved = conversation.resolve("Take the second one. What is the risk there?", ("scenario",), SCENARIOS)
    assert resolved == "Take the second scenario (Drought). What is the risk there?"
    assert conversation.resolve("And the sixth one, how does the plan do on it?", ("scenario",), SCENARIOS) \
        != "the sixth scenario"  # no sixth scenario: not spelled out as one
    # 'the last one' is the highest number the framework gives its kind, even a turn later.
    conversation = asked("What are the three scenarios the study uses?", "Take the second one. What is the risk there?")
    assert conversation.resolve("And the last one?", ("scenario",), SCENARIOS) == "What is the third scenario (Migration)?"


@pytest.mark.fast
def test_an_ordinal_without_a_framework_kind_is_not_a_framework_part():
    """'the second one' after a question on dilemmas is not a scenario, whatever the aliases hold."""
    conversation = asked("What are the four dilemmas?")
    resolved = conversation.resolve("And the second one?", ("scenario",), SCENARIOS)
    assert "scenario" not in resolved and "Drought" not in resolved


@pytest.mark.fast
def test_an_ordinal_picks_from_the_list_an_earlier_question_asked_for():
    conversation = asked("What are the main challenges to the port's credibility?", "How many traders complained?")
    assert conversation.resolve("And the second challenge?") == \
        "What is the second of the main challenges to the port's credibility?"
    # A noun that is not the list's is not taken as one of its items.
    assert "main challenges" not in conversation.resolve("And the second rebellion?")
    # 'the last' of a list only its answer knows the length of is left alone.
    assert "main challenges" not in conversation.resolve("And the last one?")


@pytest.mark.fast
def test_the_reports_ordinal_follow_ups_name_the_part_from_its_profile():
    """On the shipped report: 'the sixth one' after the eight dimensions is Women, Peace and
    Security, and 'the last one' after the four dilemmas is the fourth."""
    profile = json.loads((DOCUMENTS / "epon-minusma-2019.profile.json").read_text("utf-8"))
    kinds, aliases = tuple(profile["framework_kinds"]), profile["aliases"]
    conversation = asked("What are the eight dimensions the study uses?", "Which of them measures the Mission's impact?")
    resolved = conversation.resolve("And the sixth one, how did the Mission do on it?", kinds, aliases)
    assert resolved == "How did the Mission do on the sixth dimension (Women, Peace and Security)?", resolved
    conversation = asked("What are the four dilemmas MINUSMA faces?", "Take the third one. What's the problem there?")
    assert conversation.resolve("And the last one?", kinds, aliases) == \
        "What is the fourth dilemma (To support counter-terrorism and stabilisation, or go back to basics)?"


# --- 'And in Kidal?', 'And the Plateforme?': the new topic takes the place of the old one --------

@pytest.mark.fast
@pytest.mark.parametrize("previous, typed, resolved", [
    ("How is the Mission perceived in the North?", "And in Kidal?", "How is the Mission perceived in Kidal?"),
    ("Who are the CMA?", "And the Plateforme?", "Who are the Plateforme?"),
    # A resolved question's added topic is not part of what was asked.
    ("How did the vote go in Gao? (vote in Gao north)", "And in Kidal?", "How did the vote go in Kidal?"),
    # 'about' takes the place alone: never 'What does the report say about in Kidal?'
    ("What does the report say about Gao?", "And in Kidal?", "What does the report say about Kidal?"),
    # A question with no part of that form gets the place added, not a bag of its words.
    ("Who trains the army?", "And in Gao?", "Who trains the army in Gao?"),
    # The previous question leaned on its added topic for its subject: the topic stays.
    ("What are the disadvantages? (MINUSMA turned counter-terrorism mission)", "And the benefits?",
     "What are the benefits? (MINUSMA turned counter-terrorism mission)"),
    ("How is it perceived in the North? (MINUSMA role)", "And in Kidal?", "How is it perceived in Kidal? (MINUSMA role)"),
    # A question with a subject of its own keeps its nouns: the new one is a topic, not a swap.
    ("What is the long-term future of the railway network?", "And the coast?", "the coast (long-term future railway network)"),
])
def test_a_new_topic_takes_the_place_of_the_matching_part_of_the_previous_question(previous, typed, resolved):
    assert asked(previous).resolve(typed) == resolved


@pytest.mark.fast
def test_a_phrase_that_is_no_place_or_time_is_not_glued_onto_the_previous_question():
    assert asked("Who trains the army?").resolve("And for the police?") != "Who trains the army for the police?"


@pytest.mark.fast
def test_a_new_name_is_not_swapped_in_when_the_previous_question_names_two():
    """'the AU' or 'the G5 Sahel force'? Guessing would ask a question nobody asked: the topic
    words are added instead."""
    conversation = asked("Why does the AU question the financing of the G5 Sahel force?")
    resolved = conversation.resolve("And ECOWAS?")
    assert resolved.startswith("ECOWAS (") and "AU" in resolved and "G5" in resolved


@pytest.mark.fast
def test_the_topic_keeps_two_letter_acronyms():
    """'What position did the US take?' then 'Where does it have troops?': the US is the subject."""
    conversation = asked("What position did the US take before the mandate renewal?")
    assert "US" in conversation.resolve("Where does it have troops in the region?").split("(", 1)[1].rstrip(")").split()


def test_an_ordinal_follow_up_is_answered_from_the_part_it_names(assistant):
    """'Take the third one' after the four dilemmas quotes the third dilemma, and 'the last one'
    the fourth, although the first answer listed none of them by name."""
    conversation = Conversation()
    conversation.add(assistant.ask("What are the four dilemmas MINUSMA faces?", conversation))
    third = assistant.ask("Take the third one. What's the problem there?", conversation)
    assert "third dilemma" in third.understood_as
    assert third.citations and all(c.section.endswith("To link with the government, or not?") for c in third.citations)
    conversation.add(third)
    last = assistant.ask("And the last one?", conversation)
    assert last.citations and all(c.section.endswith("or go back to basics?") for c in last.citations), \
        [c.section for c in last.citations]


def test_an_ordinal_over_a_listed_question_is_answered_from_that_list(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What are the main challenges to MINUSMA's legitimacy and credibility?", conversation))
    second = assistant.ask("And the second challenge?", conversation)
    assert second.understood_as == "What is the second of the main challenges to MINUSMA's legitimacy and credibility?"
    assert not second.abstained and "second challenge" in second.answer, second.answer


def test_and_in_a_place_asks_the_previous_question_about_that_place(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("How is MINUSMA perceived in the North?", conversation))
    answer = assistant.ask("And in Kidal?", conversation)
    assert answer.understood_as == "How is MINUSMA perceived in Kidal?"
    assert "Kidal" in answer.answer, answer.answer


# --- 'Who carried it out?': what the pronoun stands for may be in the answer, not the question ---

ATTACK = ("Although 2018 saw fewer deaths, 2019 was the worst year, with ten peacekeepers killed in a single attack "
          "in January, when AQIM nearly overran the base in Aguelhok [1]. The base was then reinforced [1].")


@pytest.mark.fast
def test_a_pronoun_follow_up_carries_the_names_of_the_previous_answer():
    conversation = Conversation([Answer("What was the worst single attack?", ATTACK, False, (), (),
                                        "What was the worst single attack?")])
    topic = conversation.resolve("Who carried it out?").split("(", 1)[1].rstrip(")").split()
    assert {"aqim", "aguelhok", "2019", "january"} <= set(topic), topic
    assert "although" not in topic and "reinforced" not in topic  # not the opening word, not the second sentence


@pytest.mark.fast
def test_only_a_pronoun_for_a_thing_or_person_brings_in_the_answers_names():
    """'there' is a place the question already had; a refusal names nothing."""
    conversation = Conversation([Answer("What was the worst single attack?", ATTACK, False, (), (),
                                        "What was the worst single attack?")])
    assert "aqim" not in conversation.resolve("Why were there protests there?").lower()
    refused = Conversation([Answer("What was the worst single attack?", "The report does not address this question.",
                                   True, (), (), "What was the worst single attack?")])
    assert "(worst single attack)" in refused.resolve("Who carried it out?")


def test_who_carried_it_out_is_answered_with_the_attacker(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("What was the worst single attack?", conversation))
    answer = assistant.ask("Who carried it out?", conversation)
    assert answer.understood_as and not answer.abstained
    assert "AQIM" in answer.answer, answer.answer


# --- a short question about the document itself stands on its own ---------------------------

@pytest.mark.fast
def test_a_short_question_whose_subject_is_the_documents_own_is_not_a_follow_up():
    anchors = subject_anchors(["Velmora"], ["II. Fleet and Rolling Stock", "III. Overall Findings"], ["scenario"],
                              frozenset({"railway", "other", "2019"}))
    assert {"fleet", "find", "scenario", "railway", "studi"} <= anchors
    assert not {"other", "2019"} & anchors  # a word common in any text, or a year, names no subject
    for question in ("What is the fleet?", "What are the main findings?", "What are the scenarios?",
                     "Who runs the railway?"):
        assert is_follow_up(question)  # without anchors, two words of subject and no name lean back
        assert not is_follow_up(question, ("scenario",), anchors), question
    for question in ("Who won?", "Were there other trains?", "What are the disadvantages?", "What are its risks?",
                     "Why?", "And what does the report say?", "What does the study say about it?"):
        assert is_follow_up(question, ("scenario",), anchors), question
    assert not is_follow_up("When was the study done?", (), anchors)
    assert not is_follow_up("Who wrote the report?")


def test_a_short_standalone_question_mid_conversation_is_searched_as_typed(assistant):
    for question in ("What is the mandate?", "What are the main findings?", "Who funds the mission?"):
        conversation = Conversation()
        conversation.add(assistant.ask("What happened in Aguelhok?"))
        answer = assistant.ask(question, conversation)
        assert answer.understood_as is None, answer.resolved_question
        assert answer.answer == assistant.ask(question).answer


# --- 'that support', 'that first point': a determiner pointing back, whatever the length ----

@pytest.mark.fast
@pytest.mark.parametrize("question", [
    "How often did the Joint Force actually ask for that support?",
    "How many Malians raised that first point in the survey?",
    "How was that situation described in the past?",
    "What did the Security Council decide about that request in June 2019?"])
def test_that_as_a_determiner_makes_a_follow_up_however_long(question):
    assert is_follow_up(question)


@pytest.mark.fast
@pytest.mark.parametrize("question", [
    "When did France announce that Operation Barkhane would end?",  # 'that' opens a clause
    "What did the gendarmerie request that was largely not delivered?",
    "Is there evidence that displaced families felt safe enough to go home?",
    "What would happen if the peacekeepers left, according to those consulted?",
    "What makes this mission's protection mandate unusual?"])  # 'this' is the document's own
def test_that_opening_a_clause_does_not_make_a_follow_up(question):
    assert not is_follow_up(question)


@pytest.mark.fast
def test_a_pronoun_after_a_relative_word_belongs_to_the_noun_before_it():
    assert not is_follow_up("How do people see the army where it is deployed?")
    assert not is_follow_up("Which armed groups does the government arm, and which regions are they in?")
    # A question that opens with the relative word has no noun before it: the pronoun points back.
    assert is_follow_up("Where was it stationed?")
    assert is_follow_up("Who led it?")


@pytest.mark.fast
def test_a_possessive_belongs_to_a_noun_before_it_not_to_a_verb():
    # Both words name the document's subject, so only the unbound 'its' makes these follow-ups.
    anchors = subject_anchors([], ["I. Mediation", "II. Risks and Support"], [], frozenset())
    assert {"mediat", "risk", "support"} <= anchors
    assert is_follow_up("Who supports its mediation?", (), anchors)  # 'supports' is no noun 'its' could stand for
    assert is_follow_up("What are its risks?", (), anchors)
    assert not is_follow_up("How has MINUSMA used its good offices?")
    assert not is_follow_up("How has the agency used its good offices?")


def _items(split: str) -> list[dict]:
    """The questions of one evaluation split (never the blind one: it is not read here)."""
    path = Path(__file__).resolve().parent.parent / "eval" / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("split", ["dev", "test"])
def test_no_evaluation_question_is_rewritten_after_two_other_turns(assistant, split):
    """Every dev and test question stands on its own: asked after the two questions before it in
    the file (with their gold answers as the answers given), it is searched exactly as typed."""
    items = _items(split)
    rewritten = []
    for n, item in enumerate(items):
        conversation = Conversation([Answer(p["question"], p["answer"], False, (), (), p["question"])
                                     for p in (items[n - 2], items[n - 1])])
        resolved = conversation.resolve(item["question"], assistant.reference_kinds, assistant.reference_aliases,
                                        assistant.reference_anchors)
        if resolved != item["question"]:
            rewritten.append((item["question"], resolved))
    assert not rewritten, rewritten


# --- the antecedent put in place of what points to it ----------------------------------------

@pytest.mark.fast
@pytest.mark.parametrize("previous, typed, resolved", [
    ("Which was the first rebellion?", "And the one in the 1990s, how did it end?",
     "How did the rebellion in the 1990s end?"),
    ("What is the Pact for Peace?", "And the Plateforme, who leads it?", "Who leads the Plateforme?"),
    ("How is the harbour run?", "And in the dry season, what does it cost?", "What does it cost in the dry season?")])
def test_a_topic_then_a_question_is_one_question_about_the_topic(previous, typed, resolved):
    assert asked(previous).resolve(typed).split(" (")[0] == resolved


@pytest.mark.fast
def test_a_topic_then_a_question_with_nothing_to_stand_for_is_left_to_the_other_rules():
    assert asked("How is the harbour run?").resolve("And the ferries, what do we know?") != "What do we know?"


@pytest.mark.fast
def test_that_and_a_noun_is_replaced_by_the_thing_the_last_answer_named():
    said = ("The port is unusual in that it has a designated Harbour and Ferry Service section that manages the "
            "quays [1]. In collaboration with partners, this section builds capacity [1].")
    conversation = Conversation([Answer("Which part of the port manages the quays?", said, False, (), (),
                                        "Which part of the port manages the quays?")])
    assert conversation.resolve("What is that section trying to build?") == \
        "What is the Harbour and Ferry Service section trying to build?"
    # Named only by the question: 'the ... <noun>' as the question named it.
    conversation = asked("What did the harbour master request for the new ferry line?")
    assert conversation.resolve("How often was that request granted?") == "How often was the harbour master request granted?"
    # 'that' opening a relative clause points at nothing.
    assert conversation.resolve("Which are the problems that remain?").startswith("Which are the problems that remain?")
    # Not named in the last turn at all: the last turn's words are added as before.
    assert asked("What did the new line add?").resolve("How often was that support asked for?").endswith("(new line add)")


@pytest.mark.fast
def test_he_and_his_are_replaced_by_the_person_the_last_turn_named():
    said = "Two rounds were held in July [1]. On 4 May, the interim ended when Anna Maria Berg (AMB) was sworn in [1]."
    conversation = Conversation([Answer("Who won?", said, False, (), (), "Who won?")])
    assert conversation.resolve("How did corruption develop under him?") == \
        "How did corruption develop under Anna Maria Berg (AMB)?"
    assert conversation.resolve("What was his first decision?") == "What was Anna Maria Berg (AMB)'s first decision?"
    # A name with no title and no initials is not taken for a person ('the Security Council').
    council = Conversation([Answer("Who won?", "In his report to the Security Council, the Secretary-General agreed [1].",
                                   False, (), (), "Who won?")])
    assert "Security Council" not in council.resolve("What did he recommend?").split(" (")[0]
    nobody = Conversation([Answer("Who won?", "Two rounds were held in July [1].", False, (), (), "Who won?")])
    assert nobody.resolve("How did corruption develop under him?").startswith("How did corruption develop under him? (won")


def test_a_section_pointed_at_by_that_is_searched_by_its_name(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("Which part of the Mission manages the funds for quick impact projects?", conversation))
    answer = assistant.ask("What is that section trying to build?", conversation)
    assert answer.understood_as == "What is the Stabilization and Recovery section trying to build?"
    assert not answer.abstained


# --- a short question that names its subject without an article stands on its own ------------

@pytest.mark.parametrize("question", [
    "Why is cooperation difficult?", "How is success measured?", "Are there plans to withdraw?",
    "What is being done about corruption?", "What is the problem with the supercamps?", "Is this mission a success?",
    "What do those consulted say about the Mission?", "Is dialogue possible?", "Are elections planned?"])
def test_a_short_question_naming_its_subject_without_an_article_is_searched_as_typed(assistant, question):
    conversation = asked("How is MINUSMA perceived in the North?")
    assert conversation.resolve(question, assistant.reference_kinds, assistant.reference_aliases,
                                assistant.reference_anchors) == question


@pytest.mark.fast
@pytest.mark.parametrize("question", ["Who won?", "Why so few?", "Why is it hard to raise?", "What has improved since then?",
                                      "What are the disadvantages?", "Is this a success?"])
def test_a_short_question_with_no_subject_of_its_own_still_leans_back(question):
    assert asked("How is MINUSMA perceived in the North?").resolve(question) != question


@pytest.mark.fast
@pytest.mark.parametrize("previous, typed, resolved", [
    ("How many terror attacks did the agency count in 2018?", "And IED attacks?",
     "How many IED attacks did the agency count in 2018?"),
    ("Where is most of the harbour's military staff based?", "And the civilian staff?",
     "Where is most of the harbour's civilian staff based?")])
def test_a_new_kind_of_the_same_thing_takes_the_place_of_the_old_one(previous, typed, resolved):
    assert asked(previous).resolve(typed) == resolved


@pytest.mark.fast
def test_and_a_preposition_before_a_question_word_is_a_question_not_a_place():
    """'And at what level ...?' asks its own question about the last turn's subject; it is not a
    place glued onto the previous question ('... with the population at what level does it ...')."""
    resolved = asked("Who sets the agenda of the port's engagement with the population?").resolve(
        "And at what level does it include women and youths?")
    assert resolved.startswith("And at what level does it include women and youths? (") and "port" in resolved


@pytest.mark.fast
@pytest.mark.parametrize("previous, typed, resolved", [
    ("How many ships did the port count in Lisbon in 2018?", "And in 2017?", "How many ships did the port count in Lisbon in 2017?"),
    ("How many ships did the port count in Lisbon in 2018?", "And in Porto?", "How many ships did the port count in Porto in 2018?"),
    ("How many ships did the port count in Lisbon in 2018?", "What about before 2015?",
     "How many ships did the port count in Lisbon before 2015?"),
    ("How is the port seen in the North?", "And in 2017?", "How is the port seen in the North in 2017?")])
def test_a_new_time_takes_the_place_of_the_old_time_and_a_new_place_of_the_old_place(previous, typed, resolved):
    assert asked(previous).resolve(typed) == resolved


ABOUT_KIDAL = frozenset(lexical_tokens("What does the report say about Kidal? Kidal is still controlled by the CMA."))


@pytest.mark.fast
@pytest.mark.parametrize("question", [
    # A noun of its own after a question word or a quantifier, or a relational noun with its complement.
    "What equipment is missing?", "Why so many fatalities?", "What are the risks of a drawdown?",
    # A possessive bound to the name after it; an empty 'there' after 'had'.
    "How much of its territory does the Malian government control?",
    "How many Tuareg uprisings had there been before the one in 2012?",
    # A topic, then the question asked in full about it.
    "What about women in the armed forces, how many are there?", "And what about the budget: how big is it?"])
def test_a_question_with_its_own_noun_stands_on_its_own_after_another_topic(question):
    assert not is_follow_up(question, last_words=ABOUT_KIDAL)


@pytest.mark.fast
@pytest.mark.parametrize("question", [
    "What went wrong?", "What would help?", "How many were killed?", "What are the downsides?",
    "How many fled their homes there in the last year?",  # 'many' names nothing: three subject words and 'there'
    "What about the second one, what does it say?", "What about in Gao, how is it seen?"])
def test_a_question_without_a_subject_of_its_own_still_leans_back(question):
    assert is_follow_up(question, last_words=ABOUT_KIDAL)


@pytest.mark.fast
def test_an_item_of_a_list_leans_back_only_when_the_last_turn_named_such_items():
    about_groups = frozenset(lexical_tokens("Which approaches divide the actors? Two groups: one wants a state security "
                                            "approach, the other a human security approach."))
    assert is_follow_up("What does the second group want?", last_words=about_groups)
    assert not is_follow_up("What does the second group want?", last_words=ABOUT_KIDAL)


def test_that_as_a_pronoun_is_not_taken_for_a_thing_named_earlier(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("How does MINUSMA support the G5 Sahel joint force?", conversation))
    answer = assistant.ask("Why is that controversial?", conversation)
    assert answer.understood_as and answer.understood_as.startswith("Why is that controversial?"), answer.understood_as


def test_the_next_item_of_a_framework_gets_its_own_title(assistant):
    conversation = Conversation()
    conversation.add(assistant.ask("Which strategic dilemmas does the report identify?", conversation))
    first = assistant.ask("Explain the first one.", conversation)
    assert "To decentralise the Mission" in first.understood_as
    conversation.add(first)
    second = assistant.ask("And the second?", conversation)
    assert "second dilemma (To concentrate on the North, the Centre, or both)" in second.understood_as
    assert "decentralise" not in second.understood_as


def test_short_standalone_questions_after_other_topics_are_searched_unchanged(assistant):
    conversation = Conversation()
    for earlier, question in (("What is Operation Oryx?", "What are the risks of a drawdown?"),
                              ("What is DDR?", "Why so many fatalities?"),
                              ("On what terms does MINUSMA support the G5 Sahel joint force?", "What equipment is missing?"),
                              ("What set off the 2012 crisis in Mali?",
                               "How many Tuareg uprisings had there been before the one in 2012?")):
        conversation.clear()
        conversation.add(assistant.ask(earlier, conversation))
        assert assistant.ask(question, conversation).understood_as is None, (earlier, question)
