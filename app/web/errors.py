"""Errors on the pages: an NHS-style error page, or a redirect to sign in."""

import logging
from http import HTTPStatus

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from app.errors import DomainError, TooManyRequests
from app.web.deps import SignInRequired
from app.web.rendering import is_htmx, render

log = logging.getLogger(__name__)


def domain_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, SignInRequired):
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": exc.detail})
        return RedirectResponse(exc.detail, status_code=303)
    retry_after = exc.retry_after if isinstance(exc, TooManyRequests) else None
    return error_page(request, exc.status, exc.title, exc.detail, retry_after=retry_after)


def error_page(
    request: Request,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    retry_after: int | None = None,
) -> Response:
    # The NHS service manual's words for a missing page, whatever made it missing.
    title = "Page not found" if status == 404 else title or HTTPStatus(status).phrase
    headers = {"Retry-After": str(retry_after or 60)} if status == 429 else None
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
        headers=headers,
    )


def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(
        request,
        500,
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you sent was saved.",
    )
