"""The pipeline analytics dashboard: the funnel, time in each stage, reasons
for not progressing and the adoptions stuck longest, each chart with its
table, over the adoptions the person may see. The filters are the board's
(a GET form that works without JavaScript; htmx swaps only the results)."""

from typing import Any

from fastapi import APIRouter, Request, Response

from app.api.deps import SessionDep
from app.models.metrics import FunnelPublic
from app.services import analytics
from app.web import charts
from app.web.board import filters_context, read_filters
from app.web.deps import WebPrincipalDep
from app.web.rendering import render
from app.web.vocabulary import words

router = APIRouter()


def _percent(share: float | None) -> str:
    return "Not known" if share is None else f"{round(100 * share)}%"


def _funnel_rows(funnel: FunnelPublic) -> list[list[Any]]:
    """Stage, adoptions that got at least that far, and the share of those
    that went on to the next stage."""
    names = {s.stage: s.name for s in funnel.stages}
    rows: list[list[Any]] = [
        [names[c.from_stage], f"{c.reached:,}", _percent(c.rate)] for c in funnel.conversions
    ]
    if funnel.conversions:
        last = funnel.conversions[-1]
        rows.append([names[last.to_stage], f"{last.went_on:,}", "Last stage"])
    return rows


def _days(days: int | None) -> str:
    return "None yet" if days is None else f"{days:,}"


def results_context(funnel: FunnelPublic) -> dict[str, Any]:
    """The charts and, beside each, its table's rows: the same numbers."""
    names = {s.stage: s.name for s in funnel.stages}
    return {
        "funnel": funnel,
        "recent_stays": analytics.RECENT_STAYS,
        "funnel_chart": charts.funnel_chart(funnel),
        "funnel_rows": _funnel_rows(funnel),
        "time_chart": charts.time_in_stage_chart(funnel),
        "time_rows": [
            [t.name, f"{t.stays:,}", _days(t.median_days), _days(t.p90_days)] for t in funnel.time_in_stage
        ],
        "stops_chart": charts.stops_chart(funnel),
        "stops_rows": [[words(s.reason_code), f"{s.stops:,}"] for s in funnel.stops],
        "stops_by_stage_rows": [[s.name, f"{s.stops:,}"] for s in funnel.stops_by_stage],
        "stage_rows": [[s.name, f"{s.adoptions:,}"] for s in funnel.stages],
        "stuck_rows": [
            [
                {
                    "text": f"{a.innovation_name} at {a.organisation_name}",
                    "href": f"/adoptions/{a.adoption_id}",
                },
                names.get(a.stage, words(a.stage)),
                f"{a.days_in_stage:,}",
            ]
            for a in funnel.stuck
        ],
    }


@router.get("/analytics")
def analytics_page(request: Request, session: SessionDep, principal: WebPrincipalDep) -> Response:
    board_filters, chosen = read_filters(request.query_params)
    filters = analytics.FunnelFilters(
        region=board_filters.region,
        category=board_filters.category,
        organisation_id=board_filters.organisation_id,
        innovation_id=board_filters.innovation_id,
        organisation_name=board_filters.organisation_name,
        innovation_name=board_filters.innovation_name,
    )
    funnel = analytics.funnel(session, principal, filters)
    context = {**results_context(funnel), **filters_context(session, principal, board_filters, chosen)}
    return render(request, "analytics/index.html", context, fragment="results")
