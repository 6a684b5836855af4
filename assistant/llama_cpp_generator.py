"""A `Generator` on llama.cpp (the `xllamacpp` wheel): a GGUF base model, every LoRA adapter, several slots.

The base model file is used as it is (quantized), in-process. Every adapter's GGUF LoRA is loaded once
next to it and chosen per request through llama.cpp's per-request LoRA scales: the chosen adapter at
1, every other at 0; `adapter=None` (base mode) sets every scale to 0. `slots` requests decode at once
with continuous batching, so the four compare columns and parallel API calls do not wait for each other.

Adapters come from a callable (name -> GGUF path), asked again at most every `reload_check_s`: when an
adapter is added, removed or rewritten (retrained under the same name), a new llama.cpp server is started
with the new set and takes the next requests while the old one finishes the running ones. Every file is
checked (finetune.gguf_check) before llama.cpp sees it, because llama.cpp aborts the process on some bad
files: a bad adapter is reported on use, and the base model and the other adapters keep answering.

Knows nothing about retrieval, prompts or answers beyond chat messages in and text out.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Generator as PyGenerator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assistant.decoding import StopDecoding, Usage
from assistant.generation import Completion, GenerationError, Message, Sampling
from finetune.gguf_check import BaseModelShape, GGUFFileError, read_base_model, read_lora

_END = object()  # end of a stream, put on the queue by the decoding thread


class _AdapterGate:
    """Lets requests decode together only while they use the same adapter.

    llama.cpp batches every slot in one forward pass; with different LoRA scales in the same batch its
    output was garbled (seen with this build), so a request for another adapter waits until the running
    ones finish. Arrivals for the running adapter also wait once another adapter is queued, so it is
    not starved.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._adapter: str | None = None
        self._running = 0
        self._waiting_other = 0

    @contextmanager
    def enter(self, adapter: str | None) -> Iterator[None]:
        with self._changed:
            blocked = self._running > 0 and self._adapter != adapter
            self._waiting_other += blocked
            self._changed.wait_for(
                lambda: self._running == 0 or (self._adapter == adapter and not self._waiting_other)
            )
            self._waiting_other -= blocked
            self._adapter = adapter
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


@dataclass
class _Loaded:
    """One llama.cpp server with one set of adapters; replaced as a whole when the set changes."""

    server: Any  # xllamacpp.Server
    lora_ids: dict[str, int]  # adapter name -> its index in the server's LoRA list
    problems: dict[str, str]  # adapter name -> why it is not served (one line, naming the file)
    signature: tuple
    client: httpx.Client = field(repr=False)  # the server's own endpoint, for templating and tokenizing


class LlamaCppGenerator:
    def __init__(
        self,
        model_path: Path,
        *,
        find_adapters: Callable[[], Mapping[str, Path]],
        threads: int,
        slots: int = 4,
        context_tokens: int = 2048,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        repetition_penalty: float = 1.0,
        reload_check_s: float = 1.0,
    ) -> None:
        self._base: BaseModelShape = read_base_model(Path(model_path))  # fails early, before llama.cpp
        self.special_tokens = list(self._base.control_tokens)
        self._find_adapters = find_adapters
        self._threads, self._slots, self._context_tokens = threads, slots, context_tokens
        self._defaults = {
            "max_tokens": max_new_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "repeat_penalty": repetition_penalty,
            # llama.cpp adds top-k 40 and min-p 0.05 by default; transformers does neither.
            "top_k": 0,
            "min_p": 0.0,
            # A prompt partly served from a slot's cache is computed in other batch shapes than a fresh
            # one, which shifts the logits enough to change greedy answers; without it the same question
            # always gets the same answer, at the cost of prefilling every prompt whole.
            "cache_prompt": False,
        }
        self._reload_check_s = reload_check_s
        self._lock = threading.Lock()
        self._gate = _AdapterGate()
        self._checked_at = 0.0
        self._loaded = self._load(dict(find_adapters()))

    @property
    def adapters(self) -> list[str]:
        """Every adapter name found, served or not (asking for a broken one says what is wrong)."""
        loaded = self._current()
        return sorted(set(loaded.lora_ids) | set(loaded.problems))

    def count_tokens(self, messages: Sequence[Message]) -> int:
        client = self._current().client
        try:
            prompt = _post(client, "/apply-template", {"messages": list(messages)})["prompt"]
            return len(_post(client, "/tokenize", {"content": prompt, "add_special": True})["tokens"])
        except (httpx.HTTPError, KeyError, ValueError) as error:
            raise GenerationError(f"llama.cpp could not tokenize the prompt ({error})") from None

    def complete(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> Completion:
        loaded = self._current()
        body = self._body(loaded, messages, adapter, sampling)
        with self._gate.enter(adapter):
            reply = loaded.server.handle_chat_completions(body)
        if not isinstance(reply, dict) or "error" in reply:
            raise GenerationError(f"llama.cpp failed to answer: {_error_text(reply)}")
        text = reply["choices"][0]["message"].get("content") or ""
        usage = reply.get("usage") or {}
        return Completion(
            text, Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
        )

    def stream(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> PyGenerator[str, None, Usage]:
        loaded = self._current()
        body = self._body(loaded, messages, adapter, sampling)
        body.update(stream=True, stream_options={"include_usage": True})
        chunks: queue.Queue[Any] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: dict) -> bool:
            chunks.put(chunk)
            return cancelled.is_set()  # True tells llama.cpp to stop decoding this request

        def run() -> None:
            try:
                with self._gate.enter(adapter):
                    loaded.server.handle_chat_completions(body, on_chunk)
            except BaseException as error:  # handed to the reader, which raises it in its own thread
                chunks.put(error)
            finally:
                chunks.put(_END)

        worker = threading.Thread(target=run, name="llama-cpp-stream", daemon=True)
        worker.start()
        usage: Usage | None = Usage(0, 0)
        pieces = 0
        try:
            while (chunk := chunks.get()) is not _END:
                if isinstance(chunk, BaseException):
                    raise GenerationError(f"llama.cpp failed to answer: {chunk}") from chunk
                if "error" in chunk:
                    raise GenerationError(f"llama.cpp failed to answer: {_error_text(chunk)}")
                if chunk.get("usage"):
                    usage = Usage(chunk["usage"]["prompt_tokens"], chunk["usage"]["completion_tokens"])
                for choice in chunk.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        pieces += 1
                        yield piece
        except StopDecoding:
            usage = None  # a stopped request reports none: counted below, once llama.cpp has stopped
        finally:
            cancelled.set()
            worker.join()
        # Each piece is one token (llama.cpp sends a few at once only where it held text back while it could
        # still become a stop string).
        return usage or Usage(self.count_tokens(messages), pieces)

    def _body(
        self, loaded: _Loaded, messages: Sequence[Message], adapter: str | None, sampling: Sampling | None
    ) -> dict[str, Any]:
        if adapter is not None and adapter not in loaded.lora_ids:
            if adapter in loaded.problems:
                raise GenerationError(f"adapter {adapter!r} cannot be served: {loaded.problems[adapter]}")
            known = ", ".join(sorted(loaded.lora_ids)) or "none"
            raise GenerationError(f"unknown adapter {adapter!r} (known: {known})")
        body: dict[str, Any] = {"messages": list(messages), **self._defaults}
        if sampling is not None:
            chosen = {
                "max_tokens": sampling.max_new_tokens,
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
            }
            body.update({key: value for key, value in chosen.items() if value is not None})
            if sampling.stop:
                body["stop"] = list(sampling.stop)
        chosen_id = loaded.lora_ids.get(adapter) if adapter is not None else None
        body["lora"] = [
            {"id": index, "scale": 1.0 if index == chosen_id else 0.0} for index in loaded.lora_ids.values()
        ]
        return body

    def _current(self) -> _Loaded:
        """The serving server, restarted first when the adapters on disk changed since it started."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= self._reload_check_s:
                self._checked_at = now
                files = dict(self._find_adapters())
                if _signature(files) != self._loaded.signature:
                    self._loaded = self._load(files)
            return self._loaded

    def _load(self, files: Mapping[str, Path]) -> _Loaded:
        import xllamacpp

        lora_ids: dict[str, int] = {}
        problems: dict[str, str] = {}
        adapters = []
        for name, path in sorted(files.items()):
            if not path.is_file():
                problems[name] = (
                    f"{path} is missing; create it with `tunedesk adapters export {name} --format gguf`"
                )
                continue
            try:
                read_lora(path, self._base)
            except GGUFFileError as error:
                problems[name] = str(error)
                continue
            lora_ids[name] = len(adapters)
            adapters.append(xllamacpp.CommonAdapterLoraInfo(str(path), 0.0))
        params = xllamacpp.CommonParams()
        params.model.path = str(self._base.path)
        params.n_parallel = self._slots
        params.n_ctx = self._context_tokens * self._slots  # llama.cpp splits the context among the slots
        params.cpuparams.n_threads = self._threads
        params.cpuparams_batch.n_threads = self._threads
        params.lora_adapters = adapters
        params.lora_init_without_apply = True  # every request sets its own scales
        params.verbosity = 0  # warnings and errors only: per-request logs would flood the CLI's output
        # Its HTTP endpoint listens on localhost; a random key keeps other local users off it.
        key = secrets.token_hex(16)
        params.api_keys = [key]
        try:
            server = xllamacpp.Server(params)
        except Exception as error:  # llama.cpp reports a file it could not load this way
            raise GenerationError(f"llama.cpp could not load {self._base.path}: {error}") from None
        client = httpx.Client(
            base_url=server.listening_address,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            trust_env=False,  # a proxy from the environment must not sit between us and our own server
        )
        return _Loaded(server, lora_ids, problems, _signature(files), client)


def _signature(files: Mapping[str, Path]) -> tuple:
    """Changes when an adapter file is added, removed or rewritten (a new file has a new inode or mtime)."""
    entries = []
    for name, path in sorted(files.items()):
        try:
            stat = path.stat()
            entries.append((name, str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size))
        except OSError:
            entries.append((name, str(path), None, None, None))
    return tuple(entries)


def _post(client: httpx.Client, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(route, json=body)
    response.raise_for_status()
    return response.json()


def _error_text(reply: Any) -> str:
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        return str(reply["error"].get("message", reply["error"]))
    return str(reply)[:200]
