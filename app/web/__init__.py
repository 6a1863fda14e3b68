"""The pages: server-rendered HTML on the NHS.UK design system, with htmx.

Separate from the JSON API (its own routes, cookie sessions, CSRF and HTML
errors) but on the same services and data."""

from fastapi import APIRouter, Depends

from app.web import auth, csrf, home, pages

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.require)])
for module in (auth, home, pages):
    router.include_router(module.router)
