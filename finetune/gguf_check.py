"""Reads and checks GGUF metadata (base models and LoRA adapters) before llama.cpp is given the file.

llama.cpp aborts the whole process on some malformed files, so every file is checked here first with the
`gguf` package's reader: the file parses, every tensor's data lies inside it (a truncated download does
not), a model says it is a model, and a LoRA says it is a LoRA for the same architecture with tensors
that fit the base's tensors. Errors are one line naming the file and what to do.

This module knows nothing about how the files are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTROL_TOKEN_TYPE = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL in tokenizer.ggml.token_type


class GGUFFileError(ValueError):
    """A GGUF file is unreadable, truncated, or not what it should be; the message names the file."""


@dataclass(frozen=True)
class BaseModelShape:
    """What an adapter must match: the architecture and every tensor's shape, in GGUF order (ne)."""

    path: Path
    architecture: str
    tensor_shapes: dict[str, tuple[int, ...]]
    control_tokens: tuple[str, ...]  # e.g. <|im_start|>, removed from retrieved text


@dataclass(frozen=True)
class LoraInfo:
    path: Path
    alpha: float
    base_model: str  # the base it was trained on, as recorded at export ("" when not recorded)


def read_base_model(path: Path) -> BaseModelShape:
    """Check that `path` is a complete GGUF language model and return its shape."""
    reader = _open(path, what="base model")
    kind = _string(reader, "general.type", default="model")
    if kind != "model":
        raise GGUFFileError(
            f"{path}: a GGUF {kind}, not a model; set model.base to a GGUF language model file"
        )
    architecture = _string(reader, "general.architecture", default="")
    if not architecture or f"{architecture}.block_count" not in reader.fields:
        raise GGUFFileError(
            f"{path}: GGUF file without a model architecture (general.architecture / block_count); "
            "it is not a language model"
        )
    if not reader.tensors or "tokenizer.ggml.tokens" not in reader.fields:
        raise GGUFFileError(f"{path}: GGUF model without tensors or tokenizer; re-export the model")
    return BaseModelShape(
        path=path,
        architecture=architecture,
        tensor_shapes={tensor.name: tuple(int(n) for n in tensor.shape) for tensor in reader.tensors},
        control_tokens=_control_tokens(reader),
    )


def read_lora(path: Path, base: BaseModelShape) -> LoraInfo:
    """Check that `path` is a GGUF LoRA whose tensors fit `base`; return its alpha."""
    reader = _open(path, what="LoRA adapter")
    what_to_do = "export it again for this base with `tunedesk adapters export NAME --format gguf`"
    if (
        _string(reader, "general.type", default="") != "adapter"
        or _string(reader, "adapter.type", "") != "lora"
    ):
        raise GGUFFileError(f"{path}: not a GGUF LoRA adapter (general.type/adapter.type); {what_to_do}")
    architecture = _string(reader, "general.architecture", default="")
    if architecture != base.architecture:
        raise GGUFFileError(
            f"{path}: LoRA for architecture {architecture!r}, the base model {base.path.name} is "
            f"{base.architecture!r}; {what_to_do}"
        )
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for tensor in reader.tensors:
        target, _, part = tensor.name.rpartition(".")
        if part not in ("lora_a", "lora_b"):
            raise GGUFFileError(f"{path}: unexpected tensor {tensor.name} in a LoRA; {what_to_do}")
        pairs.setdefault(target, {})[part] = tuple(int(n) for n in tensor.shape)
    if not pairs:
        raise GGUFFileError(f"{path}: LoRA without tensors; {what_to_do}")
    for target, parts in pairs.items():
        _check_pair(path, target, parts, base, what_to_do)
    alpha = reader.fields.get("adapter.lora.alpha")
    return LoraInfo(
        path=path,
        alpha=float(alpha.contents()) if alpha is not None else 0.0,
        base_model=_string(reader, "general.base_model.0.name", default=""),
    )


def _check_pair(
    path: Path, target: str, parts: dict[str, tuple[int, ...]], base: BaseModelShape, what_to_do: str
) -> None:
    """The shape rules llama.cpp enforces (llama-adapter.cpp), checked before it can fail on them."""
    if set(parts) != {"lora_a", "lora_b"}:
        raise GGUFFileError(f"{path}: {target} has only {', '.join(parts)}; {what_to_do}")
    if target not in base.tensor_shapes:
        raise GGUFFileError(
            f"{path}: LoRA tensor {target} does not exist in the base model {base.path.name}; {what_to_do}"
        )
    weight, a, b = base.tensor_shapes[target], parts["lora_a"], parts["lora_b"]
    # GGUF shapes are (n_in, n_out): lora_a is (n_in, rank), lora_b is (rank, n_out).
    if len(a) != 2 or len(b) != 2 or a[0] != weight[0] or b[1] != weight[1] or a[1] != b[0]:
        raise GGUFFileError(
            f"{path}: LoRA {target} has shapes a={a}, b={b}, which do not fit the base model's {weight} "
            f"({base.path.name}: made for another base model?); {what_to_do}"
        )


def _open(path: Path, *, what: str) -> Any:
    from gguf import GGUFReader

    if not path.is_file():
        raise GGUFFileError(f"{path}: {what} file not found")
    size = path.stat().st_size
    try:
        reader = GGUFReader(path)
    except Exception as error:  # the reader fails in many ways on foreign bytes; each means "not GGUF"
        raise GGUFFileError(
            f"{path}: not a readable GGUF {what} ({error}); the file is truncated, damaged or of another "
            "format: copy or export it again"
        ) from None
    for tensor in reader.tensors:
        if int(tensor.data_offset) + int(tensor.n_bytes) > size:
            raise GGUFFileError(
                f"{path}: truncated GGUF {what} (tensor {tensor.name} ends past the end of the file); "
                "copy or download it again"
            )
    return reader


def _string(reader: Any, key: str, default: str) -> str:
    field = reader.fields.get(key)
    if field is None:
        return default
    value = field.contents()
    return value if isinstance(value, str) else default


def _control_tokens(reader: Any) -> tuple[str, ...]:
    types = reader.fields.get("tokenizer.ggml.token_type")
    if types is None:
        return ()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    kinds = types.contents()
    control = {token for token, kind in zip(tokens, kinds, strict=False) if kind == CONTROL_TOKEN_TYPE}
    # Longest first, so a token is never cut in half by removing a shorter one inside it.
    return tuple(sorted((token for token in control if len(token) > 1), key=len, reverse=True))
