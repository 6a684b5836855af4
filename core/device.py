"""Picks the compute device and dtype: CUDA with bf16 when present, else CPU with fp32.

Knows nothing about models; callers move their own modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Device:
    name: str  # "cpu", "cuda", "mps"
    dtype: torch.dtype

    @property
    def is_cuda(self) -> bool:
        return self.name == "cuda"


def resolve_device(requested: str = "auto") -> Device:
    """`auto` takes CUDA when available; an explicit device that is missing is an error, not a fallback."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA GPU is visible to torch; use --device cpu or auto")
        # bf16 halves memory and is what recent GPUs run fastest; fall back to fp16 on older cards.
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Device("cuda", dtype)
    if requested == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("--device mps: Apple MPS is not available; use --device cpu or auto")
        return Device("mps", torch.float32)
    if requested == "cpu":
        return Device("cpu", torch.float32)
    raise ValueError(f"--device: unknown device {requested!r}; use auto, cpu, cuda or mps")
