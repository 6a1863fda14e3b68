"""Pages that are the same for everyone: the API documentation, the
accessibility statement and the privacy notice."""

from fastapi import APIRouter, Request, Response

from app.web.deps import MaybeUserDep
from app.web.rendering import render

router = APIRouter()

# A page's paragraphs, with a {"heading", "id"} before each part of it.
STATEMENTS: dict[str, tuple[str, list[str | dict[str, str]]]] = {
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
            {"heading": "Applications to join the exchange", "id": "applications"},
            "What we hold: what a business tells us when it applies to join: the company's name, address, "
            "postcode, Companies House number, website and size; the name, email address and role of the "
            "person applying; and what it says about its product or service, its evidence and the support it "
            "wants. We also keep a coded form of the network address the application came from, which cannot "
            "be turned back into the address, only to stop one sender flooding the form.",
            "Why: to decide whether and how the exchange can support the business, and to write to the "
            "person who applied about it. We hold it because they agree to it when they apply.",
            "Who sees it: the exchange team, that is its own staff and the facilitators of the Health "
            "Innovation Networks it works with. Other users of the exchange do not see applications.",
            "For how long: while we review an application, and for 2 years after we decide, then we "
            "delete it. If we accept it, the company becomes an organisation on the exchange, with the "
            "person who applied as its first user and the product as a draft innovation record, held like "
            "everything else on the exchange until they ask us to remove them.",
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
