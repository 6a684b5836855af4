"""Settings: defaults < TOML file < environment < CLI flags; unknown keys and bad values name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app
from assistant.settings import SettingsError, load_settings, override


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
    with pytest.raises(SettingsError, match="embeding"):
        load_settings(config_file=_toml(tmp_path, '[embeding]\nmodel = "x"\n'))
    monkeypatch.delenv("TUNEDESK_CONFIG")  # load_settings(config_file=...) exports it for child processes
    with pytest.raises(SettingsError, match=r"ingest\.max_file_gb"):
        override(load_settings(), **{"ingest.max_file_gb": 1})


def test_invalid_values_are_named(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match=r"chunking\.overlap_tokens \(300\) must be smaller"):
        load_settings(**{"chunking.overlap_tokens": 300})
    with pytest.raises(SettingsError, match=r"ingest\.lock_timeout_s"):
        load_settings(**{"ingest.lock_timeout_s": -1})
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
    # `doctor` only reads (it creates no folder) and names the index folder it checked.
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "from-flag"), "doctor"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"no problems found in {tmp_path / 'from-flag' / 'index'}\n"
    assert not (tmp_path / "from-env").exists()
