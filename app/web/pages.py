"""Pages that are the same for everyone: the API documentation, the
accessibility statement and the privacy notice."""

from fastapi import APIRouter, Request, Response

from app.web.deps import MaybeUserDep
from app.web.rendering import render

router = APIRouter()

STATEMENTS = {
    "accessibility": (
        "Accessibility statement",
        [
            "This service is built to meet the Web Content Accessibility Guidelines (WCAG) 2.2 at level AA, "
            "on the NHS.UK design system. Every page works with JavaScript turned off, by keyboard alone "
            "and with a screen reader; each page is checked with axe-core by the service's automated tests.",
            "The adoption board's drag and drop has a form on every card that does the same, so no one "
            "needs to drag.",
            "If you find a part of the service you cannot use, tell the exchange team and we will fix it.",
        ],
    ),
    "privacy": (
        "Privacy notice",
        [
            "The exchange holds the names and work email addresses of the people who use it, the "
            "organisations they work for, and what they record about challenges, innovations and adoptions.",
            "It uses two cookies, both strictly necessary: one keeps you signed in, the other protects "
            "forms from being sent by other websites. Neither tracks you.",
            "The exchange team uses this information only to run the exchange. Ask them to see, correct or "
            "delete what is held about you.",
        ],
    ),
}


@router.get("/docs")
def api_docs(request: Request) -> Response:
    return render(request, "docs/swagger.html")


@router.get("/accessibility")
def accessibility(request: Request, _: MaybeUserDep) -> Response:
    title, paragraphs = STATEMENTS["accessibility"]
    return render(request, "home/static_page.html", {"title": title, "paragraphs": paragraphs})


@router.get("/privacy")
def privacy(request: Request, _: MaybeUserDep) -> Response:
    title, paragraphs = STATEMENTS["privacy"]
    return render(request, "home/static_page.html", {"title": title, "paragraphs": paragraphs})
