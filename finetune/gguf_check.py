"""Reads and checks GGUF metadata (base models and LoRA adapters) before llama.cpp is given the file.

llama.cpp aborts the whole process on some malformed files, so every file is checked here first from its
header: the file parses, every tensor's data lies inside it (a truncated download does not), a model
says it is a model, and a LoRA says it is a LoRA for the same architecture with tensors
that fit the base's tensors. Errors are one line naming the file and what to do.

This module knows nothing about how the files are used.
"""

from __future__ import annotations

import math
import mmap
import struct
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
    header = _open(path, what="base model")
    kind = _string(header, "general.type", default="model")
    if kind != "model":
        raise GGUFFileError(
            f"{path}: a GGUF {kind}, not a model; set model.base to a GGUF language model file"
        )
    architecture = _string(header, "general.architecture", default="")
    if not architecture or f"{architecture}.block_count" not in header.fields:
        raise GGUFFileError(
            f"{path}: GGUF file without a model architecture (general.architecture / block_count); "
            "it is not a language model"
        )
    if not header.tensors or "tokenizer.ggml.tokens" not in header.fields:
        raise GGUFFileError(f"{path}: GGUF model without tensors or tokenizer; re-export the model")
    return BaseModelShape(
        path=path,
        architecture=architecture,
        tensor_shapes={tensor.name: tuple(int(n) for n in tensor.shape) for tensor in header.tensors},
        control_tokens=_control_tokens(header),
    )


def read_lora(path: Path, base: BaseModelShape) -> LoraInfo:
    """Check that `path` is a GGUF LoRA whose tensors fit `base`; return its alpha."""
    header = _open(path, what="LoRA adapter")
    what_to_do = "export it again for this base with `tunedesk adapters export NAME --format gguf`"
    if (
        _string(header, "general.type", default="") != "adapter"
        or _string(header, "adapter.type", "") != "lora"
    ):
        raise GGUFFileError(f"{path}: not a GGUF LoRA adapter (general.type/adapter.type); {what_to_do}")
    architecture = _string(header, "general.architecture", default="")
    if architecture != base.architecture:
        raise GGUFFileError(
            f"{path}: LoRA for architecture {architecture!r}, the base model {base.path.name} is "
            f"{base.architecture!r}; {what_to_do}"
        )
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for tensor in header.tensors:
        target, _, part = tensor.name.rpartition(".")
        if part not in ("lora_a", "lora_b"):
            raise GGUFFileError(f"{path}: unexpected tensor {tensor.name} in a LoRA; {what_to_do}")
        pairs.setdefault(target, {})[part] = tuple(int(n) for n in tensor.shape)
    if not pairs:
        raise GGUFFileError(f"{path}: LoRA without tensors; {what_to_do}")
    for target, parts in pairs.items():
        _check_pair(path, target, parts, base, what_to_do)
    alpha = header.fields.get("adapter.lora.alpha")
    return LoraInfo(
        path=path,
        alpha=float(alpha) if alpha is not None else 0.0,
        base_model=_string(header, "general.base_model.0.name", default=""),
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


def _open(path: Path, *, what: str) -> _Header:
    if not path.is_file():
        raise GGUFFileError(f"{path}: {what} file not found")
    try:
        with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            header = _parse(data)
    except (ValueError, struct.error, OSError, UnicodeDecodeError, KeyError) as error:
        raise GGUFFileError(
            f"{path}: not a readable GGUF {what} ({error}); the file is truncated, damaged or of another "
            "format: copy or export it again"
        ) from None
    size = path.stat().st_size
    for tensor in header.tensors:
        if header.data_start + tensor.offset + tensor.n_bytes > size:
            raise GGUFFileError(
                f"{path}: truncated GGUF {what} (tensor {tensor.name} ends past the end of the file); "
                "copy or download it again"
            )
    return header


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]  # GGUF order (ne): the fastest-varying dimension first
    offset: int  # from the start of the data section
    n_bytes: int


@dataclass
class _Header:
    fields: dict[str, Any]
    tensors: list[_Tensor]
    data_start: int


# GGUF value types: id -> struct format of a scalar (8 = string, 9 = array).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_KEPT_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type")  # other arrays are skipped unread


def _parse(data: Any) -> _Header:
    """The key/values and tensor table of a GGUF file (v2/v3), read directly: the `gguf` package's reader
    decodes every array element (the whole vocabulary) in Python, which takes seconds per file."""
    if data[:4] != b"GGUF":
        raise ValueError("no GGUF magic number at the start")
    version, n_tensors, n_fields = struct.unpack_from("<IQQ", data, 4)
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version} is not supported")
    position = 24
    fields: dict[str, Any] = {}

    def read(fmt: str) -> Any:
        nonlocal position
        value = struct.unpack_from("<" + fmt, data, position)[0]
        position += struct.calcsize(fmt)
        return value

    def string(keep: bool = True) -> str | None:
        nonlocal position
        length = read("Q")
        if position + length > len(data):
            raise ValueError("a string runs past the end of the file")
        position += length
        return bytes(data[position - length : position]).decode("utf-8") if keep else None

    def value(kind: int, keep: bool) -> Any:
        nonlocal position
        if kind in _SCALARS:
            return read(_SCALARS[kind])
        if kind == 8:
            return string(keep)
        if kind != 9:
            raise ValueError(f"unknown GGUF value type {kind}")
        item, count = read("I"), read("Q")
        if item in _SCALARS and not keep:
            position += struct.calcsize(_SCALARS[item]) * count
            return None
        items = [value(item, keep) for _ in range(count)]
        return items if keep else None

    for _ in range(n_fields):
        key = string()
        fields[key] = value(read("I"), not key.startswith("tokenizer.ggml.") or key in _KEPT_ARRAYS)
    tensors = []
    for _ in range(n_tensors):
        name = string()
        shape = tuple(read("Q") for _ in range(read("I")))
        kind, offset = read("I"), read("Q")
        block, type_size = _type_size(kind)
        tensors.append(_Tensor(name, shape, offset, math.prod(shape) // block * type_size))
    alignment = int(fields.get("general.alignment", 32))
    return _Header(fields, tensors, -(-position // alignment) * alignment)


def _type_size(kind: int) -> tuple[int, int]:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        return GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
    except ValueError:
        raise ValueError(f"unknown tensor type {kind}") from None


def _string(header: _Header, key: str, default: str) -> str:
    value = header.fields.get(key)
    return value if isinstance(value, str) else default


def _control_tokens(header: _Header) -> tuple[str, ...]:
    tokens, kinds = header.fields.get("tokenizer.ggml.tokens"), header.fields.get("tokenizer.ggml.token_type")
    if not tokens or not kinds:
        return ()
    control = {token for token, kind in zip(tokens, kinds, strict=False) if kind == CONTROL_TOKEN_TYPE}
    # Longest first, so a token is never cut in half by removing a shorter one inside it.
    return tuple(sorted((token for token in control if len(token) > 1), key=len, reverse=True))
