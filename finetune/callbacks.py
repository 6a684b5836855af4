"""Trainer callbacks: seal checkpoints, stop on a diverged loss, show a progress bar with loss and tokens/s.

Each one is a small hook into transformers' Trainer loop and knows nothing about data or adapters.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from finetune.checkpoints import seal_checkpoint


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing from this run was published."""


class CheckpointSeal(TrainerCallback):
    """Seals each checkpoint once the trainer has finished writing it (see finetune.checkpoints)."""

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        if state.is_world_process_zero:
            seal_checkpoint(Path(args.output_dir) / f"checkpoint-{state.global_step}")


class DivergenceGuard(TrainerCallback):
    """Raises on a non-finite loss. Logging runs before saving, so a diverged step never reaches a checkpoint."""

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kwargs
    ):
        for key in ("loss", "eval_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                raise TrainingDiverged(
                    f"training stopped: {key} became {value} at step {state.global_step}; "
                    "lower the learning rate (--lr) and retry. The previous adapter, if any, is unchanged."
                )


class ProgressBar(TrainerCallback):
    """One tqdm bar on stderr: steps done, latest loss and non-padding tokens per second."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._last_time = 0.0
        self._last_tokens = 0
        self.tokens_per_second: list[float] = []

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        if state.is_world_process_zero:
            self._bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", file=sys.stderr)
        self._last_time = time.perf_counter()
        self._last_tokens = state.num_input_tokens_seen

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        if self._bar is not None:
            self._bar.update(state.global_step - self._bar.n)

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kwargs
    ):
        logs = logs or {}
        if "loss" not in logs:
            return
        now = time.perf_counter()
        elapsed = now - self._last_time
        rate = (state.num_input_tokens_seen - self._last_tokens) / elapsed if elapsed > 0 else 0.0
        self._last_time, self._last_tokens = now, state.num_input_tokens_seen
        self.tokens_per_second.append(rate)
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{logs['loss']:.3f}", tok_s=f"{rate:.0f}")

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        # Evaluation time is not training throughput: restart the clock after it.
        self._last_time = time.perf_counter()
        self._last_tokens = state.num_input_tokens_seen

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
