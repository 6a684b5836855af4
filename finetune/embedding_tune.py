"""Fine-tunes the sentence-transformers embedding model on mined (question, chunk) pairs and measures it.

    tunedesk tune-embedder data/transcripts --out .tunedesk/embedders/support

Conversations are split by `finetune.split` (the same seeded split as LoRA training); pairs of the
training side teach the model with in-batch negatives (MultipleNegativesRankingLoss, no chunk twice
in a batch), and pairs of the held-out side give hit@k before and after: each held-out question
searches all chunks, and a hit is its own supporting chunk in the top k. The saved folder is a plain
sentence-transformers model plus `tuning.json` with the settings, data counts and figures.
Knows nothing about settings or the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finetune.embedding_pairs import Pair
from ingest.atomic import write_text_atomically

CUTOFFS = (1, 3, 5)


@dataclass(frozen=True)
class EmbedderTuning:
    base_model: str
    epochs: float
    learning_rate: float
    batch_size: int
    min_support: float
    seed: int
    train_pairs: int
    held_out_pairs: int
    before: dict[str, float]
    after: dict[str, float]


def hit_rates(
    model: Any, pairs: Sequence[Pair], chunk_ids: Sequence[int], chunk_texts: Sequence[str]
) -> dict:
    """hit@k of each pair's question finding its own chunk among all chunks, by cosine similarity."""
    if not pairs:
        return {}
    chunks = model.encode(list(chunk_texts), normalize_embeddings=True, convert_to_numpy=True)
    questions = model.encode([p.question for p in pairs], normalize_embeddings=True, convert_to_numpy=True)
    order = np.argsort(-(questions @ chunks.T), axis=1)
    position = {cid: index for index, cid in enumerate(chunk_ids)}
    ranks = [int(np.where(order[row] == position[p.chunk_id])[0][0]) + 1 for row, p in enumerate(pairs)]
    return {f"hit@{k}": sum(rank <= k for rank in ranks) / len(ranks) for k in CUTOFFS}


def tune_embedder(
    model: Any,
    train: Sequence[Pair],
    held_out: Sequence[Pair],
    chunk_texts: dict[int, str],
    out: Path,
    *,
    base_model: str,
    epochs: float,
    learning_rate: float,
    batch_size: int,
    min_support: float,
    seed: int,
) -> EmbedderTuning:
    """Train `model` (a SentenceTransformer) in place on `train`, save it to `out`, return before/after."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments, losses
    from sentence_transformers.training_args import BatchSamplers

    if not train:
        raise ValueError(
            "no training pairs were mined; lower embedding_tuning.min_support or add transcripts"
        )
    ids = sorted(chunk_texts)
    texts = [chunk_texts[cid] for cid in ids]
    before = hit_rates(model, held_out, ids, texts)
    dataset = Dataset.from_dict(
        {"anchor": [p.question for p in train], "positive": [chunk_texts[p.chunk_id] for p in train]}
    )
    arguments = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        warmup_ratio=0.1,
        seed=seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,  # the same chunk twice in a batch is a false negative
        save_strategy="no",
        logging_steps=10,
        report_to=[],
        use_cpu=model.device.type == "cpu",
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=arguments, train_dataset=dataset, loss=losses.MultipleNegativesRankingLoss(model)
    )
    trainer.train()
    after = hit_rates(model, held_out, ids, texts)
    model.save(str(out))
    tuning = EmbedderTuning(
        base_model,
        epochs,
        learning_rate,
        batch_size,
        min_support,
        seed,
        len(train),
        len(held_out),
        before,
        after,
    )
    write_text_atomically(out / "tuning.json", json.dumps(asdict(tuning), indent=2) + "\n")
    return tuning
