"""SQLite storage: round trips, concurrent writers (threads and processes), migrations, a killed writer."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from assistant.answer import Answer, Source, Timings
from assistant.storage import MIGRATIONS, SCHEMA_VERSION, Storage, StorageError

REPO = Path(__file__).resolve().parents[2]


def sample_answer(mode="tuned+rag", adapter="beta", text="30 days [1].") -> Answer:
    return Answer(
        text=text,
        mode=mode,
        adapter=adapter,
        sources=[Source(1, "d1", "/docs/returns.md", "Returns", None, 0.71, "Returns within 30 days.")],
        prompt_tokens=120,
        completion_tokens=6,
        timings=Timings(
            retrieval_ms=12.5, prompt_ms=1.0, first_token_ms=80.0, total_ms=300.0, tokens_per_s=20.0
        ),
    )


def test_round_trip_of_conversations_messages_feedback_and_votes(tmp_path):
    storage = Storage(tmp_path / "chat.sqlite3")
    assert storage.schema_version() == SCHEMA_VERSION
    conversation = storage.new_conversation("returns")
    answer_id = storage.add_exchange(conversation, "How long to return?", sample_answer())
    user, assistant = storage.messages(conversation)
    assert (user.role, user.content, user.mode, user.sources) == ("user", "How long to return?", None, [])
    assert assistant.id == answer_id
    assert (assistant.content, assistant.mode, assistant.adapter) == ("30 days [1].", "tuned+rag", "beta")
    assert assistant.sources == [
        {
            "number": 1,
            "doc_id": "d1",
            "source": "/docs/returns.md",
            "title": "Returns",
            "page": None,
            "score": 0.71,
            "text": "Returns within 30 days.",
            "headings": [],
            "cited": False,  # set by the engine; this answer was built by hand
        }
    ]
    assert assistant.timings["first_token_ms"] == 80.0 and assistant.timings["tokens_per_s"] == 20.0
    assert (assistant.prompt_tokens, assistant.completion_tokens, assistant.abstained) == (120, 6, False)
    assert [turn.as_turn() for turn in storage.messages(conversation)][1] == {
        "role": "assistant",
        "content": "30 days [1].",
    }

    storage.record_feedback(answer_id, "up", "helpful")
    storage.record_feedback(answer_id, "down")
    assert storage.feedback(answer_id) == [("up", "helpful"), ("down", "")]

    storage.record_vote(
        "How long?", sample_answer("rag", None, "A text"), sample_answer("tuned", "beta", "B text"), "B"
    )
    (vote,) = storage.votes()
    assert (vote.question, vote.mode_a, vote.adapter_a, vote.answer_a) == ("How long?", "rag", None, "A text")
    assert (vote.mode_b, vote.adapter_b, vote.answer_b, vote.vote) == ("tuned", "beta", "B text", "B")
    assert [record.title for record in Storage(tmp_path / "chat.sqlite3").conversations()] == ["returns"]


def test_bad_writes_are_refused_with_a_clear_error_and_store_nothing(tmp_path):
    storage = Storage(tmp_path / "chat.sqlite3")
    conversation = storage.new_conversation()
    answer_id = storage.add_exchange(conversation, "q", sample_answer())
    with pytest.raises(StorageError, match="rating 'meh'"):
        storage.record_feedback(answer_id, "meh")
    with pytest.raises(StorageError, match="message 1: no such answer"):
        storage.record_feedback(answer_id - 1, "up")  # the user's question, not an answer
    with pytest.raises(StorageError, match="vote 'C'"):
        storage.record_vote("q", sample_answer(), sample_answer(), "C")
    with pytest.raises(StorageError, match="conversation 'nope': not found"):
        storage.add_exchange("nope", "q", sample_answer())
    assert (
        len(storage.messages(conversation)) == 2
        and storage.feedback(answer_id) == []
        and storage.votes() == []
    )


def test_concurrent_writers_in_threads_lose_nothing(tmp_path):
    storage = Storage(tmp_path / "chat.sqlite3")
    conversations = [storage.new_conversation(f"c{index}") for index in range(4)]
    errors = []

    def write(conversation: str) -> None:
        try:
            for turn in range(25):
                answer_id = storage.add_exchange(conversation, f"q{turn}", sample_answer(text=f"a{turn}"))
                storage.record_feedback(answer_id, "up")
        except Exception as error:  # reported below; a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=write, args=(conversation,)) for conversation in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for conversation in conversations:
        messages = storage.messages(conversation)
        assert [message.content for message in messages if message.role == "user"] == [
            f"q{turn}" for turn in range(25)
        ]
        assert all(
            storage.feedback(message.id) == [("up", "")]
            for message in messages
            if message.role == "assistant"
        )


WRITER = textwrap.dedent(
    """
    import sys
    from assistant.answer import Answer
    from assistant.storage import Storage

    storage = Storage(sys.argv[1])
    conversation = storage.new_conversation(sys.argv[2])
    for turn in range(int(sys.argv[3])):
        storage.add_exchange(conversation, f"q{turn}", Answer(text=f"a{turn}", mode="rag", adapter=None))
        print(turn, flush=True)
    """
)


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "chat.sqlite3"
    Storage(path)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, "40"], cwd=REPO, stdout=subprocess.DEVNULL
        )
        for name in ("first", "second")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    storage = Storage(path)
    by_title = {record.title: record.id for record in storage.conversations()}
    for name in ("first", "second"):
        assert [m.content for m in storage.messages(by_title[name]) if m.role == "user"] == [
            f"q{i}" for i in range(40)
        ]


def test_a_killed_writer_loses_nothing_it_committed(tmp_path):
    path = tmp_path / "chat.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "doomed", "100000"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    committed = -1
    for line in writer.stdout:
        committed = int(line)
        if committed >= 30:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    storage = Storage(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (conversation,) = storage.conversations()
    messages = storage.messages(conversation.id)
    # Every exchange reported committed is there, whole; at most the one in flight also made it.
    assert len(messages) % 2 == 0
    assert committed + 1 <= len(messages) // 2 <= committed + 2
    assert [m.content for m in messages[:2]] == ["q0", "a0"]
    storage.add_exchange(conversation.id, "after", sample_answer())  # the file is still writable


def test_an_older_schema_is_migrated_in_place_keeping_its_rows(tmp_path):
    path = tmp_path / "chat.sqlite3"
    with sqlite3.connect(path) as connection:  # a file written by the first release: schema version 1
        connection.executescript(MIGRATIONS[0])
        connection.execute("PRAGMA user_version = 1")
        connection.execute("INSERT INTO conversations VALUES ('old', 'from v1', '2026-01-01T00:00:00')")
        connection.execute(
            "INSERT INTO messages (conversation_id, role, content, mode, created_at) "
            "VALUES ('old', 'assistant', 'kept', 'rag', '2026-01-01T00:00:00')"
        )
    storage = Storage(path)
    assert storage.schema_version() == SCHEMA_VERSION
    (message,) = storage.messages("old")
    assert (message.content, message.mode, message.abstained, message.prompt_tokens) == (
        "kept",
        "rag",
        False,
        0,
    )
    storage.record_feedback(message.id, "down", "wrong")  # the tables of version 2 exist
    assert storage.feedback(message.id) == [("down", "wrong")]


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "chat.sqlite3"
    Storage(path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(
        StorageError, match=rf"newer than this Tunedesk knows \({SCHEMA_VERSION}\); upgrade Tunedesk"
    ):
        Storage(path)
