"""Limits that keep the server alive under load and abuse: request body size, and bounded work queues
(one for generations, one for embeddings).

At most `concurrent` jobs run at once and at most `queued` more wait for a slot; a request arriving
when both are full is refused at once with HTTP 429 instead of piling up. The counters live on the
event loop (only coroutines touch them), so they need no lock.
Knows nothing about what the work is beyond the words that name it in the 429 message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import APIError, error_response


class WorkLimit:
    def __init__(self, *, concurrent: int, queued: int, work: str, settings: str) -> None:
        """`work` names the jobs ("generations") and `settings` the settings that size the queue."""
        self.concurrent = concurrent
        self.capacity = concurrent + queued
        self.work, self.settings = work, settings
        self.admitted = 0  # running + waiting
        self._running = asyncio.Semaphore(concurrent)

    def admit(self) -> Ticket:
        """A place in the queue, or HTTP 429 when it is full. Call `await ticket.run()`, then `release()`."""
        if self.admitted >= self.capacity:
            raise APIError(
                429,
                f"the server is busy: {self.capacity} {self.work} are running or waiting "
                f"({self.settings}); retry shortly",
                code="queue_full",
            )
        self.admitted += 1
        return Ticket(self._running, self._leave)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Admitted and running for the duration of the block."""
        ticket = self.admit()
        try:
            await ticket.run()
            yield
        finally:
            ticket.release()

    def _leave(self) -> None:
        self.admitted -= 1


class Ticket:
    """One admitted request: waiting for a slot, then running, until released."""

    def __init__(self, slots: asyncio.Semaphore, leave: Callable[[], None]) -> None:
        self._slots = slots
        self._leave = leave
        self._running = False
        self._released = False

    async def run(self) -> None:
        """Wait for a free generation slot."""
        await self._slots.acquire()
        self._running = True

    def release(self) -> None:
        """Leave the queue (and the slot, if running); safe to call twice."""
        if self._released:
            return
        self._released = True
        self._leave()
        if self._running:
            self._slots.release()


class BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException, so FastAPI's body parsing passes it on as a 413."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class LimitBody:
    """ASGI middleware: refuse a request body over the limit (413), by its Content-Length when it has one,
    else by counting the bytes as they arrive. Uploads to `upload_path` get their own, larger limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_path: str, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_path = upload_path
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] == self.upload_path
        limit = self.max_upload_bytes if upload else self.max_bytes
        setting = "api.max_upload_mb" if upload else "api.max_body_mb"
        message = f"the request body is over the {limit / 2**20:.3g} MiB limit ({setting})"
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(413, message, code="body_too_large")(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(message)
            return event

        await self.app(scope, counted_receive, send)
