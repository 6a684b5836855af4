"""The one typed settings object of Tunedesk: defaults < TOML file < environment < CLI flags.

Environment variables are prefixed `TUNEDESK_`, nested sections use `__`
(`TUNEDESK_CHUNKING__CHUNK_TOKENS=180`). A TOML file is read from `--config FILE`, `TUNEDESK_CONFIG`,
or `./tunedesk.toml` when present. Unknown keys fail with an error naming the key, an unknown `TUNEDESK_`
variable included; so do a file that is not UTF-8 TOML, a variable that is not the JSON its field needs,
and infinite or NaN numbers.

Only builder functions read these settings; the library classes take flat, typed parameters.
This module does not know how any setting is used.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from core.home import HomeLayout

DEFAULT_CONFIG_FILE = Path("tunedesk.toml")
ENV_PREFIX = "TUNEDESK_"
ENV_DELIMITER = "__"
# `TUNEDESK_` variables that are not settings fields; every other one must name a field.
ENV_NOT_SETTINGS = frozenset({"TUNEDESK_CONFIG"})
# Field types read from the environment as JSON (pydantic-settings decodes these; others are plain strings).
_JSON_TYPES = (tuple, list, dict, set, frozenset)


class Section(BaseModel):
    # inf and nan pass `gt=0`, and an infinite timeout or size limit is a setting nobody meant.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class EmbeddingSettings(Section):
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="sentence-transformers model: the packaged all-MiniLM-L6-v2 (offline), a local path, or a hub name.",
    )
    batch_size: int = Field(64, gt=0, description="Chunks encoded per forward pass.")


class ChunkingSettings(Section):
    chunk_tokens: int = Field(
        200, gt=16, description="Largest chunk, in embedding-model tokens (capped by the model)."
    )
    overlap_tokens: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks of one section.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"chunking.overlap_tokens ({self.overlap_tokens}) must be smaller than "
                f"chunking.chunk_tokens ({self.chunk_tokens})"
            )
        return self


class IngestSettings(Section):
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused, in MiB.")
    parse_timeout_s: float = Field(
        30.0, gt=0, description="A parser running longer than this on one file is stopped."
    )
    lock_timeout_s: float = Field(
        60.0,
        ge=0,
        description="How long a second writer waits for the index lock before failing, in seconds.",
    )
    commit_every: int = Field(
        200,
        gt=0,
        description="Files stored per commit while ingesting: a crash loses at most this many; each commit rewrites the index file.",
    )


class RetrievalSettings(Section):
    mode: Literal["hybrid", "dense", "keyword"] = Field(
        "hybrid",
        description="hybrid fuses the embedding and the FTS5 keyword channels; dense or keyword uses one.",
    )
    candidates: int = Field(50, gt=0, description="Chunks each channel contributes to the fusion.")
    duplicate_similarity: float = Field(
        0.95,
        gt=0,
        le=1.0,
        description="Cosine similarity at which a lower-ranked chunk is dropped as a repeat of a kept one.",
    )
    max_chunks_per_document: int = Field(
        1,
        ge=0,
        description="Most chunks of one document in a result list, so the next documents get a place; 0 = no limit.",
    )
    calibration_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Share of the questions `tunedesk calibrate-search` fits the fusion weights on; "
        "the rest are reported.",
    )
    calibration_seed: int = Field(13, description="Seed of the calibration/report split of the questions.")
    ranking_index: Path | None = Field(
        None,
        description="An index folder holding the same documents, built with an embedding model tuned on the "
        "team's data (`tunedesk tune-embedder`, then `ingest` and `calibrate-search` in another --home: give "
        "that home's `index` folder). It orders the chunks answers show; this home's own index still decides "
        "whether any is relevant (abstention and `calibrate` read it), since a model tuned to draw support "
        "questions close to chunks draws unanswerable ones close too. Used only while both hold the same "
        "documents.",
    )


class EmbedderTuningSettings(Section):
    min_support: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Share of an agent reply's content words a chunk must hold to become that turn's positive.",
    )
    epochs: float = Field(
        3.0,
        gt=0,
        description="Passes over the mined training pairs (one pass moves the held-out pairs' hit@k little; "
        "docs/benchmarks.md).",
    )
    learning_rate: float = Field(2e-5, gt=0)
    batch_size: int = Field(
        32, gt=1, description="Pairs per step; the other pairs of a batch are the negatives."
    )


class ModelSettings(Section):
    base: str = Field(
        "SmolLM2-135M-Instruct",
        description="Base LLM: the packaged SmolLM2-135M-Instruct (offline), a local folder, or a hub id.",
    )


class DataSettings(Section):
    validation_fraction: float = Field(
        0.1, ge=0, lt=1, description="Share of conversations held out for validation."
    )
    seed: int = Field(42, description="Seed of the train/validation split.")
    max_tokens: int = Field(1024, gt=32, description="Longest training sample in base-model tokens.")
    over_long: Literal["truncate", "drop"] = Field(
        "truncate", description="What to do with a conversation longer than max_tokens."
    )
    near_duplicate_threshold: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Word-shingle Jaccard similarity at or above which conversations are duplicates.",
    )
    scrub_pii: bool = Field(
        True, description="Replace e-mails, phones, cards, IBANs, IPs, addresses, secrets."
    )
    pii_keep: tuple[str, ...] = Field(
        (),
        description="The company's own names and contacts, never scrubbed: exact strings (support e-mail, "
        "phone number) and words never read as part of a person's name (brand, products, team names).",
    )
    pii_ner_model: str | None = Field(
        None,
        description="Installed spaCy pipeline (e.g. en_core_web_sm) that finds people's names anywhere, in "
        "addition to the introduction/greeting/sign-off rules; scrubbing is about 60x slower. None = the rules only.",
    )
    eval_questions: Path | None = Field(
        Path("data/eval/questions.jsonl"),
        description='Held-out evaluation questions (JSONL with a "question" per line); training drops '
        "conversations whose customer turn resembles one. Skipped when the file does not exist; None = off.",
    )
    eval_leak_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Word-shingle Jaccard similarity of a customer turn to an evaluation question counted as a "
        "leak; 0.5 still catches a 12-word question with one word changed.",
    )
    mix_in: str | None = Field(
        None,
        description="General text mixed into training against forgetting: a UTF-8 text file (paragraphs "
        'separated by blank lines) or "general" for the packaged one; None = off.',
    )


class TrainingSettings(Section):
    method: Literal["lora", "full", "qlora", "dora", "ia3", "prefix", "prompt"] = Field(
        "lora",
        description="qlora needs CUDA and bitsandbytes; dora is lora with use_dora; ia3, prefix and prompt "
        "(prefix/prompt tuning) are the other peft families.",
    )
    epochs: float = Field(3.0, gt=0)
    max_steps: int = Field(-1, description="Stop after this many optimiser steps; -1 = run all epochs.")
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(8, gt=0, description="Sequences per device per step.")
    gradient_accumulation: int = Field(1, gt=0)
    pack_tokens: int = Field(
        1024,
        gt=0,
        description="Most tokens packed into one forward pass; longer samples (retrieval-augmented ones) "
        "train in smaller micro-batches with gradient accumulation, same effective batch.",
    )
    lora_rank: int = Field(16, gt=0)
    lora_alpha: int = Field(32, gt=0)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: tuple[str, ...] = Field(
        ("q_proj", "k_proj", "v_proj", "o_proj"), description="Module names LoRA wraps, or ('all-linear',)."
    )
    save_steps: int = Field(50, gt=0, description="Checkpoint interval in optimiser steps.")
    eval_steps: int = Field(50, gt=0, description="Validation interval in optimiser steps.")
    early_stopping_patience: int = Field(
        3, ge=0, description="Evaluations without improvement before stopping; 0 = off."
    )
    seed: int = Field(42)
    check_memorisation: bool = Field(
        True,
        description="After `tunedesk train`, sample the adapter and look for secrets of the raw transcripts "
        "(personal data, identifiers unique to one conversation) in its output.",
    )
    memorisation_samples: int = Field(
        8, gt=0, description="Prompts the check after training samples (canary contexts and first turns)."
    )
    memorisation_tokens: int = Field(
        48, gt=0, description="Longest reply sampled per prompt, in model tokens."
    )
    promote_metric: Literal["keyword_accuracy", "token_f1", "perplexity"] | None = Field(
        None,
        description="Metric on data.eval_questions a new adapter must not lose on to the active one to replace "
        "it; None = every new adapter becomes the active one.",
    )
    promote_margin: float = Field(
        0.0,
        ge=0,
        description="How much worse a new adapter may score and still be promoted: absolute for keyword_accuracy "
        "and token_f1 (0.02 = two points), relative for perplexity (0.02 = 2% higher).",
    )
    promote_questions: int = Field(
        6, gt=0, description="Evaluation questions the promotion compares on (stratified by kind)."
    )
    promote_max_new_tokens: int = Field(
        64, gt=0, description="Longest answer per question while comparing, in model tokens."
    )
    use_dora: bool = Field(
        False, description="LoRA with weight decomposition (DoRA); goes with method lora or qlora."
    )
    num_virtual_tokens: int = Field(
        20, gt=0, description="Learned virtual tokens of methods prefix and prompt (prefix/prompt tuning)."
    )
    max_forgetting: float = Field(
        0.1,
        ge=0,
        description="Relative rise of general-text perplexity (after / before - 1) over which a run is "
        "marked as forgetting.",
    )

    @model_validator(mode="after")
    def _dora_on_lora(self) -> TrainingSettings:
        if self.use_dora and self.method not in ("lora", "qlora", "dora"):
            raise ValueError(f"training.use_dora goes with method lora or qlora, not {self.method}")
        return self


class RaftSettings(Section):
    """Retrieval-augmented fine-tuning: how `tunedesk train --context rag` builds its examples."""

    oracle_probability: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Share of examples that show the chunk supporting the reply; the rest teach declining.",
    )
    k: int = Field(4, gt=0, description="Sources shown per training example (the oracle included).")
    min_support: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a reply sentence's fact weight (numbers, rare words) a chunk must contain "
        "to count as supporting it.",
    )
    keep_unsupported: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of agent replies that no chunk supports kept as training examples (uncited).",
    )
    seed: int = Field(42, description="Seed of the oracle draws, positions and decline choices.")


class GenerationSettings(Section):
    backend: Literal["auto", "llama_cpp", "transformers", "http"] = Field(
        "auto",
        description="auto = llama.cpp on the CPU when the base model is a GGUF file (the packaged one is), "
        "else transformers; http = an OpenAI-compatible server (vLLM, llama.cpp) at assistant.http_base_url.",
    )
    threads: int = Field(0, ge=0, description="CPU threads llama.cpp decodes with; 0 = every core.")
    slots: int = Field(
        4,
        gt=0,
        description="Requests llama.cpp decodes at once (the four compare columns, parallel API calls).",
    )
    max_new_tokens: int = Field(256, gt=0, description="Longest answer, in model tokens.")
    temperature: float = Field(
        0.0, ge=0, description="0 = greedy decoding: the same question gives the same answer."
    )
    top_p: float = Field(
        1.0, gt=0, le=1, description="Nucleus sampling mass; used only when temperature > 0."
    )
    repetition_penalty: float = Field(
        1.0,
        ge=1,
        description="Above 1 discourages repeating any token already seen, the sources' facts included; 1 = off.",
    )


class AssistantSettings(Section):
    top_k: int = Field(
        4, gt=0, description="Chunks retrieved per question; only those above min_score are shown."
    )
    min_score: float = Field(
        0.43,
        ge=-1,
        le=1,
        description="Retrieval score a chunk needs to count as relevant; below it for all, abstain. "
        "`tunedesk calibrate` writes a calibrated one into the home, which is used instead.",
    )
    min_coverage: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the question's content words (weighted by rarity) the retrieved chunks must "
        "hold; below it, abstain. 0 = off. `tunedesk calibrate` picks it together with min_score.",
    )
    context_tokens: int = Field(
        2048, gt=128, description="Prompt plus answer budget; older turns are dropped to fit."
    )
    history_turns: int = Field(
        2, ge=0, description="Earlier user turns added to a follow-up's retrieval query."
    )
    domain: str = Field(
        "our products", description="What the assistant supports, named in its system prompt."
    )
    abstain_message: str = Field(
        "I couldn't find this in the documentation. Please contact support.",
        description="The fixed answer when no document is relevant; the model is not called.",
    )
    unconfirmed_message: str = Field(
        "The documents do not confirm this answer. Please contact support.",
        description="Said under an answer taken back because it states figures the sources it was written "
        "from do not hold (flag_invented_figures): the documents were found, they do not say this.",
    )
    flag_invented_figures: bool = Field(
        True,
        description="In an answer written from sources, the sentences stating a number none of them holds "
        "(or holds only in another unit: '2 hours' where they say '2 days') are flagged unverified under it; "
        "when the rest says nothing about the question, it is an abstention.",
    )
    flag_contradictions: bool = Field(
        True,
        description="In an answer written from sources, a sentence stating words a shown source sentence on "
        "the same thing negates ('not the order date') is flagged unverified under it, with that sentence.",
    )
    quote_sentences: int = Field(
        2,
        ge=0,
        le=5,
        description="Under an answer written from sources, quote this many sentences of the top source (the "
        "ones most similar to the question), cited, so the reader can check the answer. 0 = off.",
    )
    show_precedent: bool = Field(
        True,
        description="Under an answer of a mode taught by the transcripts, show how the team answered a similar "
        "question before (see precedent_min_similarity).",
    )
    precedent_min_similarity: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Under an answer of a mode taught by the transcripts (tuned, tuned+rag, fewshot, "
        "fewshot+rag), show the past exchange most similar to the question (its customer turn or the whole exchange) when that "
        "cosine similarity reaches this; needs the example store (`tunedesk fewshot-index`).",
    )
    adapter: str | None = Field(
        None,
        description="Adapter for tuned modes; default: the one chosen in the app, else the most recently trained.",
    )
    database: Path | None = Field(
        None, description="SQLite file for conversations and feedback; default: the one in the home folder."
    )
    http_base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible server, up to /v1.")
    http_api_key: str = Field("", description="Bearer token for the server; empty sends none.")
    http_model: str = Field(
        "", description="Served name of the base model; tuned modes ask for the adapter's name."
    )
    http_timeout_s: float = Field(120.0, gt=0, description="Longest wait for one answer from the server.")
    fewshot_k: int = Field(
        3,
        ge=1,
        description="Example exchanges the fewshot modes show, most similar to the question first; fewer "
        "when they do not fit in context_tokens.",
    )
    fewshot_data: Path | None = Field(
        None,
        description="Transcripts the fewshot modes' examples come from when the home has none yet (built "
        "into <home>/fewshot on first use; `tunedesk fewshot-index` rebuilds them). None: only a store "
        "that `tunedesk fewshot-index DATA` built.",
    )


class UISettings(Section):
    admin_password: str = Field(
        "", description="Password for the app's Documents and Training pages; empty leaves them open."
    )


class APISettings(Section):
    host: str = Field(
        "127.0.0.1", description="Address `tunedesk serve` listens on; 0.0.0.0 for every interface."
    )
    port: int = Field(8000, gt=0, lt=65536, description="Port `tunedesk serve` listens on.")
    max_tokens: int = Field(
        512, gt=0, description="Cap on a request's max_tokens; larger requests are cut to it."
    )
    max_concurrent: int = Field(
        4,
        gt=0,
        description="Generations running at once; llama.cpp decodes up to generation.slots together, "
        "transformers one at a time.",
    )
    max_queued: int = Field(
        8, ge=0, description="Generations waiting for a free slot; one more is refused with HTTP 429."
    )
    max_embedding_inputs: int = Field(
        256,
        gt=0,
        le=2048,
        description="Texts one /v1/embeddings request may embed; more gets HTTP 400 (each costs CPU time).",
    )
    max_queued_embeddings: int = Field(
        8,
        ge=0,
        description="Embedding and search requests waiting while one runs; one more is refused with HTTP 429.",
    )
    max_body_mb: float = Field(
        1.0, gt=0, description="Largest JSON request body, in MiB; larger gets HTTP 413."
    )
    max_upload_mb: float = Field(
        50.0,
        gt=0,
        description="Largest document upload request, in MiB (each file also obeys ingest.max_file_mb).",
    )
    cors_origins: tuple[str, ...] = Field(
        (), description="Browser origins allowed to call the API (CORS); empty = none, same-origin only."
    )
    store_conversations: bool = Field(
        True, description="Store every API exchange in the conversation database, as the app does."
    )


class Settings(BaseSettings):
    """Everything Tunedesk can be told. One instance is built per process and passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    home: Path = Field(
        Path(".tunedesk"), description="Folder that holds all state: index, adapters, database."
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto = CUDA (bf16) when present, else CPU (fp32)."
    )
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    embedder_tuning: EmbedderTuningSettings = EmbedderTuningSettings()
    model: ModelSettings = ModelSettings()
    data: DataSettings = DataSettings()
    training: TrainingSettings = TrainingSettings()
    raft: RaftSettings = RaftSettings()
    generation: GenerationSettings = GenerationSettings()
    assistant: AssistantSettings = AssistantSettings()
    ui: UISettings = UISettings()
    api: APISettings = APISettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: CLI flags (init) over environment over the TOML file.
        toml_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(_TomlValues(settings_cls, read_toml(toml_file)))
        return tuple(sources)

    # Derived locations: every piece of state lives under `home` (core/home.py names each path).
    @property
    def layout(self) -> HomeLayout:
        return HomeLayout(self.home)

    @property
    def index_dir(self) -> Path:
        return self.layout.index

    @property
    def models_dir(self) -> Path:
        return self.layout.models

    @property
    def adapters_dir(self) -> Path:
        return self.layout.adapters

    @property
    def fewshot_dir(self) -> Path:
        return self.layout.fewshot


class SettingsError(ValueError):
    """A setting is unknown or invalid; the message names it."""


class _TomlValues(PydanticBaseSettingsSource):
    """The values of a TOML file already read (and checked) by `read_toml`."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._values


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file's values; a file that cannot be read, is not UTF-8 or not TOML is a SettingsError."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise SettingsError(
            f"config file {path}: cannot be read ({error.strerror}); check the path"
        ) from None
    try:
        text = raw.decode("utf-8-sig")  # TOML is UTF-8; a byte-order mark (Windows editors) is harmless
    except UnicodeDecodeError as error:
        raise SettingsError(
            f"config file {path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path}: not valid TOML ({error}); fix that line") from None


def check_environment(environ: typing.Mapping[str, str]) -> None:
    """Every `TUNEDESK_` variable must name a settings field, and hold JSON where the field needs it."""
    known = _environment_names()
    for name, value in environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in ENV_NOT_SETTINGS:
            continue
        if upper not in known:
            close = difflib.get_close_matches(upper, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "see core/settings.py for the names"
            raise SettingsError(f"environment variable {name}: no such setting ({hint}); unset or rename it")
        if known[upper]:
            try:
                json.loads(value)
            except ValueError as error:
                raise SettingsError(
                    f"environment variable {name}: not valid JSON ({error}); "
                    'give a JSON value, e.g. \'["a", "b"]\' for a list'
                ) from None


def _environment_names() -> dict[str, bool]:
    """Every `TUNEDESK_` name a field can be set by, mapped to whether its value is read as JSON."""
    names: dict[str, bool] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for field_name, field in model.model_fields.items():
            name = f"{prefix}{field_name.upper()}"
            section = _section_of(field.annotation)
            names[name] = section is not None or _is_json(field.annotation)
            if section is not None:
                walk(section, name + ENV_DELIMITER)

    walk(Settings, ENV_PREFIX)
    return names


def _section_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_json(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_json(member) for member in typing.get_args(annotation))
    return (typing.get_origin(annotation) or annotation) in _JSON_TYPES


def _config_file() -> Path | None:
    named = os.environ.get("TUNEDESK_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"TUNEDESK_CONFIG: config file {path} {_missing(path)}")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _missing(path: Path) -> str:
    return "is not a file" if path.exists() else "does not exist"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; `overrides` are CLI flags given by dotted key, e.g. `**{"chunking.chunk_tokens": 150}`.

    Flags left at None are ignored, so a CLI can pass every option it has.
    """
    if config_file is not None:
        if not Path(config_file).is_file():
            raise SettingsError(f"--config: config file {config_file} {_missing(Path(config_file))}")
        os.environ["TUNEDESK_CONFIG"] = str(config_file)
    check_environment(os.environ)
    return _build(_nest(overrides))


def override(settings: Settings, **overrides: Any) -> Settings:
    """A copy of `settings` with a command's own flags (dotted keys, None ignored) applied on top."""
    merged = settings.model_dump()
    _merge_into(merged, _nest(overrides))
    return _build(merged)


def _nest(dotted: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        if value is None:
            continue
        target = nested
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return nested


def _merge_into(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


def _build(values: dict[str, Any]) -> Settings:
    try:
        return Settings(**values)
    except ValidationError as error:
        raise SettingsError(_describe(error) + _read_from()) from None
    except SourceError as error:  # a value pydantic-settings could not decode; check_environment names most
        raise SettingsError(f"{error}; check the TUNEDESK_ environment variables") from None


def _read_from() -> str:
    """Where settings came from, so a user knows where to look for the key named."""
    try:
        config = _config_file()
    except SettingsError:
        config = None
    files = f"the config file {config}, " if config else ""
    return f" (settings are read from {files}TUNEDESK_ environment variables and command-line flags)"


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        problems.append(f"{where}: {item['msg']}")
    return "invalid settings: " + "; ".join(problems)
