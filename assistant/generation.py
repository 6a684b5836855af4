"""The `Generator` seam and its local implementation: transformers + peft, one base model, many adapters.

The base model is loaded once. Each adapter is loaded into it once (`load_adapter`) the first time it is
asked for and switched with `set_adapter` (an adapter of another peft type, e.g. prompt tuning after
LoRA, replaces the loaded ones, since one peft model holds one type); `adapter=None` runs the base
weights with the adapter layers disabled (`disable_adapter()`), so changing mode never reloads anything. One generation runs at a time
(a lock): the active adapter is state of the shared model.

Knows nothing about retrieval, prompts or answers beyond chat messages in and text out.
"""

from __future__ import annotations

import threading
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from assistant.decoding import StopDecoding, Usage

Message = dict[str, str]


class GenerationError(RuntimeError):
    """The model could not answer; the message says why and what to do."""


@dataclass(frozen=True)
class Sampling:
    """One request's overrides of the generator's decoding settings (an API call's max_tokens, temperature,
    top_p, stop); None keeps the generator's own. Generation ends once a stop string appears; the text
    returned may still end with it, and the caller cuts it off."""

    max_new_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage


class Generator(Protocol):
    """Chat messages in, text out. `adapter=None` means the untuned base model."""

    adapters: Sequence[str]  # adapter names this generator can use
    special_tokens: Sequence[str]  # the model's control tokens, removed from retrieved text

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens of `messages` rendered with the chat template and the generation prompt."""
        ...

    def complete(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> Completion: ...

    def stream(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> PyGenerator[str, None, Usage]:
        """Yields text pieces as they are produced; the generator's return value is the token usage.
        `StopDecoding` thrown in stops decoding: the generator then returns the usage so far."""
        ...


class _Cancelled(StoppingCriteria):
    """Stops `generate` when the reader of a stream goes away, instead of decoding to max_new_tokens."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        return torch.full(
            (input_ids.shape[0],), self._event.is_set(), dtype=torch.bool, device=input_ids.device
        )


class TransformersGenerator:
    def __init__(
        self,
        model: Any,  # a PreTrainedModel; wrapped in a PeftModel when the first adapter is loaded
        tokenizer: Any,
        *,
        adapters: Mapping[str, Path],
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        repetition_penalty: float = 1.0,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self._adapter_paths = dict(adapters)
        self.adapters = sorted(self._adapter_paths)
        # Longest first, so a token is never cut in half by removing a shorter one inside it.
        special = set(tokenizer.all_special_tokens)
        special |= {added.content for added in tokenizer.added_tokens_decoder.values() if added.special}
        self.special_tokens = sorted((token for token in special if len(token) > 1), key=len, reverse=True)
        self._loaded: set[str] = set()
        self._peft_type: str | None = None  # of the loaded adapters
        self._lock = threading.Lock()
        self._temperature, self._top_p = temperature, top_p
        self._options: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "repetition_penalty": repetition_penalty,
            "pad_token_id": tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        }
        # Greedy at temperature 0: the same prompt always gives the same answer.
        if temperature > 0:
            self._options.update(do_sample=True, temperature=temperature, top_p=top_p)
        else:
            self._options.update(do_sample=False, temperature=None, top_p=None, top_k=None)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._encode(messages))

    def complete(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> Completion:
        input_ids = self._input_ids(messages)
        options = self._decoding(sampling)
        with self._lock, self._weights(adapter), torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **options
            )
        generated = output[0, input_ids.shape[1] :]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        return Completion(text, Usage(input_ids.shape[1], int(generated.shape[0])))

    def stream(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> PyGenerator[str, None, Usage]:
        input_ids = self._input_ids(messages)
        options = self._decoding(sampling)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                with self._lock, self._weights(adapter), torch.inference_mode():
                    result["output"] = self.model.generate(
                        input_ids=input_ids,
                        attention_mask=torch.ones_like(input_ids),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Cancelled(cancelled)]),
                        **options,
                    )
            except BaseException as error:  # handed to the reader, which raises it in its own thread
                result["error"] = error
                streamer.end()

        worker = threading.Thread(target=run, name="generate", daemon=True)
        worker.start()
        try:
            yield from _pieces(streamer)
        except StopDecoding:
            pass  # the reader has its answer: cancel below; `generate` returns what it decoded so far
        finally:
            cancelled.set()
            worker.join()
        if "error" in result:
            raise GenerationError(f"generation failed: {result['error']}") from result["error"]
        return Usage(input_ids.shape[1], int(result["output"].shape[1] - input_ids.shape[1]))

    def _decoding(self, sampling: Sampling | None) -> dict[str, Any]:
        """The `generate` options of one call: the defaults with the request's overrides on top."""
        if sampling is None:
            return self._options
        options = dict(self._options)
        if sampling.max_new_tokens is not None:
            options["max_new_tokens"] = sampling.max_new_tokens
        temperature = self._temperature if sampling.temperature is None else sampling.temperature
        top_p = self._top_p if sampling.top_p is None else sampling.top_p
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=None)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            options.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        return options

    def _encode(self, messages: Sequence[Message]) -> list[int]:
        text = self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _input_ids(self, messages: Sequence[Message]) -> torch.Tensor:
        return torch.tensor([self._encode(messages)], device=self.model.device)

    def _weights(self, adapter: str | None):
        """Context with the right weights active: the adapter's, or the base model's."""
        if adapter is None:
            return self.model.disable_adapter() if self._loaded else nullcontext()
        if adapter not in self._adapter_paths:
            known = ", ".join(self.adapters) or "none"
            raise GenerationError(f"unknown adapter {adapter!r} (known: {known})")
        if adapter not in self._loaded:
            self._load(adapter)
        self.model.set_adapter(adapter)
        return nullcontext()

    def _load(self, name: str) -> None:
        from peft import PeftConfig, PeftModel

        path = self._adapter_paths[name]
        peft_type = PeftConfig.from_pretrained(path).peft_type
        if self._loaded and peft_type != self._peft_type:
            # One peft model holds adapters of one type only (LoRA, IA3, prefix, prompt tuning): going to
            # another type unloads the current ones, which are loaded again (a small file) when asked for.
            prompt_learning = self.model.active_peft_config.is_prompt_learning
            self.model = self.model.get_base_model() if prompt_learning else self.model.unload()
            self._loaded.clear()
        if not self._loaded:
            self.model = PeftModel.from_pretrained(self.model, path, adapter_name=name).eval()
        else:
            self.model.load_adapter(path, adapter_name=name)
        self._loaded.add(name)
        self._peft_type = peft_type


def _pieces(streamer: TextIteratorStreamer) -> Iterator[str]:
    for piece in streamer:
        if piece:
            yield piece
