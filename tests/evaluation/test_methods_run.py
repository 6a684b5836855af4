"""`tunedesk methods` on a tiny made-up domain (a ferry line): every method trains in its own process on the
tiny random Llama, and one table, chart and JSON file come out, with tuned+rag answer metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app

FERRY_DOCS = {
    "tickets.md": "# Tickets\n\nA Marrowfen ferry day ticket costs 9 crowns and is valid on every crossing "
    "until midnight. Bicycles travel free on the lower deck.\n",
    "timetable.md": "# Timetable\n\nThe first boat leaves Quillby pier at 06:40 and the last returns from "
    "Harth at 22:15. In fog the crossings wait at the pier.\n",
}
FERRY_QUESTIONS = [
    {
        "question": "How much is a Marrowfen ferry day ticket?",
        "answer": "A day ticket costs 9 crowns.",
        "sources": ["tickets.md"],
        "keywords": ["9 crowns"],
        "kind": "doc",
    },
    {
        "question": "When does the first boat leave Quillby pier?",
        "answer": "The first boat leaves at 06:40.",
        "sources": ["timetable.md"],
        "keywords": ["06:40"],
        "kind": "doc",
    },
]
PLACES = ("Quillby", "Harth", "Marrowfen", "the lower deck", "the upper deck", "pier two")


def write_ferry_chats(path: Path, count: int = 12) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for index in range(count):
            place = PLACES[index % len(PLACES)]
            messages = [
                {
                    "role": "user",
                    "content": f"Chat {index}: can I take my bicycle to {place} at {index + 7}:00?",
                },
                {
                    "role": "assistant",
                    "content": f"Yes, bicycles ride free to {place}; board {index + 3} minutes early.",
                },
            ]
            stream.write(json.dumps({"messages": messages}) + "\n")
    return path


@pytest.fixture()
def ferry(tmp_path, monkeypatch, tiny_model_dir) -> dict[str, Path]:
    from assistant.builders import open_knowledge_base
    from core.settings import load_settings

    for key, value in {
        "TUNEDESK_DEVICE": "cpu",
        "TUNEDESK_MODEL__BASE": str(tiny_model_dir),
        "TUNEDESK_GENERATION__MAX_NEW_TOKENS": "8",
        "TUNEDESK_ASSISTANT__MIN_SCORE": "0.0",
        "TUNEDESK_DATA__VALIDATION_FRACTION": "0.25",
        "TUNEDESK_DATA__MAX_TOKENS": "256",
        "TUNEDESK_TRAINING__BATCH_SIZE": "2",
        "TUNEDESK_TRAINING__LEARNING_RATE": "0.01",
        "TUNEDESK_TRAINING__EARLY_STOPPING_PATIENCE": "0",
    }.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in FERRY_DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    with open_knowledge_base(load_settings(home=home)) as knowledge_base:
        assert not knowledge_base.ingest([docs]).failed
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in FERRY_QUESTIONS), encoding="utf-8")
    return {"home": home, "chats": write_ferry_chats(tmp_path / "chats.jsonl"), "questions": questions}


@pytest.mark.slow  # one training process per method, then an evaluation per adapter
def test_methods_writes_one_table_chart_and_json(ferry):
    home = ferry["home"]
    args = ["--home", str(home), "methods", str(ferry["chats"]), "--methods", "lora,prompt,full"]
    result = CliRunner().invoke(app, [*args, "--max-steps", "3", "--eval", str(ferry["questions"])])
    assert result.exit_code == 0, result.output

    [folder] = (home / "eval").glob("methods-*")
    rows = json.loads((folder / "methods.json").read_text())["methods"]
    assert [row["method"] for row in rows] == ["lora", "prompt", "full"]
    by_method = {row["method"]: row for row in rows}
    # Prompt tuning learns 20 virtual tokens x 64 dimensions; a full fine-tune every weight of the model.
    assert by_method["prompt"]["trainable_params"] == 20 * 64
    assert by_method["full"]["trainable_share"] == 1.0
    assert by_method["lora"]["trainable_params"] < by_method["full"]["trainable_params"]
    for row in rows:
        assert row["steps"] == 3 and row["peak_memory_mb"] > 100 and row["tokens_per_s"] > 0
        assert row["validation_ppl"]["after"] < row["validation_ppl"]["before"]
        assert 0 <= row["probe_accuracy"]["after"] <= 1 and isinstance(row["forgetting"], bool)
    # Answers of the tuned+rag mode for each adapter; a full fine-tune is no adapter.
    assert 0 <= by_method["lora"]["answers"]["keyword_accuracy"] <= 1 and "answers" not in by_method["full"]
    table = (folder / "methods.md").read_text()
    assert "| prompt | 1,280 |" in table and "## Answers of the tuned+rag mode" in table
    assert (folder / "methods.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The comparison's adapters are removed afterwards: the tuned modes keep the adapter they had.
    assert not any((home / "adapters").glob("methods-*"))


def test_unknown_method_is_a_usage_error(ferry):
    result = CliRunner().invoke(
        app, ["--home", str(ferry["home"]), "methods", str(ferry["chats"]), "--methods", "lora,adapterx"]
    )
    assert result.exit_code == 2
    assert "--methods 'lora,adapterx'" in result.output
