"""`tunedesk data check` through the real CLI, packaged tokenizer and files: report, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli.app import app


def _run(home: Path, *args: str):
    home.mkdir(exist_ok=True)  # an existing home: stderr then holds only what the check itself says
    return CliRunner().invoke(app, ["--home", str(home), "data", "check", *args])


def _line(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": role, "content": content} for role, content in turns]})


def _good(folder: Path) -> Path:
    path = folder / "good.jsonl"
    lines = [
        _line(
            ("user", f"Can I return router number {i}? Mail me at me{i}@example.com"), ("assistant", "Yes.")
        )
        for i in range(5)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_usable_data_prints_the_report_and_exits_0(tmp_path: Path) -> None:
    result = _run(tmp_path / "home", str(_good(tmp_path)), "--json")

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["conversations_in"] == payload["conversations_kept"] == 5
    assert payload["train"] + payload["validation"] == 5
    assert payload["pii"]["found"] == {"email": 5}
    assert len(payload["data_hash"]) == 64
    assert not (tmp_path / "home" / "models").exists()  # checking data never converts the model


def test_bad_lines_are_reported_and_exit_1_but_the_rest_is_checked(tmp_path: Path) -> None:
    good = _good(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [\n' + _line(("user", "hi"), ("bot", "hello")) + "\n", encoding="utf-8")

    result = _run(tmp_path / "home", str(good), str(bad), "--no-scrub-pii", "--over-long", "drop")

    assert result.exit_code == 1
    assert "conversations kept            5" in result.stdout
    assert f"{bad}:1: not valid JSON" in result.stdout
    assert f"{bad}:2: message 2 has role 'bot'" in result.stdout
    assert "personal data replaced" not in result.stdout
    assert "error: some input could not be parsed" in result.stderr


def test_nothing_usable_exits_1(tmp_path: Path) -> None:
    only_questions = tmp_path / "q.jsonl"
    only_questions.write_text(_line(("user", "anyone?")) + "\n", encoding="utf-8")

    result = _run(tmp_path / "home", str(only_questions))

    assert result.exit_code == 1
    assert "dropped: one_sided" in result.stdout
    assert "error: no usable conversations remain" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = _run(tmp_path, str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr
    bad_flag = _run(tmp_path, str(_good(tmp_path)), "--over-long", "shorten")
    assert bad_flag.exit_code == 2 and "data.over_long" in bad_flag.stderr


def _with_personal_data(folder: Path) -> Path:
    path = folder / "pii.jsonl"
    lines = [
        _line(
            ("user", f"My name is Jonathan Whitaker, the verification code is 48392{i}"),
            ("assistant", f"Thanks, Jonathan. Case {i} is open; never share your PIN is the rule."),
        )
        for i in range(6)
    ]
    lines.append(
        _line(("user", "wifi password is CorrectHorseBatteryStaple"), ("assistant", "Change it now."))
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_write_saves_exactly_what_training_consumes(tmp_path: Path) -> None:
    from core.settings import load_settings
    from finetune.dataset import load_counting_tokenizer, prepare_data
    from finetune.formats import load_all
    from finetune.tokenize import tokenize_conversation

    data = _with_personal_data(tmp_path)
    written = tmp_path / "checked.jsonl"
    result = _run(tmp_path / "home", str(data), "--write", str(written), "--eval", str(_questions(tmp_path)))
    assert result.exit_code == 0, result.output
    assert f"wrote 7 conversations to {written}" in result.stdout

    lines = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()]
    assert "Jonathan" not in written.read_text() and "CorrectHorse" not in written.read_text()
    assert any(line["messages"][0]["content"] == "wifi password is <SECRET>" for line in lines)
    # What the training code builds from the same files with the same settings, split for split.
    options = load_settings(home=tmp_path / "home").data.model_copy(
        update={"scrub_pii": True, "eval_questions": _questions(tmp_path)}
    )
    tokenizer = load_counting_tokenizer("SmolLM2-135M-Instruct", tmp_path / "home" / "models")
    prepared = prepare_data([data], tokenizer, options)
    assert [line for line in lines if line["split"] == "train"] == [
        {"split": "train"} | c.to_openai() for c in prepared.train
    ]
    assert [line for line in lines if line["split"] == "validation"] == [
        {"split": "validation"} | c.to_openai() for c in prepared.validation
    ]
    # The file loads back as training data and tokenizes to the same ids.
    loaded, problems = load_all([written])
    assert not problems
    ids = [tokenize_conversation(c, tokenizer, max_tokens=1024)["input_ids"] for c in loaded]
    expected = prepared.train + prepared.validation
    assert ids == [tokenize_conversation(c, tokenizer, max_tokens=1024)["input_ids"] for c in expected]


def _questions(folder: Path, *questions: str) -> Path:
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps({"question": q}) + "\n" for q in questions or ("unrelated?",)))
    return path


def test_eval_questions_leaking_into_training_are_dropped_and_reported(tmp_path: Path) -> None:
    data = tmp_path / "chats.jsonl"
    leaked = "how long do i have to return a blender that i bought online last week"
    data.write_text(
        _line(("user", leaked + "?"), ("assistant", "30 days."))
        + "\n"
        + _line(("user", "Is the jar dishwasher safe?"), ("assistant", "Yes."))
        + "\n",
        encoding="utf-8",
    )
    questions = _questions(
        tmp_path, "How long do I have to return a blender that I bought online?", "Colours?"
    )

    result = _run(tmp_path / "home", str(data), "--eval", str(questions), "--json")

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["eval_questions"] == 2
    # Named, so a user whose questions live elsewhere sees that another file was checked.
    assert payload["eval_questions_file"] == str(questions)
    text = _run(tmp_path / "home", str(data), "--eval", str(questions))
    assert f"2 ({questions})" in text.stdout
    assert payload["dropped"]["eval_leak"] == {"count": 1, "examples": [f"{data}:1 (like eval question 1)"]}
    assert payload["conversations_kept"] == 1


def test_bad_write_target_and_eval_file_get_one_line_errors(tmp_path: Path) -> None:
    data = _good(tmp_path)
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    for target in (tmp_path, a_file / "out.jsonl"):
        result = _run(tmp_path / "home", str(data), "--write", str(target))
        assert result.exit_code == 2 and result.stderr.count("\n") == 1
        assert f"--write {target}: not a file in an existing folder" in result.stderr
    original = data.read_bytes()
    for target in (data, tmp_path / "out.jsonl"):
        into_input = _run(
            tmp_path / "home", str(data) if target == data else str(tmp_path), "--write", str(target)
        )
        assert into_input.exit_code == 2 and "inside the data being checked" in into_input.stderr
    assert data.read_bytes() == original and not (tmp_path / "out.jsonl").exists()
    missing = _run(tmp_path / "home", str(data), "--eval", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "--eval" in missing.stderr and "no such file" in missing.stderr
    bad = tmp_path / "bad_questions.jsonl"
    bad.write_text('{"question": "fine?"}\nnot json\n')
    broken = _run(tmp_path / "home", str(data), "--eval", str(bad))
    assert broken.exit_code == 2 and f"{bad}:2: expected a JSON object" in broken.stderr
    assert broken.stderr.count("\n") == 1


def test_an_unknown_recogniser_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path / "home"), "data", "check", str(_good(tmp_path))],
        env={"TUNEDESK_DATA__PII_NER_MODEL": "no_such_pipeline"},
    )
    assert result.exit_code == 2
    assert "data.pii_ner_model=no_such_pipeline" in result.stderr and result.stderr.count("\n") == 1
