"""Compare: one question answered by baseline vs tuned+rag, by all four modes (plus, when asked, the two
fewshot modes), or blind A/B with a vote."""

import streamlit as st

from assistant.answer import CORE_MODES, FEWSHOT_MODES, MODES, Answer
from assistant.engine import Assistant, AssistantError
from assistant.generation import GenerationError
from assistant.storage import Storage
from ui import resources
from ui.blind import VOTE_LABELS, BlindRound, scoreboard, scoreboard_rows, system_name
from ui.render import neutralise_images
from ui.state import SessionState, session
from ui.views import show_answer

SIDE_BY_SIDE = ("base", "tuned+rag")


def ask_all(
    assistant: Assistant, state: SessionState, question: str, modes, adapter: str | None, ready
) -> None:
    """Answer `question` in each mode that can run now; the results stay in the session for reruns."""
    state.compare_question, state.compare_answers, state.compare_errors = question, {}, {}
    for mode in modes:
        reason = ready(mode)
        if reason:
            state.compare_errors[mode] = reason
            continue
        try:
            state.compare_answers[mode] = assistant.answer(question, mode=mode, adapter=adapter).to_dict()
        except (AssistantError, GenerationError) as error:
            state.compare_errors[mode] = str(error)


def show_columns(state: SessionState, modes) -> None:
    for column, mode in zip(st.columns(len(modes)), modes, strict=True):
        with column:
            st.subheader(mode)
            if mode in state.compare_answers:
                show_answer(state.compare_answers[mode])
            elif mode in state.compare_errors:
                st.warning(f"{mode}: {state.compare_errors[mode]}")


def side_by_side(assistant, state, adapter, ready, modes, key: str) -> None:
    with st.form(key):
        question = st.text_input("Question", value=state.compare_question)
        asked = st.form_submit_button("Compare")
    if asked and question.strip():
        with st.spinner(f"Answering in {len(modes)} modes…"):
            ask_all(assistant, state, question, modes, adapter, ready)
    if state.compare_question and set(modes) <= set(state.compare_answers) | set(state.compare_errors):
        show_columns(state, modes)


def blind(assistant: Assistant, storage: Storage, state: SessionState, adapter, ready) -> None:
    offered = [mode for mode in MODES if ready(mode) is None]
    if len(offered) < 2:
        st.info("Blind comparison needs two modes that can run; add documents or train an adapter first.")
        return
    with st.form("blind"):
        left, right = st.columns(2)
        first = left.selectbox("System 1", offered, index=0)
        second = right.selectbox("System 2", offered, index=len(offered) - 1)
        question = st.text_input("Question", key="blind_question")
        asked = st.form_submit_button("Get two anonymous answers")
    if asked and question.strip():
        if first == second:
            st.warning("Choose two different systems.")
        else:
            try:
                with st.spinner("Answering twice…"):
                    answers = [
                        assistant.answer(question, mode=mode, adapter=adapter) for mode in (first, second)
                    ]
                state.blind = BlindRound.shuffled(question, *answers)
            except (AssistantError, GenerationError) as error:
                st.error(str(error))
    round_ = state.blind
    if round_ is None:
        return
    st.markdown(f"**Question:** {neutralise_images(round_.question)}")
    for column, label, answer in zip(st.columns(2), "AB", (round_.a, round_.b), strict=True):
        with column:
            st.subheader(
                f"Answer {label}"
                + (f" — {system_name(answer.mode, answer.adapter)}" if round_.revealed else "")
            )
            show_blind_answer(answer, round_.revealed)
    if round_.revealed:
        st.success(f"You voted: {VOTE_LABELS[round_.vote]}. Ask another question for a new round.")
        return
    for column, (vote, label) in zip(st.columns(len(VOTE_LABELS)), VOTE_LABELS.items(), strict=True):
        if column.button(label, key=f"vote-{vote}", use_container_width=True):
            round_.cast(vote)
            storage.record_vote(round_.question, round_.a, round_.b, vote)
            st.rerun()


def show_blind_answer(answer: Answer, revealed: bool) -> None:
    # Until the vote, timings and sources stay hidden: they would give the systems away.
    if revealed:
        show_answer(answer.to_dict())
    else:
        st.markdown(neutralise_images(answer.text))


settings = resources.settings()
state = session()
storage = resources.storage(settings)
assistant = resources.assistant(settings)
check = resources.mode_check(settings)
adapter = check.adapter
ready = check.unavailable

st.title("Compare")
two, four, ab = st.tabs(["Baseline vs tuned+rag", "All four modes", "Blind A/B"])
with two:
    side_by_side(assistant, state, adapter, ready, SIDE_BY_SIDE, "compare_two")
with four:
    prompting = st.toggle(
        "Add the fewshot modes",
        help="The base model shown past exchanges from the transcripts: prompt engineering instead of fine-tuning.",
    )
    side_by_side(
        assistant,
        state,
        adapter,
        ready,
        CORE_MODES + FEWSHOT_MODES if prompting else CORE_MODES,
        "compare_four",
    )
with ab:
    blind(assistant, storage, state, adapter, ready)
    st.subheader("Scoreboard")
    scores = scoreboard(storage.votes())
    if scores:
        st.dataframe(scoreboard_rows(scores), hide_index=True, use_container_width=True)
    else:
        st.caption("No votes yet.")
