"""Read training conversations from files: chat JSONL/JSON, CSV pairs, and plain-text transcripts.

A bad line or row becomes a `Problem` naming `file:line` and what to do; the rest of the file is
still read. A file that cannot be read at all is one `Problem`; other files still load. This module
does not judge content (empty, one-sided, duplicates): that is cleaning's job.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from finetune.conversation import ROLES, Conversation, Message

SUFFIXES = (".jsonl", ".json", ".csv", ".txt")

# CSV column pairs accepted, first match wins (header names are compared case-insensitively).
CSV_COLUMNS = (("instruction", "response"), ("question", "answer"), ("prompt", "completion"))

# Transcript speaker prefixes; multi-word names are listed so "Customer Support:" is not read as the customer.
SPEAKERS = {
    "customer support": "assistant",
    "customer service": "assistant",
    "support agent": "assistant",
    "customer": "user",
    "user": "user",
    "client": "user",
    "caller": "user",
    "agent": "assistant",
    "support": "assistant",
    "rep": "assistant",
    "representative": "assistant",
    "assistant": "assistant",
    "system": "system",
}
_SPEAKER_NAMES = "|".join(sorted((re.escape(name) for name in SPEAKERS), key=len, reverse=True))
# Optional "[10:32]" or "10:32" timestamp, the speaker, an optional "(Maria)" / "[Maria]", then a colon.
SPEAKER_LINE = re.compile(
    rf"^\s*(?:\[[^\]]*\]\s*|\d{{1,2}}:\d{{2}}(?::\d{{2}})?\s+)?({_SPEAKER_NAMES})\b\s*(?:[(\[][^)\]]*[)\]])?\s*:\s?(.*)$",
    re.IGNORECASE,
)
SEPARATOR_LINE = re.compile(r"^\s*(?:-{3,}|={3,}|\*{3,}|#{3,})\s*$")


@dataclass(frozen=True)
class Problem:
    """Something in the input that was skipped. `reason` is one line that says what to do."""

    origin: str
    reason: str
    kind: str = "malformed"  # unreadable | unsupported | malformed | bad_role | ignored_text

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


def load_all(paths: Iterable[Path]) -> tuple[list[Conversation], list[Problem]]:
    """Load every supported file under `paths` (files or folders, recursively, in sorted order)."""
    conversations: list[Conversation] = []
    problems: list[Problem] = []
    for path in _expand(paths, problems):
        found, trouble = load_conversations(path)
        conversations.extend(found)
        problems.extend(trouble)
    return conversations, problems


def load_conversations(path: Path) -> tuple[list[Conversation], list[Problem]]:
    """Load one file, choosing the reader by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        reason = f"unsupported file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}"
        return [], [Problem(str(path), reason, "unsupported")]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = (
            f"cannot be read ({error.__class__.__name__}: {error}); check the file exists and is UTF-8 text"
        )
        return [], [Problem(str(path), reason, "unreadable")]
    match suffix:
        case ".jsonl":
            return _read_jsonl(path, text)
        case ".json":
            return _read_json(path, text)
        case ".csv":
            return _read_csv(path, text)
        case _:
            return _read_transcripts(path, text)


def _expand(paths: Iterable[Path], problems: list[Problem]) -> Iterator[Path]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.exists():
            yield path
        else:
            problems.append(Problem(str(path), "does not exist; check the path", "unreadable"))


def _read_jsonl(path: Path, text: str) -> tuple[list[Conversation], list[Problem]]:
    conversations, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(Problem(origin, f"not valid JSON ({error.msg}); fix or remove the line"))
            continue
        _add_record(record, origin, conversations, problems)
    return conversations, problems


def _read_json(path: Path, text: str) -> tuple[list[Conversation], list[Problem]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        reason = f"not valid JSON (line {error.lineno}: {error.msg}); fix it or write one conversation per line as .jsonl"
        return [], [Problem(str(path), reason)]
    conversations: list[Conversation] = []
    problems: list[Problem] = []
    if isinstance(data, list):
        for index, record in enumerate(data):
            _add_record(record, f"{path}[{index}]", conversations, problems)
    else:
        _add_record(data, str(path), conversations, problems)
    return conversations, problems


def _add_record(
    record: object, origin: str, conversations: list[Conversation], problems: list[Problem]
) -> None:
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list):
        problems.append(Problem(origin, 'expected an object with a "messages" list (OpenAI chat format)'))
        return
    parsed: list[Message] = []
    for index, item in enumerate(messages, start=1):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in ROLES:
            reason = (
                f"message {index} has role {role!r}; use system, user or assistant (conversation skipped)"
            )
            problems.append(Problem(origin, reason, "bad_role"))
            return
        content = _text_of(item.get("content"))
        if content is None:
            reason = f"message {index} content is not text; give a string (conversation skipped)"
            problems.append(Problem(origin, reason))
            return
        parsed.append(Message(role, content))
    conversations.append(Conversation(tuple(parsed), origin))


def _text_of(content: object) -> str | None:
    """A message's text: a string, None (empty), or a list of {"type": "text", "text": ...} parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) and "text" in part for part in content):
        return "".join(str(part["text"]) for part in content)
    return None


def _read_csv(path: Path, text: str) -> tuple[list[Conversation], list[Problem]]:
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error):
        return [], [Problem(str(path), "empty or unreadable CSV; the first row must name the columns")]
    columns = next(((a, b) for a, b in CSV_COLUMNS if a in header and b in header), None)
    if columns is None:
        pairs = ", ".join(f"{a}/{b}" for a, b in CSV_COLUMNS)
        reason = f"no usable columns (found: {', '.join(header) or 'none'}); name them {pairs}"
        return [], [Problem(str(path), reason)]
    ask, answer = (header.index(name) for name in columns)
    extra = header.index("input") if "input" in header else None  # Alpaca-style extra context
    system = header.index("system") if "system" in header else None
    conversations, problems = [], []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(Problem(f"{path}:{line}", f"malformed CSV row ({error}); fix the quoting"))
            line = reader.line_num + 1
            continue
        origin, line = f"{path}:{line}", reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(origin, f"has {len(row)} fields, header has {len(header)}; fix the row"))
            continue
        prompt = row[ask]
        if extra is not None and row[extra].strip():
            prompt = f"{prompt}\n\n{row[extra]}"
        messages = [Message("user", prompt), Message("assistant", row[answer])]
        if system is not None and row[system].strip():
            messages.insert(0, Message("system", row[system]))
        conversations.append(Conversation(tuple(messages), origin))
    return conversations, problems


def _read_transcripts(path: Path, text: str) -> tuple[list[Conversation], list[Problem]]:
    # A block without any speaker line (a header, a stray note) is reported, never glued into a turn.
    blocks = _blocks(text.splitlines())
    turn_counts = [sum(1 for _, line in block if SPEAKER_LINE.match(line)) for block in blocks]
    if blocks and not any(turn_counts):
        # Not one turn: other speaker labels ("Rider:", "Staff:") or no chat at all. One line says so, not
        # one per line of the file.
        labels = ", ".join(f"'{name.title()}:'" for name in SPEAKERS if name != "system")
        reason = f"no line starts with a speaker label; start each turn with one of {labels}"
        return [], [Problem(str(path), reason, "ignored_text")]
    if len(blocks) > 1 and max(turn_counts) <= 1:
        # Blank lines between single turns: the whole file is one conversation.
        blocks = [[pair for block in blocks for pair in block]]
    conversations: list[Conversation] = []
    problems: list[Problem] = []
    for block in blocks:
        turns: list[list[str]] = []  # [role, text]
        for number, line in block:
            match = SPEAKER_LINE.match(line)
            if match:
                turns.append([SPEAKERS[match.group(1).lower()], match.group(2).strip()])
            elif turns:
                turns[-1][1] = f"{turns[-1][1]}\n{line.strip()}"
            else:
                reason = "text before any speaker prefix ignored; start turns with 'Customer:' or 'Agent:'"
                problems.append(Problem(f"{path}:{number}", reason, "ignored_text"))
        if turns:
            messages = tuple(Message(role, content) for role, content in turns)
            conversations.append(Conversation(messages, f"{path}:{block[0][0]}"))
    return conversations, problems


def _blocks(lines: list[str]) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines with their 1-based numbers; separator lines (---, ===) split like blanks."""
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(lines, start=1):
        if not line.strip() or SEPARATOR_LINE.match(line):
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append((number, line))
    return [block for block in blocks if block]
