"""Training: pick transcripts, check the data, train a LoRA adapter in the background, see its memorisation
check and promotion, choose the active adapter."""

from pathlib import Path

import streamlit as st

from assistant.adapter_choice import store_choice, switchable
from core.settings import Settings, SettingsError, override
from finetune.adapters import AdapterError, read_active
from ingest.uploads import Upload
from ui import resources
from ui.auth import admin_gate
from ui.shown_paths import without_home
from ui.state import SessionState, session
from ui.training_data import TRANSCRIPT_SUFFIXES, adapter_rows, check_data, data_files, save_transcripts
from ui.training_runs import RunError, list_runs, log_tail, read_run, start_run, stop_run

REFRESH_S = 2


def choose_data(settings: Settings) -> list[Path]:
    st.subheader("1. Transcripts")
    uploaded = st.file_uploader(
        f"Upload transcript files ({' '.join(TRANSCRIPT_SUFFIXES)})", accept_multiple_files=True
    )
    saved, errors = save_transcripts(
        [Upload(file.name, file.getvalue()) for file in uploaded or []],
        settings.layout.transcripts,
        max_bytes=int(settings.ingest.max_file_mb * 2**20),
    )
    for error in errors:
        st.error(error)
    found = data_files(Path("data"))
    picked = st.multiselect(
        "…or pick files from data/",
        [str(path) for path in found],
        default=[str(path) for path in found if path.parent.name == "transcripts"],
    )
    return saved + [Path(name) for name in picked]


def data_report(settings: Settings, paths: list[Path]) -> None:
    if not st.button("Check data", disabled=not paths):
        return
    with st.spinner("Loading, cleaning and splitting…"):
        report = check_data(settings, paths)
    left, middle, right = st.columns(3)
    left.metric("Conversations kept", f"{report['conversations_kept']} of {report['conversations_in']}")
    middle.metric("Train / validation", f"{report['train']} / {report['validation']}")
    right.metric("PII replaced", sum(report.get("pii_found", {}).values()))
    (st.success if report["usable"] else st.error)(report["summary"])
    with st.expander("Full report"):
        st.json(report)


def start_form(settings: Settings, state: SessionState, paths: list[Path]) -> None:
    st.subheader("2. Train")
    with st.form("train"):
        name = st.text_input("Adapter name", value="support")
        left, right = st.columns(2)
        max_steps = left.number_input(
            "Max steps (-1 = all epochs)", value=settings.training.max_steps, step=10
        )
        epochs = right.number_input("Epochs", value=float(settings.training.epochs), min_value=0.1, step=0.5)
        force = st.checkbox("Replace an adapter of the same name")
        started = st.form_submit_button("Start training", disabled=not paths)
    if not started:
        return
    try:
        run_settings = override(
            settings, **{"training.max_steps": int(max_steps), "training.epochs": float(epochs)}
        )
        run = start_run(run_settings, paths, name.strip(), force=force)
    except (RunError, AdapterError, SettingsError) as error:
        st.error(without_home(str(error), settings.home))
        return
    state.training_run = run.name
    st.toast(f"Training {run.name} started")


@st.fragment(run_every=REFRESH_S)
def live_progress(folder: Path, home: Path) -> None:
    run = read_run(folder)
    st.markdown(f"**{run.name}** — {run.status}")
    st.progress(run.fraction, text=f"step {run.step} of {run.max_steps or '?'}")
    if run.losses:
        st.line_chart({"training loss": dict(run.losses)}, x_label="step", y_label="loss")
    if run.error:
        st.error(without_home(run.error, home))
    if run.status == "checking":
        st.info("Checking the adapter for memorised secrets and comparing it with the active one…")
    if run.status == "done":
        st.success(f"Adapter {run.name} is ready.")
        show_review(run.review)
    if run.active and st.button("Stop", key=f"stop-{run.name}"):
        stop_run(run)
    with st.expander("Log"):
        st.code(without_home(log_tail(folder), home) or "(empty)", language=None)


def show_review(review: dict) -> None:
    """The memorisation check and the promotion decision of a finished run."""
    memorisation = review.get("memorisation")
    if memorisation:
        leaks = memorisation["leaks"]
        if memorisation["passed"]:
            st.success(f"Memorisation check passed: {memorisation['samples']} samples, no secret came out.")
        else:
            values = ", ".join(f"{leak['kind']} {leak['value']!r}" for leak in leaks[:3])
            st.error(
                f"Memorisation check FAILED: {len(leaks)} secrets of the transcripts came out ({values})."
            )
    promotion = review.get("promotion")
    if promotion:
        (st.success if promotion["promoted"] else st.warning)(f"Promotion: {promotion['reason']}")


def progress_section(settings: Settings, state: SessionState) -> None:
    runs = list_runs(settings.layout.training)
    if not runs:
        return
    st.subheader("Runs")
    names = [run.name for run in runs]
    watched = state.training_run if state.training_run in names else names[0]
    state.training_run = st.selectbox("Run", names, index=names.index(watched))
    live_progress(settings.layout.training / state.training_run, settings.home)


def adapters_section(settings: Settings) -> None:
    st.subheader("3. Adapters")
    found = resources.adapters(settings)
    if not found:
        st.info("No adapters yet: train one above, or run `tunedesk train DATA --name NAME`.")
        return
    st.dataframe(adapter_rows(found), hide_index=True, use_container_width=True)
    # Full fine-tunes are listed but cannot be chosen: the tuned modes switch adapters on the base model.
    names = [info.name for info in switchable(found)]
    if not names:
        return
    active = resources.chosen_adapter(settings)
    configured = settings.assistant.adapter
    if configured:
        st.caption(
            f"The setting assistant.adapter = {configured} chooses the adapter; unset it to choose here."
        )
    else:
        record = read_active(settings.layout.active_adapter_file)
        reason = record.get("reason") if record.get("adapter") == active else None
        st.caption(f"Active adapter: **{active}**" + (f" — {reason}" if reason else " (the newest)"))
    chosen = st.radio(
        "Active adapter (used by the tuned modes)",
        names,
        index=names.index(active) if active in names else 0,
        disabled=bool(configured),
    )
    if chosen != active and st.button("Use this adapter"):
        store_choice(settings.layout.active_adapter_file, chosen)
        st.rerun()


settings = resources.settings()
state = session()
st.title("Training")
if admin_gate(settings.ui.admin_password):
    paths = choose_data(settings)
    data_report(settings, paths)
    start_form(settings, state, paths)
    progress_section(settings, state)
    adapters_section(settings)
