"""Made-up but plausible data for the benchmark, generated in batches.

Organisations (NHS trusts, ICBs, GP practices, councils, Health Innovation
Networks and suppliers across the seven regions), innovations (with their
category and care-setting facets) and adoptions spread along the pipeline as
a funnel: many identified, few sustained, each with the transitions that took
it there, dated back from the day it entered its stage (so time in each stage
and adoptions per quarter have data). A few innovations spread far wider than
the rest, as in life. Ids come from the app's own `new_id` (UUIDv7), so id
order is creation order, as in the service.

The same seed gives the same data, whatever the database."""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models.base import new_id
from app.models.vocabulary import CareSetting, Category, EvidenceType, Maturity, Region, UkcaClass

BATCH = 20_000


def _words(text: str) -> list[str]:
    return text.split()


def _phrases(text: str) -> list[str]:
    return text.split("; ")


# Rough shares of the regions' populations.
REGION_WEIGHTS = {
    Region.north_east_and_yorkshire: 15,
    Region.north_west: 13,
    Region.midlands: 19,
    Region.east_of_england: 11,
    Region.london: 16,
    Region.south_east: 16,
    Region.south_west: 10,
}

# Kinds of the organisations that adopt, with their shares; suppliers and
# Health Innovation Networks are made apart.
ADOPTER_KINDS = {
    "primary_care": 45,
    "nhs_trust": 12,
    "social_care": 14,
    "icb": 3,
    "local_authority": 8,
    "academic": 4,
    "charity": 8,
    "other": 6,
}
SUPPLIER_SHARE = 0.3
HINS_PER_REGION = 2

# The pipeline as a funnel.
STAGE_WEIGHTS = {
    "identified": 30,
    "needs_assessment": 18,
    "co_design": 14,
    "real_world_testing": 10,
    "adopted": 10,
    "sustained": 5,
    "paused": 6,
    "not_progressed": 7,
}
ACTIVE = ["identified", "needs_assessment", "co_design", "real_world_testing", "adopted", "sustained"]
# What each stage's gate asks, so an adoption's gate record shows what it took to get there.
GATE_BY_STAGE: dict[str, dict[str, Any]] = {
    "needs_assessment": {"champion": "Named lead"},
    "co_design": {
        "needs_assessment_summary": "Fits the local pathway; reduces admissions.",
        "evidence_reviewed": True,
        "regulation_reviewed": True,
        "cost_reviewed": True,
        "pathway_fit_reviewed": True,
    },
    "real_world_testing": {
        "funding_source": "ICB transformation fund",
        "evaluation_plan": "Six-month service evaluation",
        "success_measures": "Bed days saved; staff time",
        "local_tailoring": "Adapted with the ward team",
    },
    "adopted": {"evaluation_outcome": "positive", "procurement_route": "Framework call-off"},
}
NOT_PROGRESSED_CODES = ["insufficient_evidence", "no_funding", "no_capacity", "poor_local_fit"]
# Days an adoption stays in a stage before its next move (uniform in the
# range); `adopted` waits the 180 days `sustained` asks.
STAY_DAYS = {
    "identified": (2, 60),
    "needs_assessment": (7, 120),
    "co_design": (14, 200),
    "real_world_testing": (45, 365),
    "adopted": (180, 420),
}
# The innovations that spread widely: the k-th (from 1) is adopted by
# LEADER_SHARE / k of the adopting organisations, all together at most a
# tenth of the adoptions; the rest are spread at random.
SPREAD_LEADERS = 20
LEADER_SHARE = 0.2
ACTOR = "bench seed"

PLACES = _words(
    "Ashford Barnsley Bolton Bradford Brighton Bristol Cambridge Carlisle Chester Colchester "
    "Coventry Derby Doncaster Dorset Durham Exeter Gloucester Halifax Harrogate Hereford Hull "
    "Ipswich Kendal Kingston Lancaster Leeds Leicester Lincoln Luton Maidstone Mansfield "
    "Middlesbrough Newcastle Northampton Norwich Nottingham Oldham Oxford Peterborough Plymouth "
    "Portsmouth Preston Reading Salford Sheffield Shrewsbury Southampton Stockport Sunderland "
    "Swindon Taunton Telford Truro Wakefield Walsall Warrington Watford Wigan Winchester "
    "Wolverhampton Worcester York"
)
KIND_NAMES = {
    "primary_care": "Medical Practice",
    "nhs_trust": "NHS Foundation Trust",
    "social_care": "Care Home",
    "icb": "Integrated Care Board",
    "local_authority": "Council",
    "academic": "University",
    "charity": "Hospice",
    "other": "Community Interest Company",
    "supplier": "Ltd",
}

# Innovation names and text are drawn from these words, so a search for any
# one of them matches a predictable share of innovations (one in len(list)).
ADJECTIVES = _words(
    "acoustic adaptive ambient antimicrobial automated bedside biodegradable cloud connected "
    "contactless digital disposable ergonomic foldable handheld haptic immersive inflatable "
    "intelligent lightweight low-cost magnetic mobile modular portable predictive reusable "
    "robotic sensor-based smart solar thermal ultrasonic virtual voice-activated wearable "
    "wireless"
)
NOUNS = _words(
    "alarm analyser app bandage bed brace catheter chair checklist clinic coach dashboard "
    "dispenser dressing glove headset helmet hoist inhaler kiosk lamp mattress monitor needle "
    "oximeter pathway patch pillow platform pump scanner screener sensor splint stethoscope "
    "stretcher syringe tablet tracker triage ventilator walker wristband"
)
PURPOSES = _phrases(
    "falls prevention; pressure ulcers; sepsis detection; medicines adherence; "
    "hospital discharge; dementia care; diabetes control; heart failure; wound healing; "
    "infection control; frailty; mental wellbeing; maternity care; stroke rehabilitation; "
    "asthma; chronic pain; hydration; nutrition; sleep; loneliness"
)
SECTORS = _words(
    "engineering aerospace automotive retail gaming defence finance agriculture "
    "logistics hospitality construction energy textiles sport"
)


@dataclass(frozen=True)
class Shape:
    """How many of each: `adoptions` is the N of the benchmark."""

    adoptions: int
    innovations: int
    organisations: int

    @classmethod
    def for_n(cls, n: int, innovations: int | None = None, organisations: int | None = None) -> "Shape":
        # Three adoptions per innovation on average; one organisation per ten adoptions.
        return cls(
            adoptions=n,
            innovations=innovations or max(100, n // 3),
            organisations=organisations or max(200, n // 10),
        )


def _weighted(rng: random.Random, weights: dict[Any, int], k: int) -> list[Any]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


@dataclass
class Generated:
    """What later tables refer to, kept from the earlier ones."""

    adopter_ids: list[uuid.UUID] = field(default_factory=list)
    supplier_ids: list[uuid.UUID] = field(default_factory=list)
    hin_ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    innovation_ids: list[uuid.UUID] = field(default_factory=list)


class Generator:
    def __init__(self, shape: Shape, seed: int = 2026) -> None:
        self.shape = shape
        self.rng = random.Random(seed)
        self.seed = seed
        self.now = datetime.now(UTC)
        self.refs = Generated()
        self._clock = (int(self.now.timestamp() * 1000), 0)

    def _next_id(self) -> uuid.UUID:
        """A UUIDv7 (RFC 9562: milliseconds, version, a 12-bit sequence, 62
        random bits), each after the last: far faster than `new_id`, which
        matters at millions of transitions, and in order, so that the
        database appends to its indexes rather than inserting at random."""
        ms, sequence = self._clock
        ms, sequence = (ms + 1, 0) if sequence == 0xFFF else (ms, sequence + 1)
        self._clock = (ms, sequence)
        value = (ms << 80) | (0x7 << 76) | (sequence << 64) | (0b10 << 62) | self.rng.getrandbits(62)
        return uuid.UUID(int=value)

    def _stamp(self) -> dict[str, Any]:
        return {"version": 1, "created_at": self.now, "updated_at": self.now}

    def organisations(self) -> Iterator[list[dict[str, Any]]]:
        rng, shape = self.rng, self.shape
        hins = len(REGION_WEIGHTS) * HINS_PER_REGION
        suppliers = max(10, int(shape.organisations * SUPPLIER_SHARE))
        adopters = max(10, shape.organisations - suppliers - hins)
        rows: list[dict[str, Any]] = []
        for region in REGION_WEIGHTS:
            for i in range(HINS_PER_REGION):
                org_id = new_id()
                self.refs.hin_ids.setdefault(region, []).append(org_id)
                rows.append(
                    {
                        "id": org_id,
                        **self._stamp(),
                        "name": f"Health Innovation {region.replace('_', ' ').title()} {i + 1}",
                        "kind": "health_innovation_network",
                        "region": region.value,
                        "ods_code": None,
                        "external_ref": None,
                        "owner_org_id": None,
                    }
                )
        kinds = _weighted(rng, ADOPTER_KINDS, adopters) + ["supplier"] * suppliers
        rng.shuffle(kinds)
        regions = _weighted(rng, REGION_WEIGHTS, len(kinds))
        for i, (kind, region) in enumerate(zip(kinds, regions, strict=True)):
            org_id = new_id()
            supplier = kind == "supplier"
            (self.refs.supplier_ids if supplier else self.refs.adopter_ids).append(org_id)
            rows.append(
                {
                    "id": org_id,
                    **self._stamp(),
                    "name": f"{rng.choice(PLACES)} {KIND_NAMES[kind]} {i}",
                    "kind": kind,
                    # Half the suppliers say where they are; every NHS body has a region.
                    "region": (region.value if not supplier or rng.random() < 0.5 else None),
                    "ods_code": None if supplier else f"B{i:06d}",
                    "external_ref": None,
                    "owner_org_id": None,
                }
            )
            if len(rows) >= BATCH:
                yield rows
                rows = []
        if rows:
            yield rows

    def innovations(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """Batches of (innovation rows, innovation_facet rows)."""
        rng = self.rng
        categories, care_settings = list(Category), list(CareSetting)
        rows: list[dict[str, Any]] = []
        facets: list[dict[str, Any]] = []
        for i in range(self.shape.innovations):
            innovation_id = new_id()
            self.refs.innovation_ids.append(innovation_id)
            supplier = rng.choice(self.refs.supplier_ids)
            adjective, noun, purpose = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(PURPOSES)
            chosen_categories = sorted({c.value for c in rng.sample(categories, rng.randint(1, 3))})
            chosen_settings = sorted({c.value for c in rng.sample(care_settings, rng.randint(1, 3))})
            sector = rng.choice(SECTORS)
            status = rng.choices(["published", "draft", "archived"], weights=[85, 10, 5])[0]
            rows.append(
                {
                    "id": innovation_id,
                    **self._stamp(),
                    "name": f"{adjective.capitalize()} {noun} {i}",
                    "summary": f"A {adjective} {noun} for {purpose}, in use at several sites.",
                    "description": (
                        f"The {adjective} {noun} helps teams with {purpose}. It came from {sector}, "
                        f"where a {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} did a similar job, "
                        f"and was adapted with clinicians and patients."
                    ),
                    "supplier_id": supplier,
                    "maturity": rng.choice(list(Maturity)).value,
                    "origin_sector": sector,
                    "origin_use": f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)}s in {sector}",
                    "cost_summary": f"£{rng.randint(1, 200) * 50:,} per site per year",
                    "status": status,
                    "external_ref": None,
                    "categories": chosen_categories,
                    "care_settings": chosen_settings,
                    "evidence": [
                        {
                            "type": rng.choice(list(EvidenceType)).value,
                            "summary": "Pilot evaluation",
                            "url": None,
                        }
                        for _ in range(rng.randint(0, 2))
                    ],
                    "regulatory": {
                        "ukca_class": rng.choice(list(UkcaClass)).value,
                        "dtac": rng.random() < 0.5,
                        "dcb0129": rng.random() < 0.3,
                    },
                    "website": f"https://example.org/innovations/{i}",
                    "owner_org_id": supplier,
                }
            )
            facets.extend(
                {"facet": "category", "value": value, "innovation_id": innovation_id}
                for value in chosen_categories
            )
            facets.extend(
                {"facet": "care_setting", "value": value, "innovation_id": innovation_id}
                for value in chosen_settings
            )
            if len(rows) >= BATCH:
                yield rows, facets
                rows, facets = [], []
        if rows:
            yield rows, facets

    def _pairs(self) -> list[tuple[int, int]]:
        """Distinct (innovation, adopter) index pairs, in random order: the
        spread leaders' first, then pairs at random among the others."""
        rng, n = self.rng, self.shape.adoptions
        innovations, adopters = len(self.refs.innovation_ids), len(self.refs.adopter_ids)
        leaders = min(SPREAD_LEADERS, innovations // 10)
        pairs: list[tuple[int, int]] = []
        for k in range(leaders):
            wanted = min(adopters, int(adopters * LEADER_SHARE / (k + 1)))
            pairs.extend((k, org) for org in rng.sample(range(adopters), wanted))
        pairs = pairs[: n // 10]
        space = (innovations - leaders) * adopters
        if space < n - len(pairs):
            raise ValueError(f"{n} adoptions need more innovations x adopters than {space + len(pairs)}")
        others = rng.sample(range(space), n - len(pairs))
        pairs.extend((leaders + p // adopters, p % adopters) for p in others)
        rng.shuffle(pairs)
        return pairs

    def _history(
        self, adoption_id: uuid.UUID, stage: str, reached: str, entered: datetime
    ) -> tuple[datetime, datetime | None, list[dict[str, Any]]]:
        """The transitions that took an adoption to `stage` (through every
        active stage up to `reached`), the last at `entered`, each stay
        before it drawn from STAY_DAYS; returns when the adoption was
        opened, when it entered `adopted` (if it did), and the rows."""
        rng = self.rng
        moves = ACTIVE[1 : ACTIVE.index(reached) + 1]
        if stage in ("paused", "not_progressed"):
            moves.append(stage)
        times = [entered]
        for to_stage in reversed(moves):
            low, high = STAY_DAYS[ACTIVE[ACTIVE.index(to_stage) - 1] if to_stage in ACTIVE else reached]
            times.append(times[-1] - timedelta(days=rng.randint(low, high), seconds=rng.randint(0, 86_400)))
        times.reverse()  # times[0]: opened; times[i + 1]: the i-th move
        code = rng.choice(NOT_PROGRESSED_CODES) if stage == "not_progressed" else None
        rows = []
        adopted_at = None
        for i, to_stage in enumerate(moves):
            rows.append(
                {
                    "id": self._next_id(),
                    "adoption_id": adoption_id,
                    "from_stage": moves[i - 1] if i else "identified",
                    "to_stage": to_stage,
                    "reason": {"paused": "bench: paused", "not_progressed": f"bench: {code}"}.get(to_stage),
                    "reason_code": code if to_stage == "not_progressed" else None,
                    "override": False,
                    "actor": ACTOR,
                    "actor_org_id": None,
                    "gate_snapshot": {},
                    "created_at": times[i + 1],
                }
            )
            if to_stage == "adopted":
                adopted_at = times[i + 1]
        return times[0], adopted_at, rows

    def adoptions(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """Batches of (adoption rows, their transition rows)."""
        rng, n = self.rng, self.shape.adoptions
        innovations, adopters = self.refs.innovation_ids, self.refs.adopter_ids
        stages = _weighted(rng, STAGE_WEIGHTS, n)
        rows: list[dict[str, Any]] = []
        transitions: list[dict[str, Any]] = []
        for (innovation, adopter), stage in zip(self._pairs(), stages, strict=True):
            innovation_id = innovations[innovation]
            organisation_id = adopters[adopter]
            # Paused and not progressed adoptions had got somewhere first.
            reached = rng.choice(ACTIVE[:4]) if stage in ("paused", "not_progressed") else stage
            level = ACTIVE.index(reached)
            gate: dict[str, Any] = {}
            for passed in ACTIVE[1 : level + 1]:
                gate.update(GATE_BY_STAGE.get(passed, {}))
            entered = self.now - timedelta(days=rng.randint(0, 365), seconds=rng.randint(0, 86_400))
            adoption_id = new_id()
            opened, adopted_at, history = self._history(adoption_id, stage, reached, entered)
            if stage not in ("adopted", "sustained"):
                adopted_at = None
            has_lead = level >= 1 or rng.random() < 0.3
            rows.append(
                {
                    "id": adoption_id,
                    "version": 1 + len(history),
                    "created_at": opened,
                    "updated_at": entered,
                    "innovation_id": innovation_id,
                    "organisation_id": organisation_id,
                    "challenge_id": None,
                    "stage": stage,
                    "stage_entered_at": entered,
                    "furthest_stage": reached,  # its history goes no further
                    "paused_from": reached if stage == "paused" else None,
                    "adopted_at": adopted_at,
                    "lead_name": "Dr Asha Patel" if has_lead else None,
                    "lead_email": "asha.patel@nhs.net" if has_lead else None,
                    "gate": gate,
                    "notes": history[-1]["reason_code"] if stage == "not_progressed" else "",
                    "external_ref": None,
                    "owner_org_id": organisation_id,
                }
            )
            transitions.extend(history)
            if len(rows) >= BATCH:
                yield rows, transitions
                rows, transitions = [], []
        if rows:
            yield rows, transitions


# Challenges: one per hundred adoptions, most of them open.
CHALLENGES_PER_ADOPTION = 0.01
CHALLENGE_STATUS_WEIGHTS = {"open": 70, "closed": 10, "draft": 10, "awarded": 5, "withdrawn": 5}


def challenges(gen: Generator) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Batches of (challenge rows, challenge_facet rows), posted by adopting
    organisations in the words the innovations are made of, so that matching
    has something to find. Drawn from a generator of their own, so the rows
    made before them are the same as without them."""
    rng = random.Random(gen.seed + 1)
    categories, care_settings = list(Category), list(CareSetting)
    rows: list[dict[str, Any]] = []
    facets: list[dict[str, Any]] = []
    count = max(20, int(gen.shape.adoptions * CHALLENGES_PER_ADOPTION))
    statuses = _weighted(rng, CHALLENGE_STATUS_WEIGHTS, count)
    for status in statuses:
        challenge_id = new_id()
        owner = rng.choice(gen.refs.adopter_ids)
        purpose, adjective, noun = rng.choice(PURPOSES), rng.choice(ADJECTIVES), rng.choice(NOUNS)
        chosen_categories = sorted({c.value for c in rng.sample(categories, rng.randint(1, 2))})
        chosen_settings = sorted({c.value for c in rng.sample(care_settings, rng.randint(1, 2))})
        opens = gen.now.date() - timedelta(days=rng.randint(0, 120))
        low = rng.randint(1, 20) * 5_000
        rows.append(
            {
                "id": challenge_id,
                "version": 1,
                "created_at": gen.now,
                "updated_at": gen.now,
                "title": f"Better {purpose} with a {noun}",
                "problem_statement": (
                    f"Our teams see too much harm from poor {purpose}. We are looking for a "
                    f"{adjective} {noun}, or something that does the same job, that staff can "
                    f"use without extra training."
                ),
                "owner_id": owner,
                "desired_outcomes": f"Fewer incidents of poor {purpose}; staff time saved.",
                "success_measures": "Incidents per 1,000 bed days, down by a quarter in a year.",
                "budget_min": low,
                "budget_max": low * 4,
                "opens_on": opens,
                "closes_on": opens + timedelta(days=rng.randint(30, 180)),
                "status": status,
                "external_ref": None,
                "categories": chosen_categories,
                "care_settings": chosen_settings,
                "owner_org_id": owner,
            }
        )
        facets.extend(
            {"facet": "category", "value": value, "challenge_id": challenge_id} for value in chosen_categories
        )
        facets.extend(
            {"facet": "care_setting", "value": value, "challenge_id": challenge_id}
            for value in chosen_settings
        )
        if len(rows) >= BATCH:
            yield rows, facets
            rows, facets = [], []
    if rows:
        yield rows, facets
