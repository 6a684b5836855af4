"""Validate and clean loaded conversations, and report every change and drop with its reason.

Order: tidy turns (strip, remove empty turns, merge consecutive same-role turns) -> drop empty and
one-sided conversations -> scrub personal data -> drop exact, then near duplicates (the first
occurrence in load order is kept) -> drop conversations whose customer turn resembles a held-out
evaluation question -> truncate or drop over-long conversations. Scrubbing comes before
deduplication so two copies that differ only in an e-mail address count as duplicates.
Nothing is dropped without a count and example origins in the `CleaningReport`.
This module does not read files and does not know the tokenizer: it is given `count_tokens`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from finetune import pii, pii_recall
from finetune.addressed_names import drop_addressed_names
from finetune.conversation import Conversation, Message
from finetune.dedupe import near_duplicates
from finetune.eval_leaks import leaking
from finetune.formats import Problem
from finetune.pii_recall import ScrubberQuality

# A name replaced in at least this share of the conversations (and this many) is named in the report as
# possibly the company's own: customers differ from one conversation to the next (on the sample the most
# frequent customer name is in 7% of them), a brand the rules read as a person is in most.
FREQUENT_NAME_SHARE = 0.25
FREQUENT_NAME_CONVERSATIONS = 5

EXAMPLES = 5  # origins shown per reason in the report
# Problems that mean part of the input was not read (benign ones, like ignored header lines, are not).
FAILED_KINDS = frozenset({"unreadable", "unsupported", "malformed", "bad_role"})
OVER_LONG = ("truncate", "drop")


@dataclass
class CleaningReport:
    """What cleaning saw and did. `dropped` maps a reason to the origins dropped for it."""

    conversations_in: int = 0
    conversations_kept: int = 0
    dropped: dict[str, list[str]] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)
    empty_turns_removed: int = 0
    turns_merged: int = 0  # in kept conversations: same-role neighbours joined (policy: merge, never drop)
    problems: list[Problem] = field(default_factory=list)
    pii_found: Counter[str] = field(default_factory=Counter)
    # Name placeholders of greetings and introductions taken out of agent replies.
    addressed_names_dropped: int = 0
    # Each name replaced, with the number of conversations it was replaced in: one replaced in many is more
    # likely the company's own (a brand read as a person) than a customer's.
    names_replaced: Counter[str] = field(default_factory=Counter)
    pii_quality: ScrubberQuality | None = None  # measured on the shipped labelled set, not on this data
    eval_questions: int = 0  # held-out evaluation questions the data was checked against
    eval_questions_file: str = ""  # where they were read (data.eval_questions), named so a user sees which
    tokens_kept: int = 0
    longest_tokens: int = 0

    @property
    def input_failed(self) -> bool:
        return any(problem.kind in FAILED_KINDS for problem in self.problems)

    @property
    def usable(self) -> bool:
        return self.conversations_kept > 0

    def frequent_names(self) -> list[tuple[str, int]]:
        """The names replaced in at least `FREQUENT_NAME_SHARE` of the conversations read, and in at least
        `FREQUENT_NAME_CONVERSATIONS`, most first."""
        least = max(FREQUENT_NAME_CONVERSATIONS, FREQUENT_NAME_SHARE * self.conversations_in)
        return [(name, count) for name, count in self.names_replaced.most_common() if count >= least]

    def drop(self, reason: str, origin: str) -> None:
        self.dropped.setdefault(reason, []).append(origin)

    def to_dict(self) -> dict:
        problem_kinds = Counter(problem.kind for problem in self.problems)
        return {
            "conversations_in": self.conversations_in,
            "conversations_kept": self.conversations_kept,
            "usable": self.usable,
            "input_failed": self.input_failed,
            "dropped": {
                reason: {"count": len(origins), "examples": origins[:EXAMPLES]}
                for reason, origins in sorted(self.dropped.items())
            },
            "truncated": {"count": len(self.truncated), "examples": self.truncated[:EXAMPLES]},
            "empty_turns_removed": self.empty_turns_removed,
            "turns_merged": self.turns_merged,
            "problems": {
                "count": len(self.problems),
                "by_kind": dict(sorted(problem_kinds.items())),
                "items": [str(problem) for problem in self.problems],
            },
            "pii": {
                "found": dict(sorted(self.pii_found.items())),
                "addressed_names_dropped": self.addressed_names_dropped,
                "frequent_names": dict(self.frequent_names()),
            }
            | (self.pii_quality.to_dict() if self.pii_quality else {}),
            "eval_questions": self.eval_questions,
            "eval_questions_file": self.eval_questions_file,
            "tokens": {"kept": self.tokens_kept, "longest": self.longest_tokens},
        }

    def to_text(self) -> str:
        rows = [
            ("conversations read", str(self.conversations_in)),
            ("conversations kept", str(self.conversations_kept)),
        ]
        for reason, origins in sorted(self.dropped.items()):
            rows.append((f"dropped: {reason}", _count_with_examples(origins)))
        rows.append(("truncated (whole turns kept)", _count_with_examples(self.truncated)))
        rows.append(("empty turns removed", str(self.empty_turns_removed)))
        rows.append(("same-role turns merged", str(self.turns_merged)))
        rows.append(("tokens kept / longest", f"{self.tokens_kept} / {self.longest_tokens}"))
        for kind, count in sorted(Counter(problem.kind for problem in self.problems).items()):
            rows.append((f"problems: {kind}", str(count)))
        where = f" ({self.eval_questions_file})" if self.eval_questions_file else ""
        rows.append(("eval questions checked", f"{self.eval_questions}{where}"))
        if self.pii_quality:
            found = ", ".join(f"{kind} {count}" for kind, count in sorted(self.pii_found.items())) or "none"
            rows.append(("personal data replaced", found))
            rows.append(("names taken out of greetings", f"{self.addressed_names_dropped}  (agent replies)"))
            if frequent := self.frequent_names():
                listed = ", ".join(f"{name} ({count})" for name, count in frequent)
                rows.append(
                    (
                        "names replaced in many conversations",
                        f"{listed}  (your brand, a product or a team? add it to data.pii_keep)",
                    )
                )
            quality = self.pii_quality
            recall = ", ".join(
                f"{kind} {quality.found.get(kind, 0)}/{count}"
                for kind, count in sorted(quality.labelled.items())
            )
            where = f"on the hand-labelled {pii_recall.LABELLED_SET} shipped with Tunedesk, not on your data"
            rows.append(("scrubber recall", f"{recall}  ({where})"))
            changed = f"{len(quality.false_positives)} of {quality.clean_sentences} clean sentences changed"
            rows.append(("scrubber false positives", f"{changed}  (same labelled set)"))
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines += [f"  {problem}" for problem in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more problems (see --json)")
        return "\n".join(lines)


def clean(
    conversations: Iterable[Conversation],
    *,
    count_tokens: Callable[[Conversation], int],
    max_tokens: int,
    over_long: str,
    near_duplicate_threshold: float,
    scrub_pii: bool,
    pii_keep: frozenset[str] = frozenset(),
    pii_ner_model: str | None = None,
    eval_questions: Sequence[str] = (),
    eval_leak_threshold: float = 0.5,
    problems: Sequence[Problem] = (),
) -> tuple[list[Conversation], CleaningReport]:
    """The conversations fit to train on, and the report of what happened to the rest.

    `pii_ner_model` is a spaCy pipeline that finds names beyond the cue rules (None: cue rules only).
    A conversation with a user turn whose shingle Jaccard similarity to one of `eval_questions` is at
    least `eval_leak_threshold` is dropped as `eval_leak`.
    """
    if over_long not in OVER_LONG:
        raise ValueError(f"over_long must be one of {', '.join(OVER_LONG)}, not {over_long!r}")
    report = CleaningReport(problems=list(problems))
    kept: list[Conversation] = []
    for conversation in conversations:
        report.conversations_in += 1
        tidy, removed, merged = _tidy(conversation)
        roles = {message.role for message in tidy.messages}
        report.empty_turns_removed += removed
        if not roles & {"user", "assistant"}:
            report.drop("empty", conversation.origin)  # nothing, blank turns, or a system prompt only
        elif not {"user", "assistant"} <= roles:
            report.drop("one_sided", conversation.origin)
        else:
            report.turns_merged += merged
            kept.append(_scrubbed(tidy, pii_keep, pii_ner_model, report) if scrub_pii else tidy)
    if scrub_pii:
        report.pii_quality = pii_recall.measure(pii_ner_model)
    kept = _without_duplicates(kept, near_duplicate_threshold, report)
    kept = _without_eval_leaks(kept, eval_questions, eval_leak_threshold, report)
    kept = _within_length(kept, count_tokens, max_tokens, over_long, report)
    report.conversations_kept = len(kept)
    return kept, report


def _tidy(conversation: Conversation) -> tuple[Conversation, int, int]:
    """Stripped turns without empty ones, same-role neighbours merged; and how many were removed, merged."""
    messages: list[Message] = []
    removed = merged = 0
    for message in conversation.messages:
        content = message.content.strip()
        if not content:
            removed += 1
        elif messages and messages[-1].role == message.role:
            messages[-1] = Message(message.role, f"{messages[-1].content}\n{content}")
            merged += 1
        else:
            messages.append(Message(message.role, content))
    return Conversation(tuple(messages), conversation.origin), removed, merged


def _scrubbed(
    conversation: Conversation, keep: frozenset[str], ner_model: str | None, report: CleaningReport
) -> Conversation:
    messages = []
    names: list[str] = []
    for message in conversation.messages:
        content, found, dropped = scrub_turn(
            message.role, message.content, keep=keep, ner_model=ner_model, names=names
        )
        report.pii_found.update(found)
        report.addressed_names_dropped += dropped
        messages.append(Message(message.role, content))
    report.names_replaced.update(set(names))  # per conversation: a customer named twice counts once
    return Conversation(tuple(messages), conversation.origin)


def scrub_turn(
    role: str,
    content: str,
    *,
    keep: frozenset[str] = frozenset(),
    ner_model: str | None = None,
    names: list[str] | None = None,
) -> tuple[str, Counter[str], int]:
    """One turn scrubbed as training sees it: personal data replaced and, in an agent reply (what a model
    learns to write), the name placeholders of greetings and introductions taken out. Returns the text,
    the kinds replaced and how many names were taken out; `names` gets the names replaced."""
    content, found = pii.scrub(content, keep=keep, ner_model=ner_model, names=names)
    if role != "assistant":
        return content, found, 0
    content, dropped = drop_addressed_names(content)
    return content, found, dropped


def _without_duplicates(
    conversations: list[Conversation], threshold: float, report: CleaningReport
) -> list[Conversation]:
    first_seen: dict[str, str] = {}
    unique: list[Conversation] = []
    for conversation in conversations:
        key = "\x00".join(f"{m.role}\x01{' '.join(m.content.lower().split())}" for m in conversation.messages)
        if key in first_seen:
            report.drop("duplicate", f"{conversation.origin} (same as {first_seen[key]})")
        else:
            first_seen[key] = conversation.origin
            unique.append(conversation)
    texts = ["\n".join(f"{m.role}: {m.content}" for m in c.messages) for c in unique]
    earlier = near_duplicates(texts, threshold)
    for index, other in earlier.items():
        report.drop("near_duplicate", f"{unique[index].origin} (like {unique[other].origin})")
    return [conversation for index, conversation in enumerate(unique) if index not in earlier]


def _without_eval_leaks(
    conversations: list[Conversation], questions: Sequence[str], threshold: float, report: CleaningReport
) -> list[Conversation]:
    report.eval_questions = len(questions)
    if not questions:
        return conversations
    leaks = leaking(conversations, questions, threshold)
    for index, question in leaks.items():
        report.drop("eval_leak", f"{conversations[index].origin} (like eval question {question + 1})")
    return [conversation for index, conversation in enumerate(conversations) if index not in leaks]


def _within_length(
    conversations: list[Conversation],
    count_tokens: Callable[[Conversation], int],
    max_tokens: int,
    over_long: str,
    report: CleaningReport,
) -> list[Conversation]:
    fitting = []
    for conversation in conversations:
        tokens = count_tokens(conversation)
        if tokens > max_tokens:
            shorter = _truncated(conversation, count_tokens, max_tokens) if over_long == "truncate" else None
            if shorter is None:
                reason = "too_long" if over_long == "drop" else "too_long_no_assistant_turn_fits"
                report.drop(reason, f"{conversation.origin} ({tokens} tokens > {max_tokens})")
                continue
            report.truncated.append(f"{conversation.origin} ({tokens} -> {len(shorter.messages)} turns)")
            conversation, tokens = shorter, count_tokens(shorter)
        report.tokens_kept += tokens
        report.longest_tokens = max(report.longest_tokens, tokens)
        fitting.append(conversation)
    return fitting


def _truncated(
    conversation: Conversation, count_tokens: Callable[[Conversation], int], max_tokens: int
) -> Conversation | None:
    """The longest run of whole turns from the start that ends on an assistant turn and fits, or None."""
    messages = conversation.messages
    ends = [i + 1 for i, message in enumerate(messages) if message.role == "assistant"]
    for end in reversed(ends):
        candidate = Conversation(messages[:end], conversation.origin)
        roles = {message.role for message in candidate.messages}
        if end < len(messages) and {"user", "assistant"} <= roles and count_tokens(candidate) <= max_tokens:
            return candidate
    return None


def _count_with_examples(origins: list[str]) -> str:
    if not origins:
        return "0"
    more = f", +{len(origins) - EXAMPLES} more" if len(origins) > EXAMPLES else ""
    return f"{len(origins)}  ({'; '.join(origins[:EXAMPLES])}{more})"
