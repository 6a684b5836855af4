"""A searchable store of example exchanges for the fewshot modes and the past exchange under an answer.

    <folder>/manifest.json            schema version, embedding model and dimension, sources, count, data hash
    <folder>/exchanges.jsonl          one exchange per line; its line number is its FAISS id in both indexes
    <folder>/vectors.faiss            the customer turns' embeddings, in FAISS's own format
    <folder>/exchange_vectors.faiss   each whole exchange's embedding (customer turn, then the reply)

An exchange is as similar to a question as the nearer of its two views. The customer turn alone matches a
question asked the same way; but customers write "ok here is my card ..." or "still not working", and only
the reply says what such an exchange was about, so the whole exchange matches a question worded like its
topic. (The reply alone matches too loosely: agents reuse the same sentences for unrelated questions.)

The folder is written in a staging folder beside it and renamed into place, so a crash leaves the
previous store. Held-out questions are applied when the store is opened, not when it is built, so an
exchange resembling a question added to the evaluation set later is never picked either.
Knows nothing about settings, transcripts' file formats or prompts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.answer import Example
from assistant.fewshot_exchanges import Exchange, held_out
from finetune.adapters import publish
from ingest.atomic import write_text_atomically
from ingest.embeddings import Embedder
from ingest.vector_index import FlatIndex

SCHEMA_VERSION = 2
MANIFEST, EXCHANGES, VECTORS = "manifest.json", "exchanges.jsonl", "vectors.faiss"
EXCHANGE_VECTORS = "exchange_vectors.faiss"


class ExampleStoreError(ValueError):
    """The store cannot be used as it is; the message names the folder and says how to rebuild it."""


@dataclass(frozen=True)
class StoreManifest:
    schema_version: int
    embedding_model: str
    dimension: int
    sources: list[str]
    exchanges: int
    data_hash: str  # sha256 of exchanges.jsonl: equal stores hold equal examples


def build_store(
    folder: Path, exchanges: Sequence[Exchange], embedder: Embedder, *, sources: Sequence[str]
) -> StoreManifest:
    """Embed the customer turns and the whole exchanges and write the store to `folder`, replacing an older one."""
    if not exchanges:
        raise ExampleStoreError(
            f"no exchange (a customer turn followed by an agent reply) found in {', '.join(sources)}; "
            "give transcripts in a format `tunedesk data check` reads"
        )
    ids = np.arange(len(exchanges), dtype=np.int64)
    index, whole = FlatIndex(embedder.dimension), FlatIndex(embedder.dimension)
    index.add(ids, embedder.encode([exchange.customer for exchange in exchanges]))
    whole.add(ids, embedder.encode([exchange_text(exchange) for exchange in exchanges]))
    lines = [json.dumps(asdict(exchange), ensure_ascii=False) + "\n" for exchange in exchanges]
    digest = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    manifest = StoreManifest(
        SCHEMA_VERSION, embedder.name, embedder.dimension, list(sources), len(exchanges), digest
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
    try:
        write_text_atomically(staging / EXCHANGES, "".join(lines))
        index.save(staging / VECTORS)
        whole.save(staging / EXCHANGE_VECTORS)
        write_text_atomically(staging / MANIFEST, json.dumps(asdict(manifest), indent=2) + "\n")
        publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def read_manifest(folder: Path) -> StoreManifest | None:
    """The store's manifest, None when there is no store; ExampleStoreError when it is unreadable."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        manifest = StoreManifest(**values)
    except (OSError, ValueError, TypeError) as error:
        raise ExampleStoreError(
            f"{path}: unreadable example store manifest ({error}); rebuild it with `tunedesk fewshot-index`"
        ) from None
    if manifest.schema_version != SCHEMA_VERSION:
        raise ExampleStoreError(
            f"{path}: example store schema {manifest.schema_version}, this version reads {SCHEMA_VERSION}; "
            "rebuild it with `tunedesk fewshot-index`"
        )
    return manifest


def exchange_text(exchange: Exchange) -> str:
    """What the whole-exchange view embeds: the customer turn, then the reply."""
    return f"{exchange.customer}\n{exchange.agent}"


class ExampleStore:
    """`pick(query, k)`: the k exchanges most similar to `query` (customer turn or whole exchange), best first."""

    def __init__(
        self, exchanges: Sequence[Exchange], index: FlatIndex, whole: FlatIndex, embedder: Embedder
    ) -> None:
        self.exchanges = list(exchanges)
        self.index = index  # the customer turns
        self.whole = whole  # the whole exchanges, the same ids
        self.embedder = embedder

    @classmethod
    def open(
        cls, folder: Path, embedder: Embedder, *, held_out_questions: Sequence[str], leak_threshold: float
    ) -> ExampleStore:
        """The store in `folder` without the exchanges resembling `held_out_questions`."""
        manifest = read_manifest(folder)
        if manifest is None:
            raise ExampleStoreError(
                f"{folder}: no example store; build one with `tunedesk fewshot-index DATA`"
            )
        if manifest.embedding_model != embedder.name:
            raise ExampleStoreError(
                f"{folder}: examples embedded with {manifest.embedding_model!r}, the embedding model is now "
                f"{embedder.name!r}; rebuild them with `tunedesk fewshot-index DATA`"
            )
        try:
            text = (folder / EXCHANGES).read_text(encoding="utf-8")
            exchanges = [Exchange(**json.loads(line)) for line in text.splitlines()]
            index = FlatIndex.load(folder / VECTORS)
            whole = FlatIndex.load(folder / EXCHANGE_VECTORS)
        except (OSError, ValueError, TypeError) as error:
            raise ExampleStoreError(
                f"{folder}: unreadable example store ({error}); rebuild it with `tunedesk fewshot-index DATA`"
            ) from None
        if len(exchanges) != len(index) or len(whole) != len(index) or index.dimension != embedder.dimension:
            raise ExampleStoreError(
                f"{folder}: {len(exchanges)} exchanges but {len(index)} customer-turn and {len(whole)} exchange "
                f"vectors of dimension {index.dimension}; rebuild it with `tunedesk fewshot-index DATA`"
            )
        excluded = held_out(exchanges, held_out_questions, leak_threshold)
        for vectors in (index, whole):
            vectors.remove(np.fromiter(sorted(excluded), dtype=np.int64, count=len(excluded)))
        return cls(exchanges, index, whole, embedder)

    def __len__(self) -> int:
        """How many exchanges can be picked (held-out ones excluded)."""
        return len(self.index)

    def pick(self, query: str, k: int) -> list[Example]:
        """At most one exchange per customer turn (compared case- and space-blind): the same question
        answered twice in the transcripts would spend the budget on one example."""
        if k <= 0 or not len(self.index):
            return []
        vector = self.embedder.encode([query])
        wanted = k
        while True:
            picked: dict[str, Example] = {}
            for i, score in self._nearest(vector, wanted):
                exchange = self.exchanges[i]
                example = Example(exchange.customer, exchange.agent, exchange.origin, score)
                picked.setdefault(" ".join(exchange.customer.lower().split()), example)
            if len(picked) >= k or wanted >= len(self.index):
                return list(picked.values())[:k]
            wanted *= 4

    def _nearest(self, vector: np.ndarray, wanted: int) -> list[tuple[int, float]]:
        """(id, similarity) of the nearest exchanges, best first, an exchange as similar as its nearer view
        (ties keep the lower id, a stable order): those of either view's `wanted` nearest that are surely
        nearer than every exchange left out. One in neither view's `wanted` nearest is less similar than the
        higher of the two views' last ones, so the exchanges at or above that bound are exactly the nearest;
        `pick` widens `wanted` when they are too few."""
        query = vector[0]
        found, bound = set(), -np.inf
        for view in (self.index, self.whole):
            scores, ids = view.search(vector, wanted)
            found.update(int(i) for i in ids[0] if i >= 0)
            if len(scores[0]) and wanted < len(view):
                bound = max(bound, float(scores[0][-1]))
        scored = sorted(
            ((i, float(max(query @ self.index.vector(i), query @ self.whole.vector(i)))) for i in found),
            key=lambda item: (-item[1], item[0]),
        )
        return [item for item in scored if item[1] >= bound]


class ExamplesOnFirstUse:
    """An `ExampleStore` opened (and built, when `open_store` builds) on the first `pick`, not before:
    the modes that show no examples never pay for loading them. Safe to share between threads."""

    def __init__(self, open_store: Callable[[], ExampleStore]) -> None:
        self._open_store = open_store
        self._store: ExampleStore | None = None
        self._lock = threading.Lock()

    def load(self) -> ExampleStore:
        with self._lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    def pick(self, query: str, k: int) -> list[Example]:
        return self.load().pick(query, k)
