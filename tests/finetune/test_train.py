"""Training with the tiny random Llama: the adapter folder, resume, checkpoint fallback, the NaN guard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from finetune.checkpoints import SEAL_NAME
from finetune.train import TrainError, TrainingDiverged, train


class Killed(Exception):
    """Stands in for the process being killed right after a checkpoint was written."""


class KillAfterSave(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Killed(f"killed after step {self.step}")


def adapter_weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "adapter_model.safetensors")


def test_adapter_folder_describes_itself(trained_home, tiny_model_dir):
    folder = trained_home / "adapters" / "demo"
    names = {path.name for path in folder.iterdir()}
    expected = {
        "adapter_model.safetensors",
        "adapter_config.json",
        "tunedesk_adapter.json",
        "training_config.json",
        "cleaning_report.json",
        "metrics.json",
        "loss_curve.json",
        "loss_curve.png",
        "chat_template.jinja",
        "tokenizer.json",
        "adapter_model.gguf",
    }
    assert expected <= names
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        tiny_model_dir
    )
    info = json.loads((folder / "tunedesk_adapter.json").read_text())
    assert info["base_model"] == str(tiny_model_dir) and info["method"] == "lora"
    assert len(info["data_hash"]) == 64
    config = json.loads((folder / "training_config.json").read_text())
    assert config["training"]["max_steps"] == 6 and config["training"]["lora_rank"] == 16
    assert config["data_hash"] == info["data_hash"]
    assert (folder / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves = json.loads((folder / "loss_curve.json").read_text())
    assert [step for step, _ in curves["train"]] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in curves["validation"]] == [2, 4, 6]
    # The run folder with its checkpoints is gone once the adapter is published.
    assert not (trained_home / "runs" / "demo").exists()


def test_metrics_report_perplexity_before_and_after(trained_home):
    metrics = json.loads((trained_home / "adapters" / "demo" / "metrics.json").read_text())
    assert metrics["steps"] == 6
    for key in ("validation", "general_text"):
        before, after = metrics["perplexity"][key]["before"], metrics["perplexity"][key]["after"]
        # A random model over a ~49k vocabulary is close to uniform: perplexity near the vocabulary size.
        assert 10_000 < before < 100_000 and math.isfinite(after)
    # Six steps at a high learning rate already pull the assistant-token perplexity down.
    assert metrics["perplexity"]["validation"]["after"] < metrics["perplexity"]["validation"]["before"]
    assert metrics["validation_loss"] == pytest.approx(math.log(metrics["perplexity"]["validation"]["after"]))
    assert metrics["train_tokens"] > 0 and metrics["tokens_per_second"] > 0


def test_training_changes_only_lora_weights(trained_home):
    weights = adapter_weights(trained_home / "adapters" / "demo")
    lora_b = [tensor for key, tensor in weights.items() if "lora_B" in key]
    # peft starts every lora_B at zero, so any non-zero value was learned.
    assert len(lora_b) == 2 * 4  # two layers x q/k/v/o
    assert all(tensor.abs().max() > 0 for tensor in lora_b)


@pytest.mark.slow  # a training run of its own
def test_home_never_holds_the_raw_transcripts(tmp_path, tiny_settings, support_jsonl):
    raw = tmp_path / "raw.jsonl"
    secret = "jane.doe.private@example.org"
    text = support_jsonl.read_text().replace("Question 0 about", f"Mail me at {secret}. Question 0 about", 1)
    raw.write_text(text)
    home = tmp_path / "home"
    train(tiny_settings(home, max_steps=2), [raw], "scrubbed")
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, tiny_settings, support_jsonl):
    """Settings of a 6-step run and the adapter weights it ends with when nothing interrupts it."""
    # No evaluation during training: it does not touch the weights and would only slow these tests.
    settings = tiny_settings(tmp_path_factory.mktemp("home"), lora_dropout=0.1, early_stopping_patience=0)
    return settings, adapter_weights(train(settings, [support_jsonl], "straight").adapter_dir)


@pytest.mark.slow  # three training runs (one shared with the next test)
def test_resume_matches_an_uninterrupted_run(tmp_path, straight_run, support_jsonl):
    settings = straight_run[0].model_copy(update={"home": tmp_path / "home"})
    with pytest.raises(Killed):
        train(settings, [support_jsonl], "resumed", callbacks=[KillAfterSave(4)])
    assert not (tmp_path / "home" / "adapters" / "resumed").exists()
    with pytest.raises(TrainError, match="--resume"):
        train(settings, [support_jsonl], "resumed")

    result = train(settings, [support_jsonl], "resumed", resume=True)

    assert result.resumed_from == "checkpoint-4"
    straight = straight_run[1]
    resumed = adapter_weights(result.adapter_dir)
    assert straight.keys() == resumed.keys()
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # two training runs (one shared with the test above)
def test_resume_skips_a_truncated_checkpoint(tmp_path, straight_run, support_jsonl):
    settings = straight_run[0].model_copy(update={"home": tmp_path / "home"})
    with pytest.raises(Killed):
        train(settings, [support_jsonl], "cut", callbacks=[KillAfterSave(6)])  # the last save
    run_dir = tmp_path / "home" / "runs" / "cut"
    assert (run_dir / "checkpoint-4" / SEAL_NAME).is_file()
    weights = run_dir / "checkpoint-6" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a save cut short by the kill

    result = train(settings, [support_jsonl], "cut", resume=True)

    assert result.resumed_from == "checkpoint-4"
    straight = straight_run[1]
    for key, tensor in adapter_weights(result.adapter_dir).items():
        torch.testing.assert_close(tensor, straight[key], rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # a training run to a checkpoint first
def test_resume_refuses_changed_settings(tmp_path, tiny_settings, support_jsonl):
    quick = {"early_stopping_patience": 0}
    with pytest.raises(Killed):
        train(tiny_settings(tmp_path, **quick), [support_jsonl], "run", callbacks=[KillAfterSave(2)])
    with pytest.raises(TrainError, match="different training"):
        train(tiny_settings(tmp_path, **quick, lora_rank=4), [support_jsonl], "run", resume=True)


@pytest.mark.slow  # two training runs
def test_nan_loss_stops_and_keeps_the_previous_adapter(tmp_path, tiny_settings, support_jsonl):
    home = tmp_path / "home"
    train(tiny_settings(home, max_steps=2), [support_jsonl], "keep")
    before = {path.name: path.read_bytes() for path in (home / "adapters" / "keep").iterdir()}

    # Adam moves every weight by about the learning rate per step: 1e30 overflows float32 at once.
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        train(tiny_settings(home, max_steps=6, learning_rate=1e30), [support_jsonl], "keep", force=True)

    after = {path.name: path.read_bytes() for path in (home / "adapters" / "keep").iterdir()}
    assert after == before
    # No checkpoint was written from a diverged step.
    for seal in (home / "runs" / "keep").glob(f"checkpoint-*/{SEAL_NAME}"):
        weights = load_file(seal.parent / "adapter_model.safetensors")
        assert all(torch.isfinite(tensor).all() for tensor in weights.values())


def test_existing_name_needs_force(trained_home, tiny_settings, support_jsonl):
    with pytest.raises(TrainError, match="--force"):
        train(tiny_settings(trained_home), [support_jsonl], "demo")


def test_no_usable_conversations_is_a_clear_error(tmp_path, tiny_settings):
    only_questions = tmp_path / "questions.jsonl"
    only_questions.write_text(json.dumps({"messages": [{"role": "user", "content": "Hello?"}]}) + "\n")
    with pytest.raises(TrainError, match="no usable training conversations"):
        train(tiny_settings(tmp_path / "home"), [only_questions], "empty")
    assert not (tmp_path / "home" / "adapters" / "empty").exists()


@pytest.mark.slow  # a full fine-tune
def test_full_fine_tuning_writes_a_whole_model(tmp_path, tiny_settings, support_jsonl, tiny_model_dir):
    result = train(
        tiny_settings(tmp_path, method="full", max_steps=2, learning_rate=1e-3), [support_jsonl], "full"
    )
    tuned = load_file(result.adapter_dir / "model.safetensors")
    base = load_file(tiny_model_dir / "model.safetensors")
    changed = [key for key in base if not torch.equal(base[key], tuned[key])]
    assert "model.layers.0.mlp.up_proj.weight" in changed
    assert json.loads((result.adapter_dir / "tunedesk_adapter.json").read_text())["method"] == "full"


def test_qlora_needs_cuda(tmp_path, tiny_settings, support_jsonl):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error path needs a machine without it")
    with pytest.raises(TrainError, match="qlora: needs a CUDA GPU"):
        train(tiny_settings(tmp_path, method="qlora"), [support_jsonl], "q")


@pytest.mark.slow  # a training run of its own
def test_early_stopping_ends_a_run_that_stopped_improving(tmp_path, tiny_settings, support_jsonl):
    # At this learning rate the weights move ~1e-9, far below what changes a float32 loss near 10.
    settings = tiny_settings(
        tmp_path, max_steps=10, learning_rate=1e-9, lora_dropout=0.0, early_stopping_patience=1
    )
    result = train(settings, [support_jsonl], "flat")
    assert result.metrics.steps == 4 and result.metrics.stopped_early
    curves = json.loads((result.adapter_dir / "loss_curve.json").read_text())
    assert [step for step, _ in curves["validation"]] == [2, 4]
