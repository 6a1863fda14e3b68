"""Who is signed in to the pages, as `Annotated` dependencies."""

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from app.api.deps import SessionDep
from app.auth import Principal
from app.errors import DomainError
from app.services import sessions

COOKIE = "hie_session"


class SignInRequired(DomainError):
    """Answered with a redirect to the sign-in page, which comes back here."""

    status, title, slug = 401, "Sign in", "sign-in-required"


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect elsewhere. Control
    characters are refused too: browsers drop tabs and new lines from a URL,
    so "/<tab>/evil.example" would become "//evil.example"."""
    if (
        target
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and "\\" not in target
        and not any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return target
    return "/"


def optional_user(request: Request, session: SessionDep) -> sessions.SignedIn | None:
    signed_in = sessions.current(session, request.cookies.get(COOKIE))
    request.state.signed_in = signed_in
    return signed_in


def required_user(
    request: Request, signed_in: Annotated[sessions.SignedIn | None, Depends(optional_user)]
) -> sessions.SignedIn:
    if signed_in is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(f"/sign-in?next={quote(here)}")
    return signed_in


def principal(signed_in: Annotated[sessions.SignedIn, Depends(required_user)]) -> Principal:
    return signed_in.principal


MaybeUserDep = Annotated[sessions.SignedIn | None, Depends(optional_user)]
UserDep = Annotated[sessions.SignedIn, Depends(required_user)]
WebPrincipalDep = Annotated[Principal, Depends(principal)]
