"""Request bodies of the API in the OpenAI shapes, validated by pydantic (a wrong field gives HTTP 400 naming it).

Unknown fields are ignored, as OpenAI-compatible servers do, so clients that send extra options work.
Types are strict: `"max_tokens": true` or `"k": "5"` is refused, not read as 1 or 5 (a float field
still takes an integer, `"temperature": 1`).
Responses are plain dicts built in the route modules. Knows nothing about models or retrieval.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_STOP_SEQUENCES = 4  # as OpenAI
MAX_SEARCH_K = 50


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class TextPart(Body):
    type: Literal["text"]
    text: str


class ChatMessage(Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None  # None: an assistant turn that only called tools

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(Body):
    include_usage: bool = False


class ChatCompletionRequest(Body):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)  # the newer name of max_tokens
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=1, description="One answer per request.")
    conversation_id: str | None = Field(
        None, description="Tunedesk extension: store this exchange in an existing conversation."
    )

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        sequences = [stop] if isinstance(stop, str) else stop or []
        if len(sequences) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences")
        if any(not sequence for sequence in sequences):
            raise ValueError("stop sequences must not be empty")
        return stop

    def stop_sequences(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())


class EmbeddingRequest(Body):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"

    @field_validator("input")
    @classmethod
    def _check_input(cls, value: str | list[str]) -> str | list[str]:
        texts = [value] if isinstance(value, str) else value
        if not texts:
            raise ValueError("give at least one text")
        if any(not text.strip() for text in texts):
            raise ValueError("texts must not be empty")
        return value

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class SearchRequest(Body):
    query: str = Field(min_length=1)
    k: int = Field(5, ge=1, le=MAX_SEARCH_K)
