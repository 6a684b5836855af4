"""Bad input gets an OpenAI-style error body with the right status and the field named; the server lives on."""

from __future__ import annotations

import httpx
import pytest

GOOD = {"model": "tunedesk-base", "messages": [{"role": "user", "content": "How long is the warranty?"}]}

# (body, status, param, words the message must contain)
BAD_COMPLETIONS = [
    ({"messages": GOOD["messages"]}, 400, "model", "required"),
    ({**GOOD, "messages": []}, 400, "messages", "at least 1"),
    ({**GOOD, "temperature": "hot"}, 400, "temperature", "number"),
    ({**GOOD, "temperature": 5}, 400, "temperature", "less than or equal to 2"),
    ({**GOOD, "top_p": 0}, 400, "top_p", "greater than 0"),
    ({**GOOD, "max_tokens": 0}, 400, "max_tokens", "greater than or equal to 1"),
    ({**GOOD, "n": 2}, 400, "n", "less than or equal to 1"),
    ({**GOOD, "stop": ["a", "b", "c", "d", "e"]}, 400, "stop", "at most 4"),
    ({**GOOD, "stream": "maybe"}, 400, "stream", "boolean"),
    ({**GOOD, "messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages.0.role", "'user'"),
    ({**GOOD, "messages": [{"content": "hi"}]}, 400, "messages.0.role", "required"),
    ({**GOOD, "messages": [{"role": "assistant", "content": "hi"}]}, 400, "messages", "last message"),
    ({**GOOD, "messages": [{"role": "user", "content": "   "}]}, 400, "messages", "last message"),
    ({**GOOD, "model": "gpt-4o"}, 404, "model", "tunedesk-base"),
    ({**GOOD, "model": "tunedesk-tuned:nope"}, 404, "model", "served models"),
    ([1, 2, 3], 400, None, "JSON object"),
    # Strict types: a boolean or a string is not a number, and a fraction is not a token count.
    ({**GOOD, "max_tokens": True}, 400, "max_tokens", "valid integer"),
    ({**GOOD, "max_tokens": "64"}, 400, "max_tokens", "valid integer"),
    ({**GOOD, "max_completion_tokens": 12.5}, 400, "max_completion_tokens", "valid integer"),
    ({**GOOD, "temperature": True}, 400, "temperature", "valid number"),
    ({**GOOD, "top_p": "0.5"}, 400, "top_p", "valid number"),
    ({**GOOD, "n": True}, 400, "n", "valid integer"),
    ({**GOOD, "stream": 1}, 400, "stream", "boolean"),
]


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize(("body", "status", "param", "words"), BAD_COMPLETIONS)
def test_bad_completion_requests_name_the_field(body, status, param, words, make_app, serve, storage):
    with serve(make_app()) as url:
        response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    error = _error(response)
    assert response.status_code == status
    assert error["param"] == param
    assert words in error["message"]
    assert error["type"] == "invalid_request_error"
    assert storage.conversations() == []  # nothing answered, nothing stored


def test_whole_numbers_still_count_as_floats(make_app, serve, client):
    with serve(make_app()) as url:
        answer = client(url).chat.completions.create(
            model="tunedesk-base", messages=GOOD["messages"], temperature=0, top_p=1, max_tokens=2
        )
    assert answer.usage.completion_tokens == 2


def test_malformed_json_oversized_bodies_and_unknown_routes_are_refused_and_the_server_lives_on(
    make_app, serve
):
    with serve(make_app(max_body_mb=0.01)) as url:
        endpoint = f"{url}/v1/chat/completions"
        headers = {"Content-Type": "application/json"}
        broken = httpx.post(endpoint, content=b'{"model": "tunedesk-base", "messages": [', headers=headers)
        binary = httpx.post(endpoint, content=b"\xff\xfe\x00garbage", headers=headers)
        huge = {**GOOD, "messages": [{"role": "user", "content": "x" * 20_000}]}
        too_large = httpx.post(endpoint, json=huge)

        def chunks():  # no Content-Length: the limit must count the bytes as they arrive
            yield b'{"model": "tunedesk-base", "messages": [{"role": "user", "content": "'
            for _ in range(40):
                yield b"y" * 1000
            yield b'"}]}'

        chunked = httpx.post(endpoint, content=chunks(), headers=headers)
        missing = httpx.get(f"{url}/v1/nothing-here")
        wrong_method = httpx.get(endpoint)
        embeddings = httpx.post(f"{url}/v1/embeddings", json={"model": "other-model", "input": "hi"})
        empty_input = httpx.post(f"{url}/v1/embeddings", json={"model": "x", "input": ["ok", ""]})
        bad_k = httpx.post(f"{url}/v1/search", json={"query": "warranty", "k": 0})
        still_alive = httpx.post(endpoint, json=GOOD, timeout=60)
    assert broken.status_code == 400 and "not valid JSON" in _error(broken)["message"]
    assert binary.status_code == 400 and "not valid JSON" in _error(binary)["message"]
    assert too_large.status_code == 413 and "api.max_body_mb" in _error(too_large)["message"]
    assert chunked.status_code == 413 and _error(chunked)["code"] == "body_too_large"
    assert missing.status_code == 404 and "/v1/nothing-here" in _error(missing)["message"]
    assert wrong_method.status_code == 405 and _error(wrong_method)["code"] == "method_not_allowed"
    assert embeddings.status_code == 404 and _error(embeddings)["param"] == "model"
    assert empty_input.status_code == 400 and _error(empty_input)["param"] == "input"
    assert bad_k.status_code == 400 and _error(bad_k)["param"] == "k"
    assert still_alive.status_code == 200
    assert still_alive.json()["choices"][0]["message"]["role"] == "assistant"


def test_a_failing_component_gives_a_500_body_not_a_crash(make_app, serve, assistant, knowledge_base):
    """A generator that raises: the client gets an OpenAI-style 500, the next request is served."""
    from assistant.engine import Assistant

    class Broken:
        adapters = ()
        special_tokens = ()

        def count_tokens(self, messages):
            return 10

        def complete(self, messages, *, adapter, sampling=None):
            raise RuntimeError("disk on fire")

        def stream(self, messages, *, adapter, sampling=None):
            raise RuntimeError("disk on fire")
            yield ""

    broken = Assistant(Broken(), knowledge_base)
    with serve(make_app(assistant=broken)) as url:
        whole = httpx.post(f"{url}/v1/chat/completions", json=GOOD)
        streamed = httpx.post(f"{url}/v1/chat/completions", json={**GOOD, "stream": True})
        models = httpx.get(f"{url}/v1/models")
    assert whole.status_code == 500 and _error(whole)["type"] == "server_error"
    assert "RuntimeError" in _error(whole)["message"]
    assert streamed.status_code == 500
    assert models.status_code == 200


def test_a_stream_failing_midway_reports_the_error_in_the_stream(make_app, serve, client, knowledge_base):
    import openai

    from assistant.engine import Assistant

    class FailsMidway:
        adapters = ()
        special_tokens = ()

        def count_tokens(self, messages):
            return 10

        def stream(self, messages, *, adapter, sampling=None):
            yield "first"
            yield " second"
            raise RuntimeError("GPU fell off the bus")

    app = make_app(assistant=Assistant(FailsMidway(), knowledge_base), max_concurrent=1, max_queued=0)
    received = []
    with serve(app) as url:
        api = client(url)
        with pytest.raises(openai.APIError) as failed:
            for chunk in api.chat.completions.create(
                model="tunedesk-base", messages=GOOD["messages"], stream=True
            ):
                received.extend(choice.delta.content for choice in chunk.choices if choice.delta.content)
        # The only slot is free again: the next request is served, not refused with 429.
        after = httpx.get(f"{url}/v1/models")
        again = httpx.post(f"{url}/v1/chat/completions", json={**GOOD, "stream": True})
    assert received == ["first", " second"]
    assert "RuntimeError" in failed.value.message
    assert after.status_code == 200 and again.status_code == 200


def test_a_question_longer_than_the_context_window_is_a_400_naming_the_setting(make_app, serve):
    long_question = "Why is the router light amber? " * 400  # ~3,000 tokens against a 1,024-token window
    with serve(make_app()) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "tunedesk-base", "messages": [{"role": "user", "content": long_question}]},
        )
    error = _error(response)
    assert response.status_code == 400
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert "assistant.context_tokens" in error["message"]
