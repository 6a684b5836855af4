"""API keys: created with `tunedesk keys add`, stored hashed in `<home>/api_keys.json`, checked on every request.

With no key stored the API is open (it listens on 127.0.0.1 by default); once one exists, every `/v1/`
request needs `Authorization: Bearer <key>`, else HTTP 401. Uploading documents always needs an *admin*
key: without one configured, `/v1/documents` is refused (403), since it writes to the knowledge base.

A key is 32 random bytes, so a salted SHA-256 is enough to store it: slow hashes (scrypt) protect
guessable passwords, and would cost tens of milliseconds on every request. The file is re-read when it
changes, so keys added or removed while the server runs take effect at once. A key file that cannot be
read fails closed: every `/v1/` request is refused (503) with a message that does not reveal where the
file is; the server log names it.
Knows nothing about the routes it guards beyond their paths.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.api.errors import error_response
from ingest.atomic import write_text_atomically

log = logging.getLogger(__name__)
KEY_PREFIX = "tdk-"
SCHEMA_VERSION = 1
NAME_LIMIT = 64


class KeyStoreError(ValueError):
    """The key store cannot do what was asked; the message names the key or file and what to do."""


@dataclass(frozen=True)
class KeyRecord:
    name: str
    admin: bool
    created: str
    salt: str  # hex
    digest: str  # hex SHA-256 of salt + key


class KeyStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self._records: list[KeyRecord] = []

    def records(self) -> list[KeyRecord]:
        """The stored keys (hashes only), re-read if the file changed."""
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._seen, self._records = None, []
                return []
            if self._seen != (stat.st_mtime_ns, stat.st_size):
                self._records = self._read()
                self._seen = (stat.st_mtime_ns, stat.st_size)
            return list(self._records)

    def required(self) -> bool:
        return bool(self.records())

    def has_admin(self) -> bool:
        return any(record.admin for record in self.records())

    def verify(self, key: str) -> KeyRecord | None:
        """The record of `key`, or None. Every stored key is compared, in constant time each."""
        found = None
        for record in self.records():
            digest = _digest(bytes.fromhex(record.salt), key)
            if hmac.compare_digest(digest, record.digest):
                found = record
        return found

    def add(self, name: str, *, admin: bool = False) -> str:
        """Create a key called `name`; returns the key itself, which is shown once and never stored."""
        if not name or len(name) > NAME_LIMIT or not name.replace("-", "").replace("_", "").isalnum():
            raise KeyStoreError(f"key name {name!r}: use 1-{NAME_LIMIT} letters, digits, '-' or '_'")
        records = self.records()
        if any(record.name == name for record in records):
            raise KeyStoreError(
                f"a key named {name!r} exists in {self.path}; remove it first or pick another name"
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        self._write([*records, KeyRecord(name, admin, created, salt.hex(), _digest(salt, key))])
        return key

    def remove(self, name: str) -> None:
        records = self.records()
        kept = [record for record in records if record.name != name]
        if len(kept) == len(records):
            known = ", ".join(record.name for record in records) or "none"
            raise KeyStoreError(f"no key named {name!r} in {self.path} (known: {known})")
        self._write(kept)

    def _read(self) -> list[KeyRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [KeyRecord(**item) for item in data["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise KeyStoreError(
                f"{self.path}: unreadable key file ({error}); fix it or delete it and add the keys again"
            ) from None

    def _write(self, records: list[KeyRecord]) -> None:
        """Atomically, readable by the owner only: a crash leaves the previous file."""
        payload = json.dumps(
            {"schema_version": SCHEMA_VERSION, "keys": [asdict(r) for r in records]}, indent=2
        )
        try:
            write_text_atomically(self.path, payload, mode=0o600)
        except OSError as error:
            raise KeyStoreError(
                f"{self.path}: the key file could not be written ({error.strerror or error}); "
                "the stored keys are unchanged"
            ) from None


def _digest(salt: bytes, key: str) -> str:
    return hashlib.sha256(salt + key.encode("utf-8")).hexdigest()


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    return None


class RequireKey:
    """ASGI middleware: refuse `/v1/` requests without a valid key before anything reads their body."""

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys
        self._logged: str | None = None  # the key-file problem last logged, so each is logged once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        try:
            required = self.keys.required()
        except KeyStoreError as error:
            if str(error) != self._logged:
                log.error("refusing every request until the API key file is fixed: %s", error)
                self._logged = str(error)
            message = "the server cannot read its API keys, so it refuses every request; its log says why"
            await error_response(503, message, code="key_store_unavailable")(scope, receive, send)
            return
        self._logged = None
        if required:
            token = bearer_token(scope)
            if token is None:
                message = "missing API key: send the header `Authorization: Bearer <key>`"
            elif self.keys.verify(token) is None:
                message = "invalid API key: check the key, or create one with `tunedesk keys add NAME`"
            else:
                message = ""
            if message:
                await error_response(401, message, code="invalid_api_key")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def require_admin(keys: KeyStore, scope: Scope) -> str | None:
    """Why this request may not change the knowledge base, or None when it may."""
    if not keys.has_admin():
        return "document upload is off: no admin key is configured; create one with `tunedesk keys add NAME --admin`"
    token = bearer_token(scope)
    record = keys.verify(token) if token else None
    if record is None or not record.admin:
        return "document upload needs an admin key: send `Authorization: Bearer <admin key>`"
    return None
