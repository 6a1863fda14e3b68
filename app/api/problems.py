"""RFC 9457 problem details for every failure of the JSON API."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError, FieldError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://hie.nhs.uk/problems/"


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": f"{TYPE_BASE}move-not-allowed",
                    "title": "Move not allowed",
                    "status": 409,
                    "detail": "The gate of `co_design` is not met. Missing: Evidence reviewed.",
                    "missing": ["evidence_reviewed"],
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_domain_error(exc: DomainError) -> JSONResponse:
    extra = dict(exc.extra)
    errors = getattr(exc, "errors", None)
    if errors is not None:
        extra["errors"] = errors
    return problem(exc.status, exc.title, exc.detail, exc.slug, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _field_error(error: Any) -> FieldError:
    if error["type"] == "json_invalid":  # its loc ends with the offset of the fault, not a field
        return FieldError("body", f"Not valid JSON: {error.get('ctx', {}).get('error', error['msg'])}.")
    return FieldError(_field(error["loc"]), error["msg"])


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = [_field_error(e) for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid input", detail, "validation", errors=errors)


def unparseable_body() -> JSONResponse:
    errors = [FieldError("body", "Not JSON in UTF-8.")]
    return problem(422, "Invalid input", "body: Not JSON in UTF-8.", "validation", errors=errors)


def http_problem(exc: StarletteHTTPException) -> JSONResponse:
    title = HTTPStatus(exc.status_code).phrase
    response = problem(exc.status_code, title, str(exc.detail), title.lower().replace(" ", "-"))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def unexpected_problem(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal error", "Something went wrong on our side. Nothing was saved.", "internal")


_DESCRIPTIONS = {
    401: "No API key, or a revoked or unknown one.",
    403: "The key may not do this.",
    404: "No such record, or the caller may not see it.",
    409: "The rules refuse it (a pipeline move names the missing gate items) or it already exists.",
    412: "The If-Match ETag is stale; the problem carries the current `etag`.",
    413: "The body is larger than this operation takes. Nothing was written.",
    422: "Invalid input: `errors` lists every field. Nothing was written.",
    428: "The request needs an If-Match header with the ETag last read.",
    429: "Too many requests: wait the seconds `Retry-After` gives, then try again.",
    500: "Unexpected error. Nothing was saved.",
}


# Sent with every answer to a request with an API key (app/rate_limits.py).
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": 'The key\'s quota and window in seconds: `"api";q=600;w=60`.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'Requests left and seconds until the window ends: `"api";r=598;t=42`.',
        "schema": {"type": "string"},
    },
}


def responses(*statuses: int, public: bool = False) -> dict[int | str, dict[str, Any]]:
    """The problem responses a route declares in OpenAPI (422 and 500 always,
    and 401 and 429, the key's rate limit, unless the route is `public`: it needs no key)."""
    codes = sorted({422, 500, *statuses} | (set() if public else {401, 429}))
    ref = {"$ref": "#/components/schemas/Problem"}
    declared: dict[int | str, dict[str, Any]] = {
        code: {"description": _DESCRIPTIONS[code], "content": {MEDIA_TYPE: {"schema": ref}}} for code in codes
    }
    if 429 in declared:
        declared[429]["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
            **({} if public else RATE_LIMIT_HEADERS),
        }
    return declared


def declare_body_limit(schema: dict[str, Any]) -> None:
    """413 on every operation that takes a body: BodySizeLimitMiddleware
    (app/body_size.py) answers it for any of them, before the route runs."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["responses"].setdefault("413", responses(413, public=True)[413])
