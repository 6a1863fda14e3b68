"""Idempotency keys: claim a key for a request, keep its answer, replay it.

Everything here runs in the request's own session and only flushes: the key
row, the record the request makes and the answer it got commit together,
when the request's unit of work commits (app/api/deps.py), or not at all.
The HTTP side is app/api/idempotency.py."""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, tuple_
from sqlmodel import Session, col, select

from app.errors import Conflict, FieldError, ValidationFailed
from app.models.base import as_utc, utcnow
from app.models.idempotency import IdempotencyKey

HEADER = "Idempotency-Key"
# Each new key deletes at most this many expired ones, so the table drains
# faster than keys can fill it, with no job to sweep it.
PRUNE_BATCH = 100


class IdempotencyKeyReused(ValidationFailed):
    slug = "idempotency-key-reused"

    def __init__(self, first_request: str) -> None:
        message = (
            f"This key was used for another request ({first_request}, or a different body). "
            "Send a new key with each new request."
        )
        super().__init__([FieldError(f"header.{HEADER}", message)])


class IdempotencyKeyInProgress(Conflict):
    title, slug = "Request in progress", "idempotency-key-in-progress"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being handled. Retry it shortly.", retry_after=1
        )


@dataclass(frozen=True)
class Answer:
    """A kept answer: what a replay sends back."""

    status_code: int
    body: bytes
    headers: dict[str, str]


class _Busy:
    """Another transaction holds the key: wait and ask again."""


BUSY: Final = _Busy()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(method: str, target: str, body: bytes) -> str:
    """What the request asked for. A JSON body counts by its meaning, so a
    client that re-encodes the same object (other spacing or key order) is
    still sending the same request."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method} {target}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _lock_id(organisation_id: uuid.UUID, hashed: str) -> int:
    """A signed 64-bit number for PostgreSQL's advisory lock on this key."""
    raw = hashlib.sha256(organisation_id.bytes + hashed.encode()).digest()[:8]
    return int.from_bytes(raw, "big", signed=True)


def _try_lock(session: Session, organisation_id: uuid.UUID, hashed: str) -> bool:
    """On PostgreSQL, hold the key until this transaction ends, or say that
    another does. Never waits, so a thread never blocks on a request that
    may itself be waiting for a thread. SQLite needs nothing: a write
    transaction holds the database's one write lock from its first statement
    (BEGIN IMMEDIATE), so two requests with one key never overlap."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.exec(select(func.pg_try_advisory_xact_lock(_lock_id(organisation_id, hashed)))).one())


def claim(
    session: Session,
    organisation_id: uuid.UUID,
    key: str,
    request_fingerprint: str,
    request: str,
    hours: int,
    now: datetime | None = None,
) -> IdempotencyKey | Answer | _Busy:
    """The kept answer for this key; or BUSY while another request holds it;
    or, for a new key, its row (flushed, answer to come, see `keep`).
    Refuses the key with 422 if it came with another request."""
    now = now or utcnow()
    hashed = key_hash(key)
    if not _try_lock(session, organisation_id, hashed):
        return BUSY
    row = session.get(IdempotencyKey, (organisation_id, hashed), populate_existing=True)
    if row is not None and as_utc(row.expires_at) > now:
        if row.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused(row.request)
        if row.status_code is None or row.body is None:
            raise IdempotencyKeyInProgress()  # only if a row ever committed without its answer
        return Answer(row.status_code, row.body, dict(row.headers or {}))
    if row is not None:
        session.delete(row)  # expired: the key is free again
        session.flush()
    prune(session, now)
    row = IdempotencyKey(
        organisation_id=organisation_id,
        key_hash=hashed,
        fingerprint=request_fingerprint,
        request=request[:300],
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return row


def keep(session: Session, row: IdempotencyKey, answer: Answer | None) -> None:
    """Keep the answer with the key; None (an answer that cannot be kept,
    such as a stream) frees the key instead."""
    if answer is None:
        session.delete(row)
    else:
        row.status_code, row.body, row.headers = answer.status_code, answer.body, answer.headers
        session.add(row)
    session.flush()


def prune(session: Session, now: datetime | None = None, limit: int = PRUNE_BATCH) -> int:
    """Delete up to `limit` expired keys; on PostgreSQL skipping rows another
    transaction is deleting, so concurrent pruners never wait for each other."""
    now = now or utcnow()
    columns = (col(IdempotencyKey.organisation_id), col(IdempotencyKey.key_hash))
    expired = select(*columns).where(col(IdempotencyKey.expires_at) <= now).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
    doomed = delete(IdempotencyKey).where(tuple_(*columns).in_(expired))
    result = session.exec(doomed.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
