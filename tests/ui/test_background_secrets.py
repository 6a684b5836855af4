"""A background job's folder never holds the app's password or the generation server's key; the worker
still gets them, through its environment."""

from __future__ import annotations

import json
import os

from core.settings import Settings
from ui import background

PASSWORD, KEY = "hunter2-admin", "sk-generation-server-key"


def test_the_request_file_holds_no_secret_and_the_worker_gets_them(tmp_path, monkeypatch):
    settings = Settings(
        home=tmp_path / "home", ui={"admin_password": PASSWORD}, assistant={"http_api_key": KEY}
    )
    folder = tmp_path / "job"
    # A real child process: the standard library's `json.tool` stands in for a worker module.
    background.launch(folder, "json.tool", {"what": "test"}, settings, "job.log")

    written = (folder / background.REQUEST).read_text(encoding="utf-8")
    assert PASSWORD not in written and KEY not in written
    request = json.loads(written)
    assert request["what"] == "test" and request["settings"]["home"] == str(tmp_path / "home")

    for variable in ("TUNEDESK_UI__ADMIN_PASSWORD", "TUNEDESK_ASSISTANT__HTTP_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    assert background.request_settings(request).ui.admin_password == ""
    monkeypatch.setenv("TUNEDESK_UI__ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setenv("TUNEDESK_ASSISTANT__HTTP_API_KEY", KEY)
    restored = background.request_settings(request)
    assert restored.ui.admin_password == PASSWORD and restored.assistant.http_api_key == KEY
    assert restored.model_dump(exclude={"ui", "assistant"}) == settings.model_dump(
        exclude={"ui", "assistant"}
    )
    assert "admin_password" not in request["settings"]["ui"]  # reading did not write into the request


def test_no_secret_variable_is_set_when_there_is_no_secret(tmp_path, monkeypatch):
    for variable in ("TUNEDESK_UI__ADMIN_PASSWORD", "TUNEDESK_ASSISTANT__HTTP_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings(home=tmp_path / "home")
    background.launch(tmp_path / "job", "json.tool", {}, settings, "job.log")
    request = json.loads((tmp_path / "job" / background.REQUEST).read_text(encoding="utf-8"))
    assert background.request_settings(request) == settings
    assert "TUNEDESK_UI__ADMIN_PASSWORD" not in os.environ
