"""The pages: server-rendered HTML on the NHS.UK design system, with htmx.

Separate from the JSON API (its own routes, cookie sessions, CSRF and HTML
errors) but on the same services and data."""

from fastapi import APIRouter, Depends

from app.web import admin, adoptions, api_keys, auth, board, challenges, csrf, home, innovations, pages

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.require)])
for module in (auth, home, pages, admin, api_keys, innovations, challenges, board, adoptions):
    router.include_router(module.router)
