"""Embeddings from the knowledge base's model, search, and admin-only document upload into a fresh index."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import openai
import pytest


def test_embeddings_match_the_knowledge_base_model_in_both_encodings(
    make_app, serve, client, hashing_embedder
):
    texts = ["The warranty lasts two years.", "Refunds within 30 days"]
    expected = hashing_embedder.encode(texts)
    with serve(make_app()) as url:
        api = client(url)
        # The OpenAI client asks for base64 unless told otherwise; both encodings must give the same vectors.
        packed = api.embeddings.create(model=hashing_embedder.name, input=texts)
        floats = api.embeddings.create(model=hashing_embedder.name, input=texts[0], encoding_format="float")
        with pytest.raises(openai.NotFoundError) as unknown:
            api.embeddings.create(model="text-embedding-3-small", input="hi")
    assert [item.index for item in packed.data] == [0, 1]
    np.testing.assert_allclose(np.array([item.embedding for item in packed.data]), expected, rtol=1e-6)
    np.testing.assert_allclose(floats.data[0].embedding, expected[0], rtol=1e-6)
    tokens = sum(len(ids) for ids in hashing_embedder.tokenizer(texts)["input_ids"])
    assert packed.usage.prompt_tokens == tokens == packed.usage.total_tokens
    assert packed.model == hashing_embedder.name
    assert unknown.value.param == "model" and hashing_embedder.name in unknown.value.message


def test_search_returns_chunks_best_first(make_app, serve, knowledge_base):
    with serve(make_app()) as url:
        found = httpx.post(
            f"{url}/v1/search", json={"query": "Is water damage covered by the warranty?", "k": 2}
        )
    hits = found.json()["data"]
    expected = knowledge_base.search("Is water damage covered by the warranty?", 2)
    assert found.status_code == 200
    assert [hit["chunk_id"] for hit in hits] == [hit.chunk_id for hit in expected]
    assert hits[0]["title"] == "Warranty" and "Water damage" in hits[0]["text"]
    assert hits[0]["score"] >= hits[1]["score"]


@pytest.fixture
def empty_server(generator, hashing_embedder, storage, keys, tmp_path, serve):
    """A server over an empty knowledge base: no rag modes until documents arrive."""
    from assistant.api.app import create_app
    from assistant.engine import Assistant
    from core.settings import APISettings
    from ingest.knowledge_base import KnowledgeBase

    def start(**api):
        knowledge_base = KnowledgeBase(tmp_path / "index", hashing_embedder)
        assistant = Assistant(generator, knowledge_base, min_score=0.2, max_new_tokens=4)
        app = create_app(
            assistant,
            knowledge_base,
            storage,
            APISettings(**api),
            keys=keys,
            embedder=hashing_embedder,
            upload_dir=tmp_path / "uploads",
            max_file_bytes=4096,
        )
        return serve(app)

    return start


GUIDE = (
    b"# Mesh pairing\n\nHold the pair button on the Halo Mesh node for five seconds until it blinks blue.\n"
)


def test_uploads_are_refused_without_an_admin_key(empty_server, keys):
    with empty_server() as url:
        off = httpx.post(f"{url}/v1/documents", files={"file": ("guide.md", GUIDE)})
    user_key = keys.add("app")
    keys.add("ops", admin=True)
    with empty_server() as url:
        anonymous = httpx.post(f"{url}/v1/documents", files={"file": ("guide.md", GUIDE)})
        user = httpx.post(
            f"{url}/v1/documents",
            files={"file": ("guide.md", GUIDE)},
            headers={"Authorization": f"Bearer {user_key}"},
        )
    assert off.status_code == 403 and "no admin key is configured" in off.json()["error"]["message"]
    assert anonymous.status_code == 401
    assert user.status_code == 403 and "needs an admin key" in user.json()["error"]["message"]


def test_admin_upload_ingests_good_files_refuses_bad_ones_and_enables_rag(
    empty_server, keys, client, tmp_path
):
    admin = keys.add("ops", admin=True)
    auth = {"Authorization": f"Bearer {admin}"}
    files = [
        ("file", ("guides/mesh.md", GUIDE)),
        ("file", ("../../escape.md", b"# Escape\n\nThis must never land outside the uploads folder.\n")),
        ("file", ("notes.exe", b"MZ binary")),
        ("file", ("big.md", b"# Big\n\n" + b"word " * 2000)),
    ]
    with empty_server(max_upload_mb=0.5) as url:
        before = [model.id for model in client(url, admin).models.list()]
        uploaded = httpx.post(f"{url}/v1/documents", files=files, headers=auth, timeout=60)
        after = [model.id for model in client(url, admin).models.list()]
        hits = httpx.post(f"{url}/v1/search", json={"query": "pair button mesh node"}, headers=auth).json()[
            "data"
        ]
        answer = client(url, admin).chat.completions.create(
            model="tunedesk-rag", messages=[{"role": "user", "content": "How do I pair a mesh node?"}]
        )
        too_big = httpx.post(f"{url}/v1/documents", files={"file": ("x.md", b"x" * 2**20)}, headers=auth)
    results = {item["name"]: item for item in uploaded.json()["data"]}
    assert uploaded.status_code == 200
    assert results["guides/mesh.md"]["status"] == "added"
    assert results["../../escape.md"]["status"] == "failed" and ".." in results["../../escape.md"]["detail"]
    assert (
        results["notes.exe"]["status"] == "failed"
        and "unsupported file type" in results["notes.exe"]["detail"]
    )
    assert results["big.md"]["status"] == "failed" and "ingest.max_file_mb" in results["big.md"]["detail"]
    assert (tmp_path / "uploads" / "guides" / "mesh.md").read_bytes() == GUIDE
    assert not list(tmp_path.rglob("escape.md"))
    assert "tunedesk-rag" not in before and "tunedesk-rag" in after
    assert hits[0]["title"] == "Mesh pairing"
    assert answer.model_extra["sources"][0]["title"] == "Mesh pairing"
    assert too_big.status_code == 413 and "api.max_upload_mb" in too_big.json()["error"]["message"]


class GatedEmbedder:
    """The real embedder, made to wait at a gate before encoding: holds an embedding request in flight."""

    def __init__(self, inner, gate) -> None:
        self.inner, self.gate = inner, gate
        self.name, self.tokenizer, self.max_tokens = inner.name, inner.tokenizer, inner.max_tokens
        self.entered = threading.Event()

    def encode(self, texts):
        self.entered.set()
        assert self.gate.wait(30)
        return self.inner.encode(texts)


def test_embedding_inputs_are_capped_by_a_setting(make_app, serve, hashing_embedder):
    with serve(make_app(max_embedding_inputs=3)) as url:
        at_cap = httpx.post(
            f"{url}/v1/embeddings", json={"model": hashing_embedder.name, "input": ["a", "b", "c"]}
        )
        over = httpx.post(
            f"{url}/v1/embeddings", json={"model": hashing_embedder.name, "input": ["a", "b", "c", "d"]}
        )
    assert at_cap.status_code == 200 and len(at_cap.json()["data"]) == 3
    assert over.status_code == 400
    error = over.json()["error"]
    assert error["param"] == "input" and error["code"] == "too_many_inputs"
    assert error["message"].startswith("input: 4 texts, more than the 3 one request may embed")
    assert "api.max_embedding_inputs" in error["message"]


def test_embeddings_and_searches_run_behind_a_bounded_queue(
    assistant, knowledge_base, hashing_embedder, storage, keys, tmp_path, serve
):
    from assistant.api.app import create_app
    from core.settings import APISettings

    gate = threading.Event()
    embedder = GatedEmbedder(hashing_embedder, gate)
    app = create_app(
        assistant,
        knowledge_base,
        storage,
        APISettings(max_queued_embeddings=1),
        keys=keys,
        embedder=embedder,
        upload_dir=tmp_path / "uploads",
        max_file_bytes=4096,
    )
    body = {"model": embedder.name, "input": "How long is the warranty?"}
    with serve(app) as url, ThreadPoolExecutor(2) as pool:
        running = pool.submit(httpx.post, f"{url}/v1/embeddings", json=body, timeout=30)
        assert embedder.entered.wait(30)
        waiting = pool.submit(httpx.post, f"{url}/v1/embeddings", json=body, timeout=30)
        deadline = time.monotonic() + 30
        while app.state.served.embedding_limit.admitted < 2:  # the second is queued behind the first
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = httpx.post(f"{url}/v1/embeddings", json=body)
        search_refused = httpx.post(f"{url}/v1/search", json={"query": "warranty"})
        generation = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "tunedesk-base", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
        )
        gate.set()
        answers = [running.result(), waiting.result()]
        after = httpx.post(f"{url}/v1/search", json={"query": "warranty"})
    assert [answer.status_code for answer in answers] == [200, 200]
    for response in (refused, search_refused):
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "queue_full"
        assert "1 + api.max_queued_embeddings" in response.json()["error"]["message"]
    assert generation.status_code == 200  # generations have their own queue
    assert after.status_code == 200 and app.state.served.embedding_limit.admitted == 0
