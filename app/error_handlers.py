"""One set of exception handlers for the two front doors: problem+json for
the API (and the probes and OpenAPI), an HTML page for everything else."""

from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api import problems
from app.errors import DomainError
from app.web import errors as web_errors

JSON_PREFIXES = ("/api/", "/healthz", "/readyz", "/openapi.json")


def _for_api(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if _for_api(request):
        return problems.from_domain_error(exc)
    return web_errors.domain_error(request, exc)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _for_api(request):
        return problems.validation_problem(exc)
    if all(error["loc"][0] == "path" for error in exc.errors()):
        return web_errors.error_page(request, 404, "Page not found")  # a malformed id names no page
    return web_errors.error_page(request, 400, "Sorry, that request was not understood")


# FastAPI's answer to a body it cannot decode (not UTF-8): bad input like any other, so 422.
_UNPARSEABLE_BODY = "There was an error parsing the body"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path: Starlette's 405 names only
    the first route's, though GET and PATCH of one resource are two routes.
    Asked of the routes as the router asks (included routers nest)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)}
    if _for_api(request):
        if exc.status_code == 400 and exc.detail == _UNPARSEABLE_BODY:
            return problems.unparseable_body()
        return problems.http_problem(exc)
    # Starlette's own details are the status's phrase; ours (413) say more.
    detail = str(exc.detail) if exc.detail != HTTPStatus(exc.status_code).phrase else None
    return web_errors.error_page(request, exc.status_code, detail=detail)


async def _unexpected(request: Request, exc: Exception) -> Response:
    if _for_api(request):
        return problems.unexpected_problem(request, exc)
    return web_errors.unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
