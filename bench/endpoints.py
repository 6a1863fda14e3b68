"""What is measured, and the request lists each measurement draws from,
read from the seeded database before the service starts."""

import random
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func
from sqlmodel import col, select

from app.models import Adoption, Challenge, Innovation, Organisation
from app.models.vocabulary import ADOPTED_STAGES
from app.services.pagination import encode_cursor
from bench.data import NOUNS

REGION = "north_west"
STAGE = "co_design"
FILTER = f"region={REGION}&stage={STAGE}&limit=20"
SAMPLE = 10_000


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    script: str = "get.lua"
    # Which key it runs with: the facilitator's (reads) or the admin's (moves);
    # "web" is a facilitator's session cookie, for the pages.
    principal: str = "facilitator"
    # wrk's connections for it, when not the run's: a target on how fast one
    # answer comes (the analytics) is measured one request at a time.
    connections: int | None = None


ENDPOINTS = [
    Endpoint("healthz", "GET /healthz (the ceiling)"),
    Endpoint("list", f"adoptions, filtered, page 1: GET /api/v1/adoptions?{FILTER}"),
    Endpoint("list_pages", "adoptions, filtered, a random page of the same list (cursor anywhere in it)"),
    Endpoint("list_all", "adoptions, unfiltered, page 1: GET /api/v1/adoptions?limit=20"),
    Endpoint(
        "list_deep", "adoptions, unfiltered, {depth} rows deep: GET /api/v1/adoptions?limit=20&cursor=…"
    ),
    Endpoint("innovation", "one innovation: GET /api/v1/innovations/<id>, random of {sample}"),
    Endpoint("search", "search: GET /api/v1/innovations?q=<word>, random of {words} words"),
    Endpoint(
        "challenge_matches",
        "matches for a challenge over {innovations} innovations, one connection: "
        "GET /api/v1/challenges/<id>/matches, random of {open_challenges} open challenges",
        connections=1,
    ),
    Endpoint(
        "innovation_matches",
        "matches for an innovation, one connection: GET /api/v1/innovations/<id>/matches, random of {sample}",
        connections=1,
    ),
    Endpoint(
        "funnel",
        "pipeline funnel over every adoption, one connection: GET /api/v1/metrics/funnel",
        connections=1,
    ),
    Endpoint(
        "spread",
        "spread of the most-adopted innovation ({most_adopted} adopted), one connection: "
        "GET /api/v1/innovations/<id>/spread",
        connections=1,
    ),
    Endpoint(
        "board",
        "the adoption board page (HTML), signed in as a facilitator by session cookie, 4 connections: "
        "GET /board",
        principal="web",
        # A page takes far longer than an API call: at 32 its queue alone would outlast wrk's timeout.
        connections=4,
    ),
    Endpoint(
        "move",
        "stage move: POST /api/v1/adoptions/<id>/transitions (identified ⇄ paused)",
        "move.lua",
        "admin",
    ),
]
BY_KEY = {e.key: e for e in ENDPOINTS}


@dataclass
class Prepared:
    files: dict[str, Path]
    facts: dict[str, object]

    def label(self, endpoint: Endpoint) -> str:
        return endpoint.label.format(
            **{k: f"{v:,}" if isinstance(v, int) else v for k, v in self.facts.items()}
        )


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def prepare(url: str, folder: Path, depth: int, seed: int = 7) -> Prepared:
    """Write the path lists; return their files and facts worth reporting."""
    rng = random.Random(seed)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(Adoption)).scalar_one()
            filtered = (
                conn.execute(
                    select(Adoption.id)
                    .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
                    .where(Organisation.region == REGION, Adoption.stage == STAGE)
                    .order_by(col(Adoption.id))
                )
                .scalars()
                .all()
            )
            depth = min(depth, max(1, total // 2))
            deep_id = conn.execute(
                select(Adoption.id).order_by(col(Adoption.id)).offset(depth - 1).limit(1)
            ).scalar_one()
            innovation_ids = (
                conn.execute(select(Innovation.id).order_by(func.random()).limit(SAMPLE)).scalars().all()
            )
            most_adopted, adopted = conn.execute(
                select(Adoption.innovation_id, func.count().label("n"))
                .where(col(Adoption.stage).in_(ADOPTED_STAGES))
                .group_by(col(Adoption.innovation_id))
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            innovations = conn.execute(select(func.count()).select_from(Innovation)).scalar_one()
            open_challenges = (
                conn.execute(
                    select(Challenge.id)
                    .where(Challenge.status == "open")
                    .order_by(func.random())
                    .limit(SAMPLE)
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    # Cursors anywhere in the filtered list but its last page.
    cursors = [encode_cursor(i) for i in filtered[: max(1, len(filtered) - 20)]]
    cursors = rng.sample(cursors, min(len(cursors), 2_000))
    files = {
        "healthz": _write(folder / "healthz.paths", ["/healthz"]),
        "list": _write(folder / "list.paths", [f"/api/v1/adoptions?{FILTER}"]),
        "list_pages": _write(
            folder / "list_pages.paths", [f"/api/v1/adoptions?{FILTER}&cursor={c}" for c in cursors]
        ),
        "list_all": _write(folder / "list_all.paths", ["/api/v1/adoptions?limit=20"]),
        "list_deep": _write(
            folder / "list_deep.paths", [f"/api/v1/adoptions?limit=20&cursor={encode_cursor(deep_id)}"]
        ),
        "innovation": _write(
            folder / "innovation.paths", [f"/api/v1/innovations/{i}" for i in innovation_ids]
        ),
        "search": _write(folder / "search.paths", [f"/api/v1/innovations?q={word}" for word in NOUNS]),
        "challenge_matches": _write(
            folder / "challenge_matches.paths", [f"/api/v1/challenges/{i}/matches" for i in open_challenges]
        ),
        "innovation_matches": _write(
            folder / "innovation_matches.paths", [f"/api/v1/innovations/{i}/matches" for i in innovation_ids]
        ),
        "funnel": _write(folder / "funnel.paths", ["/api/v1/metrics/funnel"]),
        "spread": _write(folder / "spread.paths", [f"/api/v1/innovations/{most_adopted}/spread"]),
        "board": _write(folder / "board.paths", ["/board"]),
        "move": folder / "moves.txt",
    }
    facts: dict[str, object] = {
        "adoptions": total,
        "filtered_rows": len(filtered),
        "depth": depth,
        "sample": len(innovation_ids),
        "words": len(NOUNS),
        "most_adopted": adopted,
        "innovations": innovations,
        "open_challenges": len(open_challenges),
    }
    return Prepared(files, facts)


def prepare_moves(url: str, path: Path, limit: int = 50_000, seed: int = 11) -> int:
    """List adoptions now at `identified` with their versions, in random
    order, for move.lua. Called before each run of it, so that each starts
    from the database as it is."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Adoption.id, Adoption.version).where(Adoption.stage == "identified")
            ).all()
    finally:
        engine.dispose()
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    rows = rows[:limit]
    _write(path, [f"{adoption_id} {version}" for adoption_id, version in rows])
    return len(rows)


def bench_transitions(url: str) -> int:
    """Transitions the move benchmark made (its reason is `bench`)."""
    from app.models import Transition

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(Transition).where(col(Transition.reason) == "bench")
            ).scalar_one()
    finally:
        engine.dispose()
