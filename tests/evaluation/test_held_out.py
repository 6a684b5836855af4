"""The evaluation's held-out transcripts are exactly the adapter's validation split, whatever data settings
the evaluation itself runs with: every recorded data setting (scrubbing keep list, eval-leak removal) is used."""

from __future__ import annotations

import json

import pytest

from assistant.evaluation.model_metrics import held_out_samples
from core.settings import DataSettings, override
from finetune.collate import IGNORE_INDEX
from finetune.dataset import prepare_data
from finetune.tokenize import tokenize_conversation

LEAKED = "how long do i have to return a blender that i bought online last week"


def write_chats(path):
    with path.open("w", encoding="utf-8") as stream:
        for index in range(16):
            user = f"Case {index}: my router {index} lost signal, write to help@halo-example.com?"
            if index == 5:
                user = LEAKED
            messages = [
                {"role": "user", "content": user},
                {
                    "role": "assistant",
                    "content": f"Mail help@halo-example.com with order {index} and restart it.",
                },
            ]
            stream.write(json.dumps({"messages": messages}) + "\n")
    return path


@pytest.mark.slow
def test_held_out_samples_reproduce_the_adapters_validation_split(tmp_path, make_settings, chat_tokenizer):
    from finetune.train import train

    chats = write_chats(tmp_path / "chats.jsonl")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": LEAKED}) + "\n", encoding="utf-8")
    settings = override(
        make_settings(tmp_path / "home", max_steps=1),
        **{"data.pii_keep": ["help@halo-example.com"], "data.eval_questions": questions},
    )
    trained = train(settings, [chats], "kept")
    prepared = prepare_data([chats], chat_tokenizer, settings.data)
    expected = [tokenize_conversation(c, chat_tokenizer, max_tokens=256) for c in prepared.validation]
    expected = [sample for sample in expected if any(label != IGNORE_INDEX for label in sample["labels"])]
    assert prepared.report.to_dict()["dropped"]["eval_leak"]["count"] == 1
    assert all("help@halo-example.com" in c.messages[0].content for c in prepared.train)

    # The evaluation runs with plain defaults: no keep list, no questions file.
    plain = DataSettings(validation_fraction=0.25, max_tokens=256, eval_questions=None)
    assert prepare_data([chats], chat_tokenizer, plain).data_hash != prepared.data_hash
    held_out = held_out_samples([chats], chat_tokenizer, trained.adapter_dir, plain)
    assert held_out.split.startswith("the adapter's validation split")
    assert held_out.samples == expected and expected
