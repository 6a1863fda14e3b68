"""Probes for load balancers and orchestrators, outside the versioned API."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.migrations import pending_revisions

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: answers without touching the database."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated."}})
async def readyz(request: Request) -> JSONResponse:
    """Ready: the database answers and its schema is the newest."""
    database: Database = request.app.state.database
    try:
        pending = await run_in_threadpool(pending_revisions, database.read_engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
    if pending:
        return JSONResponse({"status": "migrations pending", "pending": pending}, status_code=503)
    return JSONResponse({"status": "ready"})
