"""Matching that explains itself: the published innovations that could
answer a challenge, the open challenges an innovation could answer, and the
innovations already on the exchange that look like one being added.

A match's score is the sum of the points of its reasons:
- fit: the care settings and categories the two share, and the key words
  of one that the other's text has (found by the same full-text index the
  lists search: FTS5 on SQLite, tsvector on PostgreSQL);
- readiness: the innovation's maturity, kinds of evidence and regulatory
  marks;
- spread: the organisations that adopted the innovation, more for those in
  the challenge owner's region or of the owner's kind.
The points are `Weights`, below, and nowhere else.

Nothing loads every record. SQL picks the candidates: the `CANDIDATES`
sharing the most care settings and categories and the `CANDIDATES` whose
text has the most key words (a count over the full-text index's entries).
Only those are read, their adoptions counted in one SQL aggregate, and
scored in full. Shared facets are summed from each published innovation's
`facet_mask` (migration 0009: a bit a care setting or category, kept by
the database), one index entry an innovation, rather than from the facet
table's entries, which a challenge shares with four innovations in ten and
which cost twice as much to group; the few challenges are still ranked
from their facet table. On PostgreSQL an innovation's words are read from
`innovation_words` (migration 0011), its `search_vector` in a table a
quarter the size of innovations, since GIN reads every row it finds."""

import math
import operator
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    case,
    column,
    func,
    literal,
    literal_column,
    table,
    union,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.auth import Principal
from app.models.adoption import Adoption
from app.models.challenge import Challenge, ChallengeFacet
from app.models.innovation import Innovation, InnovationFacet
from app.models.match import (
    ChallengeMatch,
    InnovationMatch,
    MatchedChallenge,
    MatchedInnovation,
    MatchFactor,
    MatchReason,
    SimilarInnovation,
)
from app.models.organisation import Organisation
from app.models.vocabulary import (
    ADOPTED_STAGES,
    ChallengeStatus,
    EvidenceType,
    InnovationStatus,
    Maturity,
    UkcaClass,
)
from app.services import innovations, search


def words(code: str) -> str:
    """A code in the pages' words ("primary_care": "Primary care"), so that
    the API's reasons read as the pages do. Imported when called: the pages'
    package imports the API's, which imports this module."""
    from app.web.vocabulary import words as in_words

    return in_words(code)


@dataclass(frozen=True)
class Weights:
    """The points each reason earns. Fit leads: two shared care settings
    outweigh all that readiness or spread can add."""

    care_setting: float = 3.0  # each care setting the two share
    category: float = 2.0  # each category the two share
    text: float = 6.0  # all the key words found; that share of it for a share of them
    ready: float = 2.0  # maturity `ready` (ready for adoption)
    advanced: float = 1.0  # maturity `advanced`; `discovery` earns nothing
    evidence_type: float = 0.4  # each kind of evidence it has (clinical, real-world, ...)
    ukca_mark: float = 0.5  # a UKCA or CE class stated (not "not applicable")
    dtac: float = 0.5  # DTAC passed
    dcb0129: float = 0.5  # DCB0129 clinical risk management in place
    same_region: float = 0.5  # each adopter in the challenge owner's region
    same_kind: float = 0.5  # each adopter of the owner's kind (another NHS trust, ...)
    adopted: float = 0.1  # each adopter anywhere
    adopters_counted: int = 5  # the most adopters each of the three above counts


WEIGHTS = Weights()

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# Candidates taken by each way of fitting (facets, words), drafts and the
# like among them: twice MAX_LIMIT, so that readiness and spread reorder
# the best fits even for the longest list. Reading and scoring them is most
# of a match's cost after the index scans: 200 cost a third more than 100.
CANDIDATES = 2 * MAX_LIMIT
# Key words taken from a text, first come first (so a title's come first).
MAX_KEY_WORDS = 10
MIN_WORD_LENGTH = 3
# A new innovation looks like an existing one when at least this share of
# the key words of its name and summary are in the other's name or summary
# (and half those of its name in the other's name).
SIMILAR_SHARE = 0.6
MAX_SIMILAR = 5

# Words too common in challenges and innovations to tell them apart.
_COMMON = """
    about above after again against all also and any are because been before being below between both
    but can could did does doing down during each few for from further had has have having her here hers
    him his how into its itself just more most not now off once only other our ours out over own same
    she should some such than that the their theirs them then there these they this those through too
    under until very was were what when where which while who whom why will with would you your yours
    able across based better care day days extra get gets help helps helping improve improved improving
    job less lot lots look looking make makes making many much need needed needs new nhs organisation
    organisations patient patients people per poor reduce reducing see seen service services several
    similar site sites something staff team teams time times trust trusts use used uses using via want
    wants way ways well within without work working works year years
"""
STOP_WORDS = frozenset(_COMMON.split())

# How an organisation's kind reads after a count; "other" is no likeness.
KIND_WORDS = {
    "nhs_trust": ("NHS trust", "NHS trusts"),
    "icb": ("integrated care board", "integrated care boards"),
    "primary_care": ("primary care organisation", "primary care organisations"),
    "social_care": ("social care organisation", "social care organisations"),
    "local_authority": ("local authority", "local authorities"),
    "health_innovation_network": ("Health Innovation Network", "Health Innovation Networks"),
    "supplier": ("supplier", "suppliers"),
    "academic": ("academic organisation", "academic organisations"),
    "charity": ("charity", "charities"),
}
UKCA_MARKS = {c.value for c in UkcaClass} - {UkcaClass.not_applicable.value}


# --- key words ------------------------------------------------------------------


def key_words(*texts: str, limit: int = MAX_KEY_WORDS) -> dict[str, str]:
    """The words of `texts` worth matching on, folded as search folds them,
    each with the word as written: {"fall": "falls"}. Stop words, short
    words and numbers are left out; the first `limit` distinct ones kept."""
    found: dict[str, str] = {}
    for text in texts:
        for word in re.findall(r"\w+", text.lower()):
            if len(word) < MIN_WORD_LENGTH or word.isdigit() or word in STOP_WORDS:
                continue
            folded = search.terms(word)
            if folded and folded[0] not in found:
                found[folded[0]] = word
                if len(found) == limit:
                    return found
    return found


def _sum(parts: list[Any]) -> Any:
    return reduce(operator.add, parts)


# --- candidates, in SQL ---------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    """The records a search ranks: innovations or challenges."""

    table: str  # as the full-text index names it
    id: Any
    facet: Any
    facet_owner: Any


INNOVATIONS = _Side("innovations", col(Innovation.id), InnovationFacet, col(InnovationFacet.innovation_id))
CHALLENGES = _Side("challenges", col(Challenge.id), ChallengeFacet, col(ChallengeFacet.challenge_id))


def _by_facets(side: _Side, care_settings: list[str], categories: list[str], weights: Weights) -> Select[Any]:
    """The ids of the records whose shared care settings and categories earn
    the most points: a sum over the facet index's entries for those values."""
    facet, value = col(side.facet.facet), col(side.facet.value)
    shared = [
        sa_select(side.facet_owner.label("id"), literal(points, Float).label("points")).where(
            facet == name, value.in_(values)
        )
        for name, values, points in (
            ("care_setting", care_settings, weights.care_setting),
            ("category", categories, weights.category),
        )
        if values
    ]
    entries = union_all(*shared).subquery()
    return (
        sa_select(entries.c.id)
        .group_by(entries.c.id)
        .order_by(func.sum(entries.c.points).desc(), entries.c.id)
        .limit(CANDIDATES)
    )


# Bit i of an innovation's `facet_mask` stands for FACET_BITS[i], as
# migration 0009 computes it. New care settings or categories need a
# migration that computes it again (a test compares the two lists).
FACET_BITS: tuple[tuple[str, str], ...] = tuple(
    ("care_setting", value)
    for value in (
        "acute_inpatient", "acute_outpatient", "ambulance", "care_home", "community", "end_of_life",
        "mental_health", "pharmacy", "primary_care", "social_care", "urgent_and_emergency", "industry",
        "third_sector", "other",
    )
) + tuple(
    ("category", value)
    for value in (
        "medical_device", "in_vitro_diagnostic", "pharmaceutical", "digital", "ai", "education", "ppe",
        "models_of_care", "estates_facilities", "travel_transport", "food_nutrition", "data_monitoring",
        "other",
    )
)  # fmt: skip
FACET_BIT = {facet: 1 << i for i, facet in enumerate(FACET_BITS)}


def _innovations_by_facets(
    care_settings: list[str], categories: list[str], weights: Weights
) -> Select[Any] | None:
    """The ids of the published innovations whose shared care settings and
    categories earn the most points, as `_by_facets` ranks them: read from
    one index of (status, facet_mask, id), one entry an innovation. (None:
    no value has a bit, which only a vocabulary newer than the mask has.)"""
    mask: Any = literal_column("innovations.facet_mask", Integer)
    points = {
        FACET_BIT[(facet, value)]: weight
        for facet, values, weight in (
            ("care_setting", care_settings, weights.care_setting),
            ("category", categories, weights.category),
        )
        for value in values
        if (facet, value) in FACET_BIT
    }
    if not points:
        return None
    earned = _sum([case((mask.bitwise_and(bit) != 0, weight), else_=0.0) for bit, weight in points.items()])
    return (
        sa_select(col(Innovation.id))
        .where(col(Innovation.status) == InnovationStatus.published, mask.bitwise_and(sum(points)) != 0)
        .order_by(earned.desc(), col(Innovation.id))
        .limit(CANDIDATES)
    )


@dataclass(frozen=True)
class _Fields:
    """Some of an innovation's searched text: an FTS5 column filter, and the
    tsvector weights migration 0001 gives those columns."""

    columns: str
    weights: str


NAME = _Fields("name", "A")
NAME_AND_SUMMARY = _Fields("name summary", "AB")


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _pg_has_word(session: Session, side: _Side, term: str, fields: _Fields | None) -> Any:
    """PostgreSQL: a WHERE clause, the record's `search_vector` (or those
    `fields` of it) has `term`."""
    if fields is None:
        return search.matches(session, side.table, term)
    vector: Any = literal_column(f"{side.table}.search_vector")
    return vector.op("@@")(func.to_tsquery("simple", f"{term}:*{fields.weights}"))


def _sqlite_with_word(side: _Side, term: str, fields: _Fields | None) -> Select[Any]:
    """SQLite: the rowids of the records whose text (or those `fields` of
    it) has `term`, straight from the FTS5 index, reading no row."""
    fts = f"{side.table}_fts"
    query = f'"{term}"*' if fields is None else f'{{{fields.columns}}} : "{term}"*'
    return (
        sa_select(literal_column("rowid").label("key"))
        .select_from(table(fts))
        .where(literal_column(fts).op("MATCH")(query))
    )


def _has_word(session: Session, side: _Side, term: str, fields: _Fields) -> Any:
    """A WHERE clause: those `fields` of the record have `term`."""
    if _sqlite(session):
        return literal_column(f"{side.table}.rowid").in_(_sqlite_with_word(side, term, fields))
    return _pg_has_word(session, side, term, fields)


def _by_words(
    session: Session,
    side: _Side,
    terms: list[str],
    *,
    at_least: int = 1,
    most: int = CANDIDATES,
    fields: _Fields | None = None,
) -> Select[Any]:
    """The ids of the `most` records whose text has the most of the key
    words (and at least `at_least` of them), with how many it has: a count
    over the full-text index's entries for each word."""
    sqlite = _sqlite(session)
    if sqlite:
        hits = [_sqlite_with_word(side, term, fields) for term in terms]
    else:
        hits = [sa_select(side.id.label("key")).where(_pg_has_word(session, side, t, fields)) for t in terms]
    entries = union_all(*hits).subquery()
    ranked = (
        # PostgreSQL's keys are the ids; SQLite's are rowids, joined to the ids below.
        sa_select(entries.c.key.label("key" if sqlite else "id"), func.count().label("found"))
        .group_by(entries.c.key)
        .having(func.count() >= at_least)
        .order_by(func.count().desc(), entries.c.key)
        .limit(most)
    )
    if not sqlite:
        return ranked
    best = ranked.subquery()
    return (
        sa_select(side.id.label("id"), best.c.found)
        .select_from(best)
        .join(side.id.table, literal_column(f"{side.table}.rowid") == best.c.key)
    )


# PostgreSQL: each innovation's words, as its `search_vector` has them but
# without positions or weights, kept by triggers (migration 0011).
INNOVATION_WORDS = table("innovation_words", column("innovation_id"), column("words"))


def _pg_innovations_by_words(terms: list[str]) -> Select[Any]:
    """PostgreSQL: the ids of the `CANDIDATES` innovations whose text has the
    most of the key words, as `_by_words` ranks them, read from the narrow
    `innovation_words`: one scan of the rows with any of the words, each
    row's words counted there. (GIN has no index-only scans: each row found
    is read from the table, and this one is a quarter the size of
    innovations.)"""
    words: Any = INNOVATION_WORDS.c.words

    def has(query: str) -> Any:
        return words.op("@@")(func.to_tsquery("simple", query))

    found = _sum([case((has(f"{term}:*"), 1), else_=0) for term in terms])
    key = INNOVATION_WORDS.c.innovation_id
    return (
        sa_select(key.label("id"))
        .where(has(" | ".join(f"{term}:*" for term in terms)))
        .order_by(found.desc(), key)
        .limit(CANDIDATES)
    )


def _candidates(
    session: Session,
    side: _Side,
    care_settings: list[str],
    categories: list[str],
    terms: list[str],
    weights: Weights,
) -> Any:
    """The candidates' ids, as a subquery to read them from (None: nothing
    to match on). Drafts and the like are among those found by words (and
    by facets, for challenges): to filter them there would read a row for
    every entry of the indexes."""
    found = []
    if care_settings or categories:
        if side is INNOVATIONS:
            by_facets = _innovations_by_facets(care_settings, categories, weights)
        else:
            by_facets = _by_facets(side, care_settings, categories, weights)
        if by_facets is not None:
            found.append(by_facets.subquery())
    if terms:
        if side is INNOVATIONS and not _sqlite(session):
            found.append(_pg_innovations_by_words(terms).subquery())
        else:
            found.append(_by_words(session, side, terms).subquery())
    if not found:
        return None
    return union(*(sa_select(ids.c[0].label("id")) for ids in found)).subquery("candidates")


def _word_flags(session: Session, side: _Side, terms: list[str]) -> list[Any]:
    """A column per key word: 1 where the record's text has it."""
    return [
        case((search.matches(session, side.table, term), 1), else_=0).label(f"word_{i}")
        for i, term in enumerate(terms)
    ]


# --- the score ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Adopters of an innovation other than the challenge owner: all of
    them, those in the owner's region, those of the owner's kind."""

    total: int = 0
    same_region: int = 0
    same_kind: int = 0


@dataclass(frozen=True)
class Pair:
    """What a match's score is made of, whichever way round it was found."""

    shared_care_settings: list[str]
    shared_categories: list[str]
    words_in_common: list[str]
    key_words: int
    maturity: str
    evidence_types: list[str]
    regulatory: dict[str, Any]
    spread: Spread
    owner_kind: str
    owner_region: str | None


Reason = tuple[MatchFactor, str, float]


def _lower_first(text: str) -> str:
    """Words as they read mid-sentence: "primary care"; "NHS trust" stays."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _listed(values: Iterable[str]) -> str:
    return ", ".join(_lower_first(words(v)) for v in values)


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _fit_reasons(pair: Pair, weights: Weights) -> list[Reason]:
    reasons = []
    settings, categories = pair.shared_care_settings, pair.shared_categories
    if settings:
        label = "care setting" if len(settings) == 1 else "care settings"
        reasons.append(
            (
                MatchFactor.care_setting,
                f"shares {label}: {_listed(settings)}",
                weights.care_setting * len(settings),
            )
        )
    if categories:
        label = "category" if len(categories) == 1 else "categories"
        reasons.append(
            (
                MatchFactor.category,
                f"shares {label}: {_listed(categories)}",
                weights.category * len(categories),
            )
        )
    if pair.words_in_common and pair.key_words:
        points = weights.text * len(pair.words_in_common) / pair.key_words
        reasons.append((MatchFactor.text, f"words in common: {', '.join(pair.words_in_common)}", points))
    return reasons


def _readiness_reasons(pair: Pair, weights: Weights) -> list[Reason]:
    reasons: list[Reason] = []
    if pair.maturity == Maturity.ready:
        reasons.append((MatchFactor.maturity, "ready for adoption", weights.ready))
    elif pair.maturity == Maturity.advanced:
        reasons.append((MatchFactor.maturity, "maturity: advanced", weights.advanced))
    for kind in pair.evidence_types:
        reasons.append(
            (MatchFactor.evidence, f"has {_lower_first(words(kind))} evidence", weights.evidence_type)
        )
    mark = pair.regulatory.get("ukca_class")
    if mark in UKCA_MARKS:
        reasons.append(
            (MatchFactor.regulatory, f"UKCA or CE marked: {_lower_first(words(mark))}", weights.ukca_mark)
        )
    if pair.regulatory.get("dtac"):
        reasons.append((MatchFactor.regulatory, "passed DTAC", weights.dtac))
    if pair.regulatory.get("dcb0129"):
        reasons.append((MatchFactor.regulatory, "DCB0129 clinical risk management in place", weights.dcb0129))
    return reasons


def _spread_reasons(pair: Pair, weights: Weights) -> list[Reason]:
    spread, most = pair.spread, weights.adopters_counted
    if not spread.total:
        return []
    lines: list[tuple[int, str, float]] = []
    if spread.same_region and pair.owner_region:
        text = f"adopted by {_counted(spread.same_region, 'organisation', 'organisations')}"
        points = weights.same_region * min(spread.same_region, most)
        lines.append((spread.same_region, f"{text} in {words(pair.owner_region)}", points))
    kind = KIND_WORDS.get(pair.owner_kind)
    if spread.same_kind and kind:
        points = weights.same_kind * min(spread.same_kind, most)
        lines.append((spread.same_kind, f"adopted by {_counted(spread.same_kind, *kind)}", points))
    anywhere = weights.adopted * min(spread.total, most)
    if lines and spread.total == max(count for count, _, _ in lines):
        # "in all" would say again what a line says: that line earns its points.
        count, text, points = lines[0]
        lines[0] = (count, text, points + anywhere)
    else:
        text = f"adopted by {_counted(spread.total, 'organisation', 'organisations')} in all"
        lines.append((spread.total, text, anywhere))
    return [(MatchFactor.adoption, text, points) for _, text, points in lines]


def _reasons(pair: Pair, weights: Weights) -> list[Reason]:
    return [*_fit_reasons(pair, weights), *_readiness_reasons(pair, weights), *_spread_reasons(pair, weights)]


def _total(reasons: list[Reason]) -> float:
    """The score: the sum of the reasons' points as they are shown."""
    return round(sum(round(points, 2) for _, _, points in reasons), 2)


def _public(reasons: list[Reason]) -> list[MatchReason]:
    return [
        MatchReason(factor=factor, text=text, points=round(points, 2)) for factor, text, points in reasons
    ]


def score(pair: Pair, weights: Weights = WEIGHTS) -> tuple[float, list[MatchReason]]:
    """A pair's score and its reasons (fit, readiness, spread); the points
    of the reasons add up to the score."""
    reasons = _reasons(pair, weights)
    return _total(reasons), _public(reasons)


def _shared(theirs: Iterable[str], ours: Iterable[str]) -> list[str]:
    mine = set(ours)
    return [value for value in theirs if value in mine]


def _evidence_types(evidence: list[dict[str, Any]]) -> list[str]:
    present = {item.get("type") for item in evidence}
    return [kind.value for kind in EvidenceType if kind.value in present]


def _found(written: list[str], flags: Iterable[Any]) -> list[str]:
    return [word for word, flag in zip(written, flags, strict=True) if flag]


def _best(
    scored: list[tuple[float, str, Any, list[Reason]]], limit: int
) -> list[tuple[float, str, Any, list[Reason]]]:
    """The best `limit`: highest score first, then by name, then by id."""
    return sorted(scored, key=lambda item: (-item[0], item[1].lower(), item[2].id))[:limit]


# --- innovations for a challenge -----------------------------------------------------------


def _adopters_of(
    session: Session, innovation_ids: list[uuid.UUID], owner: Organisation
) -> dict[uuid.UUID, Spread]:
    """For each innovation, its adopters other than `owner`, counted in SQL.
    Both the innovation and the stage are in the index on (innovation_id,
    stage), so only adopted rows are read, with their organisations: at
    a million adoptions, a sixth of the candidates' adoptions."""
    in_region = col(Organisation.region) == owner.region if owner.region else literal(False)
    of_kind = col(Organisation.kind) == owner.kind
    counts = [func.count(), *(func.sum(case((test, 1), else_=0)) for test in (in_region, of_kind))]
    rows = session.execute(
        sa_select(col(Adoption.innovation_id), *counts)
        .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
        .where(
            col(Adoption.innovation_id).in_(innovation_ids),
            col(Adoption.stage).in_(ADOPTED_STAGES),
            col(Adoption.organisation_id) != owner.id,
        )
        .group_by(col(Adoption.innovation_id))
    ).all()
    return {row[0]: Spread(int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)) for row in rows}


INNOVATION_COLUMNS: tuple[Any, ...] = (
    col(Innovation.id),
    col(Innovation.name),
    col(Innovation.summary),
    col(Innovation.supplier_id),
    col(Organisation.name).label("supplier_name"),
    col(Innovation.maturity),
    col(Innovation.categories),
    col(Innovation.care_settings),
    col(Innovation.evidence),
    col(Innovation.regulatory),
    col(Innovation.status),
)


def for_challenge(
    session: Session, challenge: Challenge, *, limit: int = DEFAULT_LIMIT, weights: Weights = WEIGHTS
) -> list[InnovationMatch]:
    """The published innovations that could answer `challenge`, best first.
    (The caller has been allowed to see the challenge; every published
    innovation may be seen by all.)"""
    owner = session.get(Organisation, challenge.owner_id)
    assert owner is not None  # a foreign key
    written = key_words(challenge.title, challenge.problem_statement)
    terms = list(written)
    candidates = _candidates(
        session, INNOVATIONS, challenge.care_settings, challenge.categories, terms, weights
    )
    if candidates is None:
        return []
    rows = [
        row
        for row in session.execute(
            sa_select(*INNOVATION_COLUMNS, *_word_flags(session, INNOVATIONS, terms))
            .select_from(candidates)
            .join(Innovation, col(Innovation.id) == candidates.c.id)
            .join(Organisation, col(Organisation.id) == Innovation.supplier_id)
        )
        if row.status == InnovationStatus.published
    ]
    spread = _adopters_of(session, [row.id for row in rows], owner) if rows else {}
    scored = []
    for row in rows:
        pair = Pair(
            shared_care_settings=_shared(challenge.care_settings, row.care_settings),
            shared_categories=_shared(challenge.categories, row.categories),
            words_in_common=_found(list(written.values()), row[len(INNOVATION_COLUMNS) :]),
            key_words=len(terms),
            maturity=row.maturity,
            evidence_types=_evidence_types(row.evidence),
            regulatory=row.regulatory,
            spread=spread.get(row.id, Spread()),
            owner_kind=owner.kind,
            owner_region=owner.region,
        )
        reasons = _reasons(pair, weights)
        scored.append((_total(reasons), row.name, row, reasons))
    return [
        InnovationMatch(
            score=total, reasons=_public(reasons), innovation=MatchedInnovation.model_validate(row._mapping)
        )
        for total, _, row, reasons in _best(scored, limit)
    ]


# --- challenges for an innovation ----------------------------------------------------------


def _adopters_by_owner(
    session: Session, innovation: Innovation, owners: dict[uuid.UUID, tuple[str, str | None]]
) -> dict[uuid.UUID, Spread]:
    """For each owner (id: kind, region), the innovation's adopters other
    than that owner: its adopters counted by region and kind in SQL, less
    the owner itself where it adopted it. Only adopted rows are read (the
    index on (innovation_id, stage)), with their organisations."""
    region, kind = col(Organisation.region), col(Organisation.kind)
    groups = session.execute(
        sa_select(region, kind, func.count())
        .join(Adoption, col(Adoption.organisation_id) == Organisation.id)
        .where(col(Adoption.innovation_id) == innovation.id, col(Adoption.stage).in_(ADOPTED_STAGES))
        .group_by(region, kind)
    ).all()
    # The stage is tested here rather than in SQL, so that the lookup goes
    # by the (innovation, organisation) key whatever the planner knows.
    own = {
        organisation_id
        for organisation_id, stage in session.execute(
            sa_select(col(Adoption.organisation_id), col(Adoption.stage)).where(
                col(Adoption.innovation_id) == innovation.id, col(Adoption.organisation_id).in_(owners)
            )
        )
        if stage in ADOPTED_STAGES
    }
    spread = {}
    for owner_id, (owner_kind, owner_region) in owners.items():
        itself = 1 if owner_id in own else 0
        same_region = sum(n for r, _, n in groups if r == owner_region) - itself if owner_region else 0
        same_kind = sum(n for _, k, n in groups if k == owner_kind) - itself
        spread[owner_id] = Spread(sum(n for _, _, n in groups) - itself, same_region, same_kind)
    return spread


CHALLENGE_COLUMNS: tuple[Any, ...] = (
    col(Challenge.id),
    col(Challenge.title),
    col(Challenge.owner_id),
    col(Organisation.name).label("owner_name"),
    col(Organisation.kind).label("owner_kind"),
    col(Organisation.region).label("owner_region"),
    col(Challenge.status),
    col(Challenge.closes_on),
    col(Challenge.categories),
    col(Challenge.care_settings),
)


def for_innovation(
    session: Session, innovation: Innovation, *, limit: int = DEFAULT_LIMIT, weights: Weights = WEIGHTS
) -> list[ChallengeMatch]:
    """The open challenges `innovation` could answer, best first, scored as
    `for_challenge` scores the pair, but for the words in common: here the
    key words of the innovation's name and summary, found in the challenge.
    (The caller has been allowed to see the innovation; every open
    challenge may be seen by all.)"""
    written = key_words(innovation.name, innovation.summary)
    terms = list(written)
    settings, categories = innovation.care_settings, innovation.categories
    candidates = _candidates(session, CHALLENGES, settings, categories, terms, weights)
    if candidates is None:
        return []
    rows = [
        row
        for row in session.execute(
            sa_select(*CHALLENGE_COLUMNS, *_word_flags(session, CHALLENGES, terms))
            .select_from(candidates)
            .join(Challenge, col(Challenge.id) == candidates.c.id)
            .join(Organisation, col(Organisation.id) == Challenge.owner_id)
        )
        if row.status == ChallengeStatus.open
    ]
    owners = {row.owner_id: (row.owner_kind, row.owner_region) for row in rows}
    spread = _adopters_by_owner(session, innovation, owners) if rows else {}
    evidence_types = _evidence_types(innovation.evidence)
    scored = []
    for row in rows:
        pair = Pair(
            shared_care_settings=_shared(row.care_settings, settings),
            shared_categories=_shared(row.categories, categories),
            words_in_common=_found(list(written.values()), row[len(CHALLENGE_COLUMNS) :]),
            key_words=len(terms),
            maturity=innovation.maturity,
            evidence_types=evidence_types,
            regulatory=innovation.regulatory,
            spread=spread[row.owner_id],
            owner_kind=row.owner_kind,
            owner_region=row.owner_region,
        )
        reasons = _reasons(pair, weights)
        scored.append((_total(reasons), row.title, row, reasons))
    return [
        ChallengeMatch(
            score=total, reasons=_public(reasons), challenge=MatchedChallenge.model_validate(row._mapping)
        )
        for total, _, row, reasons in _best(scored, limit)
    ]


# --- innovations like one being added ---------------------------------------------------------


def similar_innovations(
    session: Session, principal: Principal, name: str, summary: str, *, limit: int = MAX_SIMILAR
) -> list[SimilarInnovation]:
    """The innovations `principal` may see whose name and summary are close
    to `name` and `summary`, most alike first: to warn of a duplicate
    before it is added. Close: SIMILAR_SHARE of the key words of both are in
    the other's name or summary, and half those of the name in its name."""
    terms = list(key_words(name, summary))
    if not terms:
        return []
    alike = _by_words(
        session,
        INNOVATIONS,
        terms,
        at_least=math.ceil(SIMILAR_SHARE * len(terms)),
        most=limit * 4,
        fields=NAME_AND_SUMMARY,
    ).subquery()
    stmt: Any = (
        sa_select(
            col(Innovation.id),
            col(Innovation.name),
            col(Innovation.summary),
            col(Organisation.name).label("supplier_name"),
            col(Innovation.status),
        )
        .select_from(alike)
        .join(Innovation, col(Innovation.id) == alike.c.id)
        .join(Organisation, col(Organisation.id) == Innovation.supplier_id)
        .order_by(alike.c.found.desc(), col(Innovation.name), col(Innovation.id))
        .limit(limit)
    )
    name_terms = list(key_words(name))
    if name_terms:
        in_name = [case((_has_word(session, INNOVATIONS, t, NAME), 1), else_=0) for t in name_terms]
        stmt = stmt.where(_sum(in_name) >= math.ceil(len(name_terms) / 2))
    # Drafts for their supplier, facilitators and admins, as the lists show them.
    visible = innovations._visible(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    return [SimilarInnovation.model_validate(row._mapping) for row in session.execute(stmt)]
