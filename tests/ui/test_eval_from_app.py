"""Evaluations started from the Evaluation page: the run record and the progress the background process
writes, stopping it, a whole run with the tiny model, the questions upload, the admin gate, and paths
shown relative to the home."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ingest.document import IngestError
from ingest.uploads import Upload
from tests.ui.conftest import ADAPTER, QUESTION, write_adapter
from ui.background import alive
from ui.eval_inputs import save_questions
from ui.eval_jobs import ACTIVE, list_jobs, read_job
from ui.eval_reports import eval_runs
from ui.eval_worker import ProgressWriter
from ui.shown_paths import shown_path, without_home

UPLOADED_QUESTIONS = "eval_questions"  # the home layout's folder of uploaded question files

QUESTIONS = [
    {
        "question": QUESTION,
        "answer": "Within 30 days.",
        "sources": ["returns.md"],
        "keywords": ["30 days"],
        "kind": "doc",
    },
    {"question": "What salary do agents make?", "answer": "I don't know.", "kind": "unanswerable"},
]
UPLOAD = ("".join(json.dumps(q) + "\n" for q in QUESTIONS) + '{"question": "no kind"}\n').encode()
NAME = "support-questions.jsonl"


def new_evaluation_tab(app):
    """The Evaluation page with the questions file uploaded; returns the page."""
    page = app("evaluation")
    page.tabs[1].file_uploader[0].set_value((NAME, UPLOAD, "application/jsonl")).run()
    assert not page.exception, [item.value for item in page.exception]
    return page


def click(page, label: str):
    [button] = [button for button in page.tabs[1].button if button.label == label]
    button.click().run()
    assert not page.exception, [item.value for item in page.exception]


def wait_for_end(pid: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_starting_writes_the_run_record_and_progress_and_stop_ends_it(use_empty_home, app):
    page = new_evaluation_tab(app)
    tab = page.tabs[1]
    assert tab.warning[0].value.startswith(f"1 line(s) will be skipped, e.g. {NAME}:3: field 'kind'")
    assert tab.selectbox[0].value == f"<home>/{UPLOADED_QUESTIONS}/{NAME}"
    assert tab.multiselect[0].value == ["base"]  # no documents and no adapter in this home
    assert tab.number_input[0].value == 2

    click(page, "Start evaluation")
    [job] = list_jobs(use_empty_home)
    try:
        request = json.loads((job.folder / "request.json").read_text(encoding="utf-8"))
        assert request["modes"] == ["base"] and request["adapter"] is None and request["limit"] is None
        assert Path(request["questions"]) == (use_empty_home / UPLOADED_QUESTIONS / NAME).resolve()
        assert request["settings"]["home"] == str(use_empty_home)
        progress = json.loads((job.folder / "progress.json").read_text(encoding="utf-8"))
        assert progress["status"] in ACTIVE and progress["pid"] == job.pid and alive(job.pid)
        assert job.folder.parent == use_empty_home / "eval"
        assert page.tabs[1].markdown[-1].value.startswith(f"**{job.name}** — ")

        click(page, "Start evaluation")  # a second one waits for the first
        assert page.tabs[1].error[0].value == (
            f"evaluation {job.name} is still running; wait for it or stop it first"
        )
        assert len(list_jobs(use_empty_home)) == 1

        click(page, "Stop")
        wait_for_end(job.pid)
        stopped = read_job(job.folder)
        assert stopped.status == "stopped" and not stopped.active and not alive(job.pid)
        assert eval_runs(use_empty_home) == []  # no report from a stopped run
    finally:
        if alive(job.pid):
            os.killpg(job.pid, 9)


@pytest.mark.slow
def test_a_background_evaluation_counts_answers_per_mode_and_publishes_its_report(
    use_empty_home, tiny_model_dir, app
):
    write_adapter(use_empty_home / "adapters", tiny_model_dir, ADAPTER)
    page = new_evaluation_tab(app)
    assert page.tabs[1].multiselect[0].value == ["base", "tuned"]
    assert page.tabs[1].selectbox[1].value == ADAPTER
    click(page, "Start evaluation")
    [job] = list_jobs(use_empty_home)

    deadline = time.monotonic() + 300
    while (job := read_job(job.folder)).active and time.monotonic() < deadline:
        time.sleep(1)
    assert job.status == "done", job.error
    assert job.modes == {"base": (2, 2), "tuned": (2, 2)} and job.fraction == 1.0
    [run] = eval_runs(use_empty_home / "eval")
    assert run.name == job.name and set(run.metrics) == {"base", "tuned"}
    results = json.loads((job.folder / "results.json").read_text(encoding="utf-8"))
    assert results["setup"]["adapter"] == ADAPTER and results["setup"]["questions_file"] == NAME
    assert [len(record["modes"]) for record in results["answers"]] == [2, 2]

    page.run()
    assert page.tabs[0].selectbox[0].value == job.name  # the new report is the one shown
    assert any(f"Report {job.name} is ready" in item.value for item in page.tabs[1].success)


def test_progress_writer_counts_answers_and_says_when_the_answers_are_done(tmp_path):
    writer = ProgressWriter(tmp_path)
    for mode in ("base", "rag"):
        writer(mode, 0, 2)
    writer("base", 2, 2)
    progress = json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))
    assert progress == {"status": "evaluating", "modes": {"base": [2, 2], "rag": [0, 2]}}
    writer("rag", 2, 2)
    assert json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))["status"] == "finishing"


def test_the_admin_gate_guards_starting_but_not_reading(use_empty_home, monkeypatch, app):
    monkeypatch.setenv("TUNEDESK_UI__ADMIN_PASSWORD", "s3cret")
    page = app("evaluation")
    assert not page.tabs[1].file_uploader and [button.label for button in page.tabs[1].button] == ["Unlock"]
    assert page.info[0].value.startswith("No evaluation reports yet")  # reports stay readable
    page.tabs[1].text_input[0].set_value("s3cret")
    page.tabs[1].button[0].click().run()
    assert page.tabs[1].file_uploader


def test_an_upload_without_valid_questions_is_refused_and_keeps_the_good_file(tmp_path):
    saved, skipped = save_questions(Upload(NAME, UPLOAD), tmp_path, max_bytes=2**20)
    assert saved == tmp_path / UPLOADED_QUESTIONS / NAME and len(skipped) == 1
    with pytest.raises(
        IngestError, match=rf"^{NAME}: no valid question; first problem: {NAME}:1: not valid JSON"
    ):
        save_questions(Upload(NAME, b"not json\n"), tmp_path, max_bytes=2**20)
    assert saved.read_bytes() == UPLOAD
    with pytest.raises(IngestError, match=r"^questions\.csv: questions must be a \.jsonl file"):
        save_questions(Upload("questions.csv", UPLOAD), tmp_path, max_bytes=2**20)
    with pytest.raises(IngestError, match=r"ingest\.max_file_mb"):
        save_questions(Upload("big.jsonl", UPLOAD), tmp_path, max_bytes=10)


def test_paths_are_shown_under_the_home_or_the_working_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.chdir(tmp_path)
    assert shown_path(home / "eval" / "x", home) == "<home>/eval/x"
    assert shown_path(home, home) == "<home>"
    assert shown_path(tmp_path / "data" / "q.jsonl", home) == "data/q.jsonl"
    assert shown_path(Path("/elsewhere/q.jsonl"), home) == "/elsewhere/q.jsonl"
    message = f"{home.resolve()}/eval/x/results.json: unreadable"
    assert without_home(message, home) == "<home>/eval/x/results.json: unreadable"
    assert without_home(message, Path("home")) == "<home>/eval/x/results.json: unreadable"  # a relative home
