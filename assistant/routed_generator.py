"""A `Generator` that serves plain LoRA adapters on a fast backend and every other adapter on a fallback one.

llama.cpp runs the base model and plain LoRA adapters only. Adapters of the other training methods (DoRA,
IA3, prefix and prompt tuning) are answered by a transformers generator, built on first use (loading the
base model once) and built again when an adapter appears that it does not know. Each adapter sent to the
fallback is logged once, so the slower answers are explained. Knows nothing about how either backend works.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Generator as PyGenerator

from assistant.generation import Completion, Generator, Message, Sampling, Usage

log = logging.getLogger(__name__)


class RoutedGenerator:
    def __init__(
        self,
        primary: Generator,
        *,
        find_fallback: Callable[[], Mapping[str, str]],  # adapter name -> its training method
        build_fallback: Callable[[], Generator],
    ) -> None:
        self._primary = primary
        self._find_fallback = find_fallback
        self._build_fallback = build_fallback
        self._fallback: Generator | None = None
        self._noted: set[str] = set()
        self._lock = threading.Lock()
        self.special_tokens = primary.special_tokens

    @property
    def adapters(self) -> list[str]:
        return sorted(set(self._primary.adapters) | set(self._find_fallback()))

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self._primary.count_tokens(messages)

    def complete(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> Completion:
        return self._serving(adapter).complete(messages, adapter=adapter, sampling=sampling)

    def stream(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> PyGenerator[str, None, Usage]:
        return (yield from self._serving(adapter).stream(messages, adapter=adapter, sampling=sampling))

    def _serving(self, adapter: str | None) -> Generator:
        """The backend for `adapter`: the primary one, or the fallback for a method the primary cannot run."""
        if adapter is None:
            return self._primary
        method = self._find_fallback().get(adapter)
        if method is None:
            return self._primary
        with self._lock:
            if self._fallback is None or adapter not in self._fallback.adapters:
                self._fallback = self._build_fallback()
            if adapter not in self._noted:
                self._noted.add(adapter)
                log.warning(
                    "adapter %r (%s): llama.cpp runs only plain LoRA adapters; answering with the "
                    "transformers backend for it (slower)",
                    adapter,
                    method,
                )
            return self._fallback
