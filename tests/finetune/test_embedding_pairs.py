"""Mining (question, chunk) pairs from conversations against a real registry, and one real tuning run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from finetune.conversation import Conversation, Message
from finetune.embedding_pairs import mine_pairs
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase
from ingest.registry import Registry

DOCS = {
    "returns.md": "# Returns\n\nOpened routers can be sent back within 30 days with the original receipt.\n",
    "warranty.md": "# Warranty\n\nHardware faults are repaired free of charge for two years from delivery.\n",
}


def _conversation(*turns: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, text) for role, text in turns), "chats.jsonl:1")


@pytest.fixture
def registry(tmp_path) -> Registry:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    embedder = HashingEmbedder(load_packaged_tokenizer(), dimension=64)
    with KnowledgeBase(tmp_path / "index", embedder, parse_workers=1) as kb:
        assert not kb.ingest([docs]).failed
    registry = Registry(tmp_path / "index" / "registry.sqlite3")
    yield registry
    registry.close()


def test_supported_replies_become_pairs_with_the_customers_words_so_far(registry):
    conversation = _conversation(
        ("user", "my router broke after a year"),
        ("assistant", "Hi, thanks for contacting us, my name is Ana."),
        ("user", "is that covered?"),
        ("assistant", "Yes: hardware faults are repaired free of charge for two years from delivery."),
        ("assistant", "Our cafeteria serves excellent soup on Tuesdays and Fridays."),
    )
    pairs = mine_pairs([conversation], registry, min_support=0.6)
    assert len(pairs) == 1
    pair = pairs[0]
    assert pair.question == "my router broke after a year is that covered?"
    assert "Hardware faults" in registry.chunks([pair.chunk_id])[pair.chunk_id].chunk.text
    # Every content word of the reply but "yes" is in the chunk.
    assert pair.support == pytest.approx(8 / 9) and pair.origin == "chats.jsonl:1"
    # A stricter threshold than the reply's support keeps nothing; the same pair is never mined twice.
    assert mine_pairs([conversation], registry, min_support=1.01) == []
    assert len(mine_pairs([conversation, conversation], registry, min_support=0.6)) == 1


@pytest.mark.slow
def test_tuning_changes_the_model_and_records_figures(registry, tmp_path):
    from sentence_transformers import SentenceTransformer

    from finetune.embedding_pairs import Pair
    from finetune.embedding_tune import tune_embedder
    from ingest.embeddings import resolve_model

    model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
    stored = registry.chunks(registry.chunk_ids())
    texts = {cid: item.chunk.text for cid, item in stored.items()}
    returns, warranty = sorted(stored, key=lambda cid: stored[cid].source)
    train = [Pair("can i send it back", returns, 1.0, "x"), Pair("it broke, repair?", warranty, 1.0, "x")] * 2
    before = model.encode(["can i send it back"])
    tuning = tune_embedder(
        model,
        train,
        train[:2],
        texts,
        tmp_path / "tuned",
        base_model="all-MiniLM-L6-v2",
        epochs=1,
        learning_rate=1e-4,
        batch_size=2,
        min_support=1.0,
        seed=0,
    )
    assert not np.allclose(
        before, SentenceTransformer(str(tmp_path / "tuned")).encode(["can i send it back"])
    )
    recorded = json.loads((tmp_path / "tuned" / "tuning.json").read_text())
    assert recorded["train_pairs"] == 4 and set(recorded["after"]) == {"hit@1", "hit@3", "hit@5"}
    assert tuning.after["hit@5"] == 1.0  # two chunks: any question finds its chunk in the top 5
    assert Path(tmp_path / "tuned" / "config_sentence_transformers.json").exists()
