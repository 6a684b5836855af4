"""From files to cleaned, split conversations with the real tokenizer; and the sample transcripts."""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import DataSettings
from finetune.dataset import prepare_data

OPTIONS = DataSettings(
    max_tokens=1024,
    over_long="truncate",
    near_duplicate_threshold=0.85,
    scrub_pii=True,
    validation_fraction=0.25,
    seed=42,
    eval_questions=None,
)
REPO = Path(__file__).resolve().parents[2]


def _line(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": role, "content": content} for role, content in turns]})


def _write_data(folder: Path) -> None:
    lines = [
        _line(
            ("user", f"Question {i}: does the BW-H1 support {i} devices?"), ("assistant", f"Answer {i}: yes.")
        )
        for i in range(8)
    ]
    lines.append(_line(("user", "I am ann@example.com"), ("assistant", "Thanks, never share a password.")))
    lines.append("{broken")
    (folder / "chats.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "pairs.csv").write_text(
        "instruction,response\nReturn window?,30 days from delivery.\n", encoding="utf-8"
    )
    (folder / "chat.txt").write_text(
        "Customer: hi\nAgent: " + "word " * 1500 + "\nCustomer: ok\n", encoding="utf-8"
    )


def test_prepare_data_cleans_scrubs_and_splits(tmp_path: Path, chat_tokenizer) -> None:
    _write_data(tmp_path)

    prepared = prepare_data([tmp_path], chat_tokenizer, OPTIONS)

    report = prepared.report
    assert report.conversations_in == 11
    assert report.dropped == {
        "too_long_no_assistant_turn_fits": [f"{tmp_path / 'chat.txt'}:1 (1539 tokens > 1024)"]
    }
    assert [p.origin for p in report.problems] == [f"{tmp_path / 'chats.jsonl'}:10"]
    kept = prepared.train + prepared.validation
    assert len(kept) == report.conversations_kept == 10
    assert prepared.validation and prepared.train
    assert any(m.content == "I am <EMAIL>" for c in kept for m in c.messages)
    assert report.pii_found == {"email": 1}


def test_data_hash_follows_the_cleaned_content_only(tmp_path: Path, chat_tokenizer) -> None:
    _write_data(tmp_path)
    first = prepare_data([tmp_path], chat_tokenizer, OPTIONS)
    again = prepare_data([tmp_path], chat_tokenizer, OPTIONS)
    assert first.data_hash == again.data_hash and len(first.data_hash) == 64

    # A different e-mail scrubs to the same text: what is trained on did not change.
    chats = tmp_path / "chats.jsonl"
    chats.write_text(chats.read_text(encoding="utf-8").replace("ann@example.com", "bob@example.org"), "utf-8")
    assert prepare_data([tmp_path], chat_tokenizer, OPTIONS).data_hash == first.data_hash

    (tmp_path / "pairs.csv").write_text("instruction,response\nReturn window?,14 days.\n", encoding="utf-8")
    assert prepare_data([tmp_path], chat_tokenizer, OPTIONS).data_hash != first.data_hash


def test_sample_transcripts_planted_noise_is_caught(chat_tokenizer) -> None:
    """The counts planted in data/transcripts (see its README) are exactly what cleaning reports."""
    prepared = prepare_data([REPO / "data" / "transcripts"], chat_tokenizer, OPTIONS)

    report = prepared.report
    dropped = {reason: len(origins) for reason, origins in report.dropped.items()}
    assert dropped == {"duplicate": 8, "near_duplicate": 6, "empty": 3, "one_sided": 3}
    kinds = [p.kind for p in report.problems]
    assert (kinds.count("malformed"), kinds.count("bad_role")) == (2, 2)
    assert report.conversations_kept == report.conversations_in - sum(dropped.values())
    for kind in ("email", "phone", "card", "iban", "address", "secret"):
        assert report.pii_found[kind] > 0, kind
    text = "\n".join(m.content for c in prepared.train + prepared.validation for m in c.messages)
    assert "@example.com" not in text and "hunter2" not in text
