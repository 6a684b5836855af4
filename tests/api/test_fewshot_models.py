"""The fewshot modes over the API: listed as `tunedesk-fewshot` and `tunedesk-fewshot-rag` when the assistant
has example exchanges, answering exactly as the engine does, with the examples shown beside the sources."""

from __future__ import annotations

from dataclasses import asdict

import httpx

QUESTION = "Is water damage covered by the warranty?"


def test_fewshot_models_are_listed_and_answer_like_the_engine(make_app, serve, client, assistant, examples):
    assistant.examples = examples
    expected = {mode: assistant.answer(QUESTION, mode=mode) for mode in ("fewshot", "fewshot+rag")}
    with serve(make_app(assistant=assistant)) as url:
        names = [model.id for model in client(url).models.list()]
        replies = {
            mode: httpx.post(
                f"{url}/v1/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": QUESTION}]},
                timeout=60,
            ).json()
            for mode, model in (("fewshot", "tunedesk-fewshot"), ("fewshot+rag", "tunedesk-fewshot-rag"))
        }
    assert names[names.index("tunedesk-tuned-rag:beta") + 1 :][:2] == [
        "tunedesk-fewshot",
        "tunedesk-fewshot-rag",
    ]
    for mode, reply in replies.items():
        answer = expected[mode]
        assert reply["choices"][0]["message"]["content"] == answer.text
        assert reply["mode"] == mode and reply["adapter"] is None
        assert reply["examples"] == [asdict(example) for example in answer.examples] and reply["examples"]
        assert reply["usage"]["prompt_tokens"] == answer.prompt_tokens
    assert replies["fewshot+rag"]["sources"] and not replies["fewshot"]["sources"]
