"""The Streamlit chat page, driven headlessly with Streamlit's AppTest.

Real app, real index, real model: no mocks. The Assistant is cached with st.cache_resource,
so after the first (module-scoped) load every fresh AppTest reuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant import briefing
from assistant.answer import Answer, abstained_answer
from assistant.service import Assistant

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 120

INTERVIEWS = "How many interviews did the research team conduct?"
UNANSWERABLE = "How many police officers serve in the UN mission in the Central African Republic?"
PREFIX_TEXT = "NUPI, 2019"


def new_app(timeout: float = TIMEOUT) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run(timeout=timeout)
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="chat").set_value(question).run()
    assert not at.exception, at.exception
    return at


def turns(at: AppTest) -> list:
    return list(at.session_state["turns"])


def conversation_length(at: AppTest) -> int:
    conversation = at.session_state["conversation"]
    for name in ("turns", "answers", "history"):
        if hasattr(conversation, name):
            return len(getattr(conversation, name))
    return len(conversation)


def message_markdown(at: AppTest) -> list[str]:
    """The Markdown shown inside chat messages (answers, cards, passages)."""
    return [md.value for message in at.chat_message for md in message.markdown]


def card_headers(at: AppTest) -> list[str]:
    return [value for value in message_markdown(at) if value.startswith("**[")]


@pytest.fixture(scope="module")
def loaded() -> None:
    """First load: builds the index if it is missing or stale (may take a minute or more)."""
    new_app(timeout=900)


@pytest.fixture(scope="module")
def interviews(loaded) -> AppTest:
    """One app that has answered the interviews question (shared by read-only tests)."""
    return ask(new_app(), INTERVIEWS)


@pytest.fixture(scope="module")
def report_assistant(loaded) -> Assistant:
    return Assistant.load()


@pytest.fixture()
def app(loaded) -> AppTest:
    return new_app()


def test_page_renders(app: AppTest) -> None:
    assert app.title[0].value == "MINUSMA report assistant"
    assert any(PREFIX_TEXT in caption.value for caption in app.caption)
    assert app.chat_input(key="chat") is not None
    assert app.multiselect(key="chapters").options
    assert 1 <= app.slider(key="top_k").value <= 10
    assert app.radio(key="mode").options


def test_chat_flow_answers_with_citations(interviews: AppTest) -> None:
    [answer] = turns(interviews)
    assert not answer.abstained
    assert answer.citations
    shown = message_markdown(interviews)
    assert any("[1]" in value and not value.startswith("**[") for value in shown), shown
    headers = card_headers(interviews)
    assert len(headers) == len(answer.citations)
    first = answer.citations[0]
    assert first.section
    assert briefing.escape_markdown(first.section) in headers[0]
    assert any(expander.label == "Surrounding text" for expander in interviews.expander)
    captions = [caption.value for caption in interviews.caption]
    assert any("score" in value and ("p. " in value or "page n/a" in value) for value in captions)


def assert_abstention_shown(app: AppTest, answer) -> None:
    assert any("does not address" in info.value for info in app.info)
    shown = message_markdown(app)
    assert any(briefing.CLOSEST_HEADING in value for value in shown)
    headers = [value for value in shown if value.startswith("**Passage ")]
    assert len(headers) == len(answer.passages) > 0
    assert all("not an answer" in header for header in headers)
    assert not app.exception


def test_abstention_is_clear(app: AppTest) -> None:
    """The question the report cannot answer: the service must abstain, the page must say so."""
    ask(app, UNANSWERABLE)
    [answer] = turns(app)
    assert answer.abstained, f"the service answered instead of abstaining: {answer.answer[:200]!r}"
    assert_abstention_shown(app, answer)


def test_abstention_rendering(app: AppTest, report_assistant) -> None:
    """How the page shows an abstention, whatever the service's abstention threshold.

    The abstained Answer is built exactly as Assistant.ask builds one (real retrieval, real
    hits, assistant.answer.abstained_answer) and put into the session's history.
    """
    settings = report_assistant.settings
    vector = report_assistant.retriever.query_vector(UNANSWERABLE)
    hits = report_assistant.retriever.search(UNANSWERABLE, settings, vector)
    text, citations = abstained_answer(UNANSWERABLE, hits)
    answer = Answer(UNANSWERABLE, text, True, tuple(citations), tuple(hits), UNANSWERABLE)
    app.session_state["turns"] = [answer]
    app.run()
    assert_abstention_shown(app, answer)
    exported = briefing.answer_markdown(answer, report_assistant.citation_prefix)
    assert exported.startswith(briefing.ABSTENTION) and briefing.CLOSEST_HEADING in exported


def test_follow_up_keeps_the_conversation(app: AppTest) -> None:
    ask(app, "What does the report say about option 2b?")
    ask(app, "Why was it not chosen?")
    history = turns(app)
    assert len(history) == 2
    assert conversation_length(app) == 2
    second = history[1]
    assert second.answer.strip()
    assert second.question == "Why was it not chosen?"
    assert second.resolved_question.strip()
    # Both turns are on the page: two user messages, two assistant messages.
    assert [m.name for m in app.chat_message] == ["user", "assistant", "user", "assistant"]


def test_section_filter_limits_citations(app: AppTest) -> None:
    chapters = app.multiselect(key="chapters")
    [xiv] = [title for title in chapters.options if title.startswith("XIV.")]
    chapters.set_value([xiv]).run()
    assert not app.exception
    ask(app, "Which strategic policy options does the report consider?")
    [answer] = turns(app)
    sections = [c.section for c in answer.citations] + [h.section for h in answer.passages]
    assert sections
    assert all(section.startswith("XIV.") for section in sections), sections
    for header in card_headers(app):
        assert "XIV." in header


def test_settings_reach_the_assistant(app: AppTest) -> None:
    app.slider(key="top_k").set_value(3)
    app.radio(key="mode").set_value("bm25")
    app.run()
    ask(app, INTERVIEWS)
    [answer] = turns(app)
    assert len(answer.passages) <= 3


def test_export_buttons_and_briefing(interviews: AppTest) -> None:
    keys = {button.key for button in interviews.download_button}
    assert {"download-md-0", "download-txt-0", "download-conversation"} <= keys
    assert not interviews.download_button(key="download-conversation").disabled
    [answer] = turns(interviews)
    prefix = "EPON, *Assessing the Effectiveness of the United Nations Mission in Mali / MINUSMA* (NUPI, 2019)"
    markdown = briefing.answer_markdown(answer, prefix)
    assert PREFIX_TEXT in markdown and "[1]" in markdown
    assert f"[1] {prefix}, section " in markdown
    plain = briefing.answer_plaintext(answer, prefix)
    assert "[1] EPON, Assessing the Effectiveness" in plain and "*" not in plain
    whole = briefing.conversation_markdown(turns(interviews), prefix)
    assert f"## 1. {INTERVIEWS}" in whole and "[1]" in whole


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "word " * 2000, "?!?! ... ???"],
    ids=["empty", "blank", "10000-chars", "no-words"],
)
def test_bad_input_gives_a_message_and_keeps_the_conversation(app: AppTest, bad: str) -> None:
    ask(app, INTERVIEWS)
    assert len(turns(app)) == 1
    ask(app, bad)
    assert not app.exception
    warnings = [w.value for w in app.warning]
    assert len(warnings) == 1, warnings
    assert "question" in warnings[0].lower()
    if len(bad) > 5000:
        assert "characters" in warnings[0]
    assert not app.error, [e.value for e in app.error]
    assert len(turns(app)) == 1
    assert conversation_length(app) == 1
    # The earlier answer is still on the page.
    assert len(card_headers(app)) >= 1


def test_framework_button_asks_its_question(app: AppTest) -> None:
    buttons = [b for b in app.sidebar.button if b.key and b.key.startswith("framework-")]
    counts = {group: len([b for b in buttons if b.key.startswith(f"framework-{group}-")])
              for group in ("dimensions", "dilemmas", "options")}
    assert counts["dimensions"] == 8, counts
    assert counts["dilemmas"] == 4, counts
    assert counts["options"] == 7, counts  # 1, 2, 2a-2d, 3
    buttons[0].click().run()
    assert not app.exception
    assert len(turns(app)) == 1


def test_new_conversation_clears_history(app: AppTest) -> None:
    ask(app, INTERVIEWS)
    assert len(turns(app)) == 1
    app.button(key="new-conversation").click().run()
    assert not app.exception
    assert turns(app) == []
    assert conversation_length(app) == 0
    assert not app.chat_message


def test_rapid_repeated_submissions_keep_every_turn(app: AppTest) -> None:
    for _ in range(3):
        ask(app, INTERVIEWS)
    assert not app.exception
    assert len(turns(app)) == 3
    assert conversation_length(app) == 3


def test_two_sessions_at_once_do_not_share_history(loaded) -> None:
    """Two browser tabs are two sessions: one shared Assistant, separate conversations."""
    first, second = new_app(), new_app()
    ask(first, INTERVIEWS)
    ask(second, UNANSWERABLE)
    ask(first, "And what about the focus groups?")
    assert len(turns(first)) == 2 and len(turns(second)) == 1
    assert turns(second)[0].question == UNANSWERABLE
    assert not first.exception and not second.exception


def test_an_answer_keeps_its_lines_and_bold_never_spans_a_paragraph(app: AppTest) -> None:
    ask(app, "What is the second dilemma?")
    [answer] = turns(app)
    assert answer.answer.startswith("To concentrate on the North, the Centre, or both?\n")
    shown = message_markdown(app)
    assert any(value.startswith("To concentrate on the North, the Centre, or both?  \nOriginally") for value in shown), shown
    highlighted = [value for value in shown if "**To concentrate" in value]
    assert highlighted
    for value in highlighted:  # every ** opened is closed on the same line
        assert all(line.count("**") % 2 == 0 for line in value.split("\n")), value


def test_markdown_helpers_keep_lines_and_escape() -> None:
    assert briefing.markdown_lines("Heading?\nText *with* stars [1].") == "Heading?  \nText \\*with\\* stars [1]."
    passage = "b) Focus on the Centre\n\nConsidering the risks, a refocus might help. Other text."
    quote = "b) Focus on the Centre\n\nConsidering the risks, a refocus might help."
    assert briefing.highlight_quote(passage, quote) == (
        "**b) Focus on the Centre**\n\n**Considering the risks, a refocus might help.** Other text.")


def test_framework_questions_name_their_section_and_get_its_opening(report_assistant) -> None:
    framework = report_assistant.framework()
    title, _, question = framework["dilemmas"][1]
    assert question == "What does the report say about dilemma 2 (To concentrate on the North, the Centre, or both)?"
    answer = report_assistant.ask(question)
    assert answer.answer.splitlines()[0] == title
    assert all(c.section.endswith(title) for c in answer.citations)
    assert [t for t, _, _ in framework["options"]][2:6] == [
        "a) Focus on the North", "b) Focus on the Centre",
        "c) Struggling on with the current resources and focusing on the Centre and the North",
        "d) Expansion and focus on the Centre and the North"]
