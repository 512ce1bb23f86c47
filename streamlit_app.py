"""Policy report assistant: the Streamlit chat page.

Layout and session state only. Answering lives in ``assistant.service``; adding and removing
documents in ``assistant.shelf``; what a card, a highlight or a history turn shows in
``assistant.display``; references, the copy text and the exports in ``assistant.briefing``.
The shelf is documents/ and index/, or the folders named by $ASSISTANT_DOCUMENTS_DIR and
$ASSISTANT_INDEX_DIR (read by ``assistant.config``), which is how the tests use a copy. Page
settings (no developer toolbar, no file watcher, no usage statistics, the theme) are in
``.streamlit/config.toml``.

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
from assistant.display import (CLOSEST_HEADING, NOT_ADDRESSED, Card, Turn, addition_messages, answer_cards,
                               documents_note, escape, filter_note, highlight, markdown_lines, pages_label, refusal_cards,
                               refusal_reason, shown_question, trim_context, understood_as)
from assistant.errors import AssistantError
from assistant.service import Assistant, BuildProgress
from assistant.shelf import (SHELF_RESTORED, SUFFIXES, Shelf, ShelfDocument, Upload, add_uploads,
                             document_name, read_shelf, remove_document)

LOG = logging.getLogger("assistant.app")
MODES = ("hybrid", "dense", "bm25")
MODE_LABELS = {"hybrid": "hybrid (meaning + keywords)", "dense": "dense (meaning)", "bm25": "bm25 (keywords)"}
# The sidebar widgets that "New conversation" puts back to their defaults.
SETTING_KEYS = ("chapters", "top_k", "mode", "style", "search_documents")
FAILED = "Sorry, something went wrong while answering. Please rephrase and try again."
SHELF_FAILED = "The shelf could not be changed (see the server log). " + SHELF_RESTORED
MIME = {"md": "text/markdown", "txt": "text/plain",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

st.set_page_config(page_title="Policy report assistant", page_icon="📘", layout="wide",
                   initial_sidebar_state="auto")


# --- the assistant, once per server ----------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _assistant_slot(documents_dir: str, index_dir: str) -> dict[str, Any]:
    """One holder per shelf per server process; the Assistant is loaded into it once, and
    again after the shelf changes.

    Loading happens outside the cached function so that its progress can be drawn on the
    page (elements drawn inside a cached function are replayed on every later run).
    """
    return {"assistant": None, "lock": threading.Lock()}


def slot_for(settings: Settings) -> dict[str, Any]:
    return _assistant_slot(str(settings.documents_dir), str(settings.index_dir))


def progress_drawer(bar: Any, steps: Any = None):
    """A build-progress callback that moves ``bar`` and, given a container, lists each stage
    once as it starts."""
    seen: list[str] = []

    def report(progress: BuildProgress) -> None:
        if steps is not None and progress.stage not in seen and progress.stage != "done":
            seen.append(progress.stage)
            steps.caption(f"{progress.stage.capitalize()}…")
        fraction = progress.done / progress.total if progress.total else 0.0
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{progress.stage}: {progress.done}/{progress.total}")

    return report


def load_assistant(settings: Settings) -> Assistant:
    """The shared Assistant; on first use, build or load the index with visible progress."""
    slot = slot_for(settings)
    if slot["assistant"] is not None:
        return slot["assistant"]
    placeholder = st.empty()
    with placeholder.status("Preparing the index…", expanded=True) as status:
        report = progress_drawer(st.progress(0.0, text="Starting…"))
        with slot["lock"]:
            if slot["assistant"] is None:
                slot["assistant"] = Assistant.load(settings=settings, progress=report)
        status.update(label="Index ready", state="complete", expanded=False)
    placeholder.empty()
    return slot["assistant"]


def reload_assistant(settings: Settings) -> None:
    """Drop the cached Assistant so that the next run loads the changed shelf (other sessions
    keep answering from the one they hold until their next run)."""
    slot = slot_for(settings)
    with slot["lock"]:
        slot["assistant"] = None
    surrounding_text.clear()


@st.cache_data(show_spinner=False, max_entries=2000)
def surrounding_text(_assistant: Assistant, index_dir: str, chunk_id: str) -> tuple[str, str, str]:
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


def sidebar(assistant: Assistant, shelf: Shelf) -> tuple[Settings, tuple[str, ...], tuple[str, ...], str, Any]:
    """Draw the sidebar; return the settings for the next question, the chapters and the
    documents chosen (short titles), the reference style, and a slot for the conversation
    downloads."""
    defaults = assistant.settings
    with st.sidebar:
        st.button("New conversation", key="new-conversation", on_click=new_conversation, type="primary",
                  width="stretch", help="Clear the conversation and put every setting back to its default.")
        style = st.radio("Reference style", list(briefing.STYLES), format_func=briefing.STYLES.get, key="style",
                         help="Used by the copy button and every download.")
        export_slot = st.container()
        documents = documents_section(defaults, shelf)
        st.subheader("Search settings")
        chapters = st.multiselect("Limit to chapters", assistant.chapters(), key="chapters", placeholder="All chapters")
        top_k = st.slider("Number of passages", 1, 10, value=min(max(defaults.top_k, 1), 10), key="top_k")
        mode = st.radio(
            "Retrieval mode", MODES, index=MODES.index(defaults.mode) if defaults.mode in MODES else 0,
            format_func=MODE_LABELS.get, key="mode",
        )
        framework_browser(assistant)
    chosen = tuple(" ".join(title.split()) for title in chapters)
    settings = defaults.replace(top_k=top_k, mode=mode, sections=chapter_prefixes(chosen), documents=documents)
    titles = shelf.short_titles()
    return settings, chosen, tuple(titles.get(n, n) for n in documents), style, export_slot


# --- the shelf: documents listed, added, removed ---------------------------------------------


def documents_section(settings: Settings, shelf: Shelf) -> tuple[str, ...]:
    """The Documents part of the sidebar: the list with a remove button per document, the
    files that could not be indexed, the uploader, and the choice of documents to search.
    Returns the names chosen (empty: every document)."""
    st.subheader("Documents")
    for kind, text in st.session_state.pop("shelf_messages", []):
        getattr(st, kind)(text, icon=":material/check_circle:" if kind == "success" else ":material/error:")
    for document in shelf.documents:
        document_entry(settings, document, removable=len(shelf.documents) > 1)
    for skipped in shelf.skipped:
        skipped_entry(settings, skipped)
    upload_form(settings, shelf)
    if len(shelf.documents) < 2:
        return ()
    titles = shelf.short_titles()
    # A document taken off since the last run is no longer a choice.
    if any(name not in titles for name in st.session_state.get("search_documents", [])):
        st.session_state.search_documents = [n for n in st.session_state.search_documents if n in titles]
    return tuple(st.multiselect("Search in", list(titles), format_func=titles.get, key="search_documents",
                                placeholder="All documents", help="Search only these documents (default: all)."))


def document_entry(settings: Settings, document: ShelfDocument, removable: bool) -> None:
    """One document: short title, file, pages and chunks, and its remove button."""
    with st.container(border=True):
        st.markdown(f"**{escape(document.short_title or document.name)}**")
        pages = f"{pages_label(document)} · " if document.pages else ""
        st.caption(f"{escape(document.file)} · {pages}{document.chunks} chunks")
        remove_button(settings, f"remove-{document.name}", document.name, document.short_title or document.name,
                      removable, "The last document stays: add another one first.")


def skipped_entry(settings: Settings, skipped: Any) -> None:
    """A file on the shelf that the index left out, with the reason and a remove button."""
    with st.container(border=True):
        st.error(f"Not indexed: {escape(skipped.file)}: {escape(skipped.reason)}", icon=":material/error:")
        remove_button(settings, f"remove-file-{skipped.file}", document_name(skipped.file), skipped.file, True, "")


def remove_button(settings: Settings, key: str, name: str, title: str, enabled: bool, why_not: str) -> None:
    """Remove, then a confirmation (Remove for good / Cancel) before anything is deleted."""
    if st.session_state.get("confirm_remove") != key:
        st.button("Remove", key=key, disabled=not enabled, help=None if enabled else why_not,
                  icon=":material/delete:", on_click=_ask_to_confirm, args=(key,))
        return
    st.warning(f"Remove **{escape(title)}** from the shelf? Its file is deleted from the documents folder "
               "and the index is rebuilt.")
    with st.container(horizontal=True, gap="small"):
        confirmed = st.button("Remove for good", key=key.replace("remove-", "remove-confirm-", 1), type="primary")
        st.button("Cancel", key=key.replace("remove-", "remove-cancel-", 1), on_click=_ask_to_confirm, args=(None,))
    if confirmed:
        st.session_state.confirm_remove = None
        change_shelf(settings, f"Removing {escape(title)}…", lambda progress: remove_document(name, settings, progress),
                     lambda report: [("success", f"Removed {escape(title)} ({escape(', '.join(report.removed))}).")])


def _ask_to_confirm(key: str | None) -> None:
    st.session_state.confirm_remove = key


def upload_form(settings: Settings, shelf: Shelf) -> None:
    """The uploader (several PDF, TXT or Markdown files) and the button that adds them. A file
    named like a document on the shelf is pointed out, with a choice to replace it."""
    round_ = st.session_state.setdefault("upload_round", 0)
    files = st.file_uploader("Add documents", type=[s.lstrip(".") for s in SUFFIXES], accept_multiple_files=True,
                             key=f"upload-{round_}", help="PDF, TXT or Markdown files; several at once.")
    if not files:
        return
    on_shelf = set(shelf.names) | {document_name(s.file) for s in shelf.skipped}
    taken = [f.name for f in files if document_name(f.name) in on_shelf]
    replace = False
    if taken:
        st.warning(f"Already on the shelf: {escape(', '.join(taken))}.", icon=":material/warning:")
        replace = st.checkbox(f"Replace {'it' if len(taken) == 1 else 'them'}", key=f"upload-replace-{round_}")
    if st.button("Add to the shelf", key=f"upload-add-{round_}", type="primary", icon=":material/upload:"):
        uploads = [Upload(f.name, f.getvalue()) for f in files]
        change_shelf(settings, f"Adding {len(uploads)} file(s) to the shelf…",
                     lambda progress: add_uploads(uploads, settings, progress, replace), addition_messages)


def change_shelf(settings: Settings, label: str, change, messages) -> None:
    """Run a shelf change with its build's progress in a status box, keep what happened for the
    next run, reload the Assistant and run the page again."""
    with st.status(label, expanded=True) as status:
        steps = st.container()
        draw = progress_drawer(st.progress(0.0, text="Checking the files…"), steps)
        try:
            report = change(draw)
        except AssistantError as error:
            status.update(label="The shelf was not changed", state="error")
            notes = [n for n in getattr(error, "__notes__", ()) if n == SHELF_RESTORED]
            result = [("error", escape(" ".join([str(error), *notes])))]
        except Exception:  # never a traceback on the page; the shelf was put back
            LOG.exception("shelf change failed")
            status.update(label="The shelf was not changed", state="error")
            result = [("error", SHELF_FAILED)]
        else:
            status.update(label="Done", state="complete")
            result = messages(report)
    st.session_state.shelf_messages = result
    st.session_state.upload_round = st.session_state.get("upload_round", 0) + 1  # empties the uploader
    reload_assistant(settings)
    st.rerun()


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
                st.download_button(labels[kind], partial(make, answers, style), file_name=f"conversation.{kind}",
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
                before, chunk, after = surrounding_text(assistant, str(assistant.settings.index_dir), card.chunk_id)
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
            st.download_button(labels[kind], partial(make, answer, style), file_name=f"answer-{index + 1}.{kind}",
                               mime=MIME[kind], key=f"download-{kind}-{index}", on_click="ignore",
                               icon=":material/download:")


def render_answer(assistant: Assistant, turn: Turn, index: int, style: str, titles: dict[str, str]) -> None:
    """The filter and rewrite notes, the answer or refusal, its cards (naming their document by
    its short title when the shelf holds several), copy and downloads."""
    answer = turn.answer
    notes = [filter_note(turn.chapters)] if turn.chapters else []
    if turn.documents:
        notes.append(documents_note(turn.documents))
    rewrite = understood_as(answer)
    if rewrite:
        notes.append("Understood as: " + escape(rewrite))
    for note in notes:
        st.caption(note)
    if answer.abstained:
        reason = refusal_reason(answer)
        st.info(f"**{NOT_ADDRESSED}**" + (f"  \n{escape(reason)}" if reason else ""), icon=":material/info:")
        cards = refusal_cards(answer, titles)
        if cards:
            st.markdown(f"**{CLOSEST_HEADING}**")
    else:
        st.markdown(markdown_lines(answer.answer))
        cards = answer_cards(answer, titles)
    draw_cards(assistant, cards)
    answer_actions(answer, index, style)


def render_turn(assistant: Assistant, turn: Turn, index: int, style: str, titles: dict[str, str]) -> None:
    """One exchange of the history: the question, then the answer or the message."""
    with st.chat_message("user"):
        st.markdown(shown_question(turn.question))
    with st.chat_message("assistant"):
        if turn.answer is None:
            st.warning(escape(turn.message or FAILED), icon=":material/warning:")
        else:
            render_answer(assistant, turn, index, style, titles)


def ask(assistant: Assistant, question: str, settings: Settings, chapters: tuple[str, ...],
        documents: tuple[str, ...], style: str, titles: dict[str, str]) -> None:
    """Ask, and keep the turn in the history: the answer, or the question with its message."""
    turns = st.session_state.turns
    try:
        with st.spinner("Searching…"):
            answer = assistant.ask(question, conversation=st.session_state.conversation, settings=settings)
    except AssistantError as error:
        turns.append(Turn(question, message=str(error)))
    except Exception:  # never a traceback on the page; the conversation is kept
        LOG.exception("question failed: %r", question[:200])
        turns.append(Turn(question, message=FAILED))
    else:
        st.session_state.conversation.add(answer)
        turns.append(Turn(question, answer=answer, chapters=chapters, documents=documents))
    render_turn(assistant, turns[-1], len(turns) - 1, style, titles)


# --- page ---------------------------------------------------------------------------------


def main() -> None:
    """The page: title, sidebar, history, and the question just asked."""
    st.title("Policy report assistant")
    caption = st.empty()
    settings = Settings()  # the shelf's folders come from the environment when set
    try:
        assistant = load_assistant(settings)
    except AssistantError as error:
        st.error(escape(str(error)))
        st.stop()
    except Exception:  # a broken install or index file: say so instead of a traceback
        LOG.exception("loading the assistant failed")
        st.error("The assistant could not start: see the server log, then run `assistant index --force`.")
        st.stop()
    shelf = read_shelf(settings, assistant.index)
    several = len(shelf.documents) > 1
    titles = shelf.short_titles() if several else {}
    if several:
        caption.caption(f"Cited answers from {len(shelf.documents)} reports: "
                        f"{escape('; '.join(titles.values()))}. Works offline.")
    else:
        caption.caption(f"Cited answers from one report: {assistant.citation_prefix}. Works offline.")
    init_state()
    settings, chapters, documents, style, export_slot = sidebar(assistant, shelf)

    for index, turn in enumerate(st.session_state.turns):
        render_turn(assistant, turn, index, style, titles)

    question = st.chat_input("Ask a question about the reports" if several else "Ask a question about the report",
                             key="chat")
    if question is None:
        question = st.session_state.pop("pending_question", None)
    if question is not None:
        ask(assistant, question, settings, chapters, documents, style, titles)
    elif not st.session_state.turns:
        st.info("Ask a question below, or pick an item under *Browse the framework* in the sidebar.")
    conversation_downloads(export_slot, st.session_state.turns, style)


main()
