"""Charts drawn on the server as inline SVG: no script, no chart library, no
canvas, nothing the Content-Security-Policy forbids (colours and type come
from classes in app/static/app.css, never a `style` attribute).

Each builder turns numbers the services computed into shapes: rectangles
and text placed in a fixed view box that scales to its container. The
template (app/templates/charts/macros.html) draws them as an
`<svg role="img">` named by its `<title>` and `<desc>`, with a table of the
same numbers beside it for anyone who cannot see the picture."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.models.metrics import FunnelPublic
from app.models.spread import QuarterCount
from app.web.rendering import environment
from app.web.vocabulary import words

WIDTH = 640
LABEL_WIDTH = 190  # row labels, left of the bars
VALUE_WIDTH = 110  # the value written after the longest bar
ROW = 36
BAR = 24
TOP = 8
PLOT = WIDTH - LABEL_WIDTH - VALUE_WIDTH


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    tone: str  # a modifier of .app-chart__bar: primary, secondary, warning, muted


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start, middle or end
    kind: str = "label"  # label, value or axis


@dataclass(frozen=True)
class LegendItem:
    text: str
    tone: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    width: int = WIDTH


def _number(value: float) -> str:
    return f"{value:,.0f}"


def _scale(value: float, largest: float, span: float = PLOT) -> float:
    return round(span * value / largest, 1) if largest > 0 else 0.0


def _short(text: str, limit: int = 26) -> str:
    """A label that fits its column; the table beside the chart has it whole."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def horizontal_bars(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    tone: str = "primary",
    centred: bool = False,
) -> Chart:
    """A bar per row (label, value, value as written), longest to scale;
    `centred` bars narrow about the middle, as a funnel does."""
    largest = max((value for _, value, _ in rows), default=0)
    rects, texts = [], []
    for index, (label, value, written) in enumerate(rows):
        y = TOP + index * ROW
        width = max(_scale(value, largest), 1.0 if value else 0.0)
        x = LABEL_WIDTH + ((PLOT - width) / 2 if centred else 0)
        rects.append(Rect(x, y, width, BAR, tone))
        middle = y + BAR / 2 + 5
        texts.append(Text(LABEL_WIDTH - 8, middle, _short(label), anchor="end"))
        value_x = LABEL_WIDTH + (PLOT + width) / 2 + 8 if centred else x + width + 8
        texts.append(Text(value_x, middle, written, kind="value"))
    return Chart(chart_id, title, description, TOP * 2 + max(len(rows), 1) * ROW, rects, texts)


def funnel_chart(funnel: FunnelPublic) -> Chart:
    """How many adoptions got at least as far as each active stage."""
    if not funnel.conversions:
        return horizontal_bars("funnel-chart", "Pipeline funnel", "No stages.", [])
    names = {s.stage: s.name for s in funnel.stages}
    reached = [(names[c.from_stage], c.reached) for c in funnel.conversions]
    last = funnel.conversions[-1]
    reached.append((names[last.to_stage], last.went_on))
    top = reached[0][1]
    rows = [(name, n, _number(n) + (f" ({round(100 * n / top)}%)" if top else "")) for name, n in reached]
    parts = "; ".join(f"{name} {written}" for name, _, written in rows)
    description = f"Adoptions that got at least as far as each stage, of {_number(top)}: {parts}."
    return horizontal_bars("funnel-chart", "Pipeline funnel", description, rows, centred=True)


def time_in_stage_chart(funnel: FunnelPublic) -> Chart:
    """Two bars a stage: the median days in it, and the 90th percentile."""
    measured = [t for t in funnel.time_in_stage if t.stays]
    largest = max((t.p90_days or 0 for t in measured), default=0)
    rects, texts = [], []
    row = BAR * 2 + 14
    for index, stay in enumerate(measured):
        y = TOP + 22 + index * row
        texts.append(Text(LABEL_WIDTH - 8, y + BAR + 4, _short(stay.name), anchor="end"))
        for offset, days, tone in (
            (0, stay.median_days or 0, "primary"),
            (BAR, stay.p90_days or 0, "secondary"),
        ):
            width = max(_scale(days, largest), 1.0)
            rects.append(Rect(LABEL_WIDTH, y + offset, width, BAR - 2, tone))
            texts.append(Text(LABEL_WIDTH + width + 8, y + offset + BAR / 2 + 4, _days(days), kind="value"))
    parts = "; ".join(
        f"{t.name}: median {_days(t.median_days)}, 90th percentile {_days(t.p90_days)}" for t in measured
    )
    description = (
        f"Days spent in each stage, over completed stays. {parts}." if measured else "No completed stays yet."
    )
    return Chart(
        "time-in-stage-chart",
        "Time in each stage",
        description,
        TOP * 2 + 22 + max(len(measured), 1) * row,
        rects,
        texts,
        [LegendItem("Median", "primary"), LegendItem("90th percentile", "secondary")],
    )


def _days(days: int | None) -> str:
    if days is None:
        return "none"
    return f"{days} day" if days == 1 else f"{days:,} days"


def stops_chart(funnel: FunnelPublic) -> Chart:
    """Moves to `not_progressed`, by reason code."""
    rows = [(words(s.reason_code), s.stops, _number(s.stops)) for s in funnel.stops]
    parts = "; ".join(f"{label} {written}" for label, _, written in rows)
    description = f"Why adoptions did not progress: {parts}." if rows else "No adoption has been stopped."
    return horizontal_bars("stops-chart", "Reasons for not progressing", description, rows, tone="warning")


COLUMN_GAP = 6
AXIS = 28  # room for the quarter labels under the columns
COLUMN_TOP = 24  # room for the value over the tallest column
COLUMNS_HEIGHT = 180


def quarters_chart(per_quarter: Sequence[QuarterCount], name: str) -> Chart:
    """A column per quarter: the adoptions of an innovation in it, oldest
    first. Quarters with none between two that have some are shown empty,
    so the time axis is even."""
    quarters = _every_quarter(per_quarter)
    largest = max((q.adoptions for q in quarters), default=0)
    slot = (WIDTH - 16) / max(len(quarters), 1)
    width = max(slot - COLUMN_GAP, 2)
    label_every = 1 if len(quarters) <= 12 else 2 if len(quarters) <= 24 else 4
    rects, texts = [], []
    base = COLUMN_TOP + COLUMNS_HEIGHT
    for index, quarter in enumerate(quarters):
        x = 8 + index * slot + COLUMN_GAP / 2
        height = _scale(quarter.adoptions, largest, COLUMNS_HEIGHT)
        middle = x + width / 2
        if quarter.adoptions:
            rects.append(Rect(x, base - height, width, height, "primary"))
            texts.append(Text(middle, base - height - 6, _number(quarter.adoptions), "middle", "value"))
        if index % label_every == 0:
            texts.append(Text(middle, base + 18, quarter.quarter.replace("-", " "), "middle", "axis"))
    parts = "; ".join(f"{q.quarter.replace('-', ' ')}: {q.adoptions}" for q in per_quarter)
    description = (
        f"Adoptions of {name} by the quarter they were adopted in. {parts}."
        if per_quarter
        else f"No organisation has adopted {name} yet."
    )
    return Chart("spread-chart", "Adoptions per quarter", description, base + AXIS, rects, texts)


def _every_quarter(per_quarter: Sequence[QuarterCount]) -> list[QuarterCount]:
    if not per_quarter:
        return []
    counts = {q.quarter: q.adoptions for q in per_quarter}
    year, quarter = (int(part) for part in per_quarter[0].quarter.split("-Q"))
    last = per_quarter[-1].quarter
    quarters = []
    while True:
        key = f"{year}-Q{quarter}"
        quarters.append(QuarterCount(quarter=key, adoptions=counts.get(key, 0)))
        if key == last or len(quarters) > 400:
            return quarters
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


# The innovation page draws its spread over time from the spread it already
# shows (app/templates/innovations/show.html, `{% block spread %}`).
environment.globals["quarters_chart"] = quarters_chart
