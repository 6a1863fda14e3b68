"""Setting a first password through a one-time link (an accepted applicant's
first user gets one from the reviewer, since the service sends no email yet).

The token is in the address, so these pages send no referrer and are never
stored by a cache; the link works once and expires."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from app.api.deps import SessionDep
from app.errors import NotFound, ValidationFailed
from app.services import users
from app.web.rendering import NO_STORE, render

router = APIRouter()

PRIVATE = {**NO_STORE, "Referrer-Policy": "no-referrer"}
MAX_PASSWORD = 1000


@router.get("/set-password/{token}", name="set_password_page")
def set_password_page(request: Request, session: SessionDep, token: str) -> Response:
    try:
        user = users.user_of_password_link(session, token)
    except NotFound:
        return _expired(request)
    return _form(request, token, user.email, {})


@router.post("/set-password/{token}")
def set_password(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    confirm: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
) -> Response:
    try:
        user = users.user_of_password_link(session, token)
    except NotFound:
        return _expired(request)
    errors = {}
    if not password:
        errors["password"] = "Enter a password"
    elif not confirm:
        errors["confirm"] = "Enter the password again"
    elif password != confirm:
        errors["confirm"] = "The passwords do not match"
    if not errors:
        try:
            users.set_password_with_link(session, token, password)
        except ValidationFailed as exc:
            errors["password"] = exc.errors[0]["message"].rstrip(".")
        else:
            return RedirectResponse("/sign-in?password_set=1", status_code=303, headers=PRIVATE)
    return _form(request, token, user.email, errors, status_code=422)


def _form(
    request: Request, token: str, email: str, errors: dict[str, str], *, status_code: int = 200
) -> Response:
    context = {
        "token": token,
        "email": email,
        "min_length": users.MIN_PASSWORD,
        "errors": errors,
        "error_list": [{"text": message, "href": f"#{field}"} for field, message in errors.items()],
    }
    return render(request, "accounts/set_password.html", context, status_code=status_code, headers=PRIVATE)


def _expired(request: Request) -> Response:
    return render(request, "accounts/link_expired.html", status_code=404, headers=PRIVATE)
