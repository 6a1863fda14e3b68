"""Cross-site request forgery protection for the pages.

Each browser gets a random `hie_csrf` cookie; forms carry, in a hidden
`csrf_token` field, an HMAC of it under the service's secret, and htmx
sends the same in an `X-CSRF-Token` header. A request that changes anything
without the matching token is refused with 403. SameSite=Lax cookies stop
most forgeries already; the token stops the rest."""

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Forbidden

COOKIE = "hie_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def token(request: Request) -> str:
    """The token this browser's forms must carry; none (so no form can pass)
    on a path that gets no cookie, such as a missing static file's error page."""
    cookie = getattr(request.state, "csrf_cookie", None)
    return _sign(request.app.state.settings.secret_key, cookie) if cookie else ""


async def require(request: Request) -> None:
    """A dependency of every page route: refuse changes without the token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER) or request.query_params.get(FIELD)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, token(request)):
        raise Forbidden(
            "This form has expired or did not come from this service. Go back, reload and try again."
        )


# The JSON API, its probes and static files set no cookie.
NO_COOKIE_PREFIXES = ("/api/", "/healthz", "/readyz", "/openapi.json", "/static/", "/assets/")


class CsrfCookieMiddleware:
    """Gives each browser its `hie_csrf` cookie on the first page it asks for."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_COOKIE_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        existing = request.cookies.get(COOKIE)
        value = existing if existing and len(existing) <= 64 else secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_cookie"] = value
        if existing == value:
            await self.app(scope, receive, send)
            return
        cookie = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
