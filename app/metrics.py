"""Prometheus metrics at /metrics (prometheus-client).

- `hie_http_requests_total` and `hie_http_request_duration_seconds`, by
  method, route template (never the raw path, whose ids would make a
  series per record) and status, counted by app/observability.py.
- `hie_db_pool_*`: each engine's connection pool, read at scrape time.
  SQLite has two engines (writers and readers), PostgreSQL one.
- `hie_webhook_*`: the backlog, counted at scrape time: deliveries waiting
  to be sent, and events not yet fanned out, per subscription.

Several worker processes (`hie serve --workers N`): each has its own
counters, and a scrape reaches one of them, so `hie serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh folder where every worker writes its
counts, and a scrape adds them all up (prometheus-client's multiprocess
mode). The pool gauges are the answering process's own: each worker has a
pool of its own (DB_POOL_SIZE each). The backlog is the database's, the
same whoever answers.

Who may read it: with METRICS_TOKEN set, a scraper sending it as a bearer
token; without, only callers on the loopback address. Not "private
addresses": behind a load balancer every request arrives from one, and the
counts, routes and subscription ids are not for the public.
"""

import hmac
import ipaddress
import os
from collections.abc import Iterator
from functools import lru_cache

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, col, select

from app.api.deps import SessionDep
from app.db import Database
from app.models.event import Event
from app.models.webhook import DeliveryStatus, Webhook, WebhookDelivery
from app.request_info import client_address, settings_of

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Up to the webhook receivers' 10 seconds, and the slowest exports beyond.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LABELS = ("method", "route", "status")

requests_total = Counter("hie_http_requests_total", "HTTP requests answered.", LABELS)
request_seconds = Histogram(
    "hie_http_request_duration_seconds", "Time to answer an HTTP request.", LABELS, buckets=LATENCY_BUCKETS
)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    count, duration = _series(method, route, status)
    count.inc()
    duration.observe(seconds)


@lru_cache(maxsize=4096)  # bounded anyway: methods, route templates and statuses are few
def _series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The two series of one (method, route, status), looked up once:
    `labels()` checks and locks on every call, which showed on the cheapest
    requests (it and the histogram were most of /healthz's added time)."""
    return (
        requests_total.labels(method, route, str(status)),
        request_seconds.labels(method, route, str(status)),
    )


class DatabaseCollector(Collector):
    """The pool and the webhook backlog, read when scraped."""

    def __init__(self, database: Database, session: Session) -> None:
        self.database = database
        self.session = session

    def collect(self) -> Iterator[Metric]:
        yield from self._pools()
        yield from self._backlog()

    def _engines(self) -> dict[str, Engine]:
        if self.database.read_engine is self.database.write_engine:
            return {"main": self.database.write_engine}
        return {"write": self.database.write_engine, "read": self.database.read_engine}

    def _pools(self) -> Iterator[Metric]:
        families = {
            "size": GaugeMetricFamily("hie_db_pool_size", "Connections the pool keeps.", labels=["engine"]),
            "checked_out": GaugeMetricFamily(
                "hie_db_pool_checked_out", "Connections in use now.", labels=["engine"]
            ),
            "overflow": GaugeMetricFamily(
                "hie_db_pool_overflow", "Connections open beyond the pool's size.", labels=["engine"]
            ),
        }
        for name, engine in self._engines().items():
            pool = engine.pool
            if isinstance(pool, QueuePool):
                families["size"].add_metric([name], pool.size())
                families["checked_out"].add_metric([name], pool.checkedout())
                families["overflow"].add_metric([name], max(pool.overflow(), 0))
        yield from families.values()

    def _backlog(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "hie_webhook_pending_deliveries",
            "Deliveries waiting for their first or next attempt.",
            labels=["webhook"],
        )
        unfanned = GaugeMetricFamily(
            "hie_webhook_events_behind",
            "Events written since the worker last fanned out a subscription's deliveries "
            "(of any type: an upper bound on what it has still to send).",
            labels=["webhook"],
        )
        session = self.session
        counts = session.exec(
            select(WebhookDelivery.webhook_id, func.count())
            .where(col(WebhookDelivery.status) == DeliveryStatus.pending)
            .group_by(col(WebhookDelivery.webhook_id))
        ).all()
        last_event = session.exec(select(func.max(Event.id))).one() or 0
        cursors = session.exec(select(Webhook.id, Webhook.cursor).where(col(Webhook.active))).all()
        for webhook_id, count in counts:
            pending.add_metric([str(webhook_id)], count)
        for webhook_id, cursor in cursors:
            unfanned.add_metric([str(webhook_id)], max(last_event - cursor, 0))
        yield pending
        yield unfanned


def _allowed(request: Request) -> bool:
    token = settings_of(request).metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request, session: SessionDep) -> Response:
    if not _allowed(request):
        return Response("Forbidden\n", status_code=403, media_type="text/plain")
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.MultiProcessCollector(registry)  # every worker's counts, added up
    else:
        registry.register(_ProcessRegistry())
    registry.register(DatabaseCollector(request.app.state.database, session))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _ProcessRegistry(Collector):
    """This process's own metrics (the default registry: the request counts,
    and the process and platform collectors), inside a scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
