"""The adoption board: a column per active stage, `paused` and
`not_progressed` folded away, a card per adoption the person may see. Each
card moves by its own small form (POST /adoptions/{id}/move, in
app/web/adoptions.py); drag and drop (app/static/board.js) only fills and
submits that form. After a move by htmx only the card and the column counts
change: the answer carries them as out-of-band swaps."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.api.deps import SessionDep
from app.auth import Principal
from app.models.vocabulary import PAUSED, Category, NotProgressedReason, Region
from app.services import adoptions, pipeline
from app.web.deps import WebPrincipalDep
from app.web.rendering import render

router = APIRouter()

# Cards per column; the column's count says how many there are in all.
PER_STAGE = 25
FILTERS = ("region", "organisation", "category", "innovation", "organisation_name", "innovation_name")
# The longest name search the filters take: a name is at most 200 characters.
NAME_SEARCH_LENGTH = 200


@dataclass
class Problem:
    """Why a move was not made, shown on the card (or the adoption page)."""

    kind: str  # "gate" (409), "stale" (412) or "invalid" (422)
    message: str
    missing: list[str] = field(default_factory=list)
    # The stage whose gate is not met, for the link to fill it.
    stage: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    # True when the page around it was read afresh (a full page), so its
    # form is current; False when only the card is swapped in by htmx.
    fresh: bool = False

    @property
    def sentence(self) -> str:
        """The message in one line, the missing gate items included."""
        if self.missing:
            return f"{self.message.rstrip(':')}: {', '.join(self.missing)}."
        return self.message


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def read_filters(params: Mapping[str, str]) -> tuple[adoptions.BoardFilters, dict[str, str]]:
    """The board's filters from a query string; a value that is not one the
    filter knows is left out, as if not chosen."""
    region = params.get("region") or None
    category = params.get("category") or None
    organisation = _uuid(params.get("organisation"))
    innovation = _uuid(params.get("innovation"))
    filters = adoptions.BoardFilters(
        region=region if region in Region.__members__ else None,
        category=category if category in Category.__members__ else None,
        organisation_id=organisation,
        innovation_id=innovation,
        organisation_name=_words(params.get("organisation_name")),
        innovation_name=_words(params.get("innovation_name")),
    )
    chosen = {
        "region": filters.region,
        "organisation": str(organisation) if organisation else None,
        "category": filters.category,
        "innovation": str(innovation) if innovation else None,
        "organisation_name": filters.organisation_name,
        "innovation_name": filters.innovation_name,
    }
    return filters, {key: value for key, value in chosen.items() if value}


def _words(value: str | None) -> str | None:
    """A name search: its words with the spaces around them trimmed, or None when blank."""
    words = " ".join((value or "").split())[:NAME_SEARCH_LENGTH]
    return words or None


def board_url(chosen: Mapping[str, str]) -> str:
    """The board with these filters: the address a person can share."""
    return "/board" + (f"?{urlencode(chosen)}" if chosen else "")


def filters_of(return_to: str) -> tuple[adoptions.BoardFilters, dict[str, str]]:
    """The filters of a board address (the `return_to` of a card's form)."""
    return read_filters(dict(parse_qsl(urlsplit(return_to).query)))


def is_board(return_to: str) -> bool:
    return urlsplit(return_to).path == "/board"


def _targets(session: Session, principal: Principal, cards: list[adoptions.BoardCard]) -> dict[Any, Any]:
    """Each card's move targets: no query (the pipeline is cached), and
    worked out once for the cards that share a stage and the same rights."""
    found: dict[Any, Any] = {}
    seen: dict[tuple[Any, ...], list[adoptions.MoveTarget]] = {}
    for card in cards:
        adoption = card.adoption
        movable = pipeline.can_move(principal, adoption, card.region)
        key = (movable, adoption.stage, adoption.paused_from if adoption.stage == PAUSED else None)
        if key not in seen:
            seen[key] = adoptions.move_targets(session, principal, card.loaded)
        found[adoption.id] = seen[key]
    return found


def filters_context(
    session: Session, principal: Principal, filters: adoptions.BoardFilters, chosen: dict[str, str]
) -> dict[str, Any]:
    """What the adoption filters need (app/templates/adoptions/filters.html),
    on the board and on the analytics page."""
    organisation, innovation = adoptions.board_chosen(session, principal, filters)
    return {
        "chosen": chosen,
        "regions": list(Region),
        "categories": list(Category),
        "chosen_organisation": organisation,
        "chosen_innovation": innovation,
        "name_search_length": NAME_SEARCH_LENGTH,
    }


def board_context(
    session: Session,
    principal: Principal,
    filters: adoptions.BoardFilters,
    chosen: dict[str, str],
    problems: dict[uuid.UUID, Problem] | None = None,
) -> dict[str, Any]:
    columns = adoptions.board(session, principal, filters, PER_STAGE)
    cards = [card for column in columns for card in column.cards]
    problems = problems or {}
    return {
        "active_columns": [c for c in columns if c.stage.active],
        "offline_columns": [c for c in columns if not c.stage.active],
        # A column counted past the cap makes the total a floor.
        "shown": sum(min(c.count, adoptions.BOARD_COUNT_CAP) for c in columns),
        "shown_more": any(c.count > adoptions.BOARD_COUNT_CAP for c in columns),
        "count_cap": adoptions.BOARD_COUNT_CAP,
        "targets": _targets(session, principal, cards),
        "problems": problems,
        "problem_list": _problem_list(cards, problems),
        **filters_context(session, principal, filters, chosen),
        "return_to": board_url(chosen),
        "csv_url": "/exports/adoptions.csv" + (f"?{urlencode(chosen)}" if chosen else ""),
        "stage_names": {s.key: s.name for s in pipeline.stages(session).ordered},
        "reason_codes": list(NotProgressedReason),
    }


def _problem_list(
    cards: list[adoptions.BoardCard], problems: dict[uuid.UUID, Problem]
) -> list[dict[str, str]]:
    """The NHS error summary: a line per refused move, linking to its card,
    or to the adoption's page when its card is not among those shown."""
    shown = {card.adoption.id: card for card in cards}
    return [
        _summary_item(shown[adoption_id], problem)
        if adoption_id in shown
        else {"text": problem.sentence, "href": f"/adoptions/{adoption_id}"}
        for adoption_id, problem in problems.items()
    ]


def _summary_item(card: adoptions.BoardCard, problem: Problem) -> dict[str, str]:
    """The NHS error summary's line for a card whose move was refused."""
    prefix = f"m-{card.adoption.id}"
    where = f"{card.innovation_name} at {card.organisation_name}: "
    if problem.errors:
        field_name, message = next(iter(problem.errors.items()))
        anchor = {"to_stage": "to", "reason": "reason", "reason_code": "reason-code"}.get(field_name, "to")
        return {"text": where + message, "href": f"#{prefix}-{anchor}"}
    return {"text": where + problem.sentence, "href": f"#card-{card.adoption.id}"}


@router.get("/board")
def board_page(request: Request, session: SessionDep, principal: WebPrincipalDep) -> Response:
    filters, chosen = read_filters(request.query_params)
    context = board_context(session, principal, filters, chosen)
    return render(request, "board/index.html", context, fragment="board")


def page_with_problem(
    request: Request,
    session: SessionDep,
    principal: Principal,
    return_to: str,
    adoption_id: uuid.UUID,
    problem: Problem,
    status: int,
) -> Response:
    """A refused move without JavaScript: the board read afresh, the card
    saying why, the NHS error summary at the top."""
    filters, chosen = filters_of(return_to)
    problem.fresh = True
    context = board_context(session, principal, filters, chosen, {adoption_id: problem})
    return render(request, "board/index.html", context, status_code=status)


def card_answer(
    request: Request,
    session: SessionDep,
    principal: Principal,
    card: adoptions.BoardCard,
    return_to: str,
    problem: Problem,
    status: int,
    announcement: str,
) -> Response:
    """A refused move by htmx: the card, saying why, in place of itself, and
    the announcement for screen readers."""
    context = {
        "answer_card": card,
        "targets": _targets(session, principal, [card]),
        "problems": {card.adoption.id: problem},
        "return_to": return_to,
        "announcement": announcement,
        "stage_names": {s.key: s.name for s in pipeline.stages(session).ordered},
        "reason_codes": list(NotProgressedReason),
    }
    return render(request, "board/index.html", context, fragment=["card_answer"], status_code=status)


def moved_answer(
    request: Request,
    session: SessionDep,
    principal: Principal,
    card: adoptions.BoardCard,
    return_to: str,
    announcement: str,
) -> Response:
    """A move by htmx: nothing in place of the card's old self (it leaves
    its column), the card added to its new column, every column's count,
    and the announcement, all as out-of-band swaps."""
    filters, _ = filters_of(return_to)
    counts = adoptions.board_counts(session, principal, filters)
    stages = pipeline.stages(session)
    context = {
        "moved": card,
        "targets": _targets(session, principal, [card]),
        "problems": {},
        "counts": {s.key: counts.get(s.key, 0) for s in stages.ordered},
        "count_cap": adoptions.BOARD_COUNT_CAP,
        "return_to": return_to,
        "announcement": announcement,
        "stage_names": {s.key: s.name for s in stages.ordered},
        "reason_codes": list(NotProgressedReason),
    }
    return render(request, "board/index.html", context, fragment=["move_result"])
