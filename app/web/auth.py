"""Signing in and out."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from app import rate_limits
from app.api.deps import SessionDep
from app.services import sessions
from app.web.deps import COOKIE, MaybeUserDep, safe_next
from app.web.rendering import render

router = APIRouter()


@router.get("/sign-in")
def sign_in_page(
    request: Request, signed_in: MaybeUserDep, next: str | None = None, password_set: str | None = None
) -> Response:
    if signed_in is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    # `password_set`: sent here from setting a first password (app/web/accounts.py).
    context = {"next": safe_next(next), "email": "", "errors": {}, "password_set": password_set == "1"}
    return render(request, "auth/sign_in.html", context)


# Before the session: refuses an address with too many failures, then counts this one's.
@router.post("/sign-in", dependencies=[Depends(rate_limits.failed_sign_ins, scope="function")])
def sign_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = request.app.state.settings
    errors = {}
    if not email.strip():
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    result = None if errors else sessions.sign_in(session, settings, email, password)
    if result is None:
        if not errors:
            errors["email"] = "The email address or password is not right"
            request.state.sign_in_failed = True
        context = {"next": safe_next(next), "email": email, "errors": errors}
        return render(request, "auth/sign_in.html", context, status_code=422)
    _, token = result
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep) -> Response:
    sessions.sign_out(session, request.cookies.get(COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.app.state.settings.secure_cookies
    )
    return response
