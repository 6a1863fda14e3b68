"""In-process time of the funnel and the spread of the most-adopted innovation
on an already seeded database (`python -m bench.run --seed-only --keep`),
without HTTP: each the median of `--runs`, beside `SELECT 1` on the same
session as the baseline, and each of the funnel's parts alone.

    .venv/bin/python -m bench.analytics_time --url sqlite:///bench/work/bench-1000000.db
"""

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from app.auth import Principal, Role, Scope
from app.config import Settings
from app.db import Database
from app.models.adoption import Adoption
from app.models.innovation import Innovation
from app.services import analytics, pipeline, spread

cli = typer.Typer(add_completion=False)


def _median_ms(session: Session, call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and slowest of `runs` calls, in ms, after one to warm the caches."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        session.rollback()  # each as its own request would be: a fresh transaction
    return statistics.median(times), max(times)


@cli.command()
def main(
    url: Annotated[str, typer.Option(help="The seeded database.")],
    runs: Annotated[int, typer.Option(help="Runs of each; the median is reported.")] = 20,
) -> None:
    database = Database(Settings(database_url=url, environment="test"))
    staff = Principal(
        organisation_id=uuid.uuid4(),
        organisation_kind="other",
        region=None,
        role=Role.admin,
        scopes=frozenset(Scope),
        label="bench",
    )
    with database.session(write=False) as session:
        stages = pipeline.stages(session)
        most_adopted = session.exec(
            select(Adoption.innovation_id)
            .group_by(col(Adoption.innovation_id))
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        innovation = session.get(Innovation, most_adopted)
        assert innovation is not None
        filters = analytics.FunnelFilters()
        where = analytics._where(session, staff, filters)
        parts: dict[str, Callable[[], Any]] = {
            "SELECT 1 (baseline)": lambda: session.execute(text("SELECT 1")).scalar_one(),
            "funnel": lambda: analytics.funnel(session, staff, filters),
            "  counts and conversions": lambda: analytics._counts(session, where),
            "  time in stage": lambda: analytics._time_in_stage(session, stages, where),
            "  stuck": lambda: analytics._stuck(session, where, analytics.STUCK_LIMIT, pipeline.utcnow()),
            "  stops": lambda: analytics._stops(session, stages, where),
            "spread of the most-adopted": lambda: spread.spread(session, innovation),
        }
        most = _adoptions(session, innovation)
        typer.echo(f"{url}: {runs} runs each; the most-adopted innovation has {most}")
        for name, call in parts.items():
            median, slowest = _median_ms(session, call, runs)
            typer.echo(f"{name:<28} median {median:8.2f} ms   slowest {slowest:8.2f} ms")
    database.dispose()


def _adoptions(session: Session, innovation: Innovation) -> str:
    n = session.exec(select(func.count()).where(Adoption.innovation_id == innovation.id)).one()
    return f"{n:,} adoptions"


if __name__ == "__main__":
    cli()
