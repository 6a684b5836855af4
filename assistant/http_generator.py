"""A `Generator` that asks an OpenAI-compatible chat-completions server (vLLM, llama.cpp server, TGI).

The base model is requested by its served name; a tuned mode requests the adapter's name as the model
(vLLM serves LoRA adapters that way with `--lora-modules NAME=PATH`). Streaming reads server-sent
events (`data: {...}` lines, ending `data: [DONE]`). Token counts come from the server's `usage` when
it sends one; otherwise they are estimated at 4 characters per token.

Knows nothing about retrieval or prompts.
"""

from __future__ import annotations

import json
from collections.abc import Generator as PyGenerator
from collections.abc import Sequence
from typing import Any

import httpx

from assistant.decoding import StopDecoding, Usage
from assistant.generation import Completion, GenerationError, Message, Sampling

CHARS_PER_TOKEN = 4  # rough English average, used only when the server reports no usage


class HttpGenerator:
    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        adapters: Sequence[str] = (),
        api_key: str = "",
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        repetition_penalty: float = 1.0,
        timeout_s: float = 120.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.adapters = list(adapters)
        self.special_tokens: list[
            str
        ] = []  # the server applies its own template; common tokens are still removed
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)
        self._options: dict[str, Any] = {
            "max_tokens": max_new_tokens,
            "temperature": temperature,
            "top_p": top_p,
        }
        if repetition_penalty != 1.0:
            self._options["repetition_penalty"] = repetition_penalty  # a vLLM / llama.cpp extension

    def close(self) -> None:
        self._client.close()

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return _estimate(" ".join(message["content"] for message in messages)) + 4 * len(messages)

    def complete(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> Completion:
        body = self._request(messages, adapter, stream=False, sampling=sampling)
        response = self._post(body)
        try:
            payload = response.json()
            text = payload["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise GenerationError(
                f"{self.base_url}: not an OpenAI chat-completions reply: {response.text[:200]}"
            ) from None
        return Completion(text, self._usage(payload.get("usage"), messages, text))

    def stream(
        self, messages: Sequence[Message], *, adapter: str | None, sampling: Sampling | None = None
    ) -> PyGenerator[str, None, Usage]:
        body = self._request(messages, adapter, stream=True, sampling=sampling)
        usage, parts = None, []
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                _check(response, self.base_url)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, comments, `event:` lines
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            parts.append(piece)
                            yield piece
        except StopDecoding:
            # Leaving the request closed the connection, which stops the server decoding; it sent no usage, and
            # an OpenAI-style server streams one token per event.
            return Usage(self.count_tokens(messages), len(parts))
        except httpx.HTTPError as error:
            raise GenerationError(_unreachable(self.base_url, error)) from None
        except ValueError as error:
            raise GenerationError(f"{self.base_url}: bad streaming event ({error})") from None
        return self._usage(usage, messages, "".join(parts))

    def _request(
        self, messages: Sequence[Message], adapter: str | None, *, stream: bool, sampling: Sampling | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": adapter or self.model, "messages": list(messages), "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body | self._options | _overrides(sampling)

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self._client.post("/chat/completions", json=body)
        except httpx.HTTPError as error:
            raise GenerationError(_unreachable(self.base_url, error)) from None
        _check(response, self.base_url)
        return response

    def _usage(self, usage: dict[str, Any] | None, messages: Sequence[Message], text: str) -> Usage:
        if usage and "prompt_tokens" in usage and "completion_tokens" in usage:
            return Usage(int(usage["prompt_tokens"]), int(usage["completion_tokens"]))
        return Usage(self.count_tokens(messages), _estimate(text))


def _overrides(sampling: Sampling | None) -> dict[str, Any]:
    if sampling is None:
        return {}
    chosen = {
        "max_tokens": sampling.max_new_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
    }
    overrides: dict[str, Any] = {key: value for key, value in chosen.items() if value is not None}
    if sampling.stop:
        overrides["stop"] = list(sampling.stop)
    return overrides


def _estimate(text: str) -> int:
    return max(1, len(text) // CHARS_PER_TOKEN) if text else 0


def _check(response: httpx.Response, base_url: str) -> None:
    if response.status_code >= 400:
        response.read()
        raise GenerationError(
            f"{base_url}: the model server answered HTTP {response.status_code}: {response.text[:200]}"
        )


def _unreachable(base_url: str, error: Exception) -> str:
    return f"cannot reach the model server at {base_url} ({error}); start it or fix assistant.http_base_url"
