"""MINUSMA report assistant: the Streamlit chat page.

Layout and session state only. Answering lives in ``assistant.service``; what a card, a
highlight or a history turn shows in ``assistant.display``; references, the copy text and the
exports in ``assistant.briefing``. Page settings (no developer toolbar, no file watcher, no
usage statistics, the theme) are in ``.streamlit/config.toml``.

Run with ``streamlit run streamlit_app.py``.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

import streamlit as st

from assistant import briefing
from assistant.config import Settings
from assistant.conversation import Conversation
from assistant.display import (CLOSEST_HEADING, NOT_ADDRESSED, Card, Turn, answer_cards, escape, filter_note,
                               highlight, markdown_lines, refusal_cards, refusal_reason, shown_question,
                               trim_context, understood_as)
from assistant.errors import AssistantError
from assistant.service import Assistant, BuildProgress

LOG = logging.getLogger("minusma.app")
MODES = ("hybrid", "dense", "bm25")
MODE_LABELS = {"hybrid": "hybrid (meaning + keywords)", "dense": "dense (meaning)", "bm25": "bm25 (keywords)"}
# The sidebar widgets that "New conversation" puts back to their defaults.
SETTING_KEYS = ("chapters", "top_k", "mode", "style")
FAILED = "Sorry, something went wrong while answering. Please rephrase and try again."
MIME = {"md": "text/markdown", "txt": "text/plain",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

st.set_page_config(page_title="MINUSMA report assistant", page_icon="📘", layout="wide",
                   initial_sidebar_state="auto")


# --- the assistant, once per server ----------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _assistant_slot() -> dict[str, Any]:
    """One holder per server process; the Assistant is loaded into it once.

    Loading happens outside the cached function so that its progress can be drawn on the
    page (elements drawn inside a cached function are replayed on every later run).
    """
    return {"assistant": None, "lock": threading.Lock()}


def load_assistant() -> Assistant:
    """The shared Assistant; on first use, build or load the index with visible progress."""
    slot = _assistant_slot()
    if slot["assistant"] is not None:
        return slot["assistant"]
    placeholder = st.empty()
    with placeholder.status("Preparing the report index…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")

        def report(progress: BuildProgress) -> None:
            """Move the bar as the index is built."""
            fraction = progress.done / progress.total if progress.total else 0.0
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"{progress.stage}: {progress.done}/{progress.total}")

        with slot["lock"]:
            if slot["assistant"] is None:
                slot["assistant"] = Assistant.load(settings=Settings(), progress=report)
        status.update(label="Report index ready", state="complete", expanded=False)
    placeholder.empty()
    return slot["assistant"]


@st.cache_data(show_spinner=False, max_entries=2000)
def surrounding_text(_assistant: Assistant, chunk_id: str) -> tuple[str, str, str]:
    """Text before (from a sentence start), the passage, and text after (to a sentence end)."""
    before, chunk, after = _assistant.context(chunk_id)
    before, after = trim_context(before, after)
    return before, chunk, after


# --- session state ------------------------------------------------------------------------


def init_state() -> None:
    """A new conversation for a new session."""
    if "conversation" not in st.session_state:
        new_conversation()


def new_conversation() -> None:
    """Start again: no history, no queued question, and every setting back to its default."""
    st.session_state.conversation = Conversation()
    st.session_state.turns = []  # Turn objects, oldest first (rejected questions included)
    st.session_state.pop("pending_question", None)
    for key in SETTING_KEYS:
        st.session_state.pop(key, None)


def queue_question(question: str) -> None:
    """Ask this question on the next run (a framework button)."""
    st.session_state.pending_question = question


def answered(turns: list[Turn]) -> list[Any]:
    """The answers of the history, without the rejected questions."""
    return [turn.answer for turn in turns if turn.answer is not None]


# --- sidebar ------------------------------------------------------------------------------


def sidebar(assistant: Assistant) -> tuple[Settings, tuple[str, ...], str, Any]:
    """Draw the sidebar; return the settings for the next question, the chapters chosen, the
    reference style, and a slot for the conversation downloads."""
    defaults = assistant.settings
    with st.sidebar:
        st.button("New conversation", key="new-conversation", on_click=new_conversation, type="primary",
                  width="stretch", help="Clear the conversation and put every setting back to its default.")
        style = st.radio("Reference style", list(briefing.STYLES), format_func=briefing.STYLES.get, key="style",
                         help="Used by the copy button and every download.")
        export_slot = st.container()
        st.subheader("Search settings")
        chapters = st.multiselect("Limit to chapters", assistant.chapters(), key="chapters", placeholder="All chapters")
        top_k = st.slider("Number of passages", 1, 10, value=min(max(defaults.top_k, 1), 10), key="top_k")
        mode = st.radio(
            "Retrieval mode", MODES, index=MODES.index(defaults.mode) if defaults.mode in MODES else 0,
            format_func=MODE_LABELS.get, key="mode",
        )
        framework_browser(assistant)
    chosen = tuple(" ".join(title.split()) for title in chapters)
    settings = defaults.replace(top_k=top_k, mode=mode, sections=chapter_prefixes(chosen))
    return settings, chosen, style, export_slot


def framework_browser(assistant: Assistant) -> None:
    """Each document's own framework (the kinds its profile names), one expander per kind;
    with several documents the expander names its document. Nothing when none has one."""
    framework = assistant.framework()
    if not framework:
        return
    st.subheader("Browse the framework")
    st.caption("Click an item to ask about it.")
    counters: dict[str, int] = {}  # keys stay 'framework-<kind>-<n>', numbered across documents
    for document, groups in framework.items():
        for group, items in groups.items():
            label = group.capitalize() if len(framework) == 1 else f"{group.capitalize()} — {assistant.short_title(document)}"
            with st.expander(label):
                for title, summary, question in items:
                    i = counters[group] = counters.get(group, -1) + 1
                    st.button(title, key=f"framework-{group}-{i}", help=summary, width="stretch",
                              on_click=queue_question, args=(question,))


def chapter_prefixes(chapter_titles: tuple[str, ...]) -> tuple[str, ...]:
    """Chapter prefixes for ``Settings.sections``: "V. Protection ..." -> "V."."""
    return tuple(title.split(" ", 1)[0] for title in chapter_titles if title)


def conversation_downloads(slot: Any, turns: list[Turn], style: str) -> None:
    """The conversation's three downloads, made only when clicked."""
    answers = answered(turns)
    makers = {"md": briefing.conversation_markdown, "txt": briefing.conversation_plaintext,
              "docx": briefing.conversation_docx}
    labels = {"md": "Markdown", "txt": "Plain text", "docx": "Word (.docx)"}
    with slot:
        st.caption("Download the conversation")
        with st.container(horizontal=True, gap="small"):
            for kind, make in makers.items():
                st.download_button(labels[kind], partial(make, answers, style), file_name=f"minusma-conversation.{kind}",
                                   mime=MIME[kind], key=f"download-conversation-{kind}", on_click="ignore",
                                   disabled=not answers, icon=":material/download:")


# --- one turn -----------------------------------------------------------------------------


def source_card(assistant: Assistant, card: Card) -> None:
    """One bordered card: where the passage is, its relevance, the passage with the quoted
    sentences in bold, and its surrounding text cut at sentence boundaries."""
    with st.container(border=True):
        st.markdown(card.header)
        if card.details:
            st.caption(card.details)
        st.markdown(card.body)
        with st.expander("Surrounding text"):
            try:
                before, chunk, after = surrounding_text(assistant, card.chunk_id)
            except (AssistantError, KeyError):
                st.info("The surrounding text of this passage is not available.")
                return
            if before:
                st.caption("… " + escape(" ".join(before.split())))
            st.markdown(highlight(chunk, list(card.quotes)) if chunk.strip() else card.full_body)
            if after:
                st.caption(escape(" ".join(after.split())) + " …")


def draw_cards(assistant: Assistant, cards: list[Card]) -> None:
    """Cards two abreast on a wide screen; Streamlit stacks the columns on a phone."""
    if len(cards) == 1:
        source_card(assistant, cards[0])
        return
    columns = st.columns(2)
    for i, card in enumerate(cards):
        with columns[i % 2]:
            source_card(assistant, card)


def answer_actions(answer: Any, index: int, style: str) -> None:
    """Copy (answer and references in the chosen style) and the three downloads."""
    with st.container(horizontal=True, gap="small"):
        with st.popover("Copy", icon=":material/content_copy:", key=f"copy-{index}"):
            st.caption("Answer and references, ready to paste. Click the copy icon at the top right.")
            st.code(briefing.copy_text(answer, style), language=None, wrap_lines=True)
        makers = {"md": briefing.answer_markdown, "txt": briefing.answer_plaintext, "docx": briefing.answer_docx}
        labels = {"md": "Markdown", "txt": "Plain text", "docx": "Word"}
        for kind, make in makers.items():
            st.download_button(labels[kind], partial(make, answer, style), file_name=f"minusma-answer-{index + 1}.{kind}",
                               mime=MIME[kind], key=f"download-{kind}-{index}", on_click="ignore",
                               icon=":material/download:")


def render_answer(assistant: Assistant, turn: Turn, index: int, style: str) -> None:
    """The filter and rewrite notes, the answer or refusal, its cards, copy and downloads."""
    answer = turn.answer
    notes = [filter_note(turn.chapters)] if turn.chapters else []
    rewrite = understood_as(answer)
    if rewrite:
        notes.append("Understood as: " + escape(rewrite))
    for note in notes:
        st.caption(note)
    if answer.abstained:
        reason = refusal_reason(answer)
        st.info(f"**{NOT_ADDRESSED}**" + (f"  \n{escape(reason)}" if reason else ""), icon=":material/info:")
        cards = refusal_cards(answer)
        if cards:
            st.markdown(f"**{CLOSEST_HEADING}**")
    else:
        st.markdown(markdown_lines(answer.answer))
        cards = answer_cards(answer)
    draw_cards(assistant, cards)
    answer_actions(answer, index, style)


def render_turn(assistant: Assistant, turn: Turn, index: int, style: str) -> None:
    """One exchange of the history: the question, then the answer or the message."""
    with st.chat_message("user"):
        st.markdown(shown_question(turn.question))
    with st.chat_message("assistant"):
        if turn.answer is None:
            st.warning(escape(turn.message or FAILED), icon=":material/warning:")
        else:
            render_answer(assistant, turn, index, style)


def ask(assistant: Assistant, question: str, settings: Settings, chapters: tuple[str, ...], style: str) -> None:
    """Ask, and keep the turn in the history: the answer, or the question with its message."""
    turns = st.session_state.turns
    try:
        with st.spinner("Searching the report…"):
            answer = assistant.ask(question, conversation=st.session_state.conversation, settings=settings)
    except AssistantError as error:
        turns.append(Turn(question, message=str(error)))
    except Exception:  # never a traceback on the page; the conversation is kept
        LOG.exception("question failed: %r", question[:200])
        turns.append(Turn(question, message=FAILED))
    else:
        st.session_state.conversation.add(answer)
        turns.append(Turn(question, answer=answer, chapters=chapters))
    render_turn(assistant, turns[-1], len(turns) - 1, style)


# --- page ---------------------------------------------------------------------------------


def main() -> None:
    """The page: title, sidebar, history, and the question just asked."""
    st.title("MINUSMA report assistant")
    caption = st.empty()
    try:
        assistant = load_assistant()
    except AssistantError as error:
        st.error(escape(str(error)))
        st.stop()
    except Exception:  # a broken install or index file: say so instead of a traceback
        LOG.exception("loading the assistant failed")
        st.error("The assistant could not start: see the server log, then run `assistant index --force`.")
        st.stop()
    caption.caption(f"Cited answers from one report: {assistant.citation_prefix}. Works offline.")
    init_state()
    settings, chapters, style, export_slot = sidebar(assistant)

    for index, turn in enumerate(st.session_state.turns):
        render_turn(assistant, turn, index, style)

    question = st.chat_input("Ask a question about the report", key="chat")
    if question is None:
        question = st.session_state.pop("pending_question", None)
    if question is not None:
        ask(assistant, question, settings, chapters, style)
    elif not st.session_state.turns:
        st.info("Ask a question below, or pick an item under *Browse the framework* in the sidebar.")
    conversation_downloads(export_slot, st.session_state.turns, style)


main()
