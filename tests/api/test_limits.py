"""The generation queue under load: a burst is answered or refused (429), never lost; every answer is stored;
a client that leaves mid-stream frees its slot; the event loop keeps serving while the model works."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from assistant.generation import Sampling

QUESTION = "How long is the warranty?"
WAIT_S = 30.0  # upper bound of every wait below; they end as soon as their condition holds


class GatedGenerator:
    """The real generator, made to wait at a gate before generating: holds requests in flight on demand."""

    def __init__(self, inner, gate: threading.Event) -> None:
        self.inner, self.gate = inner, gate
        self.adapters = inner.adapters
        self.special_tokens = inner.special_tokens

    def count_tokens(self, messages):
        return self.inner.count_tokens(messages)

    def complete(self, messages, *, adapter, sampling=None):
        assert self.gate.wait(WAIT_S)
        return self.inner.complete(messages, adapter=adapter, sampling=sampling)

    def stream(self, messages, *, adapter, sampling=None):
        assert self.gate.wait(WAIT_S)
        return (yield from self.inner.stream(messages, adapter=adapter, sampling=sampling))


class EndlessGenerator:
    """Streams a word every 10 ms until closed (or 30 s): a model that never stops by itself. The words differ
    (word0, word1, ...): the answer filter ends an answer that says one word over and over."""

    adapters = ()
    special_tokens = ()

    def __init__(self) -> None:
        self.closed = threading.Event()

    def count_tokens(self, messages):
        return 10

    def stream(self, messages, *, adapter, sampling=None):
        try:
            for number in range(int(WAIT_S / 0.01)):
                yield f" word{number}"
                time.sleep(0.01)
        finally:
            self.closed.set()
        return None


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("stream", [False, True])
def test_a_burst_is_answered_or_refused_never_lost_and_every_answer_is_stored(
    stream, generator, knowledge_base, make_app, serve, client, storage
):
    from assistant.engine import Assistant

    gate = threading.Event()
    gated = Assistant(GatedGenerator(generator, gate), knowledge_base, max_new_tokens=4)
    burst, concurrent, queued = 8, 1, 2
    answered, refused, failed = [], [], []

    def ask(api) -> None:
        messages = [{"role": "user", "content": QUESTION}]
        try:
            if stream:
                chunks = list(
                    api.chat.completions.create(model="tunedesk-base", messages=messages, stream=True)
                )
                text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
                answered.append((chunks[-1].model_extra["conversation_id"], text))
            else:
                reply = api.chat.completions.create(model="tunedesk-base", messages=messages)
                answered.append((reply.model_extra["conversation_id"], reply.choices[0].message.content))
        except openai.RateLimitError as error:
            refused.append(error)
        except Exception as error:  # anything else is a lost request: the test fails on it below
            failed.append(error)

    with serve(make_app(assistant=gated, max_concurrent=concurrent, max_queued=queued)) as url:
        api = client(url)
        threads = [threading.Thread(target=ask, args=(api,)) for _ in range(burst)]
        for thread in threads:
            thread.start()
        # The gate holds the first generation, so the queue fills and the rest are refused at once.
        _wait_for(lambda: len(refused) == burst - concurrent - queued, "the refusals")
        gate.set()
        for thread in threads:
            thread.join(WAIT_S)
    assert failed == []
    assert len(answered) == concurrent + queued and len(refused) == burst - concurrent - queued
    assert all(error.status_code == 429 and error.code == "queue_full" for error in refused)
    assert "api.max_queued" in refused[0].message
    # Without max_tokens the server asks for the assistant's own max_new_tokens.
    expected = gated.answer(QUESTION, mode="base", sampling=Sampling(max_new_tokens=4)).text
    stored = {record.id: storage.messages(record.id) for record in storage.conversations()}
    assert sorted(stored) == sorted(conversation_id for conversation_id, _ in answered)
    for conversation_id, text in answered:
        assert text == expected
        assert [message.content for message in stored[conversation_id]] == [QUESTION, expected]


def test_the_event_loop_serves_while_a_generation_runs(generator, knowledge_base, make_app, serve, client):
    from assistant.engine import Assistant

    gate = threading.Event()
    gated = Assistant(GatedGenerator(generator, gate), knowledge_base, max_new_tokens=4)
    with serve(make_app(assistant=gated)) as url:
        waiting = threading.Thread(
            target=lambda: client(url).chat.completions.create(
                model="tunedesk-base", messages=[{"role": "user", "content": QUESTION}]
            )
        )
        waiting.start()
        try:
            # Generation is blocked in its worker thread; these must still be answered (or time out and fail).
            health = httpx.get(f"{url}/health", timeout=5)
            models = httpx.get(f"{url}/v1/models", timeout=5)
            search = httpx.post(f"{url}/v1/search", json={"query": "warranty"}, timeout=5)
        finally:
            gate.set()
            waiting.join(WAIT_S)
    assert health.status_code == models.status_code == search.status_code == 200


def test_a_client_leaving_mid_stream_stops_generation_and_frees_the_slot(make_app, serve, knowledge_base):
    from assistant.engine import Assistant

    endless = EndlessGenerator()
    app = make_app(assistant=Assistant(endless, knowledge_base), max_concurrent=1, max_queued=0)
    body = {"model": "tunedesk-base", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with serve(app) as url:
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=WAIT_S) as response:
            lines = response.iter_lines()
            received = [next(lines) for _ in range(6)]
        # Connection closed after a few events: the server must stop the model and free the only slot.
        assert endless.closed.wait(WAIT_S)
        endless.closed.clear()

        def admitted() -> bool:
            with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=WAIT_S) as again:
                return again.status_code == 200

        _wait_for(admitted, "the slot to be freed")
    assert response.status_code == 200
    # The answer filter trims the blank the first piece starts with, as it trims a whole answer.
    assert [line for line in received if line.startswith("data: ")][1].count('"content": "word0"') == 1
