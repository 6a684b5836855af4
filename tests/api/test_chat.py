"""Chat completions through the real OpenAI client against a live server: every mode, whole and streamed,
the same text as the engine in-process, usage, sources, stop, max_tokens, and storage of each exchange."""

from __future__ import annotations

import pytest

from assistant.api.models import parse_model

QUESTION = "How many days do I have to return a router for a full refund?"
OFF_TOPIC = "zebra quantum tuba saxophone?"
# model name -> (mode, adapter) it must run
MODELS = {
    "tunedesk-base": ("base", None),
    "tunedesk-rag": ("rag", None),
    "tunedesk-tuned": ("tuned", "beta"),
    "tunedesk-tuned-rag": ("tuned+rag", "beta"),
    "tunedesk-tuned:alpha": ("tuned", "alpha"),
    "tunedesk-tuned-rag:alpha": ("tuned+rag", "alpha"),
}


def test_models_lists_every_mode_and_adapter_and_the_embedding_model(
    make_app, serve, client, hashing_embedder
):
    with serve(make_app()) as url:
        names = [model.id for model in client(url).models.list()]
    assert names == [
        "tunedesk-base",
        "tunedesk-rag",
        "tunedesk-tuned",
        "tunedesk-tuned:alpha",
        "tunedesk-tuned:beta",
        "tunedesk-tuned-rag",
        "tunedesk-tuned-rag:alpha",
        "tunedesk-tuned-rag:beta",
        hashing_embedder.name,
    ]


def test_models_leave_out_what_the_engine_would_refuse(make_app, serve, client, generator):
    from assistant.engine import Assistant

    # The setting names an adapter that is gone, and there are no documents: the engine refuses those
    # names, so they are not offered.
    refusing = Assistant(generator, None, default_adapter="gamma")
    with serve(make_app(assistant=refusing)) as url:
        names = [model.id for model in client(url).models.list()]
    assert names[:3] == ["tunedesk-base", "tunedesk-tuned:alpha", "tunedesk-tuned:beta"]
    assert all(refusing.unavailable(*parse_model(name, names)) is None for name in names[:3])


@pytest.mark.parametrize("model", list(MODELS))
def test_each_mode_answers_whole_and_streamed_like_the_engine(
    model, make_app, serve, client, assistant, storage
):
    mode, adapter = MODELS[model]
    expected = assistant.answer(QUESTION, mode=mode, adapter=adapter)
    expected_stream = assistant.stream(QUESTION, mode=mode, adapter=adapter)
    "".join(expected_stream)
    with serve(make_app()) as url:
        api = client(url)
        whole = api.chat.completions.create(model=model, messages=[{"role": "user", "content": QUESTION}])
        chunks = list(
            api.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": QUESTION}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    # Greedy decoding: the API gives exactly the engine's answer, whole and streamed.
    assert whole.choices[0].message.content == expected.text
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert streamed == expected.text
    assert whole.model == model
    assert whole.usage.prompt_tokens == expected.prompt_tokens
    assert whole.usage.completion_tokens == expected.completion_tokens
    assert whole.usage.total_tokens == expected.prompt_tokens + expected.completion_tokens
    # A stream stops decoding where the answer filter ends the answer: its count is the engine's stream's.
    assert chunks[-1].usage.completion_tokens == expected_stream.answer.completion_tokens
    assert chunks[-1].choices == []
    final = chunks[-2]
    assert final.choices[0].finish_reason in ("stop", "length")
    extra = whole.model_extra
    assert extra["mode"] == mode and extra["adapter"] == adapter
    assert [source["title"] for source in extra["sources"]] == [source.title for source in expected.sources]
    assert final.model_extra["sources"] == extra["sources"]
    if mode in ("rag", "tuned+rag"):
        assert extra["sources"][0]["title"] == "Returns policy"
    # Both exchanges are stored like the app's: question, then the answer with its mode, adapter and sources.
    for conversation_id, engine in (
        (extra["conversation_id"], expected),
        (final.model_extra["conversation_id"], expected_stream.answer),
    ):
        question, answer = storage.messages(conversation_id)
        assert (question.role, question.content) == ("user", QUESTION)
        assert (answer.role, answer.content, answer.mode, answer.adapter) == (
            "assistant",
            expected.text,
            mode,
            adapter,
        )
        assert [source["number"] for source in answer.sources] == [
            source.number for source in expected.sources
        ]
        assert answer.completion_tokens == engine.completion_tokens
        assert answer.timings["total_ms"] > 0


def _stream_text(chunks) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def test_stop_sequence_cuts_the_answer_whole_and_streamed(make_app, serve, client, assistant):
    model = "tunedesk-tuned:beta"  # its adapter makes the tiny model say words, not newlines
    # A question on which it says several words, not one word over and over (the filter ends such a loop).
    question = "Tell me about shipping"
    full = assistant.answer(question, mode="tuned", adapter="beta").text
    assert len(full.split()) >= 3, full
    boundary = full.index(" ", 2)
    stop = full[boundary - 2 : boundary + 3]  # spans two streamed pieces, so the stream must hold text back
    expected = full[: full.find(stop)]
    assert expected.strip()
    with serve(make_app()) as url:
        api = client(url)
        messages = [{"role": "user", "content": question}]
        whole = api.chat.completions.create(model=model, messages=messages, stop=[stop, "never-seen"])
        chunks = list(api.chat.completions.create(model=model, messages=messages, stop=stop, stream=True))
    assert whole.choices[0].message.content == expected
    assert whole.choices[0].finish_reason == "stop"
    assert _stream_text(chunks) == expected
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    # The generator stopped at the stop sequence instead of running to max_tokens.
    assert whole.usage.completion_tokens < assistant.max_new_tokens


def test_the_quote_rides_along_and_a_stop_that_cuts_it_drops_it(make_app, serve, client, assistant):
    assistant.quote_sentences = 1
    try:
        expected = assistant.answer(QUESTION, mode="tuned+rag", adapter="beta")
        assert expected.quote
        with serve(make_app()) as url:
            api = client(url)
            messages = [{"role": "user", "content": QUESTION}]
            whole = api.chat.completions.create(model="tunedesk-tuned-rag", messages=messages)
            cut = api.chat.completions.create(model="tunedesk-tuned-rag", messages=messages, stop=["\u201c"])
    finally:
        assistant.quote_sentences = 0
    assert whole.choices[0].message.content == expected.text
    assert whole.model_extra["quote"] == expected.quote
    assert expected.quote not in cut.choices[0].message.content and cut.model_extra["quote"] == ""


def test_the_past_exchange_rides_along_beside_the_quote(make_app, serve, client, assistant, examples):
    assistant.examples, assistant.precedent_min_similarity = examples, 0.0
    try:
        expected = assistant.answer("Is water damage covered?", mode="tuned", adapter="beta")
        assert expected.precedent and expected.text.endswith(expected.precedent)
        with serve(make_app()) as url:
            api = client(url)
            messages = [{"role": "user", "content": "Is water damage covered?"}]
            whole = api.chat.completions.create(model="tunedesk-tuned:beta", messages=messages)
            cut = api.chat.completions.create(model="tunedesk-tuned:beta", messages=messages, stop=["\u201c"])
    finally:
        assistant.examples, assistant.precedent_min_similarity = None, None
    assert whole.choices[0].message.content == expected.text
    assert whole.model_extra["precedent"] == expected.precedent
    assert cut.model_extra["precedent"] == ""


def test_max_tokens_is_honoured_and_capped_by_the_server(make_app, serve, client, assistant):
    from assistant.generation import Sampling

    short = assistant.answer(QUESTION, mode="base", sampling=Sampling(max_new_tokens=3))
    assert short.completion_tokens == 3
    with serve(make_app(max_tokens=5)) as url:
        api = client(url)
        messages = [{"role": "user", "content": QUESTION}]
        three = api.chat.completions.create(model="tunedesk-base", messages=messages, max_tokens=3)
        capped = api.chat.completions.create(model="tunedesk-base", messages=messages, max_tokens=100)
    assert three.choices[0].message.content == short.text
    assert three.usage.completion_tokens == 3
    assert three.choices[0].finish_reason == "length"
    assert capped.usage.completion_tokens == 5


def test_temperature_samples_instead_of_greedy_decoding(make_app, serve, client, assistant):
    from assistant.generation import Sampling

    greedy = assistant.answer(QUESTION, mode="base", sampling=Sampling(max_new_tokens=8)).text
    with serve(make_app()) as url:
        api = client(url)
        sampled = [
            api.chat.completions.create(
                model="tunedesk-base",
                messages=[{"role": "user", "content": QUESTION}],
                max_tokens=8,
                temperature=1.5,
                top_p=1.0,
            )
            .choices[0]
            .message.content
            for _ in range(3)
        ]
    # A random 49k-token model sampled at 1.5: three 8-token answers all equal to greedy would be a miracle.
    assert any(text != greedy for text in sampled)


def test_an_off_topic_question_abstains_without_the_model(make_app, serve, client, assistant):
    with serve(make_app()) as url:
        api = client(url)
        messages = [{"role": "user", "content": OFF_TOPIC}]
        whole = api.chat.completions.create(model="tunedesk-rag", messages=messages)
        chunks = list(api.chat.completions.create(model="tunedesk-rag", messages=messages, stream=True))
    text = whole.choices[0].message.content
    # It says so plainly and names the nearest documents, which ride along as uncited sources.
    assert text.startswith(assistant.abstain_message + "\n\nNearest documents: ")
    sources = whole.model_extra["sources"]
    assert whole.model_extra["abstained"] is True and sources
    assert all(source["cited"] is False and source["title"] in text for source in sources)
    assert whole.usage.completion_tokens == 0
    assert _stream_text(chunks) == text


def test_history_is_passed_on_and_a_named_conversation_grows(make_app, serve, client, assistant, storage):
    import openai

    history = [
        {"role": "system", "content": "You are a pirate."},  # dropped: the server writes its own prompt
        {"role": "user", "content": "Tell me about the warranty."},
        {"role": "assistant", "content": "It lasts two years."},
    ]
    expected = assistant.answer(QUESTION, history[1:], mode="base")
    with serve(make_app()) as url:
        api = client(url)
        first = api.chat.completions.create(
            model="tunedesk-base", messages=[{"role": "user", "content": "hi"}]
        )
        conversation_id = first.model_extra["conversation_id"]
        second = api.chat.completions.create(
            model="tunedesk-base",
            messages=[*history, {"role": "user", "content": QUESTION}],
            extra_body={"conversation_id": conversation_id},
        )
        with pytest.raises(openai.NotFoundError) as unknown:
            api.chat.completions.create(
                model="tunedesk-base",
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"conversation_id": "no-such-conversation"},
            )
    assert second.choices[0].message.content == expected.text
    assert second.usage.prompt_tokens == expected.prompt_tokens
    assert second.model_extra["conversation_id"] == conversation_id
    assert [message.content for message in storage.messages(conversation_id)] == [
        "hi",
        first.choices[0].message.content,
        QUESTION,
        expected.text,
    ]
    assert unknown.value.param == "conversation_id"


def test_prompt_plus_the_requested_max_tokens_fits_the_context_window(
    generator, knowledge_base, make_app, serve, client
):
    """A long history and a request of api.max_tokens (or more, cut to it), whole and streamed: the prompt
    is budgeted with the request's limit, not the engine's default of 12 tokens."""
    from assistant.engine import Assistant

    window, cap = 512, 200
    assistant = Assistant(
        generator,
        knowledge_base,
        min_score=0.2,
        context_tokens=window,
        max_new_tokens=12,
        default_adapter="beta",
    )
    history = []
    for turn in range(40):
        history += [
            {
                "role": "user",
                "content": f"Question {turn}: why does the router light blink amber after updates?",
            },
            {"role": "assistant", "content": "Restart the router and wait two minutes for the light. " * 2},
        ]
    messages = [*history, {"role": "user", "content": QUESTION}]
    usages = []
    with serve(make_app(assistant=assistant, max_tokens=cap)) as url:
        api = client(url)
        for model in ("tunedesk-base", "tunedesk-tuned-rag"):
            for asked in (cap, 10 * cap):
                whole = api.chat.completions.create(model=model, messages=messages, max_tokens=asked)
                usages.append(whole.usage)
            chunks = list(
                api.chat.completions.create(
                    model=model,
                    messages=messages,
                    max_tokens=cap,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            usages.append(chunks[-1].usage)
    for usage in usages:
        assert usage.prompt_tokens + cap <= window
        assert usage.total_tokens <= window
        assert usage.prompt_tokens > window - cap - 60  # the history was kept as far as it fits
