"""Trains one method in a process of its own and writes what it cost, for `tunedesk methods`.

    python -m finetune.method_worker SPEC.json

SPEC.json holds the resolved settings, the data paths, the adapter name and the result file to write.
A process per method makes its peak memory its own: the resident set size (RSS) on the CPU, or
`torch.cuda.max_memory_allocated` on a GPU, is not the high-water mark of an earlier method. The result
file holds the run's metrics and those figures, or `error` with the one-line reason the run failed.
Knows nothing about how the methods are compared.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import torch

from core.device import resolve_device
from core.settings import Settings
from finetune.checkpoints import write_json_atomic


def peak_memory_mb(*, cuda: bool) -> tuple[float, str]:
    """This process's peak memory in MiB and what was measured."""
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**20, "cuda allocated"
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10, "rss"


def run(spec: dict) -> dict:
    from finetune.adapters import AdapterError
    from finetune.base_model import BaseModelError
    from finetune.train import TrainError, TrainingDiverged, train

    settings = Settings(**spec["settings"])
    started = time.perf_counter()
    try:
        result = train(settings, [Path(path) for path in spec["data"]], spec["name"], force=True)
    except (TrainError, TrainingDiverged, AdapterError, BaseModelError, ValueError) as error:
        return {"error": str(error)}
    peak, kind = peak_memory_mb(cuda=resolve_device(settings.device).is_cuda)
    return {
        "metrics": result.metrics.to_dict(),
        "peak_memory_mb": round(peak, 1),
        "memory_kind": kind,
        "wall_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    outcome = run(spec)
    write_json_atomic(Path(spec["out"]), outcome)
    return 1 if "error" in outcome else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
