"""Settings: defaults < TOML file < environment < CLI flags; unknown keys and bad values name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app
from core.settings import SettingsError, load_settings, override


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No settings from the developer's shell or working folder leak into these tests."""
    import os

    for name in [name for name in os.environ if name.startswith("TUNEDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("TUNEDESK_CONFIG", raising=False)  # restored (removed) after the test
    monkeypatch.chdir(tmp_path)


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults():
    settings = load_settings()
    assert settings.home == Path(".tunedesk")
    assert settings.index_dir == Path(".tunedesk") / "index"
    assert (settings.chunking.chunk_tokens, settings.chunking.overlap_tokens) == (200, 32)
    assert settings.embedding.model == "all-MiniLM-L6-v2"
    assert settings.ingest.lock_timeout_s == 60.0


def test_each_source_overrides_the_one_before(tmp_path, monkeypatch):
    config = _toml(
        tmp_path,
        "[chunking]\nchunk_tokens = 150\noverlap_tokens = 10\n[embedding]\nbatch_size = 8\n[ingest]\nlock_timeout_s = 5\n",
    )
    from_toml = load_settings(config_file=config)
    assert (from_toml.chunking.chunk_tokens, from_toml.chunking.overlap_tokens) == (150, 10)
    assert from_toml.embedding.batch_size == 8

    monkeypatch.setenv("TUNEDESK_CHUNKING__CHUNK_TOKENS", "120")
    monkeypatch.setenv("TUNEDESK_INGEST__LOCK_TIMEOUT_S", "7.5")
    from_env = load_settings(config_file=config)
    assert from_env.chunking.chunk_tokens == 120  # env beats TOML
    assert from_env.chunking.overlap_tokens == 10  # TOML still beats the default
    assert from_env.ingest.lock_timeout_s == 7.5

    from_flags = load_settings(
        config_file=config, **{"chunking.chunk_tokens": 100, "ingest.lock_timeout_s": None}
    )
    assert from_flags.chunking.chunk_tokens == 100  # flag beats env
    assert from_flags.ingest.lock_timeout_s == 7.5  # a flag left at None changes nothing

    assert override(from_flags, **{"embedding.batch_size": 2}).embedding.batch_size == 2


def test_tunedesk_toml_in_the_working_folder_is_read(tmp_path):
    (tmp_path / "tunedesk.toml").write_text('home = "elsewhere"\n', encoding="utf-8")
    assert load_settings().home == Path("elsewhere")


def test_unknown_key_is_named(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match=r"chunking\.chunk_size"):
        load_settings(config_file=_toml(tmp_path, "[chunking]\nchunk_size = 100\n"))
    with pytest.raises(SettingsError, match="embeding") as raised:
        config = _toml(tmp_path, '[embeding]\nmodel = "x"\n')
        load_settings(config_file=config)
    assert f"the config file {config}" in str(raised.value)  # named, so the user knows where to look
    monkeypatch.delenv("TUNEDESK_CONFIG")  # load_settings(config_file=...) exports it for child processes
    with pytest.raises(SettingsError, match=r"ingest\.max_file_gb"):
        override(load_settings(), **{"ingest.max_file_gb": 1})


def test_invalid_values_are_named(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match=r"chunking\.overlap_tokens \(300\) must be smaller"):
        load_settings(**{"chunking.overlap_tokens": 300})
    with pytest.raises(SettingsError, match=r"ingest\.lock_timeout_s"):
        load_settings(**{"ingest.lock_timeout_s": -1})
    with pytest.raises(SettingsError, match=r"assistant\.quote_sentences"):
        load_settings(**{"assistant.quote_sentences": 9})
    with pytest.raises(SettingsError, match=r"assistant\.precedent_min_similarity"):
        load_settings(**{"assistant.precedent_min_similarity": 1.5})
    monkeypatch.setenv("TUNEDESK_DEVICE", "tpu")
    with pytest.raises(SettingsError, match="device"):
        load_settings()


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="--config: config file .*nope.toml does not exist"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_cli_reports_bad_settings_in_one_line_with_exit_2(tmp_path):
    config = _toml(tmp_path, "[chunking]\nchunk_size = 100\n")
    result = CliRunner().invoke(app, ["--config", str(config), "docs", "list"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "chunking.chunk_size" in result.stderr


def test_cli_flag_beats_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEDESK_HOME", str(tmp_path / "from-env"))
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "from-flag"), "keys", "add", "k"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-flag" / "api_keys.json").is_file()
    assert not (tmp_path / "from-env").exists()


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: what "nothing stored changed" compares."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def stocked_home(tmp_path) -> Path:
    """A home holding state (an API key) that a failed command must leave as it was."""
    home = tmp_path / "home"
    result = CliRunner().invoke(app, ["--home", str(home), "keys", "add", "kept"])
    assert result.exit_code == 0, result.output
    return home


def _one_error_line(result) -> str:
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "Traceback" not in result.output
    return line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[chunking\nchunk_tokens = 150\n", "not valid TOML (Expected ']'"),
        ('home = "elsewhere"\n'.encode("utf-16"), "not UTF-8 text (byte 0xff at offset 0); save it as UTF-8"),
        ('home = "elsewhere"\n'.encode("latin-1") + b"# caf\xe9\n", "not UTF-8 text (byte 0xe9"),
    ],
    ids=["malformed", "utf-16", "latin-1"],
)
def test_an_unreadable_config_file_is_one_line_naming_it(tmp_path, stocked_home, content, words):
    config = tmp_path / "broken.toml"
    config.write_bytes(content)
    before = _snapshot(stocked_home)
    result = CliRunner().invoke(app, ["--config", str(config), "--home", str(stocked_home), "keys", "list"])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"config file {config}: " in line and words in line
    assert _snapshot(stocked_home) == before


def test_a_config_file_with_a_byte_order_mark_is_read():
    Path("tunedesk.toml").write_bytes('home = "elsewhere"\n'.encode("utf-8-sig"))
    assert load_settings().home == Path("elsewhere")


def test_a_config_path_that_is_a_folder_is_named(tmp_path):
    with pytest.raises(SettingsError, match=r"--config: config file .*conf\.d is not a file"):
        load_settings(config_file=(tmp_path / "conf.d").mkdir() or tmp_path / "conf.d")


def test_a_malformed_json_environment_value_is_one_line_naming_the_variable(monkeypatch, stocked_home):
    monkeypatch.setenv("TUNEDESK_TRAINING__TARGET_MODULES", "[oops")
    before = _snapshot(stocked_home)
    result = CliRunner().invoke(app, ["--home", str(stocked_home), "keys", "list"])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "environment variable TUNEDESK_TRAINING__TARGET_MODULES: not valid JSON" in line
    assert _snapshot(stocked_home) == before
    monkeypatch.setenv("TUNEDESK_TRAINING__TARGET_MODULES", '["q_proj", "v_proj"]')
    assert load_settings().training.target_modules == ("q_proj", "v_proj")


def test_an_unknown_tunedesk_variable_fails_and_suggests_the_name(monkeypatch, tmp_path, stocked_home):
    monkeypatch.setenv("TUNEDESK_TRAINING__EPOCH", "2")
    with pytest.raises(
        SettingsError, match="TUNEDESK_TRAINING__EPOCH: no such setting .*TUNEDESK_TRAINING__EPOCHS"
    ):
        load_settings()
    monkeypatch.delenv("TUNEDESK_TRAINING__EPOCH")
    monkeypatch.setenv("TUNEDESK_FOO", "1")
    before = _snapshot(stocked_home)
    result = CliRunner().invoke(app, ["--home", str(stocked_home), "keys", "list"])
    assert result.exit_code == 2
    assert "environment variable TUNEDESK_FOO: no such setting" in _one_error_line(result)
    assert _snapshot(stocked_home) == before


def test_home_config_and_nested_variables_are_known(monkeypatch, tmp_path):
    config = _toml(tmp_path, "[training]\nepochs = 2\n")
    monkeypatch.setenv("TUNEDESK_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("TUNEDESK_CONFIG", str(config))
    monkeypatch.setenv("TUNEDESK_API__CORS_ORIGINS", '["https://help.example.com"]')
    monkeypatch.setenv("tunedesk_chunking__chunk_tokens", "120")  # names are case-insensitive
    monkeypatch.setenv("TUNEDESK_ASSISTANT", '{"top_k": 2}')  # a whole section as JSON
    settings = load_settings()
    assert settings.home == tmp_path / "h" and settings.training.epochs == 2
    assert settings.api.cors_origins == ("https://help.example.com",)
    assert (settings.chunking.chunk_tokens, settings.assistant.top_k) == (120, 2)


def _float_settings() -> list[str]:
    """Dotted names of every float setting, those added later included."""
    from core.settings import Settings

    names = []
    for section_name, section in Settings.model_fields.items():
        fields = getattr(section.annotation, "model_fields", {})
        names += [f"{section_name}.{name}" for name, field in fields.items() if field.annotation is float]
    return names


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_no_float_setting_takes_inf_or_nan(value):
    names = _float_settings()
    assert "ingest.parse_timeout_s" in names and len(names) >= 10
    for name in names:
        with pytest.raises(SettingsError, match=rf"{re.escape(name)}: Input should be a finite number"):
            load_settings(**{name: value})


def test_inf_from_toml_or_environment_is_refused_in_one_line(tmp_path, monkeypatch, stocked_home):
    config = _toml(tmp_path, "[ingest]\nparse_timeout_s = inf\n")
    result = CliRunner().invoke(app, ["--config", str(config), "--home", str(stocked_home), "keys", "list"])
    assert result.exit_code == 2
    assert "ingest.parse_timeout_s: Input should be a finite number" in _one_error_line(result)
    monkeypatch.setenv("TUNEDESK_API__MAX_BODY_MB", "nan")
    with pytest.raises(SettingsError, match=r"api\.max_body_mb: Input should be a finite number"):
        load_settings()
