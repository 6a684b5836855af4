"""Fixtures for the API tests: the assistant tests' tiny random Llama, adapters and hashing-embedder
knowledge base, an `Assistant` over them, and `serve(app)`, which runs an app with uvicorn on a free
loopback port in a thread."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# The assistant tests' fixtures, shared rather than copied (test folders are not packages).
_spec = importlib.util.spec_from_file_location(
    "assistant_test_fixtures", Path(__file__).resolve().parents[1] / "assistant" / "conftest.py"
)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
adapters_dir = _fixtures.adapters_dir
generator = _fixtures.generator
hashing_embedder = _fixtures.hashing_embedder
knowledge_base = _fixtures.knowledge_base
tmpfs = _fixtures.tmpfs
transcripts_file = _fixtures.transcripts_file
example_store_dir = _fixtures.example_store_dir
examples = _fixtures.examples

MIN_SCORE = 0.2
MAX_NEW_TOKENS = 12
START_TIMEOUT_S = 20.0


@pytest.fixture
def assistant(generator, knowledge_base):
    from assistant.engine import Assistant

    return Assistant(
        generator,
        knowledge_base,
        top_k=3,
        min_score=MIN_SCORE,
        context_tokens=1024,
        max_new_tokens=MAX_NEW_TOKENS,
        domain="Brightwave Wi-Fi",
        abstain_message="Not in the docs. Please contact Brightwave support.",
        default_adapter="beta",
    )


@pytest.fixture
def storage(tmp_path):
    from assistant.storage import Storage

    return Storage(tmp_path / "chat.sqlite3")


@pytest.fixture
def keys(tmp_path):
    from assistant.api.auth import KeyStore

    return KeyStore(tmp_path / "api_keys.json")


@pytest.fixture
def make_app(assistant, knowledge_base, hashing_embedder, storage, keys, tmp_path):
    """A function building the app over the shared objects, with API settings overridden by keyword."""
    from assistant.api.app import create_app
    from core.settings import APISettings

    def build(assistant=assistant, **api):
        return create_app(
            assistant,
            knowledge_base,
            storage,
            APISettings(**api),
            keys=keys,
            embedder=hashing_embedder,
            upload_dir=tmp_path / "uploads",
            max_file_bytes=64 * 1024,
        )

    return build


@pytest.fixture
def serve():
    """`with serve(app) as base_url:` runs the app for the block."""
    return run_server


@pytest.fixture
def client():
    """`client(base_url, api_key)`: the real OpenAI client, without retries (a 429 must reach the test)."""
    return openai_client


@contextmanager
def run_server(app) -> Iterator[str]:
    """Run `app` on 127.0.0.1 (a free port) in a thread; yields the base URL, stops the server after."""
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def openai_client(base_url: str, api_key: str = "unused"):
    from openai import OpenAI

    return OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=60)
