"""GGUF LoRA files: written by training next to the peft adapter, rewritten by `tunedesk adapters export`,
and checked against the base model's GGUF before llama.cpp would load them."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from assistant.cli.app import app
from finetune.gguf_check import read_base_model, read_lora
from finetune.gguf_lora import GGUF_NAME


def test_training_writes_a_gguf_lora_that_fits_the_base(trained_home, tiny_gguf, tiny_model_dir):
    import gguf

    path = trained_home / "adapters" / "demo" / GGUF_NAME
    info = read_lora(path, read_base_model(tiny_gguf))
    # Default rank 16, alpha 32: llama.cpp scales by alpha / rank, as peft does.
    assert info.alpha == 32.0 and info.base_model == str(tiny_model_dir)
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.type"].contents() == "adapter"
    assert reader.fields["general.architecture"].contents() == "llama"
    names = sorted(tensor.name for tensor in reader.tensors)
    assert len(names) == 2 * 4 * 2  # 2 layers x q/k/v/o x lora_a/lora_b
    assert "blk.1.attn_q.weight.lora_a" in names and "blk.0.attn_output.weight.lora_b" in names


def test_cli_export_rewrites_the_same_file_and_refuses_bad_requests(trained_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(trained_home / "adapters", home / "adapters")
    written = home / "adapters" / "demo" / GGUF_NAME
    original = written.read_bytes()
    written.unlink()
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(home), "adapters", "export", "demo", "--format", "gguf"])
    assert result.exit_code == 0, result.output
    assert str(written) in result.stdout and written.read_bytes() == original

    unknown = runner.invoke(app, ["--home", str(home), "adapters", "export", "nope"])
    assert unknown.exit_code != 0 and "unknown adapter 'nope'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    other = runner.invoke(app, ["--home", str(home), "adapters", "export", "demo", "--format", "onnx"])
    assert other.exit_code != 0 and "--format onnx: only gguf" in other.stderr
