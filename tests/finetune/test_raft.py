"""Retrieval-augmented fine-tuning examples over a small real index: oracle, P, positions, declines, prompt."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from finetune.conversation import Conversation, Message
from finetune.declines import mine_declines
from finetune.oracle import WordWeights, cite, find_oracle, support
from finetune.raft import build_raft_examples

# A domain of its own (a bicycle workshop), so nothing here leans on the sample data's wording.
DOCUMENTS = {
    "repairs.md": "# Repairs\n\nA puncture repair costs 12 euros and takes 45 minutes at the counter.\n",
    "rentals.md": "# Rentals\n\nCity bikes rent for 18 euros per day; a deposit of 150 euros is held.\n",
    "warranty.md": "# Frame warranty\n\nSteel frames carry a lifetime warranty against cracks in the tubing.\n",
    "hours.md": "# Opening hours\n\nThe workshop opens at 8 and closes at 19 from Monday to Friday.\n",
}
FACTS = [
    ("How much is fixing a flat tyre?", "A puncture repair costs 12 euros and takes 45 minutes."),
    ("What does renting a city bike cost?", "City bikes rent for 18 euros per day, with a 150 euro deposit."),
    (
        "Is my steel frame covered if it cracks?",
        "Yes, steel frames carry a lifetime warranty against cracks.",
    ),
    ("When are you open?", "The workshop opens at 8 and closes at 19, Monday to Friday."),
]
HAND_OFFS = [
    "I'll pass this on to our workshop specialist, who will get back to you.",
    "Let me check with a colleague and get back to you by e-mail.",
]
NAMES = ["Ana", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal"]


def workshop_conversations(count: int, seed: int = 0) -> list[Conversation]:
    """Chats of a greeting turn, a fact turn and, every third chat, a hand-off turn."""
    rng = random.Random(seed)
    conversations = []
    for index in range(count):
        question, reply = FACTS[index % len(FACTS)]
        messages = [
            Message("system", "You are the workshop's assistant."),
            Message("user", f"hi, {NAMES[index % len(NAMES)]} here"),
            Message("assistant", f"Hello {NAMES[index % len(NAMES)]}, how can I help?"),
            Message("user", question),
            Message("assistant", f"{reply} Anything else?"),
        ]
        if index % 3 == 0:
            messages += [
                Message("user", "Can you order a custom titanium frame for me?"),
                Message("assistant", f"Good question. {rng.choice(HAND_OFFS)} Ticket 4{index:03d} is open."),
            ]
        conversations.append(Conversation(tuple(messages), f"chats.jsonl:{index + 1}"))
    return conversations


class CountingEmbedder:
    """The hashing embedder, counting its encode calls."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.name, self.dimension = inner.name, inner.dimension
        self.max_tokens, self.tokenizer = inner.max_tokens, inner.tokenizer

    def encode(self, texts):
        self.calls += 1
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def workshop_embedder():
    from finetune.batched_search import RememberingEmbedder
    from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer

    return RememberingEmbedder(CountingEmbedder(HashingEmbedder(load_packaged_tokenizer(), dimension=256)))


@pytest.fixture(scope="module")
def workshop_index(tmp_path_factory, workshop_embedder):
    from ingest.knowledge_base import KnowledgeBase

    docs = tmp_path_factory.mktemp("workshop-docs")
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(text, encoding="utf-8")
    knowledge_base = KnowledgeBase(tmp_path_factory.mktemp("workshop-index"), workshop_embedder)
    assert not knowledge_base.ingest([docs]).failed
    yield knowledge_base
    knowledge_base.close()


@pytest.fixture(scope="module")
def workshop_search(workshop_index, workshop_embedder):
    from finetune.batched_search import BatchedSearch

    return BatchedSearch(workshop_index.search, workshop_embedder)


def test_batched_search_embeds_once_and_answers_as_search_does(
    workshop_index, workshop_search, workshop_embedder
):
    queries = ["bike rental price", "flat tyre", "bike rental price", "opening hours on Friday"]
    counter = workshop_embedder.inner
    before = counter.calls
    batched = workshop_search.search_many(queries, 2)
    assert counter.calls == before + 1  # one encode call for the three distinct queries
    assert batched == [workshop_index.search(query, 2) for query in queries]
    assert [hit.source.rsplit("/", 1)[-1] for hit in batched[0]][0] == "rentals.md"


@pytest.fixture(scope="module")
def answer_time_prompt(chat_tokenizer):
    from assistant.training_prompt import AnswerTimePrompt

    return AnswerTimePrompt(
        chat_tokenizer, context_tokens=2048, max_new_tokens=64, history_turns=2, domain="the workshop"
    )


def chunk_texts() -> list[str]:
    return [text.split("\n\n", 1)[1].strip() for text in DOCUMENTS.values()]


def test_oracle_is_the_chunk_stating_the_replys_facts():
    texts = chunk_texts()
    weights = WordWeights(texts)
    reply = "Hello! City bikes rent for 18 euros per day, with a 150 euro deposit. Anything else?"
    index, backing = find_oracle(reply, texts, weights, min_support=0.5)
    assert index == 1 and backing.sentence == 1 and backing.score > 0.6
    # Same words, another number: the chunk does not state this fact.
    assert support("City bikes rent for 25 euros per day.", texts[1], weights).score == 0.0
    assert find_oracle("Have a lovely weekend, see you soon!", texts, weights, min_support=0.5) is None


def test_citation_goes_after_the_supported_sentence():
    reply = "Hello! City bikes rent for 18 euros per day. Anything else?"
    assert cite(reply, 1, 3) == "Hello! City bikes rent for 18 euros per day [3]. Anything else?"
    assert cite("It opens at 8", 0, 1) == "It opens at 8 [1]"


def test_declines_are_the_transcripts_own_hand_off_sentences():
    conversations = workshop_conversations(12)
    weights = WordWeights(chunk_texts())

    def supported(text: str) -> bool:
        return any(support(text, chunk, weights).score >= 0.5 for chunk in chunk_texts())

    declines = mine_declines(conversations, supported)
    assert set(declines) == set(HAND_OFFS)
    # The sentence with the ticket number is a case detail, never a decline.
    assert not any(re.search(r"\d", decline) for decline in declines)
    # A hand-off sentence that a document supports is a fact, not a decline.
    assert mine_declines(conversations, lambda text: "specialist" in text) == [HAND_OFFS[1]]


def build(index, prompt, conversations, **options):
    values = {"k": 3, "oracle_probability": 0.8, "min_support": 0.5, "seed": 7} | options
    return build_raft_examples(conversations, index, prompt, **values)


@pytest.mark.slow  # 160 conversations through retrieval
def test_oracle_kept_with_probability_p_at_random_positions(workshop_search, answer_time_prompt):
    conversations = workshop_conversations(160)
    result = build(workshop_search, answer_time_prompt, conversations)
    counts = result.counts
    with_oracle = counts.oracle_kept + counts.oracle_withheld_supported + counts.declines
    assert with_oracle == 160  # every fact turn found its chunk; hand-off turns have none to find
    assert 0.7 <= counts.oracle_kept / with_oracle <= 0.9
    assert counts.no_supporting_chunk == 160 + 54  # greetings and the hand-off turns themselves
    cited = Counter(
        int(number)
        for conversation in result.conversations
        for number in re.findall(r"\[(\d)\]", conversation.messages[-1].content)
    )
    assert set(cited) == {1, 2, 3} and max(cited.values()) < 0.5 * sum(cited.values())
    # Seeded: the same seed gives the same examples, another seed other draws.
    assert build(workshop_search, answer_time_prompt, conversations).conversations == result.conversations
    assert (
        build(workshop_search, answer_time_prompt, conversations, seed=8).conversations
        != result.conversations
    )


def test_cited_source_is_the_oracle_and_withheld_means_a_decline(workshop_search, answer_time_prompt):
    conversations = workshop_conversations(24)
    result = build(workshop_search, answer_time_prompt, conversations, oracle_probability=0.5)
    agent_words = {m.content for c in conversations for m in c.messages if m.role == "assistant"}
    declines = cited = 0
    for example in result.conversations:
        target = example.messages[-1].content
        prompt = example.messages[-2].content
        number = re.search(r"\[(\d)\]", target)
        if number:
            cited += 1
            fact = re.search(r"(\d+) euros|at (\d+)|(lifetime)", target).group(0)
            source = prompt.split(f"<<<SOURCE [{number.group(1)}]", 1)[1].split("<<<END SOURCE", 1)[0]
            assert fact in source  # the number cited is the source holding the reply's fact
        elif target in HAND_OFFS:
            declines += 1
            assert any(target in words for words in agent_words)  # the team's own words
            assert "lifetime" not in prompt or "cracks" not in target
    assert cited and declines == result.counts.declines > 0


def test_a_decline_opens_with_the_abstain_message_the_engine_recognises(workshop_search, answer_time_prompt):
    from assistant.abstention import declines

    opening = "I couldn't find this in the documentation."
    conversations = workshop_conversations(24)
    result = build(
        workshop_search, answer_time_prompt, conversations, oracle_probability=0.5, decline_opening=opening
    )
    targets = [example.messages[-1].content for example in result.conversations]
    made = [target for target in targets if target.startswith(opening)]
    assert len(made) == result.counts.declines > 0
    for target in made:
        assert target.removeprefix(opening).strip() in HAND_OFFS  # followed by the team's own hand-off
        assert declines(target)  # at answer time the engine counts it as an abstention
    # The same turns, without the opening: only the hand-off sentence, which the engine cannot recognise.
    plain = build(workshop_search, answer_time_prompt, conversations, oracle_probability=0.5)
    assert plain.counts.declines == result.counts.declines
    assert not any(
        declines(example.messages[-1].content)
        for example in plain.conversations
        if example.messages[-1].content in HAND_OFFS
    )


def test_keep_unsupported_leaves_out_that_share_of_replies_no_chunk_supports(
    workshop_search, answer_time_prompt
):
    conversations = workshop_conversations(40)
    everything = build(workshop_search, answer_time_prompt, conversations).counts
    quarter = build(workshop_search, answer_time_prompt, conversations, keep_unsupported=0.25).counts
    assert quarter.no_supporting_chunk + quarter.dropped_unsupported == everything.no_supporting_chunk
    assert 0.1 <= quarter.no_supporting_chunk / everything.no_supporting_chunk <= 0.4
    grounded = everything.oracle_kept + everything.oracle_withheld_supported + everything.declines
    assert quarter.oracle_kept + quarter.oracle_withheld_supported + quarter.declines == grounded
    assert (
        build(
            workshop_search, answer_time_prompt, conversations, keep_unsupported=0.0
        ).counts.no_supporting_chunk
        == 0
    )


def test_training_prompt_is_the_engines_tuned_rag_prompt(
    workshop_index, answer_time_prompt, chat_tokenizer, tiny_model_dir, tmp_path
):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from assistant.engine import Assistant
    from assistant.generation import TransformersGenerator

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj"])).save_pretrained(tmp_path / "lora")
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    generator = Recording(
        TransformersGenerator(base, chat_tokenizer, adapters={"lora": tmp_path / "lora"}, max_new_tokens=4)
    )
    assistant = Assistant(
        generator, workshop_index, top_k=3, min_score=-1.0, max_new_tokens=64, domain="the workshop"
    )
    history = [
        {"role": "user", "content": "hi, I rent bikes <|im_end|> often"},
        {"role": "assistant", "content": "Hello, how can I help?"},
    ]
    question = "What does renting a city bike cost?"
    assistant.answer(question, history, mode="tuned+rag", adapter="lora")

    hits = workshop_index.search(answer_time_prompt.query(question, history), 3)
    messages, fitted = answer_time_prompt.messages(question, history, hits)
    assert generator.sent == [messages] and fitted == 3
    assert answer_time_prompt.special_tokens == generator.inner.special_tokens


class Recording:
    """The real generator, keeping the messages each call sent."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.sent: list[list[dict]] = []

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def complete(self, messages, **options):
        self.sent.append(list(messages))
        return self.inner.complete(messages, **options)


@pytest.mark.slow  # trains through the CLI
def test_cli_train_records_its_context_in_the_adapter(tmp_path, tiny_model_dir, monkeypatch):
    import json

    from typer.testing import CliRunner

    from assistant.cli.app import app

    monkeypatch.setenv("TUNEDESK_TRAINING__BATCH_SIZE", "2")
    runner = CliRunner()
    home, docs = tmp_path / "home", tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(text, encoding="utf-8")
    chats = tmp_path / "chats.jsonl"
    chats.write_text(
        "".join(json.dumps(c.to_openai()) + "\n" for c in workshop_conversations(30)), encoding="utf-8"
    )

    def invoke(*args: str):
        return runner.invoke(app, ["--home", str(home), "--device", "cpu", *args])

    def train(name: str, *args: str):
        options = ["--base", str(tiny_model_dir), "--max-steps", "2"]
        return invoke("train", str(chats), "--name", name, *options, *args)

    empty = train("early", "--context", "rag")
    assert empty.exit_code == 2 and "--context rag: the knowledge base is empty" in empty.output
    before = train("before")  # no knowledge base: plain fine-tuning, as before RAFT existed
    assert before.exit_code == 0 and "context none: trained on the plain transcripts" in before.output
    assert invoke("ingest", str(docs)).exit_code == 0
    bad = train("bad", "--context", "docs")
    assert bad.exit_code == 2 and "--context 'docs': use rag or none" in bad.output

    result = train("raft")  # a knowledge base exists: rag is the default
    assert result.exit_code == 0, result.output
    assert "context rag (P=0.8, k=4, index generation 1, all-MiniLM-L6-v2)" in result.output
    config = json.loads((home / "adapters" / "raft" / "training_config.json").read_text())
    context = config["context"]
    assert context["mode"] == "rag" and context["oracle_probability"] == 0.8 and context["k"] == 4
    assert context["index_generation"] == 1 and context["embedding_model"] == "all-MiniLM-L6-v2"
    counts = context["counts"]
    assert counts["samples"] == config["train_conversations"] == counts["examples"]
    assert counts["oracle_kept"] > 0 and counts["decline_sentences"] > 0
    metrics = json.loads((home / "adapters" / "raft" / "metrics.json").read_text())
    assert metrics["context"]["counts"] == counts

    plain = train("plain", "--context", "none")
    assert plain.exit_code == 0 and "context none: trained on the plain transcripts" in plain.output
    plain_config = json.loads((home / "adapters" / "plain" / "training_config.json").read_text())
    before_config = json.loads((home / "adapters" / "before" / "training_config.json").read_text())
    assert plain_config == before_config and plain_config["context"] == {"mode": "none"}
    # One sample per agent turn under RAFT, one per conversation without it.
    assert counts["examples"] >= 2 * plain_config["train_conversations"]
