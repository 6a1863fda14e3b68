"""CSV exports of innovations, challenges and adoptions: the same records,
filters and visibility as their lists (each list's own `query`), in columns
a person can read: names of organisations and stages beside the ids, lists
joined with "; ", ISO dates and times in UTC.

An export streams in keyset batches (`id > last ORDER BY id LIMIT n`), each
read in a short session of its own that is closed before the batch is sent.
So a million rows never sit in memory, no connection or snapshot is held
while the client reads (nor while it stalls or goes away), and on SQLite a
read never blocks a writer. The price: rows changed while the export runs
may be seen before or after the change, as a list paged through would.

Cells a spreadsheet would run as a formula are neutralised (OWASP's advice
on CSV injection): one that starts with =, +, -, @, a tab or a carriage
return gets a leading apostrophe."""

import csv
import io
import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import anyio.to_thread
from sqlalchemy import Select
from sqlalchemy.orm import aliased, join
from sqlmodel import Session, col

from app.auth import Principal
from app.db import Admission
from app.models.adoption import Adoption
from app.models.challenge import Challenge
from app.models.innovation import Innovation
from app.models.organisation import Organisation
from app.services import adoptions, challenges, innovations, pipeline

BATCH = 1000
# Excel reads a CSV file as UTF-8 only when it starts with this mark.
BOM = "\ufeff"
FORMULA_STARTS = frozenset("=+-@\t\r")

SessionOpener = Callable[[], AbstractContextManager[Session]]


# --- cells ------------------------------------------------------------------


def neutralise(value: str) -> str:
    """A cell a spreadsheet would take for a formula, made plain text."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _when(value: datetime | None) -> str:
    """RFC 3339 in UTC to the second. SQLite hands back naive datetimes, all UTC."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _listed(values: Iterable[Any] | None) -> str:
    return "; ".join(str(value) for value in values or ())


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _evidence_types(evidence: list[dict[str, Any]] | None) -> str:
    return _listed(dict.fromkeys(item.get("type", "") for item in evidence or ()))


def _ukca_class(regulatory: dict[str, Any] | None) -> str:
    return _text((regulatory or {}).get("ukca_class"))


def _dtac(regulatory: dict[str, Any] | None) -> str:
    return _yes_no((regulatory or {}).get("dtac"))


def _dcb0129(regulatory: dict[str, Any] | None) -> str:
    return _yes_no((regulatory or {}).get("dcb0129"))


@dataclass(frozen=True)
class Field:
    """One column: its heading, what the database reads for it, and how its
    value is written."""

    header: str
    expression: Any
    shown: Callable[[Any], str] = _text


# --- one export -----------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """What to read (the filtered, visible statement: the key first, then
    each column the fields need, once) and how to write it."""

    kind: str
    key: Any
    fields: tuple[Field, ...]
    # For each field, the position of its value in a row of the statement.
    positions: tuple[int, ...]
    statement: Select[Any]

    @property
    def header(self) -> list[str]:
        return [field.header for field in self.fields]

    def filename(self, today: date) -> str:
        return f"{self.kind}-{today.isoformat()}.csv"

    def present(self, row: Sequence[Any]) -> list[str]:
        """A row of the statement as cells (the loop every row of a million
        takes: `neutralise` inlined)."""
        cells = []
        for field, position in zip(self.fields, self.positions, strict=True):
            cell = field.shown(row[position])
            cells.append(f"'{cell}" if cell[:1] in FORMULA_STARTS else cell)
        return cells


def _export(kind: str, key: Any, fields: list[Field], filtered: Select[Any], joined: Any) -> Export:
    """The list's own statement, reading the export's columns from `joined`."""
    columns: list[Any] = [key]
    positions = []
    for field in fields:
        # By identity: SQL expressions overload ==.
        found = next((i for i, column in enumerate(columns) if column is field.expression), None)
        if found is None:
            columns.append(field.expression)
            found = len(columns) - 1
        positions.append(found)
    statement = filtered.with_only_columns(*columns).select_from(joined)
    return Export(kind, key, tuple(fields), tuple(positions), statement)


def innovations_export(
    session: Session, principal: Principal, filters: innovations.InnovationFilters
) -> Export:
    supplier = aliased(Organisation)
    fields = [
        Field("Id", Innovation.id),
        Field("Name", Innovation.name),
        Field("Summary", Innovation.summary),
        Field("Supplier", supplier.name),
        Field("Status", Innovation.status),
        Field("Maturity", Innovation.maturity),
        Field("Categories", Innovation.categories, _listed),
        Field("Care settings", Innovation.care_settings, _listed),
        Field("Sector it comes from", Innovation.origin_sector),
        Field("What it did there", Innovation.origin_use),
        Field("Evidence types", Innovation.evidence, _evidence_types),
        Field("UKCA or CE class", Innovation.regulatory, _ukca_class),
        Field("DTAC passed", Innovation.regulatory, _dtac),
        Field("DCB0129 in place", Innovation.regulatory, _dcb0129),
        Field("Cost", Innovation.cost_summary),
        Field("Website", Innovation.website),
        Field("Description", Innovation.description),
        Field("External ref", Innovation.external_ref),
        Field("Supplier id", Innovation.supplier_id),
        Field("Created", Innovation.created_at, _when),
        Field("Updated", Innovation.updated_at, _when),
    ]
    joined = join(Innovation, supplier, col(supplier.id) == Innovation.supplier_id)
    filtered = innovations.query(session, principal, filters)
    return _export("innovations", col(Innovation.id), fields, filtered, joined)


def challenges_export(session: Session, principal: Principal, filters: challenges.ChallengeFilters) -> Export:
    owner = aliased(Organisation)
    fields = [
        Field("Id", Challenge.id),
        Field("Title", Challenge.title),
        Field("Organisation", owner.name),
        Field("Region", owner.region),
        Field("Status", Challenge.status),
        Field("Categories", Challenge.categories, _listed),
        Field("Care settings", Challenge.care_settings, _listed),
        Field("Problem", Challenge.problem_statement),
        Field("Outcomes wanted", Challenge.desired_outcomes),
        Field("How success is measured", Challenge.success_measures),
        Field("Lowest budget (£)", Challenge.budget_min),
        Field("Highest budget (£)", Challenge.budget_max),
        Field("Opens", Challenge.opens_on, _day),
        Field("Closes", Challenge.closes_on, _day),
        Field("External ref", Challenge.external_ref),
        Field("Organisation id", Challenge.owner_id),
        Field("Created", Challenge.created_at, _when),
        Field("Updated", Challenge.updated_at, _when),
    ]
    joined = join(Challenge, owner, col(owner.id) == Challenge.owner_id)
    filtered = challenges.query(session, principal, filters)
    return _export("challenges", col(Challenge.id), fields, filtered, joined)


def adoptions_export(session: Session, principal: Principal, filters: adoptions.AdoptionFilters) -> Export:
    # Aliases, so that the filters' own subqueries on these tables (visibility,
    # region) stay subqueries rather than correlating with the joins.
    product = aliased(Innovation)
    supplier = aliased(Organisation)
    adopter = aliased(Organisation)
    answered = aliased(Challenge)
    stage_names = {stage.key: stage.name for stage in pipeline.stages(session).ordered}

    def stage_name(key: str | None) -> str:
        return stage_names.get(key, key) if key else ""

    fields = [
        Field("Id", Adoption.id),
        Field("Innovation", product.name),
        Field("Supplier", supplier.name),
        Field("Adopting organisation", adopter.name),
        Field("Kind of organisation", adopter.kind),
        Field("Region", adopter.region),
        Field("Stage", Adoption.stage, stage_name),
        Field("In stage since", Adoption.stage_entered_at, _when),
        Field("Paused from", Adoption.paused_from, stage_name),
        Field("Adopted", Adoption.adopted_at, _when),
        Field("Adoption lead", Adoption.lead_name),
        Field("Adoption lead email", Adoption.lead_email),
        Field("Challenge", answered.title),
        Field("Funding source", col(Adoption.gate)["funding_source"].as_string()),
        Field("Notes", Adoption.notes),
        Field("External ref", Adoption.external_ref),
        Field("Innovation id", Adoption.innovation_id),
        Field("Organisation id", Adoption.organisation_id),
        Field("Challenge id", Adoption.challenge_id),
        Field("Created", Adoption.created_at, _when),
        Field("Updated", Adoption.updated_at, _when),
    ]
    joined = (
        join(Adoption, product, col(product.id) == Adoption.innovation_id)
        .join(supplier, col(supplier.id) == product.supplier_id)
        .join(adopter, col(adopter.id) == Adoption.organisation_id)
        .outerjoin(answered, col(answered.id) == Adoption.challenge_id)
    )
    filtered = adoptions.query(session, principal, filters)
    return _export("adoptions", col(Adoption.id), fields, filtered, joined)


# --- reading and writing --------------------------------------------------------


def read_batch(
    session: Session, export: Export, after: uuid.UUID | None, limit: int = BATCH
) -> tuple[list[list[str]], uuid.UUID | None]:
    """Up to `limit` rows after the key `after`, as cells, and the last key read."""
    statement = export.statement
    if after is not None:
        statement = statement.where(export.key > after)
    # On the session's connection, as Core: the ORM's row handling is a third
    # of the time and nothing here needs it.
    rows = session.connection().execute(statement.order_by(export.key).limit(limit)).all()
    return [export.present(row) for row in rows], (rows[-1][0] if rows else None)


def to_csv(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _next_chunk(
    open_session: SessionOpener, export: Export, after: uuid.UUID | None, limit: int
) -> tuple[bytes, uuid.UUID | None, bool]:
    """One batch as CSV bytes, read in a session opened and closed here; the
    last key read; whether it was the last batch."""
    with open_session() as session:
        rows, last = read_batch(session, export, after, limit)
    return to_csv(rows).encode(), last, len(rows) < limit


async def stream(
    open_session: SessionOpener,
    admission: Admission,
    export: Export,
    *,
    batch: int = BATCH,
    bom: bool = False,
) -> AsyncGenerator[bytes, None]:
    """The export as CSV bytes: the header, then a chunk per batch. Each batch
    is read in a worker thread, admitted to the database like a request (so
    exports never starve the pool the requests wait on), and nothing is held
    between batches: a client that stops reading holds no connection."""
    yield ((BOM if bom else "") + to_csv([export.header])).encode()
    after: uuid.UUID | None = None
    done = False
    while not done:
        async with admission.admit(write=False):
            chunk, after, done = await anyio.to_thread.run_sync(
                partial(_next_chunk, open_session, export, after, batch)
            )
        if chunk:
            yield chunk
