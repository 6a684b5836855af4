"""Suite-wide test setup: everything offline, GPU tests skipped where no GPU is visible."""

from __future__ import annotations

import os

# Set before any test imports transformers / sentence-transformers, so nothing tries a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; none is visible to torch on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
