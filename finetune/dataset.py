"""From data files to cleaned, scrubbed, split conversations and the report of what was done.

This is the one entry point training and `tunedesk data check` use: load -> clean -> split.
It knows the tokenizer only to count tokens; turning conversations into ids is `tokenize`'s job.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.settings import DataSettings
from finetune.cleaning import CleaningReport, clean
from finetune.conversation import Conversation
from finetune.eval_leaks import questions_at
from finetune.formats import load_all
from finetune.split import split_conversations
from finetune.tokenize import count_tokens


@dataclass
class PreparedData:
    train: list[Conversation]
    validation: list[Conversation]
    report: CleaningReport
    data_hash: str  # sha256 over the cleaned, scrubbed conversations: what was trained on


def prepare_data(paths: Iterable[Path], tokenizer, data: DataSettings) -> PreparedData:
    """Load every file under `paths`, clean the conversations, and split them into train/validation.

    Every data setting takes part (limits, scrubbing and its keep list, evaluation-leak removal, the
    split), so the same files and the same settings always give the same conversations: training,
    `tunedesk data check` and the evaluation's held-out split all call this one function.
    Conversations resembling a question of `data.eval_questions` are dropped (see `cleaning.clean`).
    """
    conversations, problems = load_all(paths)
    kept, report = clean(
        conversations,
        count_tokens=lambda conversation: count_tokens(conversation, tokenizer),
        max_tokens=data.max_tokens,
        over_long=data.over_long,
        near_duplicate_threshold=data.near_duplicate_threshold,
        scrub_pii=data.scrub_pii,
        pii_keep=frozenset(data.pii_keep),
        pii_ner_model=data.pii_ner_model,
        eval_questions=questions_at(data.eval_questions),
        eval_leak_threshold=data.eval_leak_threshold,
        problems=problems,
    )
    if data.eval_questions is not None and Path(data.eval_questions).exists():
        report.eval_questions_file = str(data.eval_questions)
    train, validation = split_conversations(
        kept, validation_fraction=data.validation_fraction, seed=data.seed
    )
    return PreparedData(train, validation, report, data_hash(kept))


def training_jsonl(prepared: PreparedData) -> str:
    """The conversations exactly as training sees them, one chat JSON object per line with its `split`.

    Train conversations first, then validation, each in the order training uses; the file loads back
    with `formats.load_all` (the `split` key is ignored there).
    """
    lines = [
        json.dumps({"split": split} | conversation.to_openai(), ensure_ascii=False)
        for split, part in (("train", prepared.train), ("validation", prepared.validation))
        for conversation in part
    ]
    return "".join(line + "\n" for line in lines)


def data_hash(conversations: Iterable[Conversation]) -> str:
    """sha256 of the conversations' roles and contents in order (origins excluded)."""
    digest = hashlib.sha256()
    for conversation in conversations:
        digest.update(
            json.dumps(conversation.to_openai(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        )
        digest.update(b"\n")
    return digest.hexdigest()


def load_counting_tokenizer(name: str, models_dir: Path):
    """The base model's tokenizer for counting tokens, without converting a packaged model's weights.

    A packaged GGUF model that has not been converted yet lends its tokenizer straight from the GGUF
    file (seconds), so checking data never writes the ~500 MB converted model.
    """
    from finetune.base_model import PACKAGED_MODELS, load_tokenizer

    if name in PACKAGED_MODELS and not (models_dir / name / "config.json").is_file():
        return _gguf_tokenizer(name)
    return load_tokenizer(name, models_dir)


@functools.cache
def _gguf_tokenizer(name: str):
    # Parsing the GGUF file takes seconds; one copy per process is enough for counting.
    from transformers import AutoTokenizer

    from finetune.base_model import packaged_gguf

    gguf = packaged_gguf(name)
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
