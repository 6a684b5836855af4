"""Evaluation: the latest evaluation reports (per-mode metrics as charts and a table), the newest
training-methods comparison and the A/B vote results."""

import streamlit as st

from ui import resources
from ui.blind import scoreboard, scoreboard_rows
from ui.eval_reports import EvalRun, eval_runs, metric_table
from ui.methods_report import newest_methods_report
from ui.render import neutralise_images


def show_run(run: EvalRun) -> None:
    if run.error:
        st.error(run.error)
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


settings = resources.settings()
st.title("Evaluation")
runs = eval_runs(settings.home)
if runs:
    by_name = {run.name: run for run in runs}
    show_run(by_name[st.selectbox("Evaluation run", list(by_name))])
else:
    st.info(
        f"No evaluation reports yet under {settings.home / 'eval'}. Run an evaluation from the command line "
        "(see `tunedesk --help`); its report appears here."
    )

st.subheader("Training methods side by side")
methods_report = newest_methods_report(settings.home)
if methods_report is None:
    st.caption(
        "No comparison yet: `tunedesk methods DATA` trains each method on the same data and writes one."
    )
else:
    st.caption(f"The newest comparison, {methods_report.name}.")
    if methods_report.chart is not None:
        st.image(str(methods_report.chart))
    st.markdown(methods_report.table)

st.subheader("Blind A/B votes")
scores = scoreboard(resources.storage(settings).votes())
if scores:
    st.dataframe(scoreboard_rows(scores), hide_index=True, use_container_width=True)
else:
    st.caption("No votes yet: compare answers blind on the Compare page.")
