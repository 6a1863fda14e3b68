"""The home page: what the signed-in person holds and what waits on them."""

from fastapi import APIRouter, Request, Response

from app.web.deps import UserDep
from app.web.rendering import render

router = APIRouter()


@router.get("/")
def home(request: Request, signed_in: UserDep) -> Response:
    return render(request, "home/index.html", {})
