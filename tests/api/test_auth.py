"""API keys: stored hashed, checked on every /v1 request once any exists, admin-only uploads, CLI."""

from __future__ import annotations

import json
import logging

import httpx
import openai
import pytest
from typer.testing import CliRunner

from assistant.api.auth import KEY_PREFIX, KeyStore, KeyStoreError


def test_keys_are_stored_hashed_and_verified(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    assert not store.required()
    key = store.add("support-bot")
    admin_key = store.add("ops", admin=True)
    stored = (tmp_path / "keys.json").read_text()
    assert key.startswith(KEY_PREFIX) and len(key) > 40
    assert key not in stored and admin_key not in stored
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert store.verify(key).name == "support-bot" and not store.verify(key).admin
    assert store.verify(admin_key).admin
    assert store.verify(key + "x") is None and store.verify("") is None
    # Another process (the CLI) removes a key while the server runs: the server sees it at once.
    KeyStore(tmp_path / "keys.json").remove("support-bot")
    assert store.verify(key) is None and store.verify(admin_key) is not None


def test_key_store_refuses_bad_names_duplicates_unknown_keys_and_a_corrupt_file(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    store.add("bot")
    with pytest.raises(KeyStoreError, match="exists"):
        store.add("bot")
    with pytest.raises(KeyStoreError, match="key name"):
        store.add("../evil")
    with pytest.raises(KeyStoreError, match="no key named 'ghost'.*known: bot"):
        store.remove("ghost")
    (tmp_path / "keys.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match="unreadable key file"):
        store.records()


def test_with_keys_every_request_needs_a_valid_one(make_app, serve, client, keys):
    key = keys.add("app")
    other = keys.add("other")
    with serve(make_app()) as url:
        with pytest.raises(openai.AuthenticationError) as wrong:
            client(url, "tdk-wrong").models.list()
        missing = httpx.post(f"{url}/v1/chat/completions", content=b"{not even json")
        names = [model.id for model in client(url, key).models.list()]
        answer = client(url, key).chat.completions.create(
            model="tunedesk-base", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
        health = httpx.get(f"{url}/health")
        keys.remove("app")
        with pytest.raises(openai.AuthenticationError):
            client(url, key).models.list()
        still = [model.id for model in client(url, other).models.list()]
    assert wrong.value.status_code == 401 and wrong.value.code == "invalid_api_key"
    assert "invalid API key" in wrong.value.message
    # Refused before the body is even read: a missing key wins over malformed JSON.
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("missing API key")
    assert "tunedesk-base" in names and still == names
    assert answer.usage.completion_tokens == 2
    assert health.json() == {"status": "ok"}


def test_cors_is_off_by_default_and_allows_only_configured_origins(make_app, serve):
    preflight = {"Origin": "https://help.example.com", "Access-Control-Request-Method": "POST"}
    with serve(make_app()) as url:
        closed = httpx.options(f"{url}/v1/chat/completions", headers=preflight)
        plain = httpx.get(f"{url}/v1/models", headers={"Origin": "https://help.example.com"})
    with serve(make_app(cors_origins=("https://help.example.com",))) as url:
        opened = httpx.options(f"{url}/v1/chat/completions", headers=preflight)
        other = httpx.options(
            f"{url}/v1/chat/completions", headers={**preflight, "Origin": "https://evil.example"}
        )
    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in plain.headers
    assert opened.status_code == 200
    assert opened.headers["access-control-allow-origin"] == "https://help.example.com"
    assert "access-control-allow-origin" not in other.headers


def test_keys_commands_add_list_and_remove(tmp_path):
    from assistant.cli.app import app

    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    added = runner.invoke(app, [*home, "keys", "add", "widget"])
    admin = runner.invoke(app, [*home, "keys", "add", "ops", "--admin"])
    listed = runner.invoke(app, [*home, "keys", "list"])
    removed = runner.invoke(app, [*home, "keys", "remove", "widget"])
    unknown = runner.invoke(app, [*home, "keys", "remove", "widget"])
    assert added.exit_code == 0 and admin.exit_code == 0
    key = added.stdout.strip()
    assert key.startswith(KEY_PREFIX)
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        ["widget", "user"],
        ["ops", "admin"],
    ]
    assert key not in listed.stdout
    assert removed.exit_code == 0
    assert unknown.exit_code == 1 and "no key named 'widget'" in unknown.stderr
    stored = json.loads((tmp_path / "api_keys.json").read_text())
    assert [record["name"] for record in stored["keys"]] == ["ops"]


def test_a_corrupted_key_file_fails_closed_without_revealing_its_path(make_app, serve, client, keys, caplog):
    key = keys.add("app")
    with serve(make_app()) as url:
        keys.path.write_text('{"schema_version": 1, "keys": [{"name": "app", "adm', encoding="utf-8")
        corrupted = keys.path.read_bytes()
        with caplog.at_level(logging.ERROR, logger="assistant.api.auth"):
            refused = [
                httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}),
                httpx.post(f"{url}/v1/chat/completions", json={"model": "tunedesk-base"}),
                httpx.post(f"{url}/v1/search", json={"query": "warranty"}),
            ]
        health = httpx.get(f"{url}/health")
        stored = keys.path.read_bytes()
        keys.path.unlink()
        keys.add("app")  # the operator restores the keys: served again without a restart
        restored = client(url, keys.add("new")).models.list()
    for response in refused:
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "key_store_unavailable" and "refuses every request" in error["message"]
        assert str(keys.path.parent) not in response.text and "api_keys" not in response.text
    assert health.status_code == 200
    assert stored == corrupted  # the server never rewrites the file it cannot read
    logged = [record.getMessage() for record in caplog.records if record.name == "assistant.api.auth"]
    assert len(logged) == 1 and str(keys.path) in logged[0]  # once, naming the file for the operator
    assert restored.data


def test_keys_add_on_a_full_disk_is_one_line_and_keeps_the_stored_keys(tmpfs):
    from assistant.cli.app import app

    home = tmpfs.mount("home", 16)
    runner = CliRunner()
    assert runner.invoke(app, ["--home", str(home), "keys", "add", "kept"]).exit_code == 0
    before = (home / "api_keys.json").read_bytes()
    tmpfs.fill(home)
    result = runner.invoke(app, ["--home", str(home), "keys", "add", "more"])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"error: {home / 'api_keys.json'}: the key file could not be written (No space left on device); "
        "the stored keys are unchanged"
    )
    assert (home / "api_keys.json").read_bytes() == before
    assert sorted(path.name for path in home.iterdir()) == ["api_keys.json", "filler"]  # no temp file left
