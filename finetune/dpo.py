"""Preference tuning: continues an existing adapter with DPO on preference pairs and publishes a new adapter.

    tunedesk feedback export --dpo prefs.jsonl
    tunedesk train --dpo prefs.jsonl --from support --name support-dpo

Pairs are TRL's preference format, one JSON object per line: `prompt`, `chosen`, `rejected`, each a
string or a list of chat messages. The recipe is TRL's `DPOTrainer` over the starting adapter; TRL
keeps a frozen copy of that adapter as the reference policy, so the new adapter moves away from the
old one only as far as the preferences (and `beta`) ask. Everything else is the SFT recipe's:
the same training arguments, checkpoint sealing, divergence guard, progress bar, loss curves, and
perplexity before/after (on the held-out chosen answers and on general text) in `metrics.json`.
The old adapter is never modified. Knows nothing about where the preferences came from.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from transformers import PrinterCallback, TrainerCallback, set_seed

from core.device import resolve_device
from core.settings import Settings
from finetune import adapters
from finetune.base_model import ensure_base_model, load_base_model, load_tokenizer
from finetune.callbacks import ProgressBar
from finetune.collate import IGNORE_INDEX
from finetune.conversation import Conversation, Message
from finetune.perplexity import general_text_samples
from finetune.plots import loss_curves, write_loss_curves
from finetune.tokenize import tokenize_conversation
from finetune.train import (
    TrainError,
    TrainResult,
    _callbacks,
    _check_names,
    _metrics,
    _perplexities,
    _training_arguments,
)

FIELDS = ("prompt", "chosen", "rejected")


def train_dpo(
    settings: Settings,
    preferences: Path,
    from_adapter: str,
    name: str,
    *,
    beta: float = 0.1,
    force: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Train adapter `name` from adapter `from_adapter` on the pairs in `preferences`; publish it atomically."""
    from datasets import Dataset
    from peft import PeftModel
    from trl import DPOConfig, DPOTrainer

    target = adapters.adapter_dir(settings.adapters_dir, name)
    run_dir = settings.layout.runs / name
    source = adapters.find_adapter(settings.adapters_dir, from_adapter)
    if source.method == "full":
        raise TrainError(
            f"--from {from_adapter}: a full fine-tune is not an adapter; DPO continues a LoRA adapter"
        )
    _check_names(target, run_dir, resume=False, force=force)
    pairs, problems = load_preferences(preferences)
    if not pairs:
        raise TrainError(
            f"{preferences}: no usable preference pairs ({len(problems)} lines skipped); "
            "export some with `tunedesk feedback export --dpo FILE`"
        )
    data, training = settings.data, settings.training
    train_pairs, validation_pairs = split_pairs(
        pairs, validation_fraction=data.validation_fraction, seed=data.seed
    )

    base = settings.model.base
    tokenizer = load_tokenizer(base, settings.models_dir)
    device = resolve_device(settings.device)
    set_seed(training.seed)
    model = PeftModel.from_pretrained(
        load_base_model(base, settings.models_dir, device), source.path, is_trainable=True
    )
    held_out = _chosen_samples(validation_pairs or train_pairs, tokenizer, data.max_tokens)
    general = general_text_samples(tokenizer, max_tokens=data.max_tokens)
    before = _perplexities(model, held_out, general, tokenizer.pad_token_id, training.batch_size)

    run_dir.mkdir(parents=True, exist_ok=True)
    args = _training_arguments(
        training,
        run_dir,
        device,
        has_validation=bool(validation_pairs),
        arguments_class=DPOConfig,
        beta=beta,
        max_length=data.max_tokens,
        # Pairs carry no single `input_ids` column to group or count by.
        train_sampling_strategy="random",
        include_num_input_tokens_seen="no",
    )
    progress = ProgressBar()
    trainer = DPOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_pairs),
        eval_dataset=Dataset.from_list(validation_pairs) if validation_pairs else None,
        processing_class=tokenizer,
        callbacks=[*_callbacks(training, progress, has_validation=bool(validation_pairs)), *callbacks],
    )
    trainer.remove_callback(PrinterCallback)
    started = time.perf_counter()
    trainer.train()
    runtime_s = time.perf_counter() - started

    tuned = trainer.model
    if "ref" in tuned.peft_config:  # TRL's frozen reference copy is not part of the new adapter
        tuned.delete_adapter("ref")
    tuned.set_adapter("default")
    after = _perplexities(tuned, held_out, general, tokenizer.pad_token_id, training.batch_size)
    curves = loss_curves(trainer.state.log_history)
    metrics = _metrics(trainer, curves, before, after, progress, runtime_s)
    metrics["dpo"] = _reward_metrics(trainer.state.log_history)
    config = {
        "base_model": base,
        "training": training.model_dump(mode="json"),
        "data": data.model_dump(mode="json"),
        "data_hash": _pairs_hash(pairs),
        "train_conversations": len(train_pairs),
        "validation_conversations": len(validation_pairs),
        "preference": {
            "method": "dpo",
            "beta": beta,
            "from_adapter": from_adapter,
            "skipped_lines": problems,
        },
    }
    report = {"preference_pairs": len(pairs), "problems": problems}
    staging = adapters.new_staging_dir(settings.adapters_dir, name)
    try:
        record = adapters.AdapterRecord(
            name=name,
            base_model=base,
            base_path=ensure_base_model(base, settings.models_dir),
            method=training.method,
            data_hash=config["data_hash"],
            config=config,
            report=report,
            metrics=metrics,
        )
        adapters.write_adapter(staging, tuned, tokenizer, record)
        write_loss_curves(curves, staging)
        adapters.publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(run_dir, ignore_errors=True)
    return TrainResult(target, metrics, report, None)


def load_preferences(path: Path) -> tuple[list[dict], list[str]]:
    """(pairs, problems): the valid lines of a preference JSONL file, and `file:line: field: problem` per bad one."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise TrainError(f"{path}: cannot read the preference file ({error})") from None
    pairs, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pairs.append(_pair(line))
        except ValueError as error:
            problems.append(f"{Path(path).name}:{number}: {error}")
    return pairs, problems


def split_pairs(pairs: list[dict], *, validation_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, validation), decided per pair by a hash of its content and the seed, as for conversations."""
    if len(pairs) < 2 or validation_fraction <= 0:
        return list(pairs), []
    scores = [_score(pair, seed) for pair in pairs]
    held = {index for index, score in enumerate(scores) if score < validation_fraction}
    if not held or len(held) == len(pairs):
        held = {min(range(len(pairs)), key=scores.__getitem__)}
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


def _pair(line: str) -> dict:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error.args[0]})") from None
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object with prompt, chosen and rejected")
    for field in FIELDS:
        value = record.get(field)
        if isinstance(value, str):
            if not value.strip():
                raise ValueError(f"field '{field}': empty")
        elif not (
            isinstance(value, list)
            and value
            and all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in value
            )
        ):
            raise ValueError(f"field '{field}': give a string or a list of {{role, content}} messages")
    if isinstance(record["prompt"], str) != isinstance(record["chosen"], str) or isinstance(
        record["chosen"], str
    ) != isinstance(record["rejected"], str):
        raise ValueError(
            "fields 'prompt', 'chosen', 'rejected': use strings for all three or messages for all three"
        )
    if record["chosen"] == record["rejected"]:
        raise ValueError("fields 'chosen', 'rejected': identical answers carry no preference")
    return {field: record[field] for field in FIELDS}


def _chosen_samples(pairs: list[dict], tokenizer, max_tokens: int) -> list[dict]:
    """Prompt + chosen answer as tokenized conversations, scored on the answer only."""
    samples = []
    for pair in pairs:
        prompt, chosen = pair["prompt"], pair["chosen"]
        if isinstance(prompt, str):
            prompt, chosen = [{"role": "user", "content": prompt}], [{"role": "assistant", "content": chosen}]
        messages = tuple(Message(m["role"], m["content"]) for m in [*prompt, *chosen])
        sample = tokenize_conversation(
            Conversation(messages, "preferences"), tokenizer, max_tokens=max_tokens
        )
        if any(label != IGNORE_INDEX for label in sample["labels"]):
            samples.append(sample)
    return samples


def _reward_metrics(log_history: list[dict]) -> dict:
    """The last logged DPO reward figures (train, and eval when there was a validation split)."""
    found = {}
    for entry in log_history:
        for key in (
            "rewards/accuracies",
            "rewards/margins",
            "eval_rewards/accuracies",
            "eval_rewards/margins",
        ):
            if key in entry:
                found[key.replace("/", "_")] = entry[key]
    return found


def _pairs_hash(pairs: list[dict]) -> str:
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(json.dumps(pair, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _score(pair: dict, seed: int) -> float:
    canonical = json.dumps(pair, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(f"{seed}:{canonical}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
