"""`POST /v1/chat/completions`: the last user message is the question, earlier turns are the history, the
model name picks the mode (and adapter). Answers whole or as server-sent events in OpenAI's chunk format
ending with `data: [DONE]`; the sources, mode and timings ride along in extra fields clients may ignore.

Generation runs in worker threads behind the generation limit, so the event loop keeps serving. Stop
sequences end generation in the generator and are cut off here; a stream holds back only the few
characters that could be the start of one. Every answered exchange is stored like the app's.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from assistant.answer import Answer, Mode
from assistant.answer_filter import mark_cited
from assistant.api.errors import APIError, error_body
from assistant.api.limits import Ticket
from assistant.api.models import parse_model
from assistant.api.schemas import ChatCompletionRequest, ChatMessage
from assistant.api.state import Served, served_of
from assistant.api.stops import StopFilter, cut_at_stop
from assistant.engine import AnswerStream, AssistantError
from assistant.generation import GenerationError, Sampling
from assistant.prompts import PromptTooLongError
from assistant.storage import Storage, StorageError

log = logging.getLogger(__name__)
router = APIRouter()
_END = object()  # what `next` returns at the end of a stream (StopIteration cannot cross a thread future)
_EXTRAS = ("sources", "examples", "abstained", "quote", "precedent", "mode", "adapter", "timings")
TITLE_CHARS = 60  # a conversation's title is its first question, cut as the app cuts it


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request
) -> dict[str, Any] | StreamingResponse:
    served = served_of(request)
    mode, adapter = parse_model(body.model, served.models())
    question, history = split_messages(body.messages)
    sampling = sampling_of(body, cap=served.max_tokens, default=served.assistant.max_new_tokens)
    if body.conversation_id is not None:
        await run_in_threadpool(_require_conversation, served.storage, body.conversation_id)
    call = _Call(served, body, question, history, mode, adapter, sampling)
    if body.stream:
        return await _start_stream(call)
    async with served.limit.slot():
        answer = await run_in_threadpool(_answer, call)
    answer.text, stopped = cut_at_stop(answer.text, sampling.stop)
    answer.sources = mark_cited(answer.sources, answer.text)  # a cut may have removed a citation
    conversation_id = await run_in_threadpool(
        store_exchange, served.storage, body.conversation_id, question, answer
    )
    return {
        "id": call.id,
        "object": "chat.completion",
        "created": call.created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "logprobs": None,
                "finish_reason": finish_reason(answer, stopped, sampling),
            }
        ],
        "usage": usage(answer),
        **extras(answer, conversation_id),
    }


def split_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """(question, history): the server writes its own system prompt, so client system messages are dropped."""
    last = messages[-1]
    if last.role != "user" or not last.text().strip():
        raise APIError(
            400,
            f"messages.{len(messages) - 1}: the last message must be the user's question, with text",
            param="messages",
        )
    history = [
        {"role": message.role, "content": message.text()}
        for message in messages[:-1]
        if message.role in ("user", "assistant")
    ]
    return last.text(), history


def sampling_of(body: ChatCompletionRequest, *, cap: int, default: int) -> Sampling:
    requested = body.max_completion_tokens or body.max_tokens or default
    return Sampling(
        max_new_tokens=min(requested, cap),
        temperature=body.temperature,
        top_p=body.top_p,
        stop=body.stop_sequences(),
    )


def finish_reason(answer: Answer, stopped: bool, sampling: Sampling) -> str:
    assert sampling.max_new_tokens is not None  # set by sampling_of
    return "length" if not stopped and answer.completion_tokens >= sampling.max_new_tokens else "stop"


def usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def extras(answer: Answer, conversation_id: str | None) -> dict[str, Any]:
    """Tunedesk's own fields, beside the OpenAI ones: the sources shown to the model, mode, timings."""
    described = answer.to_dict()
    for appended in ("quote", "precedent"):  # a client's stop string cut the answer before this one's end
        if described[appended] not in answer.text:
            described[appended] = ""
    return {name: described[name] for name in _EXTRAS} | {"conversation_id": conversation_id}


def store_exchange(
    storage: Storage | None, conversation_id: str | None, question: str, answer: Answer
) -> str | None:
    """Store the exchange as the app does (a new conversation unless one is named); returns its id."""
    if storage is None:
        return None
    conversation_id = conversation_id or storage.new_conversation(title=question[:TITLE_CHARS])
    storage.add_exchange(conversation_id, question, answer)
    return conversation_id


def _require_conversation(storage: Storage | None, conversation_id: str) -> None:
    if storage is None:
        raise APIError(
            400,
            "this server does not store conversations; leave out conversation_id",
            param="conversation_id",
        )
    if not any(record.id == conversation_id for record in storage.conversations()):
        raise APIError(
            404,
            f"conversation {conversation_id!r} not found; leave out conversation_id to start a new one",
            param="conversation_id",
        )


class _Call:
    """One completion request, resolved: what to ask, in which mode, with which decoding settings."""

    def __init__(
        self,
        served: Served,
        body: ChatCompletionRequest,
        question: str,
        history: list[dict[str, str]],
        mode: Mode,
        adapter: str | None,
        sampling: Sampling,
    ) -> None:
        self.served, self.body = served, body
        self.question, self.history = question, history
        self.mode, self.adapter, self.sampling = mode, adapter, sampling
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None, **more: Any) -> str:
        """One SSE event; `delta=None` gives the usage event, which has no choices."""
        choices = (
            [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )
        event = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.body.model,
            "choices": choices,
            **more,
        }
        return sse(event)


def sse(event: dict[str, Any] | str) -> str:
    return f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n"


def _answer(call: _Call) -> Answer:
    with _as_api_errors():
        return call.served.assistant.answer(
            call.question, call.history, call.mode, call.adapter, call.sampling
        )


def _open_stream(call: _Call) -> tuple[AnswerStream, Iterator[str], object]:
    """Start the stream and run it to its first piece (retrieval and prefill), so that errors still get a status."""
    with _as_api_errors():
        stream = call.served.assistant.stream(
            call.question, call.history, call.mode, call.adapter, call.sampling
        )
        pieces = iter(stream)
        return stream, pieces, next(pieces, _END)


def _next_piece(pieces: Iterator[str]) -> object:
    with _as_api_errors():
        return next(pieces, _END)


@contextmanager
def _as_api_errors() -> Iterator[None]:
    """The engine's errors as API errors: the caller's fault is a 400, the model's a 500."""
    try:
        yield
    except AssistantError as error:
        raise APIError(400, str(error), param="messages") from None
    except PromptTooLongError as error:
        raise APIError(400, str(error), param="messages", code="context_length_exceeded") from None
    except GenerationError as error:
        raise APIError(500, str(error), code="generation_failed") from None


async def _start_stream(call: _Call) -> StreamingResponse:
    ticket = call.served.limit.admit()
    try:
        await ticket.run()
        stream, pieces, first = await run_in_threadpool(_open_stream, call)
    except BaseException:
        ticket.release()
        raise
    return _EventStream(_events(call, stream, pieces, first), pieces=pieces, ticket=ticket)


class _EventStream(StreamingResponse):
    """An SSE response that, however it ends (done, failed, client gone, never started), stops the
    generation and frees its slot. Done here, not in the body generator: a body generator the
    server never started, or left suspended when the client vanished, would never run its `finally`."""

    def __init__(self, events: AsyncIterator[str], *, pieces: Iterator[str], ticket: Ticket) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._pieces = pieces
        self._ticket = ticket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Closing the engine's stream stops the model. Shielded: a vanished client cancels us here.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_close, self._pieces)
            self._ticket.release()


async def _events(
    call: _Call, stream: AnswerStream, pieces: Iterator[str], first: object
) -> AsyncIterator[str]:
    """The SSE body: role, text pieces, the final chunk with finish reason and sources, usage, [DONE]."""
    try:
        yield call.chunk({"role": "assistant", "content": ""})
        held = StopFilter(call.sampling.stop)
        piece = first
        while piece is not _END:
            text = held.feed(str(piece))
            if text:
                yield call.chunk({"content": text})
            try:
                piece = await run_in_threadpool(_next_piece, pieces)
            except APIError as error:
                yield sse(error_body(error.status, error.message, code=error.code))
                return
        tail = held.flush()
        if tail:
            yield call.chunk({"content": tail})
        answer = stream.answer
        assert answer is not None  # the stream ran to its end
        answer.text = held.text
        answer.sources = mark_cited(answer.sources, answer.text)
        served, body = call.served, call.body
        conversation_id = await run_in_threadpool(
            store_exchange, served.storage, body.conversation_id, call.question, answer
        )
        finish = finish_reason(answer, held.stopped, call.sampling)
        yield call.chunk({}, finish, **extras(answer, conversation_id))
        if body.stream_options is not None and body.stream_options.include_usage:
            yield call.chunk(None, usage=usage(answer))
        yield sse("[DONE]")
    except StorageError as error:
        yield sse(error_body(500, f"the answer could not be stored: {error}", code="storage_failed"))
    except Exception as error:  # the status line is sent: report in the stream, as OpenAI does
        log.exception("streamed completion failed")
        yield sse(error_body(500, f"internal error ({type(error).__name__}); the server log has the details"))


def _close(pieces: Iterator[str]) -> None:
    close = getattr(pieces, "close", None)
    if close is not None:
        close()
