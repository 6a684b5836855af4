"""Loss curves of a training run, as JSON (for tools) and a PNG plot (for people).

Reads the trainer's log history; knows nothing else about training.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402

from finetune.checkpoints import write_json_atomic  # noqa: E402


def loss_curves(log_history: list[dict]) -> dict[str, list[list[float]]]:
    """{"train": [[step, loss], ...], "validation": [[step, loss], ...]} from the trainer's log history."""
    train = [[entry["step"], entry["loss"]] for entry in log_history if "loss" in entry]
    validation = [[entry["step"], entry["eval_loss"]] for entry in log_history if "eval_loss" in entry]
    return {"train": train, "validation": validation}


def write_loss_curves(curves: dict[str, list[list[float]]], folder: Path) -> None:
    """Write `loss_curve.json` and `loss_curve.png` into `folder`."""
    write_json_atomic(folder / "loss_curve.json", curves)
    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    for label, points in (("train", curves["train"]), ("validation", curves["validation"])):
        if points:
            steps, losses = zip(*points, strict=True)
            axes.plot(steps, losses, marker="o" if len(points) < 30 else None, label=label)
    axes.set_xlabel("optimiser step")
    axes.set_ylabel("loss (assistant tokens)")
    axes.set_title("Training loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(folder / "loss_curve.png")
    plt.close(figure)
