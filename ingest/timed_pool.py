"""Runs a worker command over many inputs in separate processes, stopping any input that runs past a time limit.

Parsers are third-party code that can spin forever on a hostile file; a thread cannot be stopped,
a process can. Workers are fresh interpreters (`python -m <module>`), not forks or
multiprocessing children: they never inherit torch's threads and never re-import the caller's
main script (which, for the CLI or a Streamlit app, would load torch and the models again).
They speak JSON lines: the pool writes one input per line to a worker's stdin; the worker answers
`{"started": <time.monotonic()>}` when it begins and then one result line. A manager thread
keeps the workers busy while the caller works on earlier results (embedding), and results are
handed back in input order. This module knows nothing about files or documents.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, BinaryIO

# Seconds a worker gets to exit after its stdin closes before it is killed.
_EXIT_GRACE_S = 2.0
_READ_BYTES = 1 << 16


@dataclass(frozen=True)
class TimedOut:
    """The input ran longer than the limit and its worker was killed."""

    seconds: float


@dataclass(frozen=True)
class Crashed:
    """The worker died while on this input (a crash in native code, or killed from outside)."""

    exit_code: int | None


def run_timed(
    command: Sequence[str],
    inputs: Sequence[Any],
    *,
    timeout_s: float,
    workers: int,
    read_ahead: int,
    env: dict[str, str] | None = None,
) -> Iterator[Any]:
    """Yield each input's reply (decoded JSON), in input order, or `TimedOut` / `Crashed` in its place.

    At most `read_ahead` inputs are sent ahead of the caller, which bounds the memory held when
    the caller is the slow side. Closing the iterator early stops and reaps every worker.
    """
    if not inputs:
        return
    manager = _Manager(
        list(command), inputs, timeout_s, max(1, min(workers, len(inputs))), max(1, read_ahead), env
    )
    manager.start()
    try:
        for index in range(len(inputs)):
            yield manager.take(index)
    finally:
        manager.stop()


def serve_requests(answer: Callable[[Any], Any], requests: BinaryIO, replies: BinaryIO) -> None:
    """The worker's side of the protocol: for each JSON line read, say when it started, then answer it."""
    for line in requests:
        if not line.strip():
            continue
        _reply(replies, {"started": time.monotonic()})
        _reply(replies, answer(json.loads(line)))


def _reply(replies: BinaryIO, message: Any) -> None:
    replies.write(json.dumps(message).encode() + b"\n")
    replies.flush()


class _Worker:
    def __init__(self, command: list[str], env: dict[str, str] | None) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.fd = self.process.stdout.fileno()
        self._parts: list[bytes] = []  # an incomplete last line
        self.index: int | None = None
        self.deadline: float | None = None

    def send(self, index: int, item: Any) -> None:
        self.index, self.deadline = index, None
        self.process.stdin.write(json.dumps(item).encode() + b"\n")
        self.process.stdin.flush()

    def read_messages(self) -> list[Any] | None:
        """Messages completed by the bytes now readable; None when the worker has exited."""
        data = os.read(self.fd, _READ_BYTES)
        if not data:
            return None
        if b"\n" not in data:
            # A large reply (a 50 MB document) arrives in many reads: collect the parts and join
            # once, rather than copying the growing buffer on every read.
            self._parts.append(data)
            return []
        lines = (b"".join(self._parts) + data).split(b"\n")
        self._parts = [lines.pop()]
        return [json.loads(line) for line in lines if line]

    def kill(self) -> int | None:
        self.process.kill()
        return self._reap()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the worker may already be gone
            self.process.stdin.close()
        try:
            self.process.wait(_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._reap()

    def _reap(self) -> int | None:
        code = self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        return code


class _Manager:
    def __init__(
        self,
        command: list[str],
        inputs: Sequence[Any],
        timeout_s: float,
        workers: int,
        read_ahead: int,
        env: dict[str, str] | None,
    ) -> None:
        self._command = command
        self._inputs = inputs
        self._timeout_s = timeout_s
        self._worker_count = workers
        self._read_ahead = read_ahead
        self._env = env
        self._condition = threading.Condition()
        self._results: dict[int, Any] = {}
        self._taken = 0  # results handed to the caller so far
        self._failure: BaseException | None = None
        self._stopping = False
        self._wake_reader, self._wake_writer = os.pipe()
        self._thread = threading.Thread(target=self._run, name="timed-pool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def take(self, index: int) -> Any:
        with self._condition:
            while index not in self._results and self._failure is None:
                self._condition.wait()
            if self._failure is not None:
                raise RuntimeError("the worker pool failed") from self._failure
            self._taken = index + 1
            result = self._results.pop(index)
        self._wake()
        return result

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
        self._wake()
        self._thread.join()
        os.close(self._wake_reader)
        os.close(self._wake_writer)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already stopped
            os.write(self._wake_writer, b"x")

    def _run(self) -> None:
        # A slot is None until it has work: a worker killed near the end of the batch is not replaced.
        slots: list[_Worker | None] = [None] * self._worker_count
        try:
            self._loop(slots)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, which re-raises it
            with self._condition:
                self._failure = error
                self._condition.notify_all()
        finally:
            for worker in slots:
                if worker is None:
                    continue
                if worker.index is None:
                    worker.close()
                else:
                    worker.kill()

    def _loop(self, slots: list[_Worker | None]) -> None:
        next_index = 0
        while True:
            with self._condition:
                if self._stopping or len(self._results) + self._taken == len(self._inputs):
                    return
                allowed = min(self._taken + self._read_ahead, len(self._inputs))
            for position, worker in enumerate(slots):
                if next_index < allowed and (worker is None or worker.index is None):
                    slots[position] = self._dispatch(worker, next_index)
                    next_index += 1
            busy = [worker for worker in slots if worker is not None and worker.index is not None]
            deadlines = [worker.deadline for worker in busy if worker.deadline is not None]
            wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = set(wait([self._wake_reader, *(worker.fd for worker in busy)], timeout=wait_s))
            if self._wake_reader in ready:
                os.read(self._wake_reader, _READ_BYTES)
            for worker in busy:
                position = slots.index(worker)
                if worker.fd in ready:
                    slots[position] = self._receive(worker)
                elif worker.deadline is not None and time.monotonic() > worker.deadline:
                    worker.kill()
                    self._store(worker.index, TimedOut(self._timeout_s))
                    slots[position] = None

    def _dispatch(self, worker: _Worker | None, index: int) -> _Worker | None:
        """Send input `index` to this slot's worker (started if needed); return what to keep in the slot."""
        worker = worker or _Worker(self._command, self._env)
        try:
            worker.send(index, self._inputs[index])
        except OSError:  # the worker died between inputs
            self._store(index, Crashed(worker.kill()))
            return None
        return worker

    def _receive(self, worker: _Worker) -> _Worker | None:
        """Handle what a busy worker wrote; return what to keep in its slot."""
        messages = worker.read_messages()
        if messages is None:
            self._store(worker.index, Crashed(worker.kill()))
            return None
        for message in messages:
            if isinstance(message, dict) and set(message) == {"started"}:
                # The clock starts when the worker begins, not when the input was sent: a fresh
                # worker spends its first second importing modules.
                worker.deadline = message["started"] + self._timeout_s
            else:
                self._store(worker.index, message)
                worker.index, worker.deadline = None, None
        return worker

    def _store(self, index: int | None, result: Any) -> None:
        with self._condition:
            self._results[index] = result
            self._condition.notify_all()
