"""Each request: an id (an incoming well-formed `X-Request-ID`, or a new
one) returned in the `X-Request-ID` header and stamped on every log line
written while serving it, one log line when it is answered, and its count
and time in the Prometheus metrics.

It wraps the whole application, outside Starlette's ServerErrorMiddleware,
so that an unexpected error's 500 page or problem carries the id as well.
"""

import logging
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs, metrics

log = logging.getLogger("app.requests")

HEADER = b"x-request-id"
UNMATCHED = "unmatched"  # a 404 that no route took: one series, not one per path probed
# Any other method a client makes up is counted as one, for the same reason.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's path with its {placeholders} (its ids, a
    set-password link's token) in place of the values; never the raw path.
    Built from the path and its parameters, since FastAPI keeps an included
    router's prefix away from its routes' own paths."""
    if scope.get("route") is None:
        return UNMATCHED
    template: str = scope["path"]
    params = sorted(scope.get("path_params", {}).items(), key=lambda item: -len(str(item[1])))
    for name, value in params:
        head, found, tail = template.rpartition(f"/{value}")
        if found and (not tail or tail.startswith("/")):
            template = f"{head}/{{{name}}}{tail}"
    return template


class RequestObservationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        request_id = logs.incoming_or_new(incoming)
        token = logs.request_id.set(request_id)
        status = 500  # unless a response starts
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            metrics.observe(method, route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
            logs.request_id.reset(token)


def install(app: FastAPI) -> None:
    """Wrap the app's whole middleware stack, error handling included."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: RequestObservationMiddleware(build())  # type: ignore[method-assign]
