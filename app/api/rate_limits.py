"""The JSON API's rate limit per API key (the counting: app/rate_limits.py).

An ASGI middleware rather than a dependency, for two reasons: it counts
before the request's session begins (on SQLite a request holds the write
lock from its first statement, and the counter's own write must not wait
behind it), and it puts the `RateLimit` headers on every answer to a keyed
request, errors and streamed exports included, which a dependency's
`Response` cannot reach. It keys the count on the bearer token itself (a
keyed hash of it), so it needs no database read to know whose quota to
charge; a token that is no key is counted too, then refused with 401.
Requests without a token (the public application form, whose service has
its own per-address limit) are not counted here.
"""

from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import problems
from app.rate_limits import Verdict, limiter_of

PREFIX = "/api/"


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def too_many(verdict: Verdict) -> JSONResponse:
    item = verdict.policy.item
    detail = (
        f"This API key may make {item.amount} requests in {item.get_expiry()} seconds. "
        f"Wait {verdict.retry_after} seconds, then try again."
    )
    response = problems.problem(
        429, "Too many requests", detail, "too-many-requests", retry_after=verdict.retry_after
    )
    response.headers.update(verdict.headers())
    return response


class ApiRateLimitMiddleware:
    """Counts each API request with a token against its key's quota: 429
    when it is spent, and the RateLimit headers on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = bearer_token(scope) if scope["type"] == "http" and scope["path"].startswith(PREFIX) else None
        if token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        limiter = limiter_of(request)
        verdict = await limiter.hit(request, limiter.api, limiter.identity("api-key", token))
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            await too_many(verdict)(scope, receive, send)
            return
        headers = verdict.headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
