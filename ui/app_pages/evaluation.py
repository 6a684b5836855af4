"""Evaluation: read the reports (per-mode metrics, charts), start an evaluation in the background with live
progress, compare two runs, the newest training-methods comparison and the A/B vote results."""

from dataclasses import replace
from pathlib import Path

import streamlit as st

from assistant.answer import MODES, uses_adapter
from assistant.evaluation.compare import metric_changes, question_changes
from assistant.evaluation.questions import QuestionsError, load_questions
from assistant.evaluation.report import read_results
from core.settings import Settings
from ingest.document import IngestError
from ingest.uploads import Upload
from ui import resources
from ui.auth import admin_gate
from ui.blind import scoreboard, scoreboard_rows
from ui.eval_inputs import question_files, save_questions
from ui.eval_jobs import RunError, list_jobs, log_tail, read_job, start_eval, stop_eval
from ui.eval_reports import (
    CHANGE_CHART_METRICS,
    RESULTS,
    EvalRun,
    change_chart,
    change_rows,
    eval_runs,
    metric_table,
    question_rows,
)
from ui.methods_report import newest_methods_report
from ui.render import neutralise_images
from ui.shown_paths import shown_path, without_home

REFRESH_S = 2


def show_run(run: EvalRun, home: Path) -> None:
    if run.error:
        st.error(without_home(run.error, home))
        return
    if run.metrics:
        table = metric_table(run.metrics)
        names = [row["metric"] for row in table]
        preferred = next((name for name in names if "keyword" in name), names[0] if names else None)
        if preferred is not None:
            metric = st.selectbox("Metric", names, index=names.index(preferred))
            st.bar_chart(
                {mode: values.get(metric) for mode, values in run.metrics.items()},
                x_label="mode",
                y_label=metric,
            )
        st.dataframe(table, hide_index=True, use_container_width=True)
    else:
        st.caption("This run's results hold no per-mode metrics.")
    for chart in run.charts:
        st.image(str(chart), caption=chart.stem.replace("_", " "))
    if run.report:
        with st.expander("Full report (report.md)"):
            st.markdown(neutralise_images(run.report))


def reports(settings: Settings, runs: list[EvalRun]) -> None:
    if not runs:
        st.info(
            f"No evaluation reports yet under {shown_path(settings.layout.eval, settings.home)}. "
            "Start one under New evaluation, or run `tunedesk eval QUESTIONS.jsonl`; its report appears here."
        )
        return
    by_name = {run.name: run for run in runs}
    show_run(by_name[st.selectbox("Evaluation run", list(by_name))], settings.home)


def choose_questions(settings: Settings) -> Path | None:
    uploaded = st.file_uploader("Upload a questions file (.jsonl, one question per line)")
    saved = None
    if uploaded is not None:
        try:
            saved, skipped = save_questions(
                Upload(uploaded.name, uploaded.getvalue()),
                settings.home,
                max_bytes=int(settings.ingest.max_file_mb * 2**20),
            )
        except IngestError as error:
            st.error(str(error))
        else:
            if skipped:
                st.warning(f"{len(skipped)} line(s) will be skipped, e.g. {skipped[0]}")
    files = question_files(settings.data.eval_questions, settings.home)
    if not files:
        st.info("No questions file yet: upload one (see `data/eval/questions.jsonl` for the format).")
        return None
    labels = [shown_path(path, settings.home) for path in files]
    default = saved or settings.data.eval_questions
    index = next((i for i, path in enumerate(files) if default and path.resolve() == default.resolve()), 0)
    return files[labels.index(st.selectbox("Questions file", labels, index=index))]


def start_form(settings: Settings, questions: Path) -> None:
    try:
        valid, _ = load_questions(questions)
    except QuestionsError as error:
        st.error(without_home(str(error), settings.home))
        return
    check = resources.mode_check(settings)
    adapters = list(check.adapters)
    with st.form("evaluate"):
        modes = st.multiselect("Modes", MODES, default=check.available())
        active = resources.chosen_adapter(settings)
        adapter = st.selectbox(
            "Adapter (tuned modes)",
            adapters,
            index=adapters.index(active) if active in adapters else 0,
            disabled=not adapters,
        )
        count = st.number_input(
            f"Questions (of {len(valid)}; fewer are picked evenly across kinds)",
            min_value=1,
            max_value=max(1, len(valid)),
            value=max(1, len(valid)),
        )
        started = st.form_submit_button("Start evaluation", disabled=not valid)
    if not started:
        return
    # The reasons of the adapter chosen here, which may not be the active one.
    chosen = replace(check, adapter=adapter, training=None) if adapter else check
    blocked = [reason for mode in modes if (reason := chosen.unavailable(mode))]
    if blocked:
        st.error("; ".join(blocked))
        return
    try:
        job = start_eval(
            settings,
            questions,
            modes,
            adapter=adapter if any(uses_adapter(mode) for mode in modes) else None,
            limit=int(count) if count < len(valid) else None,
        )
    except (RunError, ValueError) as error:
        st.error(without_home(str(error), settings.home))
        return
    st.toast(f"Evaluation {job.name} started")


@st.fragment(run_every=REFRESH_S)
def live_progress(folder: Path, home: Path, listed: bool) -> None:
    job = read_job(folder)
    if job.status == "done" and not listed and (folder / RESULTS).is_file():
        st.rerun()  # the whole page, so that the reports list and the comparison see the new report
    done = sum(answered for answered, _ in job.modes.values())
    total = sum(questions for _, questions in job.modes.values())
    st.markdown(f"**{job.name}** — {job.status}")
    st.progress(job.fraction, text=f"{done} of {total or '?'} answers")
    for mode, (answered, questions) in job.modes.items():
        st.progress(answered / questions if questions else 0.0, text=f"{mode}: {answered} of {questions}")
    if job.error:
        st.error(without_home(job.error, home))
    if job.status == "done":
        st.success(f"Report {job.name} is ready: read it under Reports, or compare it under Compare runs.")
    if job.active and st.button("Stop", key=f"stop-{job.name}"):
        stop_eval(job)
    with st.expander("Log"):
        st.code(without_home(log_tail(folder), home) or "(empty)", language=None)


def new_evaluation(settings: Settings, listed: set[str]) -> None:
    questions = choose_questions(settings)
    if questions is not None:
        start_form(settings, questions)
    jobs = list_jobs(settings.home)
    if jobs:
        st.subheader("Latest evaluation started here")
        live_progress(jobs[0].folder, settings.home, jobs[0].name in listed)


def compare_runs(settings: Settings, runs: list[EvalRun]) -> None:
    if len(runs) < 2:
        st.caption("Comparing needs two evaluation runs with reports.")
        return
    names = [run.name for run in runs]
    left, right = st.columns(2)
    first = left.selectbox("Run A (before)", names, index=1)
    second = right.selectbox("Run B (after)", names, index=0)
    if first == second:
        st.warning("Choose two different runs.")
        return
    folders = {run.name: run.folder for run in runs}
    try:
        a, b = read_results(folders[first]), read_results(folders[second])
    except ValueError as error:
        st.error(without_home(str(error), settings.home))
        return
    changes = metric_changes(a, b)
    if not changes:
        st.info("These runs share no mode with figures to compare.")
        return
    present = list(dict.fromkeys(item.metric for item in changes))
    charted = st.multiselect(
        "Metrics to chart", present, default=[name for name in CHANGE_CHART_METRICS if name in present]
    )
    if charted:
        st.bar_chart(change_chart(changes, charted), stack=False, x_label="metric", y_label="change (B − A)")
    st.dataframe(change_rows(changes), hide_index=True, width="stretch")
    answers = question_changes(a, b)
    better = sum(item.better for item in answers)
    st.markdown(f"**Answers that changed**: {better} better, {len(answers) - better} worse")
    if answers:
        st.dataframe(question_rows(answers), hide_index=True, width="stretch")


settings = resources.settings()
st.title("Evaluation")
runs = eval_runs(settings.layout.eval)
reports_tab, new_tab, compare_tab, methods_tab, votes_tab = st.tabs(
    ["Reports", "New evaluation", "Compare runs", "Training methods", "Blind A/B votes"]
)
with reports_tab:
    reports(settings, runs)
with new_tab:
    if admin_gate(settings.ui.admin_password):
        new_evaluation(settings, {run.name for run in runs})
with compare_tab:
    compare_runs(settings, runs)
with methods_tab:
    methods_report = newest_methods_report(settings.layout.eval)
    if methods_report is None:
        st.caption(
            "No comparison yet: `tunedesk methods DATA` trains each method on the same data and writes one."
        )
    else:
        st.caption(f"The newest comparison, {methods_report.name}.")
        if methods_report.chart is not None:
            st.image(str(methods_report.chart))
        st.markdown(methods_report.table)
with votes_tab:
    scores = scoreboard(resources.storage(settings).votes())
    if scores:
        st.dataframe(scoreboard_rows(scores), hide_index=True, use_container_width=True)
    else:
        st.caption("No votes yet: compare answers blind on the Compare page.")
