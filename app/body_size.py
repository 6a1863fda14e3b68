"""A ceiling on request bodies, so that nobody can make the service read (or
a form parser hold) more than a route could ever need.

Starlette has no such limit of its own, and uvicorn's is for headers only:
this wraps `receive` and answers 413 as soon as the declared length, or the
bytes actually read, pass the limit for the path. It raises Starlette's
HTTPException from inside the app, so the usual handlers answer it (a
problem for the API, a page for the browser); FastAPI passes HTTPException
through its body parsing, where it would turn any other error into a 400."""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MEBIBYTE = 1024 * 1024


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, default: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        # Longest prefix first, so "/api/v1/applications" wins over "/api".
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if too_large:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> HTTPException:
    size = f"{limit // MEBIBYTE} MB" if limit >= MEBIBYTE else f"{limit // 1024} KB"
    return HTTPException(413, f"This is more than the {size} this page or operation takes.")
