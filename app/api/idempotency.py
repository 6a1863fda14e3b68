"""`Idempotency-Key` on every keyed POST of the API (API.md).

A retry with the same key and request, from the same organisation, within
`IDEMPOTENCY_HOURS` (24) gets the first answer back (status, body,
`Location`, `ETag`, and `Idempotent-Replayed: true`) and writes nothing; the
same key with another request is 422. The rows: app/services/idempotency.py.

How it hooks into FastAPI, and why so: the answer must be kept in the same
transaction as the record the request made, so that a crash can never
leave one without the other. The request's session commits when its
function-scoped dependency exits (app/api/deps.py), and FastAPI exits those
right after the route handler has built the response and before it is
sent. So an ASGI middleware sees the body only after the commit, and a
dependency never sees the body at all. The one place that has both the
finished response and the still-open transaction is the route handler
itself, which FastAPI lets a custom `APIRoute` wrap ("Custom Request and
APIRoute class" in FastAPI's docs). Hence two parts:

- `claim_key`, a dependency put first on each keyed POST: it runs after the
  key is authenticated and before anything else touches the database, and
  either claims the key (its row is flushed in the request's transaction),
  replays the kept answer, refuses the key (422), or waits.
- `IdempotentRoute.get_route_handler`, which after the route succeeds puts
  the response's status, body and headers on that row, still inside the
  transaction that then commits. A request that fails rolls back, key and
  all, so its retry simply runs again: only successes are kept.

`install(router)` makes every POST of a router that needs an API key such a
route (app/api/__init__.py calls it for each router), so no POST can be
left out by forgetting; each then declares the header in OpenAPI.

Two requests with one key at once: the second never runs the route. On
SQLite a write transaction holds the one write lock from its first
statement, so the second starts only after the first has committed, and
finds its answer. On PostgreSQL the first holds a transaction-scoped
advisory lock on the key; the second tries it without blocking and, while
it is held, waits on the event loop (holding no thread: a thread blocked on
a row lock could be the one the first request needs to finish), trying
again every 50 ms; when the first commits it finds the answer, and after
`IDEMPOTENCY_WAIT_SECONDS` it gets 409 instead. The primary key on
(organisation, key hash) remains the last word either way.

Expired keys are pruned on write, a bounded batch each time a new key is
claimed (see `prune`): no extra job to run, and the table can never grow
faster than it is cleaned.

Public POSTs (`/api/v1/applications` and its status and replies) take no
key. A key is scoped to the caller's organisation; without an API key the
only identity is the client address, which many callers share (a NAT, a
partner's server relaying many applicants) and one caller can change, so a
replay could hand one applicant's answer, a reference and personal details,
to another who sent the same key. The application form has its own
protection against floods (a limit per address in its service).
"""

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from inspect import signature
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import PrincipalDep, SessionDep, get_principal
from app.api.problems import MEDIA_TYPE
from app.models.idempotency import IdempotencyKey
from app.services import idempotency
from app.services.idempotency import BUSY, HEADER, Answer

POLL_SECONDS = 0.05
# The answer's headers a replay repeats; the rest (RateLimit, Date) are the replay's own.
KEPT_HEADERS = ("content-type", "location", "etag")

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description=(
            "Any unique string, such as a UUID, of at most 255 characters. A retry with the same key and "
            "body within 24 hours gets the first answer back and writes nothing; the same key with "
            "another body is refused (422)."
        ),
    ),
]


class Replay(Exception):
    """Raised by `claim_key` to answer with the kept response instead of running the route."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def response(self) -> Response:
        headers = {**self.answer.headers, "Idempotent-Replayed": "true"}
        return Response(self.answer.body, status_code=self.answer.status_code, headers=headers)


@dataclass(frozen=True)
class Claim:
    session: Session
    row: IdempotencyKey

    def keep(self, response: Response) -> None:
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):  # a streamed answer cannot be kept: free the key
            idempotency.keep(self.session, self.row, None)
            return
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        idempotency.keep(self.session, self.row, Answer(response.status_code, body, headers))


async def claim_key(
    request: Request, session: SessionDep, principal: PrincipalDep, key: KeyHeader = None
) -> None:
    """Claim the request's key, or replay (raise `Replay`), refuse or wait."""
    if key is None:
        return
    settings = request.app.state.settings
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    fingerprint = idempotency.fingerprint(request.method, target, await request.body())
    deadline = time.monotonic() + settings.idempotency_wait_seconds
    while True:
        outcome = await run_in_threadpool(
            idempotency.claim,
            session,
            principal.organisation_id,
            key,
            fingerprint,
            f"{request.method} {request.url.path}",
            settings.idempotency_hours,
        )
        if outcome is not BUSY:
            break
        if time.monotonic() >= deadline:
            raise idempotency.IdempotencyKeyInProgress()
        await asyncio.sleep(POLL_SECONDS)
    if isinstance(outcome, Answer):
        raise Replay(outcome)
    assert isinstance(outcome, IdempotencyKey)
    request.state.idempotency = Claim(session, outcome)


class IdempotentRoute(APIRoute):
    """A keyed POST: replays, and keeps its answer in its own transaction."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def idempotent_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response()
            claim: Claim | None = getattr(request.state, "idempotency", None)
            if claim is not None:
                await run_in_threadpool(claim.keep, response)
            return response

        return idempotent_handler


IN_PROGRESS = {
    409: {
        "description": (
            "The rules refuse it, it already exists, or a request with the same Idempotency-Key "
            "is still being handled (retry after `Retry-After`)."
        ),
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}
_ROUTE_OPTIONS = [
    name for name in signature(APIRoute.__init__).parameters if name not in ("self", "path", "endpoint")
]


def _needs_key(dependant: Dependant) -> bool:
    return any(d.call is get_principal or _needs_key(d) for d in dependant.dependencies)


def _idempotent(route: APIRoute) -> IdempotentRoute:
    """The same route, rebuilt as an IdempotentRoute with `claim_key` first."""
    options = {name: getattr(route, name) for name in _ROUTE_OPTIONS}
    options["dependencies"] = [Depends(claim_key), *route.dependencies]
    options["responses"] = {**route.responses, **IN_PROGRESS}
    return IdempotentRoute(route.path, route.endpoint, **options)


def install(router: APIRouter) -> None:
    """Make every POST of `router` that needs an API key idempotent. Call it
    before the router is included anywhere."""
    for index, route in enumerate(router.routes):
        if (
            isinstance(route, APIRoute)
            and not isinstance(route, IdempotentRoute)
            and "POST" in (route.methods or ())
            and _needs_key(route.dependant)
        ):
            router.routes[index] = _idempotent(route)
