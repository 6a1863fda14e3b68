"""The application: the pages, the JSON API and the health probes over one
database. `create_app` composes the parts so that each could be served alone."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from app import api, error_handlers, logs, metrics, observability, web
from app.api import health, problems
from app.api.rate_limits import ApiRateLimitMiddleware
from app.body_size import BodySizeLimitMiddleware
from app.config import Settings, get_settings
from app.db import Database
from app.rate_limits import RateLimiter
from app.services import areas
from app.web.csrf import CsrfCookieMiddleware
from app.web.security import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The join form's longest answers, percent-encoded, come to well under this.
APPLICATION_BYTES = 128 * 1024

DESCRIPTION = """
The Health Innovation Exchange's API for partner Health Innovation Networks
and seeding scripts: organisations, innovations, challenges, and adoptions
moving through the adoption pipeline, with their history and spread.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457
problem details. Lists are keyset-paginated (`limit`, `cursor`,
`next_cursor`). Every single resource carries an `ETag`; `PATCH`, `DELETE`
and stage moves need `If-Match`.

Every `POST` made with a key takes an `Idempotency-Key` (at most 255
characters): a retry with the same key and body within 24 hours gets the
first answer again, marked `Idempotent-Replayed: true`, and writes nothing.
Each key has a rate limit: every answer says where it stands in
`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers),
and a request over it gets 429 with `Retry-After`.
"""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_secrets()  # production refuses development secrets before anything starts
    database = database or Database(settings)
    areas.load(settings.programme_area)  # a misspelt PROGRAMME_AREA stops the start, not the first applicant

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
        yield
        database.dispose()

    app = FastAPI(
        title="Health Innovation Exchange API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by the pages, from this service's own copy of Swagger UI
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.rate_limiter = RateLimiter(settings, database)
    error_handlers.install(app)
    app.add_middleware(CsrfCookieMiddleware, secure=settings.secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        default=settings.max_body_bytes,
        limits={
            "/join": APPLICATION_BYTES,
            "/api/v1/applications": APPLICATION_BYTES,
            "/api/v1/import": settings.import_max_bytes,
        },
    )
    app.add_middleware(ApiRateLimitMiddleware)  # counts with app.state.rate_limiter
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(
        "/assets", StaticFiles(directory=STATIC_DIR / "vendor" / "assets", check_dir=False), name="assets"
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api.router)
    app.include_router(web.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    logs.configure(settings)
    observability.install(app)  # request ids, the request log and metrics, around everything
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the Problem schema the error responses refer to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        problems.declare_body_limit(schema)
        app.openapi_schema = schema
    return app.openapi_schema
