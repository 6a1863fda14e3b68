"""The versioned JSON API (API.md), served under /api/v1."""

from fastapi import APIRouter, Depends

from app import nul_characters
from app.api import (
    adoptions,
    api_keys,
    applications,
    challenges,
    events,
    exports,
    idempotency,
    imports,
    innovations,
    matches,
    metrics,
    organisations,
    responses,
    stages,
    webhooks,
)

router = APIRouter(prefix="/api/v1", dependencies=[Depends(nul_characters.refuse_in_api_request)])
for module in (
    organisations,
    innovations,
    challenges,
    responses,
    matches,
    stages,
    adoptions,
    events,
    api_keys,
    exports,
    applications,
    metrics,
    imports,
    webhooks,
):
    idempotency.install(module.router)  # every keyed POST takes an Idempotency-Key
    router.include_router(module.router)
