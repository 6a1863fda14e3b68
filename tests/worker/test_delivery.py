"""The webhook worker end to end, with real commits, against a real HTTP
receiver on 127.0.0.1: signed bodies, retries through a receiver that fails
for a while, order per resource, a worker killed mid-delivery (SIGKILL) and
started again, and two workers at once sending each event once."""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from app.config import Settings
from app.db import Database
from app.models.event import Event
from app.models.webhook import DeliveryStatus, Webhook, WebhookCreate, WebhookDelivery
from app.services import events, webhooks
from app.worker import run_forever
from tests.factories import admin_principal, make_org

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Arrival:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A partner's endpoint: records every request and answers as told."""

    arrivals: list[Arrival] = field(default_factory=list)
    failures_left: int = 0  # answers 500 to this many requests first
    hold_seconds: float = 0.0  # waits this long before answering
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, float]:
        with self.lock:
            status = 500 if self.failures_left > 0 else 200
            self.failures_left -= 1
            self.arrivals.append(Arrival(headers, body, status))
        return status, self.hold_seconds

    def accepted(self) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.status == 200]

    def accepted_events(self) -> set[int]:
        return {a.event["id"] for a in self.accepted()}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = self.rfile.read(length)
            if len(body) < length:
                return  # the sender died mid-request: nothing arrived that a partner could verify
            status, hold = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            time.sleep(hold)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # the worker opens dozens of connections at once

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hie/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


FAST = {
    "hie_webhooks_allow_private": True,  # the receiver is on 127.0.0.1
    "webhook_backoff_seconds": 0.05,
    "webhook_backoff_max_seconds": 0.4,
    "webhook_poll_seconds": 0.05,
    "webhook_lease_seconds": 2.0,
    "webhook_timeout_seconds": 5.0,
}


def fast(database: Database) -> Settings:
    return database.settings.model_copy(update=FAST)


def subscribed(database: Database, url: str) -> Webhook:
    settings = fast(database)
    with database.transaction() as session:
        org = make_org(session, "health_innovation_network", "north_west")
        webhook, _ = webhooks.subscribe(session, admin_principal(org), WebhookCreate(url=url), settings)
    return webhook


def write_events(database: Database, resources: list[uuid.UUID], per_resource: int) -> None:
    """Events of each resource, interleaved, each change committed on its own."""
    for n in range(per_resource):
        for resource in resources:
            with database.transaction() as session:
                events.record(session, None, "test.changed", ("test", resource), {"n": n})


def all_sent(database: Database) -> bool:
    # Behind first, then waiting: each read may see a newer commit than the one
    # before it, and a fan-out that lands between them must not go uncounted.
    with database.session(write=False) as session:
        behind = webhooks.pending_fan_out(session)
        waiting = session.exec(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status != DeliveryStatus.delivered)
        ).one()
    return waiting == 0 and not behind


def sent_to(database: Database, webhook: Webhook) -> set[int]:
    """The events a subscription gets: all after it was made (every one here is for all to see)."""
    with database.session(write=False) as session:
        return set(session.exec(select(Event.id).where(col(Event.id) > webhook.cursor)).all())


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


class InProcess:
    """A worker in a thread of the test, stopped like `hie serve` stops it."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_forever, args=(database, settings, self.stop), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def start_worker(database: Database, **env: str) -> subprocess.Popen[bytes]:
    """`hie worker` as its own process, on the test's database."""
    settings = {f"{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v) for k, v in FAST.items()}
    environment = {
        **os.environ,
        **settings,
        "DATABASE_URL": database.settings.database_url,
        "LOG_LEVEL": "warning",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # It says so once its SIGTERM handler is in place: a stop sent earlier
    # would kill it before it could report what it delivered.
    assert process.stderr is not None
    for line in process.stderr:
        if b"Delivering webhooks" in line:
            return process
    raise AssertionError(f"the worker did not start: {process.communicate()}")


def stop_worker(process: subprocess.Popen[bytes], *, killed: bool = False) -> str:
    """Stop a worker as an operator would (SIGTERM) and return what it
    printed, its last line saying how many it delivered; a worker that did
    not say so fails here with what it wrote to stderr (unless the test
    `killed` it)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    said = out.decode()
    if not killed:
        lines = said.strip().splitlines()
        assert lines and lines[-1].startswith("stopped:"), (process.returncode, said, err.decode()[-3000:])
    return said


def test_each_event_arrives_signed_as_the_feed_shows_it(fresh_database: Database, receiver: Receiver) -> None:
    webhook = subscribed(fresh_database, receiver.url)
    write_events(fresh_database, [uuid.uuid4() for _ in range(3)], 4)
    worker = InProcess(fresh_database, fast(fresh_database))
    try:
        wait_until(lambda: all_sent(fresh_database), 60, "every event is delivered")
    finally:
        worker.close()
    arrivals = receiver.accepted()
    assert {a.event["id"] for a in arrivals} == sent_to(fresh_database, webhook)
    with fresh_database.session(write=False) as session:
        deliveries = {str(d.id): d.event_id for d in session.exec(select(WebhookDelivery)).all()}
        stored = {e.id: e for e in session.exec(select(Event)).all()}
    for arrival in arrivals:
        expected = hmac.new(webhook.secret.encode(), arrival.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(arrival.headers["x-hub-signature-256"], f"sha256={expected}")
        assert arrival.headers["content-type"] == "application/json"
        event = arrival.event
        assert deliveries[arrival.headers["x-hie-delivery"]] == event["id"]
        assert arrival.headers["x-hie-event"] == event["type"]
        assert abs(int(arrival.headers["x-hie-timestamp"]) - time.time()) < 120
        assert arrival.body == events.to_public(stored[event["id"]]).model_dump_json().encode()
    tampered = arrivals[0].body + b" "  # one byte more and the signature no longer holds
    forged = hmac.new(webhook.secret.encode(), tampered, hashlib.sha256).hexdigest()
    assert arrivals[0].headers["x-hub-signature-256"] != f"sha256={forged}"


def test_a_receiver_that_fails_for_a_while_gets_everything_in_order(
    fresh_database: Database, receiver: Receiver
) -> None:
    webhook = subscribed(fresh_database, receiver.url)
    resources = [uuid.uuid4() for _ in range(5)]
    receiver.failures_left = 25  # every resource's first event fails, several times over
    write_events(fresh_database, resources, 6)
    worker = InProcess(fresh_database, fast(fresh_database))
    try:
        wait_until(lambda: all_sent(fresh_database), 60, "every event is delivered")
    finally:
        worker.close()
    assert len([a for a in receiver.arrivals if a.status == 500]) == 25
    accepted = receiver.accepted()
    per_resource: dict[str, list[int]] = defaultdict(list)
    for arrival in accepted:
        per_resource[arrival.event["resource"]["id"]].append(arrival.event["id"])
    assert receiver.accepted_events() == sent_to(fresh_database, webhook)
    for resource in resources:
        got = per_resource[str(resource)]
        assert len(got) == 6
        assert got == sorted(got), f"out of order for {resource}: {got}"
    with fresh_database.session(write=False) as session:
        retried = session.exec(select(func.max(WebhookDelivery.attempts))).one()
    assert retried is not None and retried > 1


def test_a_worker_killed_mid_delivery_loses_nothing(fresh_database: Database, receiver: Receiver) -> None:
    webhook = subscribed(fresh_database, receiver.url)
    write_events(fresh_database, [uuid.uuid4() for _ in range(8)], 3)
    receiver.hold_seconds = 30.0  # every answer hangs: the worker is mid-delivery
    first = start_worker(fresh_database)
    try:
        wait_until(lambda: len(receiver.arrivals) >= 3, 60, "the worker is sending")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop_worker(first, killed=True)
    in_flight = {a.event["id"] for a in receiver.arrivals}
    receiver.hold_seconds = 0.0
    receiver.arrivals.clear()
    second = start_worker(fresh_database)
    try:
        wait_until(lambda: all_sent(fresh_database), 60, "every event is delivered after the restart")
    finally:
        out = stop_worker(second)
    assert out.strip().splitlines()[-1].startswith("stopped:")
    assert receiver.accepted_events() == sent_to(fresh_database, webhook)
    assert in_flight <= receiver.accepted_events()  # what the killed worker was sending came again
    with fresh_database.session(write=False) as session:
        again = session.exec(
            select(func.count()).select_from(WebhookDelivery).where(col(WebhookDelivery.attempts) >= 2)
        ).one()
    assert again >= len(in_flight)


def test_two_workers_send_each_event_once(fresh_database: Database, receiver: Receiver) -> None:
    webhook = subscribed(fresh_database, receiver.url)
    resources = [uuid.uuid4() for _ in range(40)]
    write_events(fresh_database, resources, 2)
    # Leases long enough that none runs out: a second send would then be by design (at least once).
    workers = [start_worker(fresh_database, WEBHOOK_LEASE_SECONDS="30") for _ in range(2)]
    try:
        write_events(fresh_database, resources, 2)  # more while both run
        wait_until(lambda: all_sent(fresh_database), 90, "every event is delivered")
    finally:
        outputs = [stop_worker(w) for w in workers]
    counted = Counter(a.event["id"] for a in receiver.arrivals)
    deliveries = Counter(a.headers["x-hie-delivery"] for a in receiver.arrivals)
    assert set(counted) == sent_to(fresh_database, webhook)
    assert max(counted.values()) == 1, [e for e, n in counted.items() if n > 1]
    assert max(deliveries.values()) == 1
    shares = [int(out.strip().splitlines()[-1].split()[1]) for out in outputs]
    assert sum(shares) == len(receiver.arrivals)


def test_hie_serve_runs_a_worker_beside_the_server(fresh_database: Database, receiver: Receiver) -> None:
    from app.worker import start_in_thread

    webhook = subscribed(fresh_database, receiver.url)
    write_events(fresh_database, [uuid.uuid4()], 3)
    thread, stop = start_in_thread(fast(fresh_database))  # what `hie serve` starts before uvicorn
    try:
        wait_until(lambda: all_sent(fresh_database), 60, "every event is delivered")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert receiver.accepted_events() == sent_to(fresh_database, webhook)
