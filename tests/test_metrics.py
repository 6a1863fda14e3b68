"""Prometheus metrics at /metrics: request counts and latencies by route
template, method and status; the database pools; the webhook backlog. Only
loopback callers may read it, or, with METRICS_TOKEN set, its bearers."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.models.webhook import WebhookCreate
from app.services import webhooks
from tests.factories import World, admin_principal

LOOPBACK = ("127.0.0.1", 50000)
TOKEN = "a-metrics-token-long-enough-to-be-secret-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def loopback(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=LOOPBACK)


def scrape(client: TestClient, **headers: str) -> dict[Any, float]:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def test_requests_are_counted_by_route_template(loopback: TestClient, world: World) -> None:
    route = "/api/v1/adoptions/{adoption_id}"
    labels = {"method": "GET", "route": route, "status": "200"}
    before = scrape(loopback)
    for _ in range(3):
        loopback.get(f"/api/v1/adoptions/{world.adoption.id}", headers=world.auth("trust"))
    loopback.get("/no/such/page/12345")
    after = scrape(loopback)
    assert (
        value(after, "hie_http_requests_total", **labels) - value(before, "hie_http_requests_total", **labels)
        == 3
    )
    count = "hie_http_request_duration_seconds_count"
    assert value(after, count, **labels) - value(before, count, **labels) == 3
    assert value(after, "hie_http_request_duration_seconds_bucket", **labels, le="+Inf") >= 3
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, "hie_http_requests_total", **unmatched) >= 1
    assert not any(str(world.adoption.id) in str(labels) for _, labels in after)


def test_the_database_pools_are_reported(loopback: TestClient, app: FastAPI) -> None:
    found = scrape(loopback)
    engines = ["write", "read"] if app.state.database.dialect == "sqlite" else ["main"]
    for engine in engines:
        assert value(found, "hie_db_pool_size", engine=engine) == app.state.settings.db_pool_size
        assert ("hie_db_pool_checked_out", frozenset({("engine", engine)})) in found
        assert ("hie_db_pool_overflow", frozenset({("engine", engine)})) in found


def test_the_webhook_backlog_is_counted_when_scraped(
    loopback: TestClient, app: FastAPI, session: Session, world: World
) -> None:
    hook, _ = webhooks.subscribe(
        session,
        admin_principal(world.trust),
        WebhookCreate(url="https://93.184.216.34/in", organisation_id=world.trust.id),
        app.state.settings,
    )
    webhook = str(hook.id)
    found = scrape(loopback)
    assert value(found, "hie_webhook_events_behind", webhook=webhook) == 1  # its own webhook.created
    assert value(found, "hie_webhook_pending_deliveries", webhook=webhook) == 0
    webhooks.fan_out(session, app.state.settings)
    found = scrape(loopback)
    assert value(found, "hie_webhook_events_behind", webhook=webhook) == 0
    assert value(found, "hie_webhook_pending_deliveries", webhook=webhook) == 1


def test_only_loopback_callers_may_read_it_without_a_token(client: TestClient, loopback: TestClient) -> None:
    assert client.get("/metrics").status_code == 403  # the test client's address is no loopback
    behind_a_proxy = TestClient(client.app, client=("10.0.0.7", 50000))
    assert behind_a_proxy.get("/metrics").status_code == 403
    assert loopback.get("/metrics").status_code == 200


def test_with_a_token_only_its_bearers_may(app: FastAPI, client: TestClient, loopback: TestClient) -> None:
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": TOKEN})
    assert loopback.get("/metrics").status_code == 403  # even from loopback
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_stay_out_of_the_api_description(client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    assert "/api/v1/metrics/funnel" in client.get("/openapi.json").json()["paths"]


def test_made_up_methods_and_paths_make_no_new_series(loopback: TestClient) -> None:
    for number in range(3):
        loopback.request(f"BREW{number}", f"/probe/{number}")
    found = scrape(loopback)
    assert value(found, "hie_http_requests_total", method="other", route="unmatched", status="404") >= 3
    assert not any("BREW" in str(labels) or "/probe/" in str(labels) for _, labels in found)
