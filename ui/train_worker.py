"""The background training process the app starts: `python -m ui.train_worker RUN_FOLDER`.

Reads `request.json` from the run folder, trains with `finetune.train.train`, reviews the adapter
(memorisation check, promotion: `assistant.adapter_review`), and keeps `progress.json` current (step,
losses, status) so the app can show live progress.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from transformers import TrainerCallback

from ui.background import request_settings
from ui.training_runs import REQUEST, write_progress


class ProgressWriter(TrainerCallback):
    """Writes step and loss to the run's progress file as the Trainer logs them (every step)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._losses: list[tuple[int, float]] = []
        self._eval_losses: list[tuple[int, float]] = []

    def on_train_begin(self, args, state, control, **kwargs):
        write_progress(
            self._folder, {"status": "training", "step": state.global_step, "max_steps": state.max_steps}
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs:
            self._losses.append((state.global_step, float(logs["loss"])))
        if "eval_loss" in logs:
            self._eval_losses.append((state.global_step, float(logs["eval_loss"])))
        write_progress(
            self._folder,
            {"step": state.global_step, "losses": self._losses, "eval_losses": self._eval_losses},
        )

    def on_train_end(self, args, state, control, **kwargs):
        # Perplexity after training and publishing the adapter still follow.
        write_progress(self._folder, {"status": "finishing", "step": state.global_step})


def main(folder: Path) -> int:
    import json

    from assistant.adapter_review import review_adapter
    from assistant.builders import build_training_context, default_adapter, has_documents
    from finetune.train import train

    request = json.loads((folder / REQUEST).read_text(encoding="utf-8"))
    settings = request_settings(request)
    write_progress(folder, {"status": "preparing"})
    context = None
    active_before = default_adapter(settings)
    try:
        # The same default as `tunedesk train`: with documents in the knowledge base, each reply is
        # trained under the tuned+rag prompt with retrieved sources.
        if has_documents(settings):
            context = build_training_context(settings)
        result = train(
            settings,
            [Path(path) for path in request["data"]],
            request["name"],
            force=request["force"],
            callbacks=[ProgressWriter(folder)],
            context=context,
        )
    except Exception as error:
        traceback.print_exc()
        write_progress(folder, {"status": "failed", "error": str(error)})
        return 1
    finally:
        if context is not None:
            context.close()
    write_progress(folder, {"status": "checking"})
    try:
        review = review_adapter(
            settings, request["name"], [Path(path) for path in request["data"]], active_before
        )
    except Exception as error:  # the adapter is saved; only its review is missing
        traceback.print_exc()
        review = {}
        write_progress(folder, {"error": f"adapter saved, but its review failed: {error}"})
    write_progress(
        folder,
        {
            "status": "done",
            "metrics": result.metrics.to_dict(),
            "adapter": str(result.adapter_dir),
            "review": {key: value.to_dict() for key, value in review.items()},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
