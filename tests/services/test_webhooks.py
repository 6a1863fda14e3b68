"""Webhook subscriptions and the worker's rows: which URLs are accepted, what
each subscription is sent (what its organisation may see, of its types), and
how deliveries are claimed, fenced, retried and given up."""

import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from app.auth import Principal
from app.config import Settings
from app.db import Database
from app.errors import Forbidden, ValidationFailed
from app.models.base import as_utc, utcnow
from app.models.event import Event
from app.models.webhook import DeliveryStatus, Webhook, WebhookCreate, WebhookDelivery
from app.services import events, webhooks
from app.services.pagination import PageRequest
from app.worker import Worker
from tests.factories import (
    World,
    admin_principal,
    make_adoption,
    make_innovation,
    make_key,
    make_org,
    principal_for,
)

PUBLIC = "93.184.216.34"  # a global address (example.com's)
RECEIVER = f"https://{PUBLIC}/hooks"

INTERNAL = [
    "127.0.0.1",  # loopback
    "10.1.2.3",  # private
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # shared (carrier-grade NAT)
    "0.0.0.0",  # unspecified
    "240.0.0.1",  # reserved
    "224.0.0.251",  # multicast
    "[::1]",
    "[fe80::1]",
    "[fd00::5]",  # unique local
    "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
]


def settings_with(database: Database, **values: Any) -> Settings:
    return database.settings.model_copy(update=values)


@pytest.fixture
def settings(database: Database) -> Settings:
    return settings_with(database, hie_webhooks_allow_private=False)


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Host names the resolver answers with the given address (others resolve as usual)."""
    fake: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in fake:
            family = socket.AF_INET6 if ":" in fake[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (fake[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield fake


def subscribe(
    session: Session, principal: Principal, settings: Settings, url: str = RECEIVER, **values: Any
) -> tuple[Webhook, str]:
    return webhooks.subscribe(session, principal, WebhookCreate(url=url, **values), settings)


# --- which URLs ---------------------------------------------------------------------


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused_unless_allowed(
    session: Session, world: World, settings: Settings, database: Database, address: str
) -> None:
    principal = principal_for(session, world.keys["facilitator"])
    with pytest.raises(ValidationFailed) as refused:
        subscribe(session, principal, settings, f"http://{address}:8080/hooks")
    assert refused.value.errors[0]["field"] == "body.url"
    assert "internal address" in refused.value.errors[0]["message"]
    allowed = settings_with(database, hie_webhooks_allow_private=True)
    webhook, _ = subscribe(session, principal, allowed, f"http://{address}:8080/hooks")
    assert webhook.url == f"http://{address}:8080/hooks"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://93.184.216.34/hooks", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("https:///no-host", "no host"),
        ("https://user:pass@93.184.216.34/", "user name and password"),
        ("https://93.184.216.34:99999/", "valid host and port"),
        ("https://93.184.216.34/a b", "spaces"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
    ],
)
def test_urls_that_are_not_http_targets_are_refused(
    session: Session, world: World, database: Database, url: str, says: str
) -> None:
    principal = principal_for(session, world.keys["facilitator"])
    allowed = settings_with(database, hie_webhooks_allow_private=True)
    with pytest.raises(ValidationFailed) as refused:
        subscribe(session, principal, allowed, url)
    assert says in refused.value.errors[0]["message"]


def test_names_are_resolved_and_refused_if_any_address_is_internal(
    session: Session, world: World, settings: Settings, names: dict[str, str]
) -> None:
    principal = principal_for(session, world.keys["facilitator"])
    names["hooks.partner.example"] = PUBLIC
    names["sneaky.partner.example"] = "10.0.0.7"
    webhook, _ = subscribe(session, principal, settings, "https://hooks.partner.example/in")
    assert webhook.url == "https://hooks.partner.example/in"
    with pytest.raises(ValidationFailed):
        subscribe(session, principal, settings, "https://sneaky.partner.example/in")
    with pytest.raises(ValidationFailed):
        subscribe(session, principal, settings, "http://localhost:8000/in")  # the real resolver: loopback


def test_a_name_that_later_points_inside_is_refused_at_delivery(
    session: Session, world: World, settings: Settings, names: dict[str, str]
) -> None:
    names["hooks.partner.example"] = PUBLIC
    subscribe(
        session, principal_for(session, world.keys["trust"]), settings, "http://hooks.partner.example/in"
    )
    make_innovation(session, world.trust, name="Sent later")
    webhooks.fan_out(session, settings)
    claimed = webhooks.claim(session, settings, 10)
    assert claimed
    names["hooks.partner.example"] = "127.0.0.1"  # DNS now points inside

    sent: list[httpx.Request] = []

    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        outcomes = [Worker(None, settings).send(client, c) for c in claimed]  # type: ignore[arg-type]
    assert sent == []
    assert all(not o.delivered and o.error and o.error.startswith("Refused") for o in outcomes)
    webhooks.settle(session, settings, outcomes)
    delivery = session.get(WebhookDelivery, claimed[0].id)
    assert delivery is not None
    session.refresh(delivery)
    assert delivery.status == DeliveryStatus.pending and "internal address" in (delivery.last_error or "")


def test_delivery_goes_to_the_address_that_was_checked(
    session: Session, world: World, settings: Settings, names: dict[str, str]
) -> None:
    names["hooks.partner.example"] = PUBLIC
    subscribe(
        session,
        principal_for(session, world.keys["trust"]),
        settings,
        "https://hooks.partner.example:8443/in?x=1",
    )
    make_innovation(session, world.trust, name="Pinned")
    webhooks.fan_out(session, settings)
    claimed = webhooks.claim(session, settings, 10)
    sent: list[httpx.Request] = []

    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(204))
    with httpx.Client(transport=transport) as client:
        outcomes = [Worker(None, settings).send(client, c) for c in claimed]  # type: ignore[arg-type]
    assert all(o.delivered and o.status_code == 204 for o in outcomes)
    request = sent[0]
    assert str(request.url) == f"https://{PUBLIC}:8443/in?x=1"
    assert request.headers["host"] == "hooks.partner.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.partner.example"


# --- subscriptions ----------------------------------------------------------------------


def test_the_secret_is_given_once_and_kept_only_to_sign(
    session: Session, world: World, settings: Settings
) -> None:
    principal = principal_for(session, world.keys["trust"])
    webhook, secret = subscribe(session, principal, settings)
    assert secret.startswith("whsec_") and len(secret) > 40
    assert webhook.secret == secret
    assert "secret" not in webhooks.to_public(webhook).model_dump()
    created = session.exec(select(Event).where(Event.resource_id == webhook.id)).one()
    assert created.type == "webhook.created" and secret not in str(created.data)
    assert created.restricted and created.subject_org_id == world.trust.id


def test_only_admins_subscribe_for_another_organisation(
    session: Session, world: World, settings: Settings
) -> None:
    trust = principal_for(session, world.keys["trust"])
    with pytest.raises(Forbidden):
        subscribe(session, trust, settings, organisation_id=world.other_trust.id)
    admin = principal_for(session, world.keys["admin"])
    webhook, _ = subscribe(session, admin, settings, organisation_id=world.other_trust.id)
    assert webhook.organisation_id == world.other_trust.id
    assert webhooks.list_(session, trust, None, PageRequest()).items == []


# --- what each subscription gets ------------------------------------------------------------


def _delivered_events(session: Session, webhook: Webhook) -> list[int]:
    rows = session.exec(
        select(WebhookDelivery.event_id)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(col(WebhookDelivery.event_id))
    ).all()
    return list(rows)


def _feed_ids(session: Session, principal: Principal, after: int) -> list[int]:
    found: list[int] = []
    while True:
        page = events.feed(session, principal, PageRequest(limit=100), after)
        found += [item.id for item in page.items]
        if len(page.items) < 100:
            return found
        after = page.items[-1].id


@pytest.mark.parametrize("who", ["trust", "other_trust", "supplier", "facilitator", "admin"])
def test_a_subscription_gets_what_its_organisation_sees_in_the_feed(
    session: Session, world: World, settings: Settings, who: str
) -> None:
    read_key = principal_for(session, _read_key(session, world, who))
    principal = principal_for(session, world.keys[who])
    webhook, _ = subscribe(session, principal, settings)
    start = webhook.cursor
    # Changes all round: adoptions (restricted), a draft, another organisation's key and webhook.
    make_adoption(session, world.innovation, make_org(session, "primary_care", "london"))
    make_adoption(
        session, make_innovation(session, world.supplier, name="Another"), world.trust, stage="co_design"
    )
    make_innovation(session, world.other_trust, name="Draft elsewhere", status="draft")
    subscribe(session, principal_for(session, world.keys["other_facilitator"]), settings)
    made = webhooks.fan_out(session, settings)
    delivered = _delivered_events(session, webhook)
    assert delivered == _feed_ids(session, read_key, start)  # the feed's visibility, of a read key
    assert made >= len(delivered) > 0
    assert webhooks.fan_out(session, settings) == 0  # nothing twice


def _read_key(session: Session, world: World, who: str) -> str:
    org = {
        "trust": world.trust,
        "other_trust": world.other_trust,
        "supplier": world.supplier,
        "facilitator": world.network,
        "admin": world.exchange,
    }[who]
    return make_key(session, org, ("read",))


def test_event_types_choose_what_is_sent(session: Session, world: World, settings: Settings) -> None:
    admin = principal_for(session, world.keys["admin"])
    trust = world.trust.id  # which sees its adoptions' events
    exact, _ = subscribe(
        session, admin, settings, event_types=["adoption.stage_changed"], organisation_id=trust
    )
    family, _ = subscribe(
        session, admin, settings, event_types=["innovation.*", "innovation.*"], organisation_id=trust
    )
    everything, _ = subscribe(session, admin, settings, event_types=["*"], organisation_id=trust)
    assert family.event_types == ["innovation.*"] and everything.event_types == []
    make_adoption(
        session, make_innovation(session, world.supplier, name="Typed"), world.trust, stage="co_design"
    )
    webhooks.fan_out(session, settings)

    def types(webhook: Webhook) -> set[str]:
        return set(
            session.exec(
                select(Event.type)
                .join(WebhookDelivery, col(WebhookDelivery.event_id) == col(Event.id))
                .where(WebhookDelivery.webhook_id == webhook.id)
            ).all()
        )

    assert types(exact) == {"adoption.stage_changed"}
    assert types(family) == {"innovation.created"}
    assert {"adoption.created", "adoption.stage_changed", "innovation.created"} <= types(everything)


# --- claiming, fencing, retrying ------------------------------------------------------------


def _events_for(session: Session, resources: list[uuid.UUID], per_resource: int) -> None:
    for n in range(per_resource):
        for resource in resources:
            events.record(session, None, "test.changed", ("test", resource), {"n": n})
    session.flush()


@pytest.fixture
def hooked(session: Session, world: World, settings: Settings) -> Webhook:
    """A subscription with nothing waiting (its own `webhook.created` already sent)."""
    webhook, _ = subscribe(session, admin_principal(world.exchange), settings, organisation_id=world.trust.id)
    webhooks.fan_out(session, settings)
    sent = webhooks.claim(session, settings, 100)
    webhooks.settle(session, settings, [webhooks.Outcome(c.id, c.attempts, True, 200, None) for c in sent])
    return webhook


def test_only_the_oldest_pending_event_of_a_resource_is_claimed(
    session: Session, hooked: Webhook, settings: Settings
) -> None:
    resources = [uuid.uuid4() for _ in range(3)]
    _events_for(session, resources, 3)
    webhooks.fan_out(session, settings)

    def claimed_events(claimed: list[webhooks.Claimed]) -> dict[uuid.UUID, int]:
        by_resource = {}
        for c in claimed:
            delivery = session.get(WebhookDelivery, c.id)
            assert delivery is not None
            by_resource[delivery.resource_id] = delivery.event_id
        return by_resource

    first = webhooks.claim(session, settings, 100)
    assert len(first) == 3  # one per resource: its oldest
    assert webhooks.claim(session, settings, 100) == []  # leased, and the rest wait their turn
    before = claimed_events(first)
    webhooks.settle(session, settings, [webhooks.Outcome(c.id, c.attempts, True, 200, None) for c in first])
    second = webhooks.claim(session, settings, 100)
    after = claimed_events(second)
    assert set(after) == set(before) == set(resources)
    assert all(after[r] > before[r] for r in resources)  # the next event of each


def test_a_lease_that_ran_out_is_taken_again_and_the_late_answer_is_dropped(
    session: Session, hooked: Webhook, settings: Settings
) -> None:
    _events_for(session, [uuid.uuid4()], 1)
    webhooks.fan_out(session, settings)
    (first,) = webhooks.claim(session, settings, 10)
    later = utcnow() + timedelta(seconds=settings.webhook_lease_seconds + 1)
    (again,) = webhooks.claim(session, settings, 10, now=later)  # the first worker died, or is slow
    assert again.id == first.id and again.attempts == first.attempts + 1
    webhooks.settle(session, settings, [webhooks.Outcome(again.id, again.attempts, True, 200, None)])
    # The first worker's failure arrives last: it is not the attempt on record, so it changes nothing.
    webhooks.settle(session, settings, [webhooks.Outcome(first.id, first.attempts, False, 500, "HTTP 500")])
    delivery = session.get(WebhookDelivery, first.id)
    assert delivery is not None
    session.refresh(delivery)
    assert delivery.status == DeliveryStatus.delivered and delivery.last_status_code == 200


def test_failures_back_off_exponentially_then_fail_after_the_window(
    session: Session, hooked: Webhook, settings: Settings
) -> None:
    assert settings.webhook_retry_hours >= 72
    _events_for(session, [uuid.uuid4()], 1)
    webhooks.fan_out(session, settings)
    now = utcnow()
    gaps: list[float] = []
    while True:
        claimed = webhooks.claim(session, settings, 10, now=now)
        assert len(claimed) == 1
        webhooks.settle(
            session,
            settings,
            [webhooks.Outcome(claimed[0].id, claimed[0].attempts, False, 503, "HTTP 503")],
            now=now,
        )
        delivery = session.get(WebhookDelivery, claimed[0].id)
        assert delivery is not None
        session.refresh(delivery)
        if delivery.status == DeliveryStatus.failed:
            break
        gap = (as_utc(delivery.next_attempt_at) - now).total_seconds()
        gaps.append(gap)
        now = as_utc(delivery.next_attempt_at)
        assert len(gaps) < 200
    retried_for = now - as_utc(delivery.created_at)
    assert retried_for >= timedelta(hours=72) - timedelta(seconds=settings.webhook_backoff_max_seconds)
    assert as_utc(delivery.retry_until) - as_utc(delivery.created_at) >= timedelta(hours=72)
    assert gaps[2] > gaps[0] and gaps[4] > gaps[1] * 2  # doubling, with jitter
    assert max(gaps) <= settings.webhook_backoff_max_seconds
    assert delivery.attempts == len(gaps) + 1 and delivery.last_status_code == 503


def test_backoff_has_jitter_and_a_cap(settings: Settings) -> None:
    import random

    rng = random.Random(7)
    first = {round(webhooks.backoff(1, settings, rng), 3) for _ in range(20)}
    assert len(first) > 10 and all(
        settings.webhook_backoff_seconds / 2 <= s <= settings.webhook_backoff_seconds for s in first
    )
    assert webhooks.backoff(60, settings, rng) <= settings.webhook_backoff_max_seconds


def test_redelivery_sends_a_delivered_event_again_with_a_new_window(
    session: Session, world: World, hooked: Webhook, settings: Settings
) -> None:
    _events_for(session, [uuid.uuid4()], 1)
    webhooks.fan_out(session, settings)
    (claimed,) = webhooks.claim(session, settings, 10)
    webhooks.settle(session, settings, [webhooks.Outcome(claimed.id, claimed.attempts, True, 200, None)])
    principal = principal_for(session, world.keys["trust"])
    again = webhooks.redeliver(session, principal, hooked, claimed.id, settings)
    assert again.status == DeliveryStatus.pending
    (reclaimed,) = webhooks.claim(session, settings, 10)
    assert reclaimed.id == claimed.id and reclaimed.attempts == 2


def test_old_finished_deliveries_are_pruned(session: Session, hooked: Webhook, settings: Settings) -> None:
    _events_for(session, [uuid.uuid4(), uuid.uuid4()], 1)
    webhooks.fan_out(session, settings)
    done, waiting = webhooks.claim(session, settings, 10)
    webhooks.settle(session, settings, [webhooks.Outcome(done.id, done.attempts, True, 200, None)])
    later = utcnow() + timedelta(days=settings.webhook_keep_days + 1)
    assert webhooks.prune(session, settings, now=later) >= 1
    left = session.exec(select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == hooked.id)).all()
    assert waiting.id in left and done.id not in left


def test_the_body_is_the_event_as_the_feed_shows_it(
    session: Session, hooked: Webhook, settings: Settings
) -> None:
    _events_for(session, [uuid.uuid4()], 1)
    webhooks.fan_out(session, settings)
    (claimed,) = webhooks.claim(session, settings, 10)
    delivery = session.get(WebhookDelivery, claimed.id)
    assert delivery is not None
    event = session.get(Event, delivery.event_id)
    assert event is not None
    assert claimed.body == events.to_public(event).model_dump_json().encode()
    assert claimed.event_type == "test.changed" and claimed.secret == hooked.secret
