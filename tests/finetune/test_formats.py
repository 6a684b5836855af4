"""Loading conversations from JSONL, JSON, CSV and plain-text transcripts, bad lines included."""

from __future__ import annotations

import json
from pathlib import Path

from finetune.conversation import Conversation, Message
from finetune.formats import load_all, load_conversations


def _chat(*pairs: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": role, "content": content} for role, content in pairs]})


def test_jsonl_keeps_good_lines_and_names_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    lines = [
        _chat(("user", "My router blinks amber."), ("assistant", "Restart the modem first.")),
        '{"messages": [{"role": "user", "content": "broken"',  # malformed JSON
        _chat(("user", "Hi"), ("bot", "Hello")),  # bad role
        "",
        '{"prompt": "no messages key"}',
        _chat(("system", "Be brief."), ("user", "Price?"), ("assistant", "$129.")),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    conversations, problems = load_conversations(path)

    assert [c.origin for c in conversations] == [f"{path}:1", f"{path}:6"]
    assert conversations[0].messages == (
        Message("user", "My router blinks amber."),
        Message("assistant", "Restart the modem first."),
    )
    assert [(p.origin, p.kind) for p in problems] == [
        (f"{path}:2", "malformed"),
        (f"{path}:3", "bad_role"),
        (f"{path}:5", "malformed"),
    ]
    assert "not valid JSON" in problems[0].reason and "fix or remove the line" in problems[0].reason
    assert "'bot'" in problems[1].reason and "system, user or assistant" in problems[1].reason


def test_json_array_and_content_parts(tmp_path: Path) -> None:
    path = tmp_path / "chats.json"
    record = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Reset "}, {"type": "text", "text": "how?"}],
            },
            {"role": "assistant", "content": "Hold the button 10 seconds."},
        ]
    }
    path.write_text(json.dumps([record, {"messages": "nope"}]), encoding="utf-8")

    conversations, problems = load_conversations(path)

    assert conversations[0].messages[0] == Message("user", "Reset how?")
    assert conversations[0].origin == f"{path}[0]"
    assert [p.origin for p in problems] == [f"{path}[1]"]


def test_csv_column_pairs_and_short_rows(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        'Question,Answer\n"How long is the warranty?","Two years for the Halo Router."\nonly one field\n'
        '"Multi\nline?","Yes."\n',
        encoding="utf-8",
    )

    conversations, problems = load_conversations(path)

    assert [c.to_openai()["messages"] for c in conversations] == [
        [
            {"role": "user", "content": "How long is the warranty?"},
            {"role": "assistant", "content": "Two years for the Halo Router."},
        ],
        [{"role": "user", "content": "Multi\nline?"}, {"role": "assistant", "content": "Yes."}],
    ]
    assert [c.origin for c in conversations] == [f"{path}:2", f"{path}:4"]
    assert [p.origin for p in problems] == [f"{path}:3"]
    assert "fields" in problems[0].reason


def test_csv_without_known_columns_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    conversations, problems = load_conversations(path)

    assert conversations == []
    assert len(problems) == 1 and "instruction/response" in problems[0].reason


def test_transcript_blocks_speakers_and_continuations(tmp_path: Path) -> None:
    path = tmp_path / "chats.txt"
    path.write_text(
        "Chat 1042\n"
        "CUSTOMER: my light is amber\n"
        "Agent (Maria): Let's restart the modem.\n"
        "Unplug it for 30 seconds.\n"
        "caller: ok done\n"
        "Support: Great!\n"
        "\n"
        "=== Chat 1043 ===\n"
        "\n"
        "[10:32] Client: Can I return it?\n"
        "Customer Support: Yes, within 30 days.\n",
        encoding="utf-8",
    )

    conversations, problems = load_conversations(path)

    assert [c.to_openai()["messages"] for c in conversations] == [
        [
            {"role": "user", "content": "my light is amber"},
            {"role": "assistant", "content": "Let's restart the modem.\nUnplug it for 30 seconds."},
            {"role": "user", "content": "ok done"},
            {"role": "assistant", "content": "Great!"},
        ],
        [
            {"role": "user", "content": "Can I return it?"},
            {"role": "assistant", "content": "Yes, within 30 days."},
        ],
    ]
    assert [c.origin for c in conversations] == [f"{path}:1", f"{path}:10"]
    assert [(p.origin, p.kind) for p in problems] == [
        (f"{path}:1", "ignored_text"),
        (f"{path}:8", "ignored_text"),
    ]


def test_a_chat_file_without_any_speaker_label_we_read_is_one_problem_not_one_per_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rider.txt"
    path.write_text("Rider: the dock won't release my bike\nStaff: Hold the button for 3 seconds.\n" * 5)
    conversations, problems = load_conversations(path)
    assert conversations == []
    assert [(problem.origin, problem.kind) for problem in problems] == [(str(path), "ignored_text")]
    assert "no line starts with a speaker label" in problems[0].reason and "'Customer:'" in problems[0].reason


def test_transcript_with_blank_lines_between_turns_is_one_conversation(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("User: hello\n\nAssistant: hi, how can I help?\n\nUser: thanks\n", encoding="utf-8")

    conversations, _ = load_conversations(path)

    assert len(conversations) == 1
    assert [m.role for m in conversations[0].messages] == ["user", "assistant", "user"]


def test_load_all_walks_folders_sorted_and_survives_bad_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.jsonl").write_text(_chat(("user", "2"), ("assistant", "two")), encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(_chat(("user", "1"), ("assistant", "one")), encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00garbage\xff")
    (tmp_path / "notes.md").write_text("ignored: not a data suffix", encoding="utf-8")

    conversations, problems = load_all([tmp_path, tmp_path / "missing.jsonl"])

    assert [c.messages[1].content for c in conversations] == ["one", "two"]
    assert sorted(p.kind for p in problems) == ["unreadable", "unreadable"]
    assert any("bad.txt" in p.origin and "UTF-8" in p.reason for p in problems)


def test_to_openai_round_trip() -> None:
    conversation = Conversation((Message("user", "q"), Message("assistant", "a")), "x:1")
    assert conversation.to_openai() == {
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    }
