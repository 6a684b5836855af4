"""The one typed settings object of Tunedesk: defaults < TOML file < environment < CLI flags.

Environment variables are prefixed `TUNEDESK_`, nested sections use `__`
(`TUNEDESK_CHUNKING__CHUNK_TOKENS=180`). A TOML file is read from `--config FILE`, `TUNEDESK_CONFIG`,
or `./tunedesk.toml` when present. Unknown keys fail with an error naming the key.

Only builder functions read these settings; the library classes take flat, typed parameters.
This module does not know how any setting is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

DEFAULT_CONFIG_FILE = Path("tunedesk.toml")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmbeddingSettings(Section):
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="sentence-transformers model: the packaged all-MiniLM-L6-v2 (offline), a local path, or a hub name.",
    )
    batch_size: int = Field(64, gt=0, description="Chunks encoded per forward pass.")


class ChunkingSettings(Section):
    chunk_tokens: int = Field(200, gt=16, description="Largest chunk, in embedding-model tokens (capped by the model).")
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
    parse_timeout_s: float = Field(30.0, gt=0, description="A parser running longer than this on one file is stopped.")
    lock_timeout_s: float = Field(
        60.0, ge=0, description="How long a second writer waits for the index lock before failing, in seconds."
    )


class ModelSettings(Section):
    base: str = Field(
        "SmolLM2-135M-Instruct",
        description="Base LLM: the packaged SmolLM2-135M-Instruct (offline), a local folder, or a hub id.",
    )


class Settings(BaseSettings):
    """Everything Tunedesk can be told. One instance is built per process and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="TUNEDESK_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    home: Path = Field(Path(".tunedesk"), description="Folder that holds all state: index, adapters, database.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto = CUDA (bf16) when present, else CPU (fp32)."
    )
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    model: ModelSettings = ModelSettings()

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
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    # Derived locations: every piece of state lives under `home`.
    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def adapters_dir(self) -> Path:
        return self.home / "adapters"


class SettingsError(ValueError):
    """A setting is unknown or invalid; the message names it."""


def _config_file() -> Path | None:
    named = os.environ.get("TUNEDESK_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"TUNEDESK_CONFIG: config file {path} does not exist")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; `overrides` are CLI flags given by dotted key, e.g. `**{"chunking.chunk_tokens": 150}`.

    Flags left at None are ignored, so a CLI can pass every option it has.
    """
    if config_file is not None:
        if not Path(config_file).is_file():
            raise SettingsError(f"--config: config file {config_file} does not exist")
        os.environ["TUNEDESK_CONFIG"] = str(config_file)
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
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        problems.append(f"{where}: {item['msg']}")
    return "invalid settings: " + "; ".join(problems)
