"""Rate limits: per API key on the API, per client address for failed
sign-ins; 429 with Retry-After and the IETF RateLimit headers; counters that
hold across processes, in the database and in Redis."""

import asyncio
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from limits.storage import RedisStorage
from sqlmodel import Session, func, select

from app.config import Settings
from app.db import Admission, Database
from app.models import RateLimitCounter
from app.models.user import UserCreate
from app.rate_limits import PRUNE_BATCH, DatabaseStorage, Policy, RateLimiter, Verdict, make_storage
from app.services import users
from tests.api.helpers import assert_problem
from tests.factories import World, make_key, make_org
from tests.servers import running_servers
from tests.web.conftest import PASSWORD, csrf_token

REDIS_URL = "redis://127.0.0.1:6379/0"
RATE_LIMIT = re.compile(r'^"api";r=(\d+);t=(\d+)$')


def limit(app: FastAPI, database: Database, **values: str) -> None:
    """Give the app's limiter other limits (still counting in memory)."""
    settings = database.settings.model_copy(update={"rate_limit_prefix": uuid.uuid4().hex, **values})
    app.state.rate_limiter = RateLimiter(settings, database)


def remaining(response: httpx.Response) -> int:
    match = RATE_LIMIT.match(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    return int(match.group(1))


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of the test's own on the local Redis, cleaned up after."""
    prefix = f"hie-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


# --- the API -------------------------------------------------------------------------------


def test_a_key_over_its_quota_gets_429_with_the_headers(
    app: FastAPI, client: TestClient, database: Database, world: World
) -> None:
    limit(app, database, api_rate_limit="3/minute")
    answers = [client.get("/api/v1/stages", headers=world.auth("trust")) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    for answer in answers:
        assert answer.headers["RateLimit-Policy"] == '"api";q=3;w=60'
    assert [remaining(a) for a in answers] == [2, 1, 0]

    refused = client.get("/api/v1/stages", headers=world.auth("trust"))
    body = assert_problem(refused, 429)
    assert body["type"].endswith("/too-many-requests")
    assert "3 requests in 60 seconds" in body["detail"]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.headers["RateLimit-Policy"] == '"api";q=3;w=60'
    match = RATE_LIMIT.match(refused.headers["RateLimit"])
    assert match and int(match.group(1)) == 0 and int(match.group(2)) <= retry_after

    # Writes, and errors, count and are refused alike; other keys have their own quota.
    assert_problem(client.post("/api/v1/organisations", json={}, headers=world.auth("trust")), 429)
    assert client.get("/api/v1/stages", headers=world.auth("other_trust")).status_code == 200
    # The same organisation's other key too: the limit is per key.
    assert client.get("/api/v1/stages", headers=world.auth("trust_read_only")).status_code == 200


def test_every_answer_to_a_key_carries_the_headers(client: TestClient, world: World) -> None:
    missing = client.get(f"/api/v1/innovations/{uuid.uuid4()}", headers=world.auth("trust"))
    assert missing.status_code == 404
    assert missing.headers["RateLimit-Policy"] == '"api";q=600;w=60'
    unknown = client.get("/api/v1/stages", headers={"Authorization": "Bearer hie_not_a_key"})
    assert unknown.status_code == 401
    assert "RateLimit" in unknown.headers  # counted: guessing keys is limited too
    # No key, no quota to speak of (the public application form has its own limit).
    assert "RateLimit" not in client.get("/api/v1/stages").headers
    assert "RateLimit" not in client.get("/healthz").headers


def test_a_failing_storage_lets_requests_through(
    app: FastAPI, client: TestClient, database: Database, world: World
) -> None:
    limit(app, database, rate_limit_storage="redis://127.0.0.1:1/0")  # nothing listens there
    answer = client.get("/api/v1/stages", headers=world.auth("trust"))
    assert answer.status_code == 200
    assert "RateLimit" not in answer.headers


def test_openapi_declares_the_429_and_its_headers(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/innovations"]["get"]
    headers = operation["responses"]["429"]["headers"]
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(headers)


# --- signing in to the pages --------------------------------------------------------------


def fail_sign_in(client: TestClient, token: str, email: str = "nobody@example.nhs.uk") -> httpx.Response:
    return client.post("/sign-in", data={"email": email, "password": "wrong", "csrf_token": token})


def test_failed_sign_ins_from_one_address_are_limited(
    app: FastAPI, client: TestClient, database: Database, session: Session, world: World
) -> None:
    limit(app, database, sign_in_rate_limit="3/minute")
    email = "trust@example.nhs.uk"
    users.create(
        session,
        None,
        UserCreate(email=email, name="Trust", organisation_id=world.trust.id, role="member"),
        PASSWORD,
    )
    session.commit()
    token = csrf_token(client)
    # Successful sign-ins cost nothing: many people share one NHS network address.
    for _ in range(5):
        ok = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert ok.status_code == 200 and ok.url.path == "/", ok.text  # followed the 303 home
        client.post("/sign-out", data={"csrf_token": token})
    # Failures for several addresses (spraying) count against the one client address.
    for n in range(3):
        assert fail_sign_in(client, token, f"person{n}@example.nhs.uk").status_code == 422

    refused = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins" in refused.text
    assert "hie_session" not in client.cookies


# --- the database storage -----------------------------------------------------------------


def test_the_database_storage_counts_atomically(fresh_database: Database) -> None:
    storage = DatabaseStorage(fresh_database)
    key = "hie/api/concurrent"

    def hit() -> None:
        for _ in range(25):
            storage.incr(key, 60)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.get(key) == 200
    assert time.time() + 55 < storage.get_expiry(key) <= time.time() + 60
    storage.clear(key)
    assert storage.get(key) == 0


def test_the_database_storage_starts_a_new_window_and_prunes_ended_ones(fresh_database: Database) -> None:
    storage = DatabaseStorage(fresh_database)
    for n in range(PRUNE_BATCH + 5):  # windows of one second
        storage.incr(f"old-{n}", 1)
    assert storage.incr("window", 1) == 1
    assert storage.incr("window", 1, amount=2) == 3
    time.sleep(1.1)
    assert storage.get("window") == 0  # the window has ended
    assert storage.incr("window", 60) == 1  # and a new one begins
    storage.incr("another", 60)
    with fresh_database.session() as session:
        left = session.exec(select(func.count()).select_from(RateLimitCounter)).one()
    # Each hit deleted up to a batch of ended windows: two hits, all the old ones.
    assert left == 2
    assert storage.check()
    assert storage.reset() == 2


class CountingAdmission(Admission):
    """The app's admission, counting what is inside it at each moment."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.inside = 0

    @asynccontextmanager
    async def admit(self, *, write: bool) -> AsyncIterator[None]:
        async with super().admit(write=write):
            self.inside += 1
            try:
                yield
            finally:
                self.inside -= 1


def test_the_database_counters_are_admitted_like_a_request(
    app: FastAPI, client: TestClient, fresh_database: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counter takes its connection from the requests' pool. Counted outside
    the admission (app/db.py), every thread could wait on an empty pool while
    the requests that hold its connections wait for a thread: on PostgreSQL
    the service stalled for the pool's 30 s timeout under 32 connections
    (bench/scale.py)."""
    settings = fresh_database.settings.model_copy(
        update={"rate_limit_storage": None, "redis_url": None, "rate_limit_prefix": uuid.uuid4().hex}
    )
    limiter = RateLimiter(settings, fresh_database)
    assert isinstance(limiter.storage, DatabaseStorage)
    admission = CountingAdmission(fresh_database)
    inside: list[int] = []
    for name in ("hit_now", "peek_now"):
        counted = getattr(limiter, name)

        def spy(policy: Policy, identity: str, counted: Any = counted) -> Verdict:
            inside.append(admission.inside)
            return counted(policy, identity)

        monkeypatch.setattr(limiter, name, spy)
    app.state.rate_limiter, app.state.admission = limiter, admission

    answer = client.get("/api/v1/stages", headers=world.auth("trust"))
    assert answer.status_code == 200 and "RateLimit" in answer.headers
    request = Request({"type": "http", "app": app, "method": "POST", "path": "/sign-in", "headers": []})
    asyncio.run(limiter.peek(request, limiter.sign_in, "an address"))
    assert inside == [1, 1]  # the API key's count, then the sign-in check: each admitted


def test_the_storage_is_redis_when_redis_url_is_set_else_the_database(database: Database) -> None:
    url = database.settings.database_url
    without = Settings(database_url=url, redis_url=None, rate_limit_storage=None)
    assert isinstance(make_storage(without, database), DatabaseStorage)
    with_redis = Settings(database_url=url, redis_url=REDIS_URL, rate_limit_storage=None)
    assert isinstance(make_storage(with_redis, database), RedisStorage)


# --- across processes ---------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["database", "redis"])
def test_the_limits_hold_across_two_processes(
    storage: str, fresh_database: Database, tmp_path: Path, redis_prefix: str
) -> None:
    with fresh_database.transaction() as session:
        trust = make_org(session, "nhs_trust")
        key = make_key(session, trust)
    env = {"API_RATE_LIMIT": "6/minute", "SIGN_IN_RATE_LIMIT": "4/minute", "RATE_LIMIT_PREFIX": redis_prefix}
    if storage == "redis":
        env["REDIS_URL"] = REDIS_URL
    headers = {"Authorization": f"Bearer {key}"}

    with running_servers(fresh_database.settings.database_url, tmp_path, env) as (first, second):
        answers = [httpx.get(f"{base}/api/v1/stages", headers=headers) for base in [first, second] * 3]
        assert [a.status_code for a in answers] == [200] * 6
        # One count, whichever process answers.
        assert [remaining(a) for a in answers] == [5, 4, 3, 2, 1, 0]
        for base in (first, second):
            refused = httpx.get(f"{base}/api/v1/stages", headers=headers)
            assert_problem(refused, 429)
            assert int(refused.headers["Retry-After"]) >= 1

        with httpx.Client() as browser:  # one browser: the CSRF cookie is the same on both ports
            page = browser.get(f"{first}/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            form = {"email": "nobody@example.nhs.uk", "password": "wrong", "csrf_token": token.group(1)}
            tries = [browser.post(f"{base}/sign-in", data=form) for base in [first, second] * 2]
            assert [t.status_code for t in tries] == [422] * 4
            assert browser.post(f"{second}/sign-in", data=form).status_code == 429
            assert browser.post(f"{first}/sign-in", data=form).status_code == 429

    if storage == "redis":
        stored = redis.Redis.from_url(REDIS_URL).keys(f"*{redis_prefix}*")
        assert stored, "the counters were kept in Redis"
    else:
        with fresh_database.session() as session:
            assert session.exec(select(func.count()).select_from(RateLimitCounter)).one() == 2
