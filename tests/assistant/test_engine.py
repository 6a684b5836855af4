"""The Assistant facade with a tiny random model, real LoRA adapters and a real (hashing-embedder) knowledge base."""

from __future__ import annotations

import re
import time

import pytest
import torch

from assistant.answer import CORE_MODES
from assistant.answer_filter import clean
from assistant.decoding import StopDecoding, Usage
from assistant.engine import Assistant, AssistantError
from assistant.generation import Sampling
from assistant.grounding import flags_unverified
from assistant.precedent import own_words
from assistant.prompts import build_prompt

RETURNS_QUESTION = "How many days do I have to return a router for a full refund?"
OFF_TOPIC = "zebra quantum tuba saxophone?"
MIN_SCORE = 0.2


class CountingGenerator:
    """The real generator, counting how often the model is asked (to prove abstention never asks it)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.adapters = inner.adapters
        self.special_tokens = inner.special_tokens
        self.calls = 0
        self.sent: list = []  # the messages of each call

    def count_tokens(self, messages):
        return self.inner.count_tokens(messages)

    def complete(self, messages, *, adapter, sampling=None):
        self.calls += 1
        self.sent.append(messages)
        return self.inner.complete(messages, adapter=adapter, sampling=sampling)

    def stream(self, messages, *, adapter, sampling=None):
        self.calls += 1
        self.sent.append(messages)
        return (yield from self.inner.stream(messages, adapter=adapter, sampling=sampling))


@pytest.fixture
def assistant(generator, knowledge_base) -> Assistant:
    return Assistant(
        CountingGenerator(generator),
        knowledge_base,
        top_k=3,
        min_score=MIN_SCORE,
        context_tokens=1024,
        max_new_tokens=12,
        domain="Brightwave Wi-Fi",
        abstain_message="Not in the docs. Please contact Brightwave support.",
        default_adapter="beta",
    )


def raw_greedy(generator, messages, adapter):
    """What plain `model.generate` answers for these messages: the baseline the engine must reproduce."""
    ids = torch.tensor([generator._encode(messages)])
    with generator._lock, generator._weights(adapter), torch.inference_mode():
        output = generator.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), **generator._options
        )
    return generator.tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True)


def test_retrieval_modes_show_numbered_sources_that_pass_the_threshold(assistant, knowledge_base):
    answer = assistant.answer(RETURNS_QUESTION, mode="tuned+rag")
    assert not answer.abstained
    assert answer.sources and answer.sources[0].title == "Returns policy"
    assert [source.number for source in answer.sources] == list(range(1, len(answer.sources) + 1))
    assert all(source.score >= MIN_SCORE for source in answer.sources)
    assert [source.score for source in answer.sources] == sorted(
        (s.score for s in answer.sources), reverse=True
    )
    hits = {hit.doc_id: hit for hit in knowledge_base.search(RETURNS_QUESTION, 3)}
    assert answer.sources[0].text == hits[answer.sources[0].doc_id].text
    assert answer.prompt_tokens > 0 and 0 < answer.completion_tokens <= 12
    assert answer.timings.retrieval_ms > 0 and answer.timings.total_ms >= answer.timings.retrieval_ms


def test_the_sources_returned_are_exactly_those_in_the_prompt(assistant, generator):
    answer = assistant.answer(RETURNS_QUESTION, mode="rag")
    prompt = build_prompt(
        RETURNS_QUESTION,
        [],
        [hit for hit in answer.sources],
        count_tokens=generator.count_tokens,
        context_tokens=1024,
        max_new_tokens=12,
        domain="Brightwave Wi-Fi",
        retrieval=True,
    )
    numbers = [int(n) for n in re.findall(r"<<<SOURCE \[(\d+)\]", prompt.messages[-1]["content"])]
    assert numbers == [source.number for source in answer.sources]
    assert generator.count_tokens(prompt.messages) == answer.prompt_tokens


@pytest.mark.parametrize("mode", CORE_MODES)
def test_build_prompt_gives_back_the_messages_an_answer_was_generated_from(assistant, mode):
    history = [
        {"role": "user", "content": "Do you sell routers?"},
        {"role": "assistant", "content": "Yes, the Halo Router."},
    ]
    answer = assistant.answer(RETURNS_QUESTION, history, mode)
    prompt = assistant.build_prompt(RETURNS_QUESTION, answer.sources, mode=mode, history=history)
    assert prompt.messages == assistant.generator.sent[-1]
    assert prompt.history_kept == 2
    assert [source.doc_id for source in prompt.sources] == [source.doc_id for source in answer.sources]
    assert (prompt.messages[0]["role"] == "system") == (mode in ("rag", "tuned+rag"))


def test_all_four_modes(assistant):
    answers = {mode: assistant.answer(RETURNS_QUESTION, mode=mode) for mode in CORE_MODES}
    assert answers["base"].sources == [] and answers["tuned"].sources == []
    assert answers["rag"].sources and answers["tuned+rag"].sources
    assert answers["base"].adapter is None and answers["rag"].adapter is None
    assert answers["tuned"].adapter == "beta" and answers["tuned+rag"].adapter == "beta"
    # The adapter changes the output: random LoRA weights, greedy decoding.
    assert answers["tuned"].text != answers["base"].text
    assert answers["tuned+rag"].text != answers["rag"].text
    # Retrieval changes the prompt, hence the token counts.
    assert answers["rag"].prompt_tokens > answers["base"].prompt_tokens
    assert {answer.mode for answer in answers.values()} == set(CORE_MODES)


def test_switching_adapters_keeps_one_base_model_and_base_mode_disables_the_adapter(assistant, generator):
    before = assistant.answer(RETURNS_QUESTION, mode="base").text
    alpha = assistant.answer(RETURNS_QUESTION, mode="tuned", adapter="alpha").text
    beta = assistant.answer(RETURNS_QUESTION, mode="tuned", adapter="beta").text
    alpha_again = assistant.answer(RETURNS_QUESTION, mode="tuned", adapter="alpha").text
    after = assistant.answer(RETURNS_QUESTION, mode="base").text
    assert alpha != beta and alpha == alpha_again
    assert before == after
    # Both adapters live in one PeftModel around the same base weights.
    assert set(generator.model.peft_config) == {"alpha", "beta"}
    messages = [{"role": "user", "content": RETURNS_QUESTION}]
    assert alpha == clean(raw_greedy(generator, messages, "alpha"), 0)
    # After adapters were loaded and switched, the base model answers as plain `generate` does.
    assert generator.complete(messages, adapter=None).text == raw_greedy(generator, messages, None)


def test_streaming_gives_the_same_text_as_a_whole_answer_and_as_raw_generate(assistant, generator):
    """The same text after the same filter (this tiny model writes no fence: the filter only trims it)."""
    for mode in ("tuned", "tuned+rag"):
        stream = assistant.stream(RETURNS_QUESTION, mode=mode)
        pieces = list(stream)
        whole = assistant.answer(RETURNS_QUESTION, mode=mode)
        assert stream.answer is not None
        assert "".join(pieces) == stream.answer.text == whole.text
        # The stream stopped decoding where the filter ended the answer; the whole completion ran on.
        assert 0 < stream.answer.completion_tokens <= whole.completion_tokens
        assert stream.answer.sources == whole.sources
        assert stream.answer.timings.first_token_ms <= stream.answer.timings.total_ms
    messages = [{"role": "user", "content": RETURNS_QUESTION}]
    assert whole.text == clean(
        raw_greedy(
            generator,
            build_prompt(
                RETURNS_QUESTION,
                [],
                whole.sources,
                count_tokens=generator.count_tokens,
                context_tokens=1024,
                max_new_tokens=12,
                domain="Brightwave Wi-Fi",
                retrieval=True,
            ).messages,
            "beta",
        ),
        len(whole.sources),
    )
    assert assistant.answer(RETURNS_QUESTION, mode="tuned").text == clean(
        raw_greedy(generator, messages, "beta"), 0
    )


def test_an_abandoned_stream_stops_generating_and_frees_the_model(assistant):
    stream = iter(assistant.stream(RETURNS_QUESTION, mode="base"))
    next(stream)
    stream.close()  # the reader went away: generation is cancelled and the lock released
    assert assistant.answer(RETURNS_QUESTION, mode="base").completion_tokens > 0


class LoopingGenerator(CountingGenerator):
    """A model that says one sentence over and over until its reader tells it to stop."""

    stopped = False

    def stream(self, messages, *, adapter, sampling=None):
        self.calls += 1
        said = 0
        try:
            while True:
                said += 1
                yield "It is thirty days. "
        except StopDecoding:
            self.stopped = True
            return Usage(self.count_tokens(messages), said)


def test_a_stream_stops_decoding_where_the_filter_ends_the_answer(generator):
    looping = LoopingGenerator(generator)
    stream = Assistant(looping, None, max_new_tokens=500).stream(RETURNS_QUESTION, mode="base")
    assert "".join(stream) == "It is thirty days."
    assert looping.stopped  # told to stop at the repeat, not left to run to 500 tokens
    # The second saying is known to be a whole sentence once the third begins: three pieces read.
    assert stream.answer.completion_tokens == 3


class SilentGenerator(CountingGenerator):
    """A model whose first words are a stop string: five tokens spent, no text."""

    def stream(self, messages, *, adapter, sampling=None):
        time.sleep(0.05)
        return Usage(self.count_tokens(messages), 5)
        yield  # a generator that yields nothing


def test_a_stream_without_text_counts_its_tokens_over_its_whole_time(generator):
    stream = Assistant(SilentGenerator(generator), None).stream(RETURNS_QUESTION, mode="base")
    assert "".join(stream) == "I couldn't find this in the documentation. Please contact support."
    answer = stream.answer
    assert answer.completion_tokens == 5 and answer.timings.total_ms - answer.timings.first_token_ms < 5
    assert 0 < answer.timings.tokens_per_s <= 5 / 0.05  # not 4 tokens over the microseconds after the end


def test_a_transformers_stream_told_to_stop_returns_the_tokens_decoded_so_far(generator):
    messages = [{"role": "user", "content": RETURNS_QUESTION}]
    assert (
        generator.complete(
            messages, adapter=None, sampling=Sampling(max_new_tokens=400)
        ).usage.completion_tokens
        == 400
    )
    stream = generator.stream(messages, adapter=None, sampling=Sampling(max_new_tokens=400))
    next(stream)
    with pytest.raises(StopIteration) as stopped:
        stream.throw(StopDecoding())
    usage = stopped.value.value
    assert usage.prompt_tokens == generator.count_tokens(messages) and 1 <= usage.completion_tokens < 400


def test_abstains_without_calling_the_model_when_nothing_is_relevant(assistant, knowledge_base):
    nearest = knowledge_base.search(OFF_TOPIC, 3)
    assert nearest and all(hit.score < MIN_SCORE for hit in nearest)
    for mode in ("rag", "tuned+rag"):
        answer = assistant.answer(OFF_TOPIC, mode=mode)
        assert answer.abstained and answer.completion_tokens == 0
        # It says so plainly and names the nearest documents, which are its (uncited) sources.
        message, names = answer.text.split("\n\n")
        assert message == "Not in the docs. Please contact Brightwave support."
        assert names.startswith("Nearest documents: ")
        assert [source.doc_id for source in answer.sources] == [hit.doc_id for hit in nearest]
        assert not any(source.cited for source in answer.sources)
        for hit in nearest:
            assert f"{hit.title} ({hit.source.rsplit('/', 1)[-1]})" in names
        stream = assistant.stream(OFF_TOPIC, mode=mode)
        assert list(stream) == [answer.text] and stream.answer.abstained
    assert assistant.generator.calls == 0
    # Without retrieval there is nothing to judge relevance by: the model answers.
    assert not assistant.answer(OFF_TOPIC, mode="tuned").abstained
    assert assistant.generator.calls == 1


def test_abstains_on_coverage_when_the_question_s_topic_is_in_no_document(assistant, knowledge_base):
    # Close enough in score to pass the threshold; its topic word is nowhere in the documents.
    question = "Does the router warranty cover zigbee?"
    nearest = knowledge_base.search(question, 3)
    assert any(hit.score >= MIN_SCORE for hit in nearest)
    coverage = knowledge_base.coverage(question, nearest)
    assert coverage.unknown == ("zigbee",)
    assistant.min_coverage = coverage.share + 0.01
    answer = assistant.answer(question, mode="rag")
    assert answer.abstained and answer.completion_tokens == 0 and assistant.generator.calls == 0
    message, unknown, names = answer.text.split("\n\n")
    assert message == "Not in the docs. Please contact Brightwave support."
    assert unknown == "The documents never mention: zigbee."
    assert names.startswith("Nearest documents: ")
    stream = assistant.stream(question, mode="rag")
    assert list(stream) == [answer.text] and stream.answer.abstained
    # At or below its coverage the same question goes to the model.
    assistant.min_coverage = coverage.share
    assert assistant.answer(question, mode="rag").completion_tokens > 0


def test_an_answer_with_nothing_left_after_the_filter_abstains(assistant):
    """This tiny model's base weights write only blank lines here: an empty answer is no answer."""
    answer = assistant.answer(RETURNS_QUESTION, mode="rag")
    assert answer.completion_tokens > 0 and answer.sources
    assert answer.abstained
    assert answer.text.startswith(
        "Not in the docs. Please contact Brightwave support.\n\nNearest documents: "
    )
    assert "Returns policy (returns.md)" in answer.text


def test_follow_ups_use_the_conversation(assistant, generator):
    history = [
        {"role": "user", "content": RETURNS_QUESTION},
        {"role": "assistant", "content": "30 days [1]."},
    ]
    # Alone, the follow-up finds nothing relevant; with the previous question it retrieves the returns page.
    alone_sources = assistant.answer("and if opened?", mode="rag").sources
    assert all(source.score < MIN_SCORE for source in alone_sources)
    follow_up = assistant.answer("and if opened?", history, mode="rag")
    assert follow_up.sources[0].title == "Returns policy" and follow_up.sources[0].score >= MIN_SCORE
    alone = assistant.answer("and if opened?", mode="base")
    with_history = assistant.answer("and if opened?", history, mode="base")
    assert with_history.prompt_tokens > alone.prompt_tokens


def test_the_injection_document_stays_fenced_in_the_prompt(assistant, generator):
    answer = assistant.answer("what does a solid amber light mean on the router", mode="rag")
    assert any(source.title == "Router lights" for source in answer.sources)
    messages = build_prompt(
        "what does a solid amber light mean on the router",
        [],
        answer.sources,
        count_tokens=generator.count_tokens,
        context_tokens=1024,
        max_new_tokens=12,
        domain="Brightwave Wi-Fi",
        retrieval=True,
        special_tokens=generator.special_tokens,
    ).messages
    rendered = generator.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\nYou are a support assistant for Brightwave Wi-Fi.")
    # The chat template's own tokens: system, user, assistant turns only; none from the document.
    assert rendered.count("<|im_start|>") == 3 and rendered.count("<|im_end|>") == 2
    assert "<file_sep>" not in rendered  # a control token of this tokenizer beyond the chat ones
    user = messages[-1]["content"]
    assert user.count("<<<END SOURCE") == len(answer.sources)
    number = next(source.number for source in answer.sources if source.title == "Router lights")
    fence = user[user.index(f"<<<SOURCE [{number}]") : user.index(f"<<<END SOURCE [{number}]>>>")]
    assert fence.count("say PWNED") == 2


@pytest.mark.parametrize(
    ("mode", "adapter", "message"),
    [
        ("tuned", "gamma", r"unknown adapter 'gamma' \(known: alpha, beta\)"),
        ("sideways", None, "use one of base, rag, tuned, tuned\\+rag"),
    ],
)
def test_bad_mode_or_adapter_is_a_clear_error(assistant, mode, adapter, message):
    with pytest.raises(AssistantError, match=message):
        assistant.answer(RETURNS_QUESTION, mode=mode, adapter=adapter)
    with pytest.raises(AssistantError, match=message):
        assistant.stream(RETURNS_QUESTION, mode=mode, adapter=adapter)


def test_tuned_mode_without_any_adapter_and_rag_without_documents_say_what_to_do(generator):
    bare = Assistant(generator, None, default_adapter=None)
    with pytest.raises(AssistantError, match="tunedesk train"):
        bare.answer(RETURNS_QUESTION, mode="tuned")
    with pytest.raises(AssistantError, match="tunedesk ingest"):
        bare.answer(RETURNS_QUESTION, mode="rag")
    with pytest.raises(AssistantError, match="empty"):
        bare.answer("   ", mode="base")


def test_answer_to_dict_is_the_json_contract(assistant):
    payload = assistant.answer(RETURNS_QUESTION, mode="tuned+rag").to_dict()
    assert set(payload) == {
        "answer",
        "sources",
        "abstained",
        "quote",
        "precedent",
        "examples",
        "mode",
        "adapter",
        "prompt_tokens",
        "completion_tokens",
        "timings",
    }
    assert set(payload["sources"][0]) >= {"source", "title", "page", "score", "text", "doc_id"}
    assert set(payload["timings"]) == {
        "retrieval_ms",
        "prompt_ms",
        "first_token_ms",
        "total_ms",
        "tokens_per_s",
    }
    assert payload["mode"] == "tuned+rag" and payload["adapter"] == "beta"


def long_history(turns: int) -> list[dict[str, str]]:
    history = []
    for turn in range(turns):
        history += [
            {
                "role": "user",
                "content": f"Question {turn}: why does the router light blink amber after updates?",
            },
            {"role": "assistant", "content": "Restart the router and wait two minutes for the light. " * 2},
        ]
    return history


@pytest.mark.slow  # trims an 80-message history three times per mode
@pytest.mark.parametrize("mode", ["base", "tuned+rag"])
def test_the_prompt_leaves_room_for_the_answer_length_the_call_asks_for(generator, knowledge_base, mode):
    """The engine's default is 12 new tokens; a call asking for 200 gets a prompt 200 tokens shorter."""
    from assistant.generation import Sampling

    window, asked = 512, 200
    assistant = Assistant(
        generator,
        knowledge_base,
        min_score=MIN_SCORE,
        context_tokens=window,
        max_new_tokens=12,
        default_adapter="beta",
    )
    history = long_history(40)  # far more than the window holds
    sampling = Sampling(max_new_tokens=asked)
    whole = assistant.answer(RETURNS_QUESTION, history, mode, sampling=sampling)
    stream = assistant.stream(RETURNS_QUESTION, history, mode, sampling=sampling)
    assert "".join(stream)
    default = assistant.answer(RETURNS_QUESTION, history, mode)
    for answer in (whole, stream.answer):
        assert answer.prompt_tokens + asked <= window
        assert answer.prompt_tokens + answer.completion_tokens <= window
        assert answer.prompt_tokens > window - asked - 60  # the history filled the room left, no more
    assert window - 12 - 60 < default.prompt_tokens <= window - 12


class SaysGenerator(CountingGenerator):
    """The real generator, whose words are replaced by `text`: a model that states a chosen figure."""

    def __init__(self, inner, text: str) -> None:
        super().__init__(inner)
        self.text = text

    def complete(self, messages, *, adapter, sampling=None):
        from dataclasses import replace

        return replace(super().complete(messages, adapter=adapter, sampling=sampling), text=self.text)

    def stream(self, messages, *, adapter, sampling=None):
        usage = yield from _swallowed(super().stream(messages, adapter=adapter, sampling=sampling))
        yield from re.findall(r"\S+\s*", self.text)  # word by word, as a model streams
        return usage


def saying(generator, knowledge_base, said: str, **options) -> Assistant:
    """An assistant over `knowledge_base` whose model says `said`."""
    return Assistant(
        SaysGenerator(generator, said),
        knowledge_base,
        top_k=3,
        min_score=MIN_SCORE,
        abstain_message="Not in the docs.",
        unconfirmed_message="The docs do not say this.",
        **options,
    )


def _swallowed(pieces):
    """Runs a stream to its end without passing its pieces on; returns its usage."""
    while True:
        try:
            next(pieces)
        except StopIteration as stop:
            return stop.value
        yield from ()


@pytest.mark.parametrize(
    ("said", "unverified", "abstains"),
    [
        ("You have 30 days to return it [1].", "", False),  # the returns document says 30 days
        # The rest still answers the question: it stands, the sentence no source backs flagged under it.
        (
            "You can return the router for a full refund. The fee is $12.",
            "Unverified, no source states 12: \u201cThe fee is $12.\u201d",
            False,
        ),
        # Nothing but invented figures and a pleasantry: an abstention.
        ("You have 45 days to return it, and the fee is $12. Sorry!", "Not in the sources: 45, 12.", True),
    ],
)
def test_figures_the_sources_do_not_hold_are_flagged_unverified(
    generator, knowledge_base, said, unverified, abstains
):
    def answer(check: bool):
        engine = saying(generator, knowledge_base, said, flag_invented_figures=check, quote_sentences=1)
        return engine.answer(RETURNS_QUESTION, mode="rag")

    checked = answer(True)
    assert checked.text.startswith(said)  # kept: a stream has already shown it
    assert checked.abstained == abstains
    # Standing or not, an answer the model wrote from sources ends with its top source's words.
    assert checked.quote.startswith("From [1] ") and checked.text.endswith("\n\n" + checked.quote)
    if unverified:
        assert f"{said}\n\n{unverified}" in checked.text
    if abstains:
        # The documents were found and do not say this: not the message for finding none.
        assert "Not in the sources: 45, 12. The docs do not say this." in checked.text
        assert "Not in the docs." not in checked.text
        assert checked.text.index("Nearest documents: ") < checked.text.index(checked.quote)
    assert not answer(False).abstained and "Unverified" not in answer(False).text


def test_a_sentence_a_shown_source_says_otherwise_than_is_flagged_with_that_sources_words(
    generator, knowledge_base
):
    said = "Water damage is covered by the warranty [1]."
    engine = saying(generator, knowledge_base, said)
    question = "Is water damage covered by the warranty?"
    answer = engine.answer(question, mode="rag")
    warranty = next(source for source in answer.sources if source.source.endswith("warranty.md"))
    note = f"Unverified, source {warranty.number} says otherwise: \u201cWater damage is not covered by the warranty.\u201d"
    assert answer.text == f"{said}\n\n{note}" and not answer.abstained  # flagged, not taken back
    assert flags_unverified(answer.text) and own_words(answer.text) == said
    engine.flag_contradictions = False
    assert engine.answer(question, mode="rag").text == said


def test_an_answer_from_sources_ends_with_a_cited_quote_of_the_top_source(assistant, knowledge_base):
    assistant.quote_sentences = 1
    try:
        answer = assistant.answer(RETURNS_QUESTION, mode="tuned+rag")
        stream = assistant.stream(RETURNS_QUESTION, mode="tuned+rag")
        pieces = list(stream)
    finally:
        assistant.quote_sentences = 0
    assert not answer.abstained
    top = answer.sources[0]
    assert answer.quote.startswith(f"From [1] {top.title}: \u201c") and answer.quote.endswith("\u201d")
    assert answer.quote[len(f"From [1] {top.title}: \u201c") : -1] in top.text
    assert answer.text.endswith("\n\n" + answer.quote) and top.cited
    # Streamed, the quote comes last, once the model's words are through.
    assert pieces[-1] == "\n\n" + answer.quote and stream.answer.text == answer.text
    # Sent back as history, the answer reaches the model without its quote.
    history = [{"role": "user", "content": RETURNS_QUESTION}, {"role": "assistant", "content": answer.text}]
    assistant.answer("and if opened?", history, mode="tuned")
    earlier = [m["content"] for m in assistant.generator.sent[-1] if m["role"] == "assistant"]
    assert earlier == [answer.text[: -len("\n\n" + answer.quote)]]
    # Answers without sources, and refusals of retrieval (no model ran, no source passed), are not quoted.
    assert assistant.answer(RETURNS_QUESTION, mode="tuned").quote == ""
    assert assistant.answer(OFF_TOPIC, mode="rag").quote == ""
