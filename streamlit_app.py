"""MINUSMA report assistant: the Streamlit chat page.

Layout and session state only. Retrieval, answering, follow-up resolution and validation live
in ``assistant.service``; export and presentation text in ``assistant.briefing``.

Run with ``streamlit run streamlit_app.py``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import streamlit as st

from assistant import briefing
from assistant.config import Settings
from assistant.conversation import Conversation
from assistant.errors import AssistantError
from assistant.service import Assistant, BuildProgress

LOG = logging.getLogger("minusma.app")
MODES = ("hybrid", "dense", "bm25")
MODE_LABELS = {"hybrid": "hybrid (meaning + keywords)", "dense": "dense (meaning)", "bm25": "bm25 (keywords)"}
FRAMEWORK_GROUPS = (("dimensions", "Dimensions"), ("dilemmas", "Dilemmas"), ("options", "Options"))
SHOWN_QUESTION_CHARS = 300

st.set_page_config(page_title="MINUSMA report assistant", page_icon="📘")


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
    """Text before, the passage, and text after, in the cleaned document."""
    return tuple(_assistant.context(chunk_id))


# --- session state ------------------------------------------------------------------------


def init_state() -> None:
    if "conversation" not in st.session_state:
        new_conversation()


def new_conversation() -> None:
    st.session_state.conversation = Conversation()
    st.session_state.turns = []  # the answers shown, oldest first
    st.session_state.pop("pending_question", None)


def queue_question(question: str) -> None:
    st.session_state.pending_question = question


# --- sidebar ------------------------------------------------------------------------------


def sidebar(assistant: Assistant) -> tuple[Settings, Any]:
    """Draw the sidebar; return the settings for the next question and a slot for the export."""
    defaults = assistant.settings
    with st.sidebar:
        st.button("New conversation", key="new-conversation", on_click=new_conversation, type="primary", width="stretch")
        export_slot = st.empty()
        st.subheader("Search settings")
        chapters = st.multiselect("Limit to chapters", assistant.chapters(), key="chapters", placeholder="All chapters")
        top_k = st.slider("Number of passages", 1, 10, value=min(max(defaults.top_k, 1), 10), key="top_k")
        mode = st.radio(
            "Retrieval mode", MODES, index=MODES.index(defaults.mode) if defaults.mode in MODES else 0,
            format_func=MODE_LABELS.get, key="mode",
        )
        st.subheader("Browse the framework")
        st.caption("Click an item to ask the report about it.")
        framework = assistant.framework()
        for group, label in FRAMEWORK_GROUPS:
            with st.expander(label):
                for i, (title, summary, question) in enumerate(framework.get(group, ())):
                    st.button(
                        title, key=f"framework-{group}-{i}", help=summary, width="stretch",
                        on_click=queue_question, args=(question,),
                    )
    settings = defaults.replace(top_k=top_k, mode=mode, sections=briefing.chapter_prefixes(chapters))
    return settings, export_slot


# --- one turn -----------------------------------------------------------------------------


def shown_question(question: str) -> str:
    text = " ".join(question.split())
    if not text:
        return "*(empty question)*"
    if len(text) > SHOWN_QUESTION_CHARS:
        text = text[:SHOWN_QUESTION_CHARS] + f" … ({len(question):,} characters)"
    return briefing.escape_markdown(text)


def source_card(assistant: Assistant, *, label: str, section: str, page: int | None,
                score: float | None, text: str, quote: str, chunk_id: str) -> None:
    """One bordered card: where the passage is, the passage (quote in bold), its context."""
    with st.container(border=True):
        st.markdown(f"**{label}** {briefing.escape_markdown(section or 'Unknown section')}")
        score_text = f"score {score:.3f}" if score is not None else "score n/a"
        st.caption(f"{briefing.page_label(page)} · {score_text}")
        st.markdown(briefing.highlight_quote(text, quote))
        with st.expander("Surrounding text"):
            try:
                before, chunk, after = surrounding_text(assistant, chunk_id)
            except (AssistantError, KeyError):
                st.info("The surrounding text of this passage is not available.")
            else:
                if before.strip():
                    st.caption("… " + briefing.escape_markdown(before.strip()))
                st.markdown(briefing.highlight_quote(chunk, quote))
                if after.strip():
                    st.caption(briefing.escape_markdown(after.strip()) + " …")


def render_answer(assistant: Assistant, answer: Any, index: int) -> None:
    resolved = " ".join((answer.resolved_question or "").split())
    if resolved and resolved != " ".join(answer.question.split()):
        st.caption(f"Understood as: {briefing.escape_markdown(resolved)}")
    if answer.abstained:
        st.info(f"**{briefing.ABSTENTION}**", icon="ℹ️")
        if answer.passages:
            st.markdown(f"**{briefing.CLOSEST_HEADING}**")
        for hit in answer.passages:
            source_card(assistant, label=f"Passage {hit.rank} (not an answer) ·", section=hit.section,
                        page=hit.page, score=hit.score, text=hit.text, quote="", chunk_id=hit.chunk_id)
    else:
        st.markdown(briefing.markdown_lines(answer.answer))
        for citation in answer.citations:
            hit = briefing.passage_for(answer, citation.chunk_id)
            source_card(assistant, label=f"[{citation.n}]", section=citation.section, page=citation.page,
                        score=hit.score if hit else None, text=hit.text if hit else citation.quote,
                        quote=citation.quote, chunk_id=citation.chunk_id)
    prefix = assistant.citation_prefix
    left, right = st.columns(2)
    left.download_button("Download Markdown", briefing.answer_markdown(answer, prefix),
                         file_name=f"minusma-answer-{index + 1}.md", mime="text/markdown",
                         key=f"download-md-{index}", on_click="ignore", icon=":material/download:")
    right.download_button("Download plain text", briefing.answer_plaintext(answer, prefix),
                          file_name=f"minusma-answer-{index + 1}.txt", mime="text/plain",
                          key=f"download-txt-{index}", on_click="ignore", icon=":material/download:")


def render_turn(assistant: Assistant, answer: Any, index: int) -> None:
    with st.chat_message("user"):
        st.markdown(shown_question(answer.question))
    with st.chat_message("assistant"):
        render_answer(assistant, answer, index)


def ask(assistant: Assistant, question: str, settings: Settings) -> None:
    """Ask, show the answer (or a clear message), and keep the turn in the conversation."""
    with st.chat_message("user"):
        st.markdown(shown_question(question))
    with st.chat_message("assistant"):
        try:
            with st.spinner("Searching the report…"):
                answer = assistant.ask(question, conversation=st.session_state.conversation, settings=settings)
        except AssistantError as error:
            st.warning(str(error), icon="⚠️")
            return
        except Exception:  # never a traceback on the page; the conversation is kept
            LOG.exception("question failed: %r", question[:200])
            st.error("Sorry, something went wrong while answering. Please rephrase and try again.")
            return
        st.session_state.conversation.add(answer)
        st.session_state.turns.append(answer)
        render_answer(assistant, answer, len(st.session_state.turns) - 1)


# --- page ---------------------------------------------------------------------------------


def main() -> None:
    st.title("MINUSMA report assistant")
    caption = st.empty()
    try:
        assistant = load_assistant()
    except AssistantError as error:
        st.error(str(error))
        st.stop()
    except Exception:  # a broken install or index file: say so instead of a traceback
        LOG.exception("loading the assistant failed")
        st.error("The assistant could not start: see the server log, then run `assistant index --force`.")
        st.stop()
    caption.caption(f"Cited answers from one report: {assistant.citation_prefix}. Works offline.")
    init_state()
    settings, export_slot = sidebar(assistant)

    for index, answer in enumerate(st.session_state.turns):
        render_turn(assistant, answer, index)

    question = st.chat_input("Ask a question about the report", key="chat")
    if question is None:
        question = st.session_state.pop("pending_question", None)
    if question is not None:
        ask(assistant, question, settings)
    elif not st.session_state.turns:
        st.info("Ask a question below, or pick an item under *Browse the framework* in the sidebar.")

    turns = st.session_state.turns
    export_slot.download_button(
        "Download conversation (Markdown)", briefing.conversation_markdown(turns, assistant.citation_prefix),
        file_name="minusma-conversation.md", mime="text/markdown", key="download-conversation",
        on_click="ignore", disabled=not turns, width="stretch", icon=":material/download:",
    )


main()
