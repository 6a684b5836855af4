"""The OpenAI-compatible HTTP backend against a local stub server speaking chat completions (JSON and SSE)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.decoding import StopDecoding
from assistant.engine import Assistant
from assistant.generation import GenerationError, Usage
from assistant.http_generator import HttpGenerator

SERVED = {"smollm2", "alpha"}


class ChatCompletions(BaseHTTPRequestHandler):
    """Answers "<model> heard: <last user message>" word by word; remembers every request it got."""

    requests: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.path != "/v1/chat/completions" or body["model"] not in SERVED:
            self._send(
                404,
                "application/json",
                json.dumps({"error": {"message": f"model {body['model']} not found"}}),
            )
            return
        question = body["messages"][-1]["content"]
        words = f"{body['model']} heard: {question}".split(" ")
        pieces = [word if index == 0 else " " + word for index, word in enumerate(words)]
        usage = {
            "prompt_tokens": 7 * len(body["messages"]),
            "completion_tokens": len(pieces),
            "total_tokens": 0,
        }
        if not body.get("stream"):
            reply = {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)}}],
                "usage": usage,
            }
            self._send(200, "application/json", json.dumps(reply))
            return
        events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
        events += [{"choices": [{"index": 0, "delta": {"content": piece}}]} for piece in pieces]
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if body.get("stream_options", {}).get("include_usage"):
            events.append({"choices": [], "usage": usage})
        stream = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
        self._send(200, "text/event-stream", stream)

    def _send(self, status: int, content_type: str, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)  # port 0: a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(server_url):
    ChatCompletions.requests.clear()
    generator = HttpGenerator(
        server_url, model="smollm2", adapters=["alpha"], api_key="s3cret", max_new_tokens=50
    )
    yield generator
    generator.close()


MESSAGES = [{"role": "user", "content": "is the router on?"}]


def test_non_streaming_completion(client):
    completion = client.complete(MESSAGES, adapter=None)
    assert completion.text == "smollm2 heard: is the router on?"
    assert completion.usage == Usage(prompt_tokens=7, completion_tokens=6)
    request = ChatCompletions.requests[-1]
    assert request["auth"] == "Bearer s3cret"
    assert request["body"]["model"] == "smollm2" and request["body"]["stream"] is False
    assert request["body"]["max_tokens"] == 50 and request["body"]["temperature"] == 0.0


def test_streaming_yields_the_pieces_and_returns_the_server_usage(client):
    stream = client.stream(MESSAGES, adapter="alpha")
    pieces = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as stop:
            usage = stop.value
            break
    assert pieces == ["alpha", " heard:", " is", " the", " router", " on?"]
    assert usage == Usage(prompt_tokens=7, completion_tokens=6)
    assert (
        ChatCompletions.requests[-1]["body"]["model"] == "alpha"
    )  # tuned mode names the adapter as the model


def test_a_stream_told_to_stop_closes_the_request_and_counts_the_pieces_read(client):
    stream = client.stream(MESSAGES, adapter="alpha")
    assert [next(stream), next(stream)] == ["alpha", " heard:"]
    with pytest.raises(StopIteration) as stopped:
        stream.throw(StopDecoding())
    assert stopped.value.value == Usage(client.count_tokens(MESSAGES), 2)


def test_the_assistant_runs_on_the_http_backend(client, knowledge_base):
    assistant = Assistant(client, knowledge_base, min_score=0.2, default_adapter="alpha")
    question = "How many days do I have to return a router for a full refund?"
    streamed = assistant.stream(question, mode="tuned+rag")
    text = "".join(streamed)
    whole = assistant.answer(question, mode="tuned+rag")
    assert text == whole.text and text.startswith("alpha heard: Sources:")
    # The echoed fence ends the answer: the stream stops reading there, the whole completion ran on.
    assert whole.sources and whole.completion_tokens > streamed.answer.completion_tokens > 0
    base = assistant.answer(question, mode="base")
    assert base.text == f"smollm2 heard: {question}" and base.adapter is None


def test_server_errors_and_an_unreachable_server_are_clear(client, server_url):
    with pytest.raises(GenerationError, match="HTTP 404.*model gamma not found"):
        client.complete(MESSAGES, adapter="gamma")
    with pytest.raises(GenerationError, match="HTTP 404"):
        list(client.stream(MESSAGES, adapter="gamma"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # bound but not listening: connections are refused
        dead = HttpGenerator(f"http://127.0.0.1:{closed_port}/v1", model="smollm2", timeout_s=5)
        with pytest.raises(GenerationError, match="cannot reach the model server"):
            dead.complete(MESSAGES, adapter=None)
        with pytest.raises(GenerationError, match="cannot reach the model server"):
            list(dead.stream(MESSAGES, adapter=None))
        dead.close()
