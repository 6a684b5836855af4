"""`build_app` from settings, as `tunedesk serve` runs it: the tiny model, the packaged embedding model,
an empty home; the conversation lands in the home's database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.mark.slow
def test_build_app_serves_a_fresh_home(tiny_model_dir, tmp_path, serve, client):
    from assistant.api.build import build_app
    from assistant.storage import Storage
    from core.settings import Settings

    settings = Settings(
        home=tmp_path / "home",
        device="cpu",
        model={"base": str(tiny_model_dir)},
        generation={"max_new_tokens": 3},
    )
    app = build_app(settings)
    served = app.state.served
    assert served.assistant.retriever is served.knowledge_base  # built complete, nothing set afterwards
    with serve(app) as url:
        api = client(url)
        names = [model.id for model in api.models.list()]
        reply = api.chat.completions.create(
            model="tunedesk-base", messages=[{"role": "user", "content": "Where is my order?"}]
        )
        vectors = api.embeddings.create(model="all-MiniLM-L6-v2", input="router lights")
    # An empty home: no documents (so no rag modes), no adapters (so no tuned modes).
    assert names == ["tunedesk-base", "all-MiniLM-L6-v2"]
    assert reply.usage.completion_tokens == 3
    assert len(vectors.data[0].embedding) == 384
    stored = Storage(tmp_path / "home" / "chat.sqlite3")
    [conversation] = stored.conversations()
    assert conversation.id == reply.model_extra["conversation_id"]
    assert [message.role for message in stored.messages(conversation.id)] == ["user", "assistant"]


def test_serve_command_refuses_a_bad_port(tmp_path):
    from assistant.cli.app import app

    result = CliRunner().invoke(app, ["--home", str(tmp_path), "serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "api.port" in result.stderr
