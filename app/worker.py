"""The webhook worker: `hie worker`, or a thread of `hie serve`.

One loop per worker does the database work (fan out, claim, settle: short
transactions) and hands the sending to a pool of `webhook_concurrency`
threads sharing one httpx.Client (its connections kept alive per receiver).
Claims are topped up as sends finish, so a slow receiver holds one thread,
not the round; the sends that finish together are settled in one
transaction. Threads, not asyncio: measured on this machine, an
httpx.AsyncClient spent about twice the CPU per request of the same client
in threads, more so the more requests were in flight (bench/webhook_rate.py
measures the worker as a whole).

Each POST's body is the event as the change feed shows it; its headers:
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body under the
subscription's secret>`, `X-HIE-Delivery` (the delivery's id, the same on
every attempt), `X-HIE-Event` (its type) and `X-HIE-Timestamp` (Unix
seconds of this attempt). The host is resolved again before sending (at
most every few seconds per host) and the request goes to the address that
was checked, so a name that has come to point inside is refused rather than
reached.
"""

import hashlib
import hmac
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import httpx

from app.config import Settings
from app.db import Database
from app.services import webhooks
from app.services.webhooks import Claimed, IPAddress, Outcome, Target, TargetRefused

log = logging.getLogger(__name__)

USER_AGENT = "HIE-Webhooks/1"
# A name is resolved at most this often; every send checks the addresses.
RESOLVE_SECONDS = 5.0
PRUNE_SECONDS = 3600.0
# After the first send of a round finishes, how long to wait for the others.
GATHER_SECONDS = 0.02
# Of a receiver's answer, only this much is read; its status is what counts.
MAX_ANSWER_BYTES = 64 * 1024


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(delivery: Claimed, host: str) -> dict[str, str]:
    return {
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-HIE-Delivery": str(delivery.id),
        "X-HIE-Event": delivery.event_type,
        "X-HIE-Timestamp": str(int(time.time())),
        "X-Hub-Signature-256": signature(delivery.secret, delivery.body),
    }


def _read_answer(response: httpx.Response, deadline: float) -> None:
    """Read a short answer to its end, so the connection is kept for the
    next send; a long or slow one is cut off (and its connection closed)."""
    read = 0
    try:
        for chunk in () if response.is_stream_consumed else response.iter_raw():
            read += len(chunk)
            if read > MAX_ANSWER_BYTES or time.monotonic() > deadline:
                break
    finally:
        response.close()


@dataclass
class Stats:
    delivered: int = 0
    failed_attempts: int = 0


@dataclass
class Worker:
    database: Database
    settings: Settings
    stats: Stats = field(default_factory=Stats)
    _resolved: dict[tuple[str, int], tuple[float, list[IPAddress]]] = field(default_factory=dict)
    _resolving: threading.Lock = field(default_factory=threading.Lock)
    _pruned_at: float = 0.0

    # --- the database's part -------------------------------------------------------

    def exchange(self, outcomes: list[Outcome], free: int) -> tuple[int, list[Claimed]]:
        """One transaction a round: write what came back, fan out new events,
        claim up to `free` deliveries. Returns (deliveries made, claimed)."""
        if not outcomes:
            with self.database.session(write=False) as session:
                if not webhooks.any_work(session):
                    return 0, []
        with self.database.transaction() as session:
            if outcomes:
                webhooks.settle(session, self.settings, outcomes)
            made = webhooks.fan_out(session, self.settings) if webhooks.pending_fan_out(session) else 0
            claimed = webhooks.claim(session, self.settings, free) if free else []
        self.stats.delivered += sum(o.delivered for o in outcomes)
        self.stats.failed_attempts += sum(not o.delivered for o in outcomes)
        return made, claimed

    def prune(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = time.monotonic()
        with self.database.session(write=False) as session:
            if not webhooks.anything_to_prune(session, self.settings):
                return  # no write transaction (SQLite's one writer) for nothing
        with self.database.transaction() as session:
            webhooks.prune(session, self.settings)

    # --- sending, in the pool's threads ------------------------------------------------

    def _addresses(self, target: Target) -> list[IPAddress]:
        key = (target.host, target.port)
        with self._resolving:
            cached = self._resolved.get(key)
        if cached is None or time.monotonic() - cached[0] > RESOLVE_SECONDS:
            cached = (time.monotonic(), webhooks.resolve(target.host, target.port))
            with self._resolving:
                self._resolved[key] = cached
        addresses = cached[1]
        if not self.settings.hie_webhooks_allow_private and any(webhooks.is_internal(a) for a in addresses):
            raise TargetRefused(f"{target.host} now points to an internal address: not sent.")
        return addresses

    def send(self, client: httpx.Client, delivery: Claimed) -> Outcome:
        deadline = time.monotonic() + self.settings.webhook_timeout_seconds
        try:
            target = webhooks.parse_target(delivery.url)
            address = self._addresses(target)[0]
            request = client.build_request(
                "POST",
                target.at(address),
                content=delivery.body,
                headers=headers_for(delivery, target.host_header),
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            response = client.send(request, stream=True)
            _read_answer(response, deadline)
        except TargetRefused as exc:
            return Outcome(delivery.id, delivery.attempts, False, None, f"Refused: {exc}")
        except (httpx.HTTPError, ValueError, OSError) as exc:
            return Outcome(delivery.id, delivery.attempts, False, None, f"{type(exc).__name__}: {exc}")
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return Outcome(delivery.id, delivery.attempts, ok, response.status_code, error)

    def client(self) -> httpx.Client:
        slots = self.settings.webhook_concurrency
        timeout = self.settings.webhook_timeout_seconds
        return httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            follow_redirects=False,
            trust_env=False,  # never through a proxy from the environment
        )

    # --- the loop ------------------------------------------------------------------

    def _finished(self, in_flight: set[Future[Outcome]]) -> set[Future[Outcome]]:
        """The sends that are done: the first to finish (waiting up to the poll
        interval), and those that finish a moment after it, so that one round
        of database work serves many deliveries, not one each."""
        if not in_flight:
            return set()
        done, waiting = wait(
            in_flight, timeout=self.settings.webhook_poll_seconds, return_when=FIRST_COMPLETED
        )
        if done and waiting:
            more, _ = wait(waiting, timeout=GATHER_SECONDS)
            done |= more
        return done

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set; then the sends in flight finish and are written."""
        slots = self.settings.webhook_concurrency
        in_flight: set[Future[Outcome]] = set()
        with self.client() as client, ThreadPoolExecutor(slots, thread_name_prefix="webhook-send") as pool:
            while not stop.is_set() or in_flight:
                finished = self._finished(in_flight)
                in_flight -= finished
                free = 0 if stop.is_set() else slots - len(in_flight)
                outcomes = [future.result() for future in finished]
                made, claimed = self.exchange(outcomes, min(free, self.settings.webhook_batch))
                in_flight |= {pool.submit(self.send, client, delivery) for delivery in claimed}
                self.prune()
                if not (in_flight or made or stop.is_set()):
                    stop.wait(self.settings.webhook_poll_seconds)


def run_forever(database: Database, settings: Settings, stop: threading.Event) -> Stats:
    """Run a worker until `stop`; a failure (the database away) is logged and retried."""
    worker = Worker(database, settings)
    while not stop.is_set():
        try:
            worker.run(stop)
        except Exception:
            log.exception("the webhook worker failed; starting again in 5 seconds")
            stop.wait(5)
    return worker.stats


def start_in_thread(settings: Settings) -> tuple[threading.Thread, threading.Event]:
    """The worker `hie serve` runs beside uvicorn, with its own engines."""
    stop = threading.Event()
    database = Database(settings)

    def target() -> None:
        try:
            run_forever(database, settings, stop)
        finally:
            database.dispose()

    thread = threading.Thread(target=target, name="webhook-worker", daemon=True)
    thread.start()
    return thread, stop
