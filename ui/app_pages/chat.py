"""Chat: ask questions in one mode (tuned+rag by default), streamed answers with their sources, thumbs up/down."""

import streamlit as st

from assistant.engine import AssistantError
from assistant.generation import GenerationError
from assistant.storage import MessageRecord, Storage
from ui import resources
from ui.modes import default_mode
from ui.render import neutralise_images, safe_pieces
from ui.state import close_conversation, open_conversation, session
from ui.views import show_answer, show_sources

TITLE_CHARS = 60


def record_thumbs(storage: Storage, message_id: int, key: str) -> None:
    choice = st.session_state.get(key)
    if choice is not None:
        storage.record_feedback(message_id, "up" if choice == 1 else "down")


def show_message(storage: Storage, message: MessageRecord) -> None:
    with st.chat_message(message.role):
        if message.role == "user":
            st.markdown(neutralise_images(message.content))
            return
        show_answer(
            {
                "answer": message.content,
                "sources": message.sources,
                "timings": message.timings,
                "abstained": message.abstained,
                "adapter": message.adapter,
                "prompt_tokens": message.prompt_tokens,
                "completion_tokens": message.completion_tokens,
            }
        )
        ratings = storage.feedback(message.id)
        key = f"thumbs-{message.id}"
        st.feedback(
            "thumbs",
            key=key,
            default=None if not ratings else (1 if ratings[-1][0] == "up" else 0),
            on_change=record_thumbs,
            args=(storage, message.id, key),
        )


settings = resources.settings()
storage = resources.storage(settings)
state = session()
check = resources.mode_check(settings)
adapter = check.adapter
start_mode, notice = default_mode(check)

with st.sidebar:
    if st.button("New chat", icon=":material/add:", use_container_width=True):
        close_conversation(state)
    modes = check.available()
    mode = st.selectbox("Mode", modes, index=modes.index(start_mode), help="base, rag, tuned or tuned+rag")
    if adapter:
        st.caption(f"Adapter: {adapter}")
    titles = {record.id: record.title for record in storage.conversations()}
    mine = [conversation for conversation in reversed(state.conversations) if conversation in titles]
    if mine:
        st.subheader("Your conversations")
        for conversation in mine:
            label = titles[conversation] or "(untitled)"
            current = conversation == state.conversation_id
            if st.button(label, key=f"open-{conversation}", disabled=current, use_container_width=True):
                open_conversation(state, conversation)
                st.rerun()

st.title("Chat")
if notice:
    st.info(notice)

history = storage.messages(state.conversation_id) if state.conversation_id else []
for message in history:
    show_message(storage, message)

question = st.chat_input("Ask a question about the product")
if question:
    if state.conversation_id is None:
        open_conversation(state, storage.new_conversation(title=question[:TITLE_CHARS]))
    with st.chat_message("user"):
        st.markdown(neutralise_images(question))
    with st.chat_message("assistant"):
        try:
            stream = resources.assistant(settings).stream(
                question, [message.as_turn() for message in history], mode=mode, adapter=adapter
            )
            st.write_stream(safe_pieces(stream))
        except (AssistantError, GenerationError) as error:
            st.error(str(error))
        else:
            storage.add_exchange(state.conversation_id, question, stream.answer)
            show_sources(stream.answer.to_dict()["sources"], abstained=stream.answer.abstained)
            st.rerun()
