"""Webhooks: partners subscribe a URL to the events their organisation may
see; a worker (app/worker.py) sends each one as a signed POST.

The worker's work lives in rows, so any number of workers may share it:

- `fan_out` turns new events into delivery rows, one per subscription that
  may see the event and asked for its type, moving the subscription's
  `cursor` up to the change feed's horizon (so none is skipped on PostgreSQL);
- `claim` takes due deliveries for one worker: on PostgreSQL rows locked
  with `FOR UPDATE SKIP LOCKED`, on SQLite under its single writer; each is
  leased (no other worker takes it until `lease_until`) and its `attempts`
  counted up, which fences a late answer from a worker whose lease ran out.
  Only the oldest pending delivery of a resource per subscription is due,
  so a resource's events arrive in order;
- `settle` writes what came back: delivered, or the next attempt after an
  exponential backoff with jitter, or failed once the retry window is over.

A worker killed mid-delivery loses nothing: its leases run out and another
attempt follows (deliveries are at least once).
"""

import ipaddress
import random
import secrets
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Table, bindparam, case, exists, func, or_, true
from sqlmodel import Session, col, select

from app.auth import Principal, role_for_key
from app.config import Settings
from app.errors import Forbidden, NotFound, ValidationFailed
from app.models.base import as_utc, new_id, utcnow
from app.models.event import Event
from app.models.organisation import Organisation
from app.models.vocabulary import Scope
from app.models.webhook import (
    DeliveryPublic,
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookDelivery,
    WebhookPublic,
    WebhookUpdate,
)
from app.services import events, organisations, records
from app.services.pagination import Page, PageRequest, decode_cursor, encode_cursor, keyset

SECRET_PREFIX = "whsec_"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- targets -------------------------------------------------------------------


class TargetRefused(Exception):
    """A URL the exchange will not send to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with its query

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"

    def at(self, address: IPAddress) -> str:
        """The URL with its host replaced by the address it was checked at."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_target(url: str) -> Target:
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TargetRefused("The URL has spaces or control characters in it.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("That is not a URL with a valid host and port.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("Use an http or https URL.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            "Leave the user name and password out of the URL: the signature proves the sender."
        )
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name has now (an address is itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {host} does not resolve.") from exc
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def is_internal(address: IPAddress) -> bool:
    """Private, loopback, link-local, reserved, shared, unspecified or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_multicast or not address.is_global


def checked_addresses(target: Target, allow_private: bool) -> list[IPAddress]:
    """The addresses to send to, resolved now; refused if any is internal,
    unless private targets are allowed (development and tests)."""
    addresses = resolve(target.host, target.port)
    if not allow_private and any(is_internal(a) for a in addresses):
        raise TargetRefused(
            f"{target.host} points to a private, loopback or otherwise internal address, "
            "which webhooks may not reach."
        )
    return addresses


def check_url(url: str, settings: Settings, field: str = "body.url") -> None:
    try:
        checked_addresses(parse_target(url), settings.hie_webhooks_allow_private)
    except TargetRefused as exc:
        raise ValidationFailed.field(field, str(exc)) from exc


# --- subscriptions ----------------------------------------------------------------


def to_public(webhook: Webhook) -> WebhookPublic:
    return WebhookPublic.model_validate(webhook, from_attributes=True)


def _organisation_for(principal: Principal, wanted: uuid.UUID | None) -> uuid.UUID:
    if wanted is None or wanted == principal.organisation_id:
        return principal.organisation_id
    if not principal.is_admin:
        raise Forbidden("Subscribe for your own organisation only.")
    return wanted


def _normal(event_types: Iterable[str]) -> list[str]:
    """Each once, in the order given; `*` alone stands for all."""
    kept = list(dict.fromkeys(event_types))
    return [] if "*" in kept else kept


def _record(session: Session, principal: Principal, type: str, webhook: Webhook, **extra: object) -> None:
    data = {**to_public(webhook).model_dump(mode="json"), **extra}
    events.record(
        session,
        principal,
        type,
        ("webhook", webhook.id),
        data,
        restricted=True,
        orgs=(webhook.organisation_id, None),
    )


def subscribe(
    session: Session, principal: Principal, data: WebhookCreate, settings: Settings
) -> tuple[Webhook, str]:
    """A new subscription and its signing secret, which is shown only now.
    It gets events from now on."""
    organisation_id = _organisation_for(principal, data.organisation_id)
    organisations.require(session, organisation_id, "body.organisation_id")
    check_url(data.url, settings)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    last = session.exec(select(func.max(Event.id))).one()
    webhook = Webhook(
        organisation_id=organisation_id,
        url=data.url,
        event_types=_normal(data.event_types),
        secret=secret,
        cursor=last or 0,
    )
    session.add(webhook)
    session.flush()
    _record(session, principal, "webhook.created", webhook)
    return webhook, secret


def list_(
    session: Session, principal: Principal, organisation_id: uuid.UUID | None, page: PageRequest
) -> Page[WebhookPublic]:
    stmt = select(Webhook)
    if not principal.is_admin:
        if organisation_id not in (None, principal.organisation_id):
            raise Forbidden("You may list only your own organisation's webhooks.")
        organisation_id = principal.organisation_id
    if organisation_id is not None:
        stmt = stmt.where(Webhook.organisation_id == organisation_id)
    return keyset(session, stmt, col(Webhook.id), page, to_public)


def get(
    session: Session, principal: Principal, webhook_id: uuid.UUID, *, for_update: bool = False
) -> Webhook:
    webhook = session.get(Webhook, webhook_id, with_for_update=for_update)
    if webhook is None or not (principal.is_admin or webhook.organisation_id == principal.organisation_id):
        raise NotFound("webhook")
    return webhook


def update(
    session: Session,
    principal: Principal,
    webhook: Webhook,
    data: WebhookUpdate,
    expected_version: int | None,
    settings: Settings,
) -> Webhook:
    records.check_version(webhook, expected_version)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        check_url(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = _normal(changes["event_types"])
    if records.apply_changes(webhook, changes):
        records.touch(webhook)
        session.flush()
        _record(session, principal, "webhook.updated", webhook)
    return webhook


def delete_(session: Session, principal: Principal, webhook: Webhook, expected_version: int | None) -> None:
    """Unsubscribe; its deliveries go with it."""
    records.check_version(webhook, expected_version)
    _record(session, principal, "webhook.deleted", webhook)
    session.delete(webhook)
    session.flush()


# --- deliveries, as their owners see them ------------------------------------------


def _delivery_columns() -> tuple[Any, ...]:
    d = WebhookDelivery
    return (
        col(d.id),
        col(d.webhook_id),
        col(d.event_id),
        col(Event.type).label("event_type"),
        col(d.status),
        col(d.attempts),
        col(d.next_attempt_at),
        col(d.last_status_code),
        col(d.last_error),
        col(d.delivered_at),
        col(d.created_at),
    )


def _delivery_public(row: object) -> DeliveryPublic:
    view = DeliveryPublic.model_validate(row, from_attributes=not isinstance(row, dict))
    if view.status != DeliveryStatus.pending:
        view.next_attempt_at = None
    return view


def recent_deliveries(
    session: Session, webhook_ids: Sequence[uuid.UUID], per_webhook: int = 10
) -> dict[uuid.UUID, list[DeliveryPublic]]:
    """The newest deliveries of each subscription, newest first, in one query."""
    if not webhook_ids:
        return {}
    d = WebhookDelivery
    rank = func.row_number().over(partition_by=col(d.webhook_id), order_by=col(d.event_id).desc())
    ranked = (
        sa.select(*_delivery_columns(), rank.label("rank"))
        .join(Event, col(Event.id) == col(d.event_id))
        .where(col(d.webhook_id).in_(webhook_ids))
        .subquery()
    )
    rows = session.execute(
        sa.select(ranked)
        .where(ranked.c.rank <= per_webhook)
        .order_by(ranked.c.webhook_id, ranked.c.event_id.desc())
    ).all()
    found: dict[uuid.UUID, list[DeliveryPublic]] = {webhook_id: [] for webhook_id in webhook_ids}
    for row in rows:
        found[row.webhook_id].append(_delivery_public(row))
    return found


def list_deliveries(
    session: Session, webhook: Webhook, status: DeliveryStatus | None, page: PageRequest
) -> Page[DeliveryPublic]:
    """A subscription's deliveries, oldest first."""
    d = WebhookDelivery
    stmt = (
        select(*_delivery_columns())
        .join(Event, col(Event.id) == col(d.event_id))
        .where(col(d.webhook_id) == webhook.id)
    )
    if status is not None:
        stmt = stmt.where(col(d.status) == status)
    if page.cursor:
        stmt = stmt.where(col(d.id) > decode_cursor(page.cursor, uuid.UUID))
    rows = session.execute(stmt.order_by(col(d.id)).limit(page.limit + 1)).all()
    items = [_delivery_public(row) for row in rows[: page.limit]]
    more = len(rows) > page.limit
    return Page[DeliveryPublic](items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


def redeliver(
    session: Session, principal: Principal, webhook: Webhook, delivery_id: uuid.UUID, settings: Settings
) -> DeliveryPublic:
    """Send a delivery again, now, with a fresh retry window; one that is
    already waiting is brought forward."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise NotFound("delivery")
    now = utcnow()
    leased = delivery.lease_until is not None and as_utc(delivery.lease_until) > now
    if not leased:
        delivery.status = DeliveryStatus.pending
        delivery.next_attempt_at = now
        delivery.retry_until = now + timedelta(hours=settings.webhook_retry_hours)
        session.flush()
        _record(
            session,
            principal,
            "webhook.redelivery_requested",
            webhook,
            delivery_id=str(delivery.id),
            event_id=delivery.event_id,
        )
    event_type = session.exec(select(Event.type).where(Event.id == delivery.event_id)).one()
    return _delivery_public(dict(delivery.model_dump(), event_type=event_type))


# --- the worker's side --------------------------------------------------------------


def _as_organisation(org: Organisation) -> Principal:
    """Whose eyes a subscription sees through: a read-only key of its organisation."""
    scopes = frozenset({Scope.read})
    return Principal(
        organisation_id=org.id,
        organisation_kind=org.kind,
        region=org.region,
        role=role_for_key(org.kind, scopes),
        scopes=scopes,
        label=f"webhooks of {org.name}",
    )


def _of_types(event_types: Sequence[str]) -> ColumnElement[bool]:
    if not event_types or "*" in event_types:
        return true()
    exact = [t for t in event_types if not t.endswith(".*")]
    prefixes = [t.removesuffix("*") for t in event_types if t.endswith(".*")]
    return or_(
        col(Event.type).in_(exact),
        *(col(Event.type).startswith(prefix, autoescape=True) for prefix in prefixes),
    )


def pending_fan_out(session: Session) -> bool:
    """Whether any active subscription is behind the feed (a cheap read)."""
    return bool(session.execute(_BEHIND).scalar())


def fan_out(session: Session, settings: Settings, batch: int = 1000) -> int:
    """One delivery per new event per subscription that may see it, up to
    `batch` events per subscription; returns how many were made."""
    upto_limit = events.horizon(session)
    subscriptions = session.exec(
        select(Webhook, Organisation)
        .join(Organisation, col(Organisation.id) == col(Webhook.organisation_id))
        .where(col(Webhook.active))
        .with_for_update(skip_locked=True, of=Webhook)
    ).all()
    now = utcnow()
    made = 0
    for webhook, org in subscriptions:
        ids = select(Event.id).where(col(Event.id) > webhook.cursor)
        if upto_limit is not None:
            ids = ids.where(col(Event.id) <= upto_limit)
        window = ids.order_by(col(Event.id)).limit(batch).subquery()
        upto = session.exec(select(func.max(window.c.id))).one()
        if upto is None:
            continue
        rows = session.exec(
            select(Event.id, Event.resource_id)
            .where(col(Event.id) > webhook.cursor, col(Event.id) <= upto)
            .where(events.visible_to(_as_organisation(org)), _of_types(webhook.event_types))
        ).all()
        if rows:
            retry_until = now + timedelta(hours=settings.webhook_retry_hours)
            session.execute(
                sa.insert(WebhookDelivery),
                [
                    {
                        "id": new_id(),
                        "webhook_id": webhook.id,
                        "event_id": event_id,
                        "resource_id": resource_id,
                        "status": DeliveryStatus.pending,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "retry_until": retry_until,
                        "created_at": now,
                    }
                    for event_id, resource_id in rows
                ],
            )
            made += len(rows)
        webhook.cursor = upto  # the position, not a change a client sees: no new version
    session.flush()
    return made


# The worker's statements, built once (they run many times a second) in Core.
_DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
_WEBHOOKS: Table = Webhook.__table__  # type: ignore[attr-defined]
_EVENTS: Table = Event.__table__  # type: ignore[attr-defined]
_BEHIND = sa.select(
    sa.select(func.max(_EVENTS.c.id)).scalar_subquery()
    > sa.select(func.min(_WEBHOOKS.c.cursor)).where(_WEBHOOKS.c.active).scalar_subquery()
)


def _due_now() -> ColumnElement[bool]:
    d = _DELIVERIES.c
    now = bindparam("now", type_=d.next_attempt_at.type)
    return sa.and_(
        d.status == DeliveryStatus.pending.value,
        d.next_attempt_at <= now,
        or_(d.lease_until.is_(None), d.lease_until < now),
    )


_ANYTHING_DUE = sa.select(_DELIVERIES.c.id).where(_due_now()).limit(1)


def _claim_statement() -> sa.Update:
    d, earlier, w = _DELIVERIES, _DELIVERIES.alias("earlier"), _WEBHOOKS
    waits_for_earlier = exists().where(
        earlier.c.webhook_id == d.c.webhook_id,
        earlier.c.resource_id == d.c.resource_id,
        earlier.c.status == DeliveryStatus.pending.value,
        earlier.c.event_id < d.c.event_id,
    )
    due = (
        sa.select(d.c.id)
        .join(w, w.c.id == d.c.webhook_id)
        .where(_due_now(), w.c.active, ~waits_for_earlier)
        .order_by(d.c.next_attempt_at)
        .limit(bindparam("limit", type_=sa.Integer()))
        .with_for_update(skip_locked=True, of=d)
    )
    return (
        sa.update(d)
        .where(d.c.id.in_(due.scalar_subquery()))
        .values(lease_until=bindparam("lease_until", type_=d.c.lease_until.type), attempts=d.c.attempts + 1)
        .returning(d.c.id, d.c.attempts, d.c.webhook_id, d.c.event_id)
    )


_CLAIM = _claim_statement()
_CLAIMED_WEBHOOKS = sa.select(_WEBHOOKS.c.id, _WEBHOOKS.c.url, _WEBHOOKS.c.secret).where(
    _WEBHOOKS.c.id.in_(bindparam("ids", expanding=True))
)
_CLAIMED_EVENTS = sa.select(Event).where(col(Event.id).in_(bindparam("ids", expanding=True)))


def anything_due(session: Session, now: datetime | None = None) -> bool:
    """Whether some delivery waits to be sent (a cheap read before `claim`)."""
    return session.execute(_ANYTHING_DUE, {"now": now or utcnow()}).first() is not None


_ANY_WORK = sa.select(_BEHIND.scalar_subquery(), sa.exists(_ANYTHING_DUE))


def any_work(session: Session, now: datetime | None = None) -> bool:
    """Whether there is anything to fan out or send (one cheap read, so an
    idle worker opens no write transaction: SQLite has one writer)."""
    behind, due = session.execute(_ANY_WORK, {"now": now or utcnow()}).one()
    return bool(behind or due)


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds, with what it needs to send it."""

    id: uuid.UUID
    attempts: int  # the fence: its answer is written only if this is still the count
    url: str
    secret: str
    event_type: str
    body: bytes


def claim(session: Session, settings: Settings, limit: int, now: datetime | None = None) -> list[Claimed]:
    """Lease up to `limit` due deliveries to this worker: on PostgreSQL rows
    locked SKIP LOCKED, on SQLite under the write lock; only the oldest
    pending delivery of each resource per subscription is due."""
    session.connection()  # on SQLite, wait for the write lock first: the lease counts from after
    now = now or utcnow()
    lease_until = now + timedelta(seconds=settings.webhook_lease_seconds)
    leased = session.execute(_CLAIM, {"now": now, "limit": limit, "lease_until": lease_until}).all()
    if not leased:
        return []
    hooks = {
        row.id: row for row in session.execute(_CLAIMED_WEBHOOKS, {"ids": {r.webhook_id for r in leased}})
    }
    found = {e.id: e for e in session.scalars(_CLAIMED_EVENTS, {"ids": [r.event_id for r in leased]})}
    return [
        Claimed(
            id=row.id,
            attempts=row.attempts,
            url=hooks[row.webhook_id].url,
            secret=hooks[row.webhook_id].secret,
            event_type=found[row.event_id].type,
            body=events.to_public(found[row.event_id]).model_dump_json().encode(),
        )
        for row in sorted(leased, key=lambda r: r.event_id)
    ]


@dataclass(frozen=True)
class Outcome:
    id: uuid.UUID
    attempts: int
    delivered: bool
    status_code: int | None
    error: str | None


def backoff(attempts: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt: doubling from the base up to the cap,
    then anywhere in its upper half, so failed receivers are not hit in step."""
    doubled = settings.webhook_backoff_seconds * 2 ** (attempts - 1)
    ceiling = min(settings.webhook_backoff_max_seconds, doubled)
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def settle(
    session: Session, settings: Settings, outcomes: Sequence[Outcome], now: datetime | None = None
) -> None:
    """Write what the receivers answered; an answer from a worker whose lease
    was taken over (its `attempts` is no longer the count) is dropped."""
    now = now or utcnow()
    table = _DELIVERIES
    c = table.c
    fenced = (c.id == bindparam("b_id")) & (c.attempts == bindparam("b_attempts"))
    delivered = [o for o in outcomes if o.delivered]
    failed = [o for o in outcomes if not o.delivered]
    if delivered:
        session.execute(
            sa.update(table)
            .where(fenced)
            .values(
                status=DeliveryStatus.delivered,
                delivered_at=now,
                lease_until=None,
                last_status_code=bindparam("b_code"),
                last_error=None,
            ),
            [{"b_id": o.id, "b_attempts": o.attempts, "b_code": o.status_code} for o in delivered],
        )
    if failed:
        session.execute(
            sa.update(table)
            .where(fenced)
            .values(
                status=case(
                    (c.retry_until <= bindparam("b_next"), DeliveryStatus.failed.value),
                    else_=DeliveryStatus.pending.value,
                ),
                next_attempt_at=bindparam("b_next"),
                lease_until=None,
                last_status_code=bindparam("b_code"),
                last_error=bindparam("b_error"),
            ),
            [
                {
                    "b_id": o.id,
                    "b_attempts": o.attempts,
                    "b_next": now + timedelta(seconds=backoff(o.attempts, settings)),
                    "b_code": o.status_code,
                    "b_error": (o.error or "")[:500] or None,
                }
                for o in failed
            ],
        )


def _prunable(settings: Settings, now: datetime | None) -> ColumnElement[bool]:
    before = (now or utcnow()) - timedelta(days=settings.webhook_keep_days)
    d = WebhookDelivery
    finished = col(d.status).in_([DeliveryStatus.delivered, DeliveryStatus.failed])
    return sa.and_(finished, col(d.created_at) < before)


def anything_to_prune(session: Session, settings: Settings, now: datetime | None = None) -> bool:
    found = session.execute(sa.select(col(WebhookDelivery.id)).where(_prunable(settings, now)).limit(1))
    return found.first() is not None


def prune(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Forget delivered and failed deliveries older than the keeping time."""
    result = session.execute(sa.delete(WebhookDelivery).where(_prunable(settings, now)))
    return int(getattr(result, "rowcount", 0) or 0)
