"""The sample transcripts in data/transcripts: enough of them, well formed, following the support
procedures of data/DOMAIN.md, and carrying exactly the noise the cleaning step is meant to find."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from finetune.cleaning import clean
from finetune.conversation import Conversation
from finetune.dedupe import near_duplicates
from finetune.formats import load_conversations

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = ROOT / "data" / "transcripts"
JSONL = TRANSCRIPTS / "conversations.jsonl"
CHATS = TRANSCRIPTS / "chats"
PAIRS = TRANSCRIPTS / "pairs.csv"
QUESTIONS = ROOT / "data" / "eval" / "questions.jsonl"

GREETING = re.compile(r"^Hi, thanks for contacting Brightwave Support, my name is [A-Z][a-z]+\.")
ANYTHING_ELSE = "Is there anything else I can help you with today?"
SIGN_OFF = "Thanks for choosing Brightwave — have a bright day!"
LABEL_PAIRS = {("Customer", "Agent"), ("User", "Support"), ("Client", "Rep")}

# Planted on purpose (data/transcripts/README.md lists the same numbers).
EXACT_DUPLICATES, NEAR_DUPLICATES, EMPTY, ONE_SIDED, MALFORMED, BAD_ROLE = 8, 6, 3, 3, 2, 2

IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){3,7}(?: [A-Z0-9]{1,4})?\b")
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
PII = {
    "email": re.compile(r"[\w.+-]+@example\.(?:com|org)"),
    "phone": re.compile(r"\(\d{3}\) 555-\d{4}|\b\d{3}-555-\d{4}\b|\+\d{1,2}(?: \d{1,7}){2,3}"),
    "address": re.compile(r"\b\d+ [A-Z][a-z]+ (?:Ave|Street|Rd|Lane|Court|Dr)\b[^.\n]*"),
    "ip": re.compile(r"\b(?!10\.50\.0\.1\b|192\.168\.50\.1\b)(?:\d{1,3}\.){3}\d{1,3}\b"),
    "password": re.compile(r"(?<=password is )\S+|(?<=password: )\S+"),
    "iban": IBAN,
    "card": CARD,
}
# What an agent says when an account change is done; each must come after the identity check.
ACCOUNT_CHANGE = re.compile(
    r"I've cancelled|It's cancelled|Cancellation done|I've requested the change|removed it from your account|"
    r"free month of Halo Shield is applied|The free month is on|Invitation sent|invitation is on its way|"
    r"return is open|return is set up|Your RMA is set up|created the warranty replacement|started the claim|"
    r"account now has the new address|Updated — shipments"
)


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(re.sub(r"\D", "", number))]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return JSONL.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def records(lines: list[str]) -> list[list[dict[str, str]]]:
    """The message lists of every line that is valid JSON."""
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line)["messages"])
        except json.JSONDecodeError:
            continue
    return parsed


def is_well_formed(messages: list[dict[str, str]]) -> bool:
    turns = [m for m in messages if m["role"] != "system"]
    return (
        all(m["role"] in {"system", "user", "assistant"} for m in messages)
        and {m["role"] for m in turns} == {"user", "assistant"}
        and all(m["content"].strip() for m in turns)
    )


@pytest.fixture(scope="module")
def conversations(records: list[list[dict[str, str]]]) -> list[list[dict[str, str]]]:
    """Well-formed conversations without the system prompt, planted duplicates included."""
    return [[m for m in r if m["role"] != "system"] for r in records if is_well_formed(r)]


@pytest.fixture(scope="module")
def chat_files() -> list[Path]:
    return sorted(CHATS.glob("*.txt"))


def test_counts_meet_the_floors(conversations, chat_files) -> None:
    distinct = {json.dumps(c, sort_keys=True) for c in conversations}
    assert len(distinct) >= 400 + NEAR_DUPLICATES
    assert len(chat_files) >= 30
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 80
    assert all(row["instruction"].strip() and row["response"].strip() for row in rows)
    assert len({row["instruction"] + row["response"] for row in rows}) == len(rows)


def test_well_formed_conversations_alternate_and_fit(records, conversations) -> None:
    system_prompts = {r[0]["content"] for r in records if r and r[0]["role"] == "system"}
    assert system_prompts == {"You are Brightwave's customer support assistant."}
    for turns in conversations:
        roles = [m["role"] for m in turns]
        assert 3 <= len(roles) <= 12, turns
        assert roles == ["user", "assistant"] * (len(roles) // 2), turns
        assert sum(len(m["content"].split()) for m in turns) <= 350, turns


def test_the_planted_noise_is_all_there(lines, records, conversations) -> None:
    malformed = bad_role = 0
    for line in lines:
        try:
            messages = json.loads(line)["messages"]
        except json.JSONDecodeError:
            malformed += 1
            continue
        bad_role += any(m["role"] not in {"system", "user", "assistant"} for m in messages)
    assert (malformed, bad_role) == (MALFORMED, BAD_ROLE)
    turns = [[m for m in r if m["role"] != "system" and m["content"].strip()] for r in records]
    empty = sum(1 for t in turns if not t)
    one_sided = sum(1 for t in turns if t and {m["role"] for m in t} == {"user"})
    assert (empty, one_sided) == (EMPTY, ONE_SIDED)
    exact = sum(n - 1 for n in Counter(lines).values())
    assert exact == EXACT_DUPLICATES
    # Apart from the planted copies, no two conversations come near the cleaning step's threshold.
    texts = ["\n".join(f"{m['role']}: {m['content']}" for m in turns) for turns in conversations]
    assert len(near_duplicates(texts, threshold=0.8)) == EXACT_DUPLICATES + NEAR_DUPLICATES


def test_project_loaders_and_cleaning_find_exactly_the_planted_noise(chat_files) -> None:
    found, problems = load_conversations(JSONL)
    assert Counter(p.kind for p in problems) == {"malformed": MALFORMED, "bad_role": BAD_ROLE}
    kept, report = clean(
        found,
        count_tokens=lambda c: sum(len(m.content.split()) for m in c.messages),
        max_tokens=100_000,
        over_long="drop",
        near_duplicate_threshold=0.85,
        scrub_pii=True,
        problems=problems,
    )
    dropped = {reason: len(origins) for reason, origins in report.dropped.items()}
    expected = {
        "duplicate": EXACT_DUPLICATES,
        "near_duplicate": NEAR_DUPLICATES,
        "empty": EMPTY,
        "one_sided": ONE_SIDED,
    }
    assert dropped == expected
    assert len(kept) >= 420

    pairs, problems = load_conversations(PAIRS)
    assert not problems and len(pairs) >= 80
    assert all([m.role for m in c.messages] == ["user", "assistant"] for c in pairs)
    chats: list[Conversation] = []
    for path in chat_files:
        loaded, problems = load_conversations(path)
        assert not problems and len(loaded) == 1, path
        chats.extend(loaded)
    for chat in chats:
        roles = [m.role for m in chat.messages]
        assert 4 <= len(roles) <= 12 and roles == ["user", "assistant"] * (len(roles) // 2), chat.origin


def test_plain_text_chats_use_one_label_pair_and_no_blank_lines(chat_files) -> None:
    used = Counter()
    for path in chat_files:
        text = path.read_text(encoding="utf-8")
        labels = {line.split(":", 1)[0] for line in text.splitlines() if not line.startswith("  ")}
        assert "" not in {line.strip() for line in text.splitlines()}, path
        pair = next(p for p in LABEL_PAIRS if set(p) == labels)
        used[pair] += 1
    assert set(used) == LABEL_PAIRS
    assert any("\n  " in path.read_text(encoding="utf-8") for path in chat_files), "no multi-line turn"


def test_agents_greet_close_and_number_cases_as_the_team_does(conversations) -> None:
    for turns in conversations:
        agent = [m["content"] for m in turns if m["role"] == "assistant"]
        assert GREETING.match(agent[0]), agent[0]
        assert agent[-1].endswith(SIGN_OFF) and agent[-2].endswith(ANYTHING_ELSE), agent[-2:]
        for case in re.findall(r"\bBW[CS]-\S*", " ".join(agent)):
            assert re.fullmatch(r"BW[CS]-\d{6}[.,;]?", case), case


def test_agents_state_current_facts(conversations) -> None:
    for turns in conversations:
        for text in (m["content"] for m in turns if m["role"] == "assistant"):
            # An old value may only appear next to the current one, as history.
            assert "192.168.50.1" not in text or "10.50.0.1" in text, text
            assert "$39" not in text or "$49" in text, text
            assert "15 seconds" not in text, text
            assert not re.search(r"\b(?:8|16) devices\b", text) or "32" in text, text


def test_account_changes_come_after_the_identity_check(conversations) -> None:
    changes = 0
    for turns in conversations:
        asked = False
        for message in turns:
            if message["role"] != "assistant":
                continue
            text = message["content"]
            if ACCOUNT_CHANGE.search(text):
                changes += 1
                assert asked, text
            asked = (
                asked
                or ("6-digit" in text and "last 4" in text)
                or "last 4 digits of a device serial" in text
            )
    assert changes >= 40


def test_agents_never_ask_for_or_repeat_personal_data(conversations) -> None:
    for turns in conversations:
        user = "\n".join(m["content"] for m in turns if m["role"] == "user")
        agent = "\n".join(m["content"] for m in turns if m["role"] == "assistant")
        for sentence in re.split(r"(?<=[.?!])\s+", agent):
            if sentence.endswith("?"):
                assert "password" not in sentence.lower() and "card number" not in sentence.lower(), sentence
        for pattern in PII.values():
            for value in pattern.findall(user):
                assert value not in agent, value


def test_personal_data_is_planted_and_fake_but_valid(conversations) -> None:
    user_texts = ["\n".join(m["content"] for m in turns if m["role"] == "user") for turns in conversations]
    ibans = [iban for text in user_texts for iban in IBAN.findall(text)]
    cards = [card for text in user_texts for card in CARD.findall(IBAN.sub("", text))]
    assert len(ibans) >= 3 and all(iban_valid(iban) for iban in ibans), ibans
    assert len(cards) >= 5 and all(luhn_valid(card) for card in cards), cards
    # Beyond the e-mails given for identity checks, about 40 conversations carry pasted personal data.
    pasted = sum(
        1 for text in user_texts if any(PII[k].search(text) for k in PII if k != "email") or IBAN.search(text)
    )
    assert pasted >= 30
    kinds = {kind for text in user_texts for kind, pattern in PII.items() if pattern.search(text)}
    assert kinds == set(PII)


def test_no_held_out_question_appears_verbatim(conversations, chat_files) -> None:
    if not QUESTIONS.exists():
        pytest.skip("data/eval/questions.jsonl is not written yet")
    corpus = " ".join(m["content"] for turns in conversations for m in turns)
    corpus += " ".join(path.read_text(encoding="utf-8") for path in chat_files) + PAIRS.read_text(
        encoding="utf-8"
    )
    corpus = " ".join(corpus.lower().split())
    questions = [
        json.loads(line)["question"]
        for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert questions
    leaked = [q for q in questions if " ".join(q.lower().split()) in corpus]
    assert not leaked


def test_the_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "data" / "make_transcripts.py"), "--out", str(tmp_path)],
        check=True,
        timeout=120,
    )
    for committed in [JSONL, PAIRS, TRANSCRIPTS / "README.md", *sorted(CHATS.glob("*.txt"))]:
        fresh = tmp_path / committed.relative_to(TRANSCRIPTS)
        assert fresh.read_bytes() == committed.read_bytes(), committed.name
