"""Find training conversations whose customer turn is a near-duplicate of a held-out evaluation question.

Training on them would let the evaluation measure memory instead of skill. Questions come from a JSONL
file of `{"question": ...}` lines (the format `tunedesk eval` reads); matching reuses the word-shingle
near-duplicate search of `dedupe`. This module knows nothing about settings or training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from finetune.conversation import Conversation
from finetune.dedupe import near_matches


class EvalQuestionsError(ValueError):
    """The evaluation questions file cannot be used; the message names the file (and line) and the fix."""


def load_questions(path: Path) -> list[str]:
    """The `question` of every line of `path`; raises EvalQuestionsError at the first bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise EvalQuestionsError(
            f"{path}: evaluation questions cannot be read ({error.__class__.__name__}); give a UTF-8 JSONL file"
        ) from error
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = json.loads(line).get("question")
        except (json.JSONDecodeError, AttributeError):
            question = None
        if not isinstance(question, str) or not question.strip():
            raise EvalQuestionsError(f'{path}:{number}: expected a JSON object with a "question" string')
        questions.append(question)
    return questions


def leaking(
    conversations: Sequence[Conversation], questions: Sequence[str], threshold: float
) -> dict[int, int]:
    """Map index of a conversation -> index of the evaluation question one of its user turns resembles."""
    turns: list[str] = []
    owners: list[int] = []
    for index, conversation in enumerate(conversations):
        for message in conversation.messages:
            if message.role == "user":
                turns.append(message.content)
                owners.append(index)
    leaks: dict[int, int] = {}
    for turn, question in sorted(near_matches(turns, list(questions), threshold).items()):
        leaks.setdefault(owners[turn], question)
    return leaks


def questions_at(path: Path | None) -> list[str]:
    """The questions of `path`, or none when it is None or does not exist (the setting's default may not)."""
    if path is None or not Path(path).exists():
        return []
    return load_questions(path)
