"""The pages: server-rendered HTML on the NHS.UK design system, with htmx.

Separate from the JSON API (its own routes, cookie sessions, CSRF and HTML
errors) but on the same services and data."""

from fastapi import APIRouter, Depends

from app.web import (
    accounts,
    admin,
    adoptions,
    analytics,
    api_keys,
    applications,
    audit,
    auth,
    board,
    challenges,
    csrf,
    exports,
    home,
    innovations,
    join,
    pages,
    responses,
    webhooks,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.require)])
for module in (auth, home, pages, admin, api_keys, innovations, challenges, board, adoptions, exports):
    router.include_router(module.router)
router.include_router(responses.router)
for module in (join, applications, accounts):
    router.include_router(module.router)
router.include_router(analytics.router)
router.include_router(webhooks.router)
router.include_router(audit.router)
