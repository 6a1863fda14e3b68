"""Rate limits: per API key on the JSON API (app/api/rate_limits.py) and per
client address for failed sign-ins on the pages (`failed_sign_ins` below).

Counting is the `limits` library's fixed window: a key may make
`API_RATE_LIMIT` requests ("600/minute") in each window, and the window's
end is exact, so the headers can say precisely how many requests are left
and when the count starts again. (A burst may straddle two windows; the
quota per window still holds.)

Where the counters live, so that they hold across every worker process and
machine:

- Redis when `REDIS_URL` is set: the library's own `RedisStorage`, one
  atomic INCR-and-EXPIRE per hit. The choice for heavy traffic.
- Otherwise the database, through `DatabaseStorage` below: a `limits`
  Storage over the `rate_limit_counters` table (migration 0005), one
  `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per hit, atomic on both
  SQLite and PostgreSQL. Every worker already shares the database, so the
  default needs nothing more to run, which is the point of the
  single-machine default. Memory storage would count per process: with N
  workers a key would get N times its quota. The cost is one small write per
  keyed request; on SQLite it goes through the process's admission to the
  write lock (app/db.py), so no thread waits on the lock while the request
  holding it waits for a thread, and it is made before the request's own
  session begins, never while that holds the lock.

`RATE_LIMIT_STORAGE` may name another `limits` storage (`memory://` serves
a single process, such as the tests' in-process client). If the storage
fails, requests are let through and the failure is logged: an outage of the
counters should not become an outage of the service.

Headers follow draft-ietf-httpapi-ratelimit-headers-10 (the structured-field
format the draft has used since -08): `RateLimit-Policy: "api";q=600;w=60`
names the quota and its window in seconds, and `RateLimit: "api";r=598;t=42`
gives what is left and the seconds until the window ends. 429s add
`Retry-After`.
"""

import hashlib
import hmac
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Connection, Table, case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app.api.deps import get_admission
from app.config import Settings
from app.db import Database
from app.models.rate_limit import RateLimitCounter
from app.request_info import client_address
from app.services.sessions import SignInThrottled

log = logging.getLogger(__name__)

COUNTERS: Table = RateLimitCounter.__table__  # type: ignore[attr-defined]
# Each hit deletes at most this many ended windows, so the table drains
# faster than hits can fill it, without a job to sweep it.
PRUNE_BATCH = 10


class DatabaseStorage(Storage):
    """A `limits` storage over the `rate_limit_counters` table: fixed windows
    only (`incr`, `get`, `get_expiry`), which is all FixedWindowRateLimiter uses."""

    def __init__(self, database: Database) -> None:
        super().__init__(wrap_exceptions=True)
        self.database = database
        self._insert = postgresql_insert if database.dialect == "postgresql" else sqlite_insert

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        ended = COUNTERS.c.expires_at <= now
        upsert = (
            self._insert(COUNTERS)
            .values(key=key, count=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[COUNTERS.c.key],
                set_={
                    "count": case((ended, amount), else_=COUNTERS.c.count + amount),
                    "expires_at": case((ended, now + expiry), else_=COUNTERS.c.expires_at),
                },
            )
            .returning(COUNTERS.c.count)
        )
        with self.database.write_engine.begin() as connection:
            count: int = connection.execute(upsert).scalar_one()
            self._prune(connection, now)
        return count

    def _prune(self, connection: Connection, now: float) -> None:
        ended = select(COUNTERS.c.key).where(COUNTERS.c.expires_at <= now).limit(PRUNE_BATCH)
        if self.database.dialect == "postgresql":
            ended = ended.with_for_update(skip_locked=True)  # never wait for another pruner
        connection.execute(delete(COUNTERS).where(COUNTERS.c.key.in_(ended.scalar_subquery())))

    def get(self, key: str) -> int:
        query = select(COUNTERS.c.count).where(COUNTERS.c.key == key, COUNTERS.c.expires_at > time.time())
        with self.database.read_engine.connect() as connection:
            return connection.execute(query).scalar() or 0

    def get_expiry(self, key: str) -> float:
        query = select(COUNTERS.c.expires_at).where(COUNTERS.c.key == key)
        with self.database.read_engine.connect() as connection:
            expires_at = connection.execute(query).scalar()
        return float(expires_at) if expires_at is not None else time.time()

    def check(self) -> bool:
        with self.database.read_engine.connect() as connection:
            connection.execute(select(1))
        return True

    def reset(self) -> int | None:
        with self.database.write_engine.begin() as connection:
            return connection.execute(delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with self.database.write_engine.begin() as connection:
            connection.execute(delete(COUNTERS).where(COUNTERS.c.key == key))


def make_storage(settings: Settings, database: Database) -> Storage:
    """The explicit RATE_LIMIT_STORAGE, else Redis when REDIS_URL is set, else the database."""
    uri = settings.rate_limit_storage or settings.redis_url
    if uri is None:
        return DatabaseStorage(database)
    storage = storage_from_string(uri, wrap_exceptions=True)
    assert isinstance(storage, Storage), f"{uri} is an async storage; name a synchronous one"
    return storage


@dataclass(frozen=True)
class Policy:
    """A named quota: `item.amount` requests per `item.get_expiry()` seconds."""

    name: str
    item: RateLimitItem

    @property
    def header(self) -> str:
        return f'"{self.name}";q={self.item.amount};w={self.item.get_expiry()}'


@dataclass(frozen=True)
class Verdict:
    policy: Policy
    allowed: bool
    remaining: int
    reset_seconds: int  # until the window ends

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_seconds)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": self.policy.header,
            "RateLimit": f'"{self.policy.name}";r={self.remaining};t={self.reset_seconds}',
        }


class RateLimiter:
    """The service's limits, on one storage shared by every process."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.storage = make_storage(settings, database)
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.prefix = settings.rate_limit_prefix
        self.secret = settings.secret_key.encode()
        self.api = Policy("api", parse(settings.api_rate_limit))
        self.sign_in = Policy("sign-in", parse(settings.sign_in_rate_limit))
        # Counters in the database take connections from the requests' pool, so
        # they are admitted like a request (app/db.py): otherwise every thread
        # could block on an empty pool while the requests holding its
        # connections wait for a thread (bench/scale.py found it on PostgreSQL).
        self.in_database = isinstance(self.storage, DatabaseStorage)
        # SQLite has one writer: the counters' writes queue with the requests'.
        self.queue_writes = self.in_database and database.dialect == "sqlite"

    def identity(self, kind: str, value: str) -> str:
        """A keyed hash, so the counters never hold an API key or an address."""
        return hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def _verdict(self, policy: Policy, identity: str, allowed: bool) -> Verdict:
        stats = self.strategy.get_window_stats(policy.item, self.prefix, policy.name, identity)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(policy, allowed, stats.remaining, reset)

    def hit_now(self, policy: Policy, identity: str) -> Verdict:
        """Count one request (blocking): allowed while the window has room."""
        allowed = self.strategy.hit(policy.item, self.prefix, policy.name, identity)
        return self._verdict(policy, identity, allowed)

    def peek_now(self, policy: Policy, identity: str) -> Verdict:
        """Whether one more would be allowed, without counting it (blocking)."""
        allowed = self.strategy.test(policy.item, self.prefix, policy.name, identity)
        return self._verdict(policy, identity, allowed)

    async def hit(self, request: Request, policy: Policy, identity: str) -> Verdict | None:
        """`hit_now` off the event loop; None when the storage failed (let through)."""
        return await self._off_loop(request, self.hit_now, policy, identity, write=self.queue_writes)

    async def peek(self, request: Request, policy: Policy, identity: str) -> Verdict | None:
        return await self._off_loop(request, self.peek_now, policy, identity, write=False)

    async def _off_loop(
        self,
        request: Request,
        check: Callable[[Policy, str], Verdict],
        policy: Policy,
        identity: str,
        *,
        write: bool,
    ) -> Verdict | None:
        try:
            if self.in_database:
                async with get_admission(request).admit(write=write):
                    return await run_in_threadpool(check, policy, identity)
            return await run_in_threadpool(check, policy, identity)
        except StorageError:
            log.exception("rate-limit storage failed; letting the request through")
            return None


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def failed_sign_ins(request: Request) -> AsyncIterator[None]:
    """A dependency of the sign-in form: refuse (429) an address that has
    failed too often in this window; after the request, count its failure
    if it failed. Successful sign-ins cost nothing, so many people behind
    one NHS network address are not locked out by each other; password
    spraying across many accounts from one address is. It runs before the
    request's session and counts after that session has closed, so on
    SQLite it never waits for the write lock its own request holds. The
    per-email slow-down (app/services/sessions.py) still applies too."""
    limiter = limiter_of(request)
    identity = limiter.identity("address", client_address(request))
    verdict = await limiter.peek(request, limiter.sign_in, identity)
    if verdict is not None and not verdict.allowed:
        raise SignInThrottled(
            f"Too many failed sign-ins from your network. Wait {verdict.retry_after} seconds and try again.",
            retry_after=verdict.retry_after,
        )
    yield
    if getattr(request.state, "sign_in_failed", False):
        await limiter.hit(request, limiter.sign_in, identity)
