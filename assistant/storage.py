"""SQLite storage of conversations, messages (with mode, adapter, sources, timings), feedback and A/B votes.

The schema is versioned with `PRAGMA user_version` and migrated forward on open, each migration in its
own transaction, so opening an older file upgrades it in place and keeps every row. The file runs in WAL
mode with a busy timeout, so several threads and processes can write at once: writers queue instead of
failing. Every write is one `BEGIN IMMEDIATE ... COMMIT`; a writer killed mid-write loses only its
uncommitted transaction. Each call opens its own short-lived connection, so one `Storage` may be shared
between threads.

Knows nothing about models or retrieval; answers are stored from their `to_dict()` form.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from assistant.answer import Answer

Rating = Literal["up", "down"]
Vote = Literal["A", "B", "tie", "both_bad"]
VOTES: tuple[Vote, ...] = ("A", "B", "tie", "both_bad")

# Migration n takes the schema from version n-1 to n. Append; never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        mode TEXT,
        adapter TEXT,
        sources_json TEXT NOT NULL DEFAULT '[]',
        timings_json TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    """,
    """
    ALTER TABLE messages ADD COLUMN abstained INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE ab_votes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        question TEXT NOT NULL,
        mode_a TEXT NOT NULL,
        adapter_a TEXT,
        answer_a TEXT NOT NULL,
        mode_b TEXT NOT NULL,
        adapter_b TEXT,
        answer_b TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('A', 'B', 'tie', 'both_bad')),
        created_at TEXT NOT NULL
    );
    """,
    # What each side of a vote showed the model (sources, abstention, token counts): preference training
    # rebuilds the prompt each answer was written under. Older votes keep '{}' and train on the question.
    """
    ALTER TABLE ab_votes ADD COLUMN answer_a_json TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE ab_votes ADD COLUMN answer_b_json TEXT NOT NULL DEFAULT '{}';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(RuntimeError):
    """The database cannot be used as asked; the message names the file and what to do."""


@dataclass(frozen=True)
class ConversationRecord:
    id: str
    title: str
    created_at: str


@dataclass(frozen=True)
class MessageRecord:
    id: int
    conversation_id: str
    role: str
    content: str
    mode: str | None
    adapter: str | None
    sources: list[dict[str, Any]]
    timings: dict[str, float]
    abstained: bool
    prompt_tokens: int
    completion_tokens: int
    created_at: str

    def as_turn(self) -> dict[str, str]:
        """The message as a chat turn, the form `Assistant.answer(history=...)` takes."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class VoteRecord:
    id: int
    question: str
    mode_a: str
    adapter_a: str | None
    answer_a: str
    mode_b: str
    adapter_b: str | None
    answer_b: str
    vote: Vote
    created_at: str
    details_a: dict[str, Any] = field(default_factory=dict)  # answer A's `Answer.to_dict()` ({} before v3)
    details_b: dict[str, Any] = field(default_factory=dict)


class Storage:
    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        self._migrate()

    def schema_version(self) -> int:
        with closing(self._connect()) as connection:
            return connection.execute("PRAGMA user_version").fetchone()[0]

    def new_conversation(self, title: str = "") -> str:
        conversation_id = uuid.uuid4().hex
        with self._write() as connection:
            connection.execute(
                "INSERT INTO conversations (id, title, created_at) VALUES (?, ?, ?)",
                (conversation_id, title, _now()),
            )
        return conversation_id

    def add_exchange(self, conversation_id: str, question: str, answer: Answer) -> int:
        """Store a question and its answer together (both or neither); returns the answer's message id."""
        with self._write() as connection:
            self._require_conversation(connection, conversation_id)
            _insert_message(connection, conversation_id, "user", question)
            return _insert_message(connection, conversation_id, "assistant", answer.text, answer.to_dict())

    def conversations(self) -> list[ConversationRecord]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT id, title, created_at FROM conversations ORDER BY created_at, id"
            )
            return [ConversationRecord(*row) for row in rows]

    def messages(self, conversation_id: str) -> list[MessageRecord]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT id, conversation_id, role, content, mode, adapter, sources_json, timings_json, abstained, "
                "prompt_tokens, completion_tokens, created_at FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [
            MessageRecord(
                id=row[0],
                conversation_id=row[1],
                role=row[2],
                content=row[3],
                mode=row[4],
                adapter=row[5],
                sources=json.loads(row[6]),
                timings=json.loads(row[7]),
                abstained=bool(row[8]),
                prompt_tokens=row[9],
                completion_tokens=row[10],
                created_at=row[11],
            )
            for row in rows
        ]

    def record_feedback(self, message_id: int, rating: Rating, comment: str = "") -> int:
        if rating not in ("up", "down"):
            raise StorageError(f"rating {rating!r}: use 'up' or 'down'")
        with self._write() as connection:
            role = connection.execute("SELECT role FROM messages WHERE id = ?", (message_id,)).fetchone()
            if role is None or role[0] != "assistant":
                raise StorageError(
                    f"message {message_id}: no such answer in {self.path}; rate an assistant message"
                )
            cursor = connection.execute(
                "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES (?, ?, ?, ?)",
                (message_id, rating, comment, _now()),
            )
            return int(cursor.lastrowid)

    def feedback(self, message_id: int) -> list[tuple[Rating, str]]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT rating, comment FROM feedback WHERE message_id = ? ORDER BY id", (message_id,)
            )
            return [(row[0], row[1]) for row in rows]

    def record_vote(self, question: str, a: Answer, b: Answer, vote: Vote) -> int:
        """A blind A/B comparison: which of two answers (their modes and adapters) the user preferred."""
        if vote not in VOTES:
            raise StorageError(f"vote {vote!r}: use one of {', '.join(VOTES)}")
        with self._write() as connection:
            cursor = connection.execute(
                "INSERT INTO ab_votes (question, mode_a, adapter_a, answer_a, mode_b, adapter_b, answer_b, vote, "
                "created_at, answer_a_json, answer_b_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    question,
                    a.mode,
                    a.adapter,
                    a.text,
                    b.mode,
                    b.adapter,
                    b.text,
                    vote,
                    _now(),
                    json.dumps(a.to_dict()),
                    json.dumps(b.to_dict()),
                ),
            )
            return int(cursor.lastrowid)

    def votes(self) -> list[VoteRecord]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT id, question, mode_a, adapter_a, answer_a, mode_b, adapter_b, answer_b, vote, created_at, "
                "answer_a_json, answer_b_json FROM ab_votes ORDER BY id"
            ).fetchall()
        return [VoteRecord(*row[:10], json.loads(row[10]), json.loads(row[11])) for row in rows]

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each write is exactly one transaction.
            connection = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"{self.path}: cannot open the database ({error})") from None
        connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable across application crashes in WAL mode; only an OS crash may lose the last commits.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as connection:
            # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _migrate(self) -> None:
        """Apply the missing migrations, one transaction each; a concurrent opener waits, then finds none left."""
        while True:
            with self._write() as connection:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StorageError(
                        f"{self.path}: schema version {version} is newer than this Tunedesk knows "
                        f"({SCHEMA_VERSION}); upgrade Tunedesk"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in _statements(MIGRATIONS[version]):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {version + 1}")

    def _require_conversation(self, connection: sqlite3.Connection, conversation_id: str) -> None:
        if (
            connection.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            is None
        ):
            raise StorageError(f"conversation {conversation_id!r}: not found in {self.path}; start a new one")


def _insert_message(
    connection: sqlite3.Connection,
    conversation_id: str,
    role: str,
    content: str,
    answer: dict[str, Any] | None = None,
) -> int:
    answer = answer or {}
    cursor = connection.execute(
        "INSERT INTO messages (conversation_id, role, content, mode, adapter, sources_json, timings_json, abstained, "
        "prompt_tokens, completion_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            conversation_id,
            role,
            content,
            answer.get("mode"),
            answer.get("adapter"),
            json.dumps(answer.get("sources", [])),
            json.dumps(answer.get("timings", {})),
            int(bool(answer.get("abstained", False))),
            answer.get("prompt_tokens", 0),
            answer.get("completion_tokens", 0),
            _now(),
        ),
    )
    return int(cursor.lastrowid)


def _statements(script: str) -> list[str]:
    """A migration script split into statements: `executescript` would commit on its own, outside our transaction."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
