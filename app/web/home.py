"""The home page: what the signed-in person holds, what waits on them, and
the open challenges that fit their organisation."""

from fastapi import APIRouter, Request, Response

from app.api.deps import SessionDep
from app.services import home as home_service
from app.web.deps import UserDep
from app.web.rendering import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, signed_in: UserDep) -> Response:
    lists = home_service.home(session, signed_in.principal, signed_in.user.email)
    return render(request, "home/index.html", {"home": lists}, fragment="home_lists")
