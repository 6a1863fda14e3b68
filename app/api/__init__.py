"""The versioned JSON API (API.md), served under /api/v1."""

from fastapi import APIRouter

from app.api import adoptions, api_keys, challenges, events, innovations, organisations, stages

router = APIRouter(prefix="/api/v1")
for module in (organisations, innovations, challenges, stages, adoptions, events, api_keys):
    router.include_router(module.router)
