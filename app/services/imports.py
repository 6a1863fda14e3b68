"""Bulk import keyed by `external_ref`, and the export it reads back.

What an import does (API.md, "Bulk import"):

- Records are organisations, innovations, challenges and adoptions, each
  with an `external_ref`: unique per owner organisation, the importer's own
  (its key's organisation; the exchange's for the command line). A record
  whose ref the owner already has is that record; any other is new.
- References name a record of the same import or one of the owner's by its
  ref (`supplier_ref`, `owner_ref`, `innovation_ref`, `organisation_ref`,
  `challenge_ref`), or any record by its id (`supplier_id`, ...).
- Each record is validated by its kind's Create schema, and allowed or
  refused by the services' own checks (`check_create`, `check_change`, ...):
  no rule is restated here. Every error is collected with its place
  (`innovations[41].care_settings[0]`; `innovations.csv:42 care_settings[0]`).
- A new record is made as its service makes it. An existing one takes the
  fields the record gives (a field left out stays as it is; an adoption's
  `gate` merges by key, as a PATCH does); if that changes anything it is
  versioned and touched, else it is unchanged. A second identical import
  changes nothing and writes no event.
- Adoptions open at `identified`, as every adoption does. A record that
  names another `stage` is then moved there by `pipeline.prepare_move`,
  the pipeline's own rules, with the reason "imported": a facilitator of
  the region or an admin may skip stages and override gates (`override` is
  recorded on the transition only when the move needed it); anyone else
  moves only as the rules allow (one stage on, its gate met). Each move
  writes its transition and its `adoption.stage_changed` event.
  `not_progressed` needs `reason_code`.
- All or nothing, in the caller's transaction: records are read and checked
  in chunks of CHUNK, each written (in bulk: one statement per table) only
  while no error has been found; the first error stops the writing but not
  the checking, and at the end any error raises ValidationFailed, so the
  caller rolls everything back. Memory holds a chunk, and a few facts per
  ref (to resolve references), not the whole import.

Speed: per chunk, one query per kind for the records its refs name, one for
the records it refers to; inserts and events go in as one binary COPY
(PostgreSQL) or one driver executemany (SQLite, with a bigger page cache) per
table. The services' work per record (validation, checks, event payloads) is
done per record, in memory; event payloads are built from the validated values
(records.public_json), not validated again. Records already there are read as
rows of their columns to be compared (Existing): table objects are made only
for a chunk where one changes. NUL characters are looked for as each record is
read, where the error has a place, so the bulk writes need not pass
app/nul_characters.py's statement hook. bench/RESULTS.md has the numbers.
"""

import csv
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from enum import Enum
from itertools import islice
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import orjson
from psycopg.types.json import set_json_dumps
from pydantic import ValidationError
from sqlalchemy import ARRAY, String, Table, bindparam, func, insert, true, tuple_
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql import sqltypes
from sqlmodel import Session, SQLModel, col, delete, select

from app import nul_characters
from app.auth import Principal
from app.errors import DomainError, FieldError, GateNotMet, ValidationFailed
from app.models.adoption import Adoption, AdoptionCreate, Lead
from app.models.base import utcnow
from app.models.challenge import Challenge, ChallengeCreate, ChallengeFacet
from app.models.event import Event
from app.models.imports import KINDS, ImportResult, KindCounts
from app.models.innovation import Innovation, InnovationCreate, InnovationFacet
from app.models.organisation import Organisation, OrganisationCreate
from app.models.transition import Transition
from app.models.vocabulary import NOT_PROGRESSED, Role, Scope
from app.services import (
    adoptions,
    challenges,
    events,
    facets,
    innovations,
    organisations,
    pipeline,
    records,
)

CHUNK = 2000
MAX_LEADS = 100_000
# The reason on the transitions an import makes.
IMPORTED = "imported"
ACTOR_LABEL = "command line (hie import)"
NO_ID = uuid.UUID(int=0)


# --- where a record is ----------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a record is: `innovations[41]` in JSON, `innovations.csv:42` in CSV."""

    label: str
    sep: str = "."

    def at(self, path: str = "") -> str:
        return f"{self.label}{self.sep}{path}" if path else self.label


@dataclass(frozen=True)
class Item:
    place: Place
    data: Any


def _path(loc: Iterable[int | str]) -> str:
    """A pydantic location as a path: ("evidence", 0, "type") -> evidence[0].type."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


# --- what later records need to know of earlier ones ----------------------------


@dataclass(frozen=True)
class OrgKnown:
    id: uuid.UUID
    region: str | None


@dataclass(frozen=True)
class InnovationKnown:
    id: uuid.UUID
    supplier_id: uuid.UUID
    status: str
    new: bool = False


@dataclass(frozen=True)
class ChallengeKnown:
    id: uuid.UUID


@dataclass(frozen=True)
class Kind:
    """One kind of record: its table, schema, and how to know one."""

    name: str
    model: Any
    what: str  # "organisation", for messages
    known_columns: tuple[Any, ...]
    known: Callable[..., Any]


KIND: dict[str, Kind] = {
    "organisations": Kind(
        "organisations",
        Organisation,
        "organisation",
        (Organisation.id, Organisation.region),
        lambda id, region: OrgKnown(id, region),
    ),
    "innovations": Kind(
        "innovations",
        Innovation,
        "innovation",
        (Innovation.id, Innovation.supplier_id, Innovation.status),
        lambda id, supplier_id, status: InnovationKnown(id, supplier_id, status),
    ),
    "challenges": Kind("challenges", Challenge, "challenge", (Challenge.id,), lambda id: ChallengeKnown(id)),
}


def _columns(model: Any) -> list[str]:
    """The columns an insert gives: not those the database computes."""
    return [column.key for column in model.__table__.columns if column.computed is None]


# A UUIDv7's version (7) and variant (0b10) bits.
_V7_BITS = (7 << 76) | (2 << 62)


class Ids:
    """UUIDv7 ids, as app/models/base.py's new_id makes them (the
    millisecond first, so id order is creation order) at a third of its
    cost: an import makes one per record. Within a millisecond a 12-bit
    counter keeps them in order (RFC 9562's "fixed bit-length counter");
    62 random bits make them unique, from the operating system's generator,
    read for a thousand ids at a time rather than by a system call per id."""

    RANDOM_BLOCK = 8 * 1024

    def __init__(self) -> None:
        self.ms = 0
        self.count = 0
        self.random = b""
        self.used = 0

    def _random62(self) -> int:
        if self.used >= len(self.random):
            self.random, self.used = secrets.token_bytes(self.RANDOM_BLOCK), 0
        start, self.used = self.used, self.used + 8
        return int.from_bytes(self.random[start : self.used]) >> 2

    def __call__(self) -> uuid.UUID:
        ms = time.time_ns() // 1_000_000
        if ms > self.ms:
            self.ms, self.count = ms, 0
        elif self.count < 0xFFF:
            self.count += 1
        else:  # 4,096 in one millisecond: borrow the next one
            self.ms, self.count = self.ms + 1, 0
        return uuid.UUID(int=(self.ms << 80) | _V7_BITS | (self.count << 64) | self._random62())


@dataclass(frozen=True)
class Defaults:
    """A model's field defaults: values, and factories to call per record."""

    values: dict[str, Any]
    factories: dict[str, Callable[[], Any]]

    @classmethod
    def of(cls, model: Any) -> "Defaults":
        values, factories = {}, {}
        for name, info in model.model_fields.items():
            if info.default_factory is not None:
                factories[name] = info.default_factory
            else:
                values[name] = info.default
        return cls(values, factories)


def _new(defaults: Defaults, values: dict[str, Any]) -> Any:
    """A new record with `values` (its id among them) and its fields' other
    defaults (timestamps, version 1), as a plain object: the services read
    and set its attributes as they would a table row's, and a table model's
    instrumented construction costs more than all the rest of the import."""
    made = {name: make() for name, make in defaults.factories.items() if name not in values}
    return SimpleNamespace(**{**defaults.values, **made, **values})


def _row(record: Any, columns: list[str]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in columns}


def _diff(record: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from the record's."""
    return {name: value for name, value in values.items() if getattr(record, name) != value}


class Existing:
    """The owner's records of one chunk's refs, by ref: rows of their columns
    to compare the import's records with, and, only once one of them changes,
    the chunk's table objects (one query) to change. A second identical
    import changes nothing, and making a table object of each row cost it a
    third of its time."""

    def __init__(self, session: Session, model: Any, rows: dict[str, Any]) -> None:
        self.session, self.model, self.rows = session, model, rows
        self.objects: dict[uuid.UUID, Any] | None = None

    def get(self, ref: str) -> Any:
        return self.rows.get(ref)

    def full(self, row: Any) -> Any:
        """The table object of a row of this chunk."""
        if self.objects is None:
            ids = [found.id for found in self.rows.values()]
            stmt = select(self.model).where(col(self.model.id).in_(ids))
            self.objects = {record.id: record for record in self.session.exec(stmt)}
        return self.objects[row.id]


@dataclass
class Counts:
    """A kind's counts as the import goes (a plain object: ImportResult's
    pydantic models cost microseconds an increment), ImportResult's at the end."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Batch:
    """What one chunk writes."""

    model: Any
    inserts: list[dict[str, Any]] = field(default_factory=list)
    facet_model: Any = None
    facet_rows: list[dict[str, Any]] = field(default_factory=list)
    facets_replaced: list[uuid.UUID] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    updated: int = 0


Progress = Callable[[str, int], None]


# --- the import -----------------------------------------------------------------


def run(
    session: Session,
    principal: Principal,
    sources: Mapping[str, Iterable[Iterable[Item]]],
    *,
    errors: Iterable[FieldError] = (),
    progress: Progress | None = None,
) -> ImportResult:
    """Import `sources` (for each kind, its streams of records) as
    `principal`, in the session's transaction; ValidationFailed lists every
    error (`errors` found before, in the file's shape, among them), and then
    the caller must roll back (the request and `hie import` do). The kinds
    go in the order references need: organisations first."""
    importer = Importer(session, principal, progress)
    importer.errors.extend(errors)
    with session.no_autoflush, _tuned_connection(session):
        for kind in KINDS:
            for stream in sources.get(kind, ()):
                importer.kind(kind, stream)
    if importer.errors:
        count = len(importer.errors)
        raise ValidationFailed(
            importer.errors, detail=f"{count} error{'s' if count != 1 else ''}: nothing was imported."
        )
    return ImportResult(**{kind: KindCounts(**asdict(counts)) for kind, counts in importer.counts.items()})


# SQLite's page cache while an import writes, in KiB (its default is 2 MB):
# the events' and adoptions' indexes outgrow the default at a few thousand rows.
SQLITE_CACHE_KIB = 256 * 1024


@contextmanager
def _tuned_connection(session: Session) -> Iterator[None]:
    """The import's connection set for one long transaction, given back after.

    SQLite: a bigger page cache. PostgreSQL: no server-side prepared
    statements. psycopg prepares a query after its fifth run, and the server
    may then keep one generic plan, made while this transaction's tables
    were nearly empty (a sequential scan), for every later chunk's lookups
    by external_ref: each then reads the whole of a table that grows by
    thousands of rows a chunk."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        threshold = driver.prepare_threshold  # type: ignore[union-attr]
        driver.prepare_threshold = None  # type: ignore[union-attr]
        try:
            yield
        finally:
            driver.prepare_threshold = threshold  # type: ignore[union-attr]
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


class Importer:
    def __init__(self, session: Session, principal: Principal, progress: Progress | None) -> None:
        self.session = session
        self.principal = principal
        self.owner = principal.organisation_id
        self.progress = progress
        self.stages = pipeline.stages(session)
        self.now = utcnow()
        self.errors: list[FieldError] = []
        self.counts = {kind: Counts() for kind in KINDS}
        self.ids = Ids()
        self.defaults = {
            model: Defaults.of(model) for model in (Organisation, Innovation, Challenge, Adoption)
        }
        # Per kind: ref -> where it first appeared (duplicates); ref -> what is known of it; id -> same.
        self.seen: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self.by_ref: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self.by_id: dict[str, dict[uuid.UUID, Any]] = {kind: {} for kind in KINDS}
        self.ods_codes: dict[str, str] = {}
        self.pairs: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.leads: dict[tuple[Any, ...], Lead | None] = {}
        self.columns = {model: _columns(model) for model in (Organisation, Innovation, Challenge, Adoption)}

    def _new(self, model: Any, values: dict[str, Any]) -> Any:
        return _new(self.defaults[model], {"id": self.ids(), **values})

    # --- errors

    def error(self, place: Place, path: str, message: str) -> None:
        self.errors.append(FieldError(place.at(path), message))

    def domain_error(
        self, place: Place, exc: DomainError, path: str = "", names: dict[str, str] | None = None
    ) -> None:
        """A service's refusal, at the field it names (`body.innovation_id` is
        the record's `innovation_ref` when the record used a ref)."""
        if isinstance(exc, ValidationFailed):
            for error in exc.errors:
                name = error["field"].removeprefix("body").removeprefix(".")
                self.error(place, (names or {}).get(name, name or path), error["message"])
        else:
            self.error(place, path, exc.detail)

    def validate(self, schema: type[SQLModel], data: dict[str, Any], place: Place) -> Any:
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self.error(place, _path(error["loc"]), error["msg"])
            return None

    # --- one kind, chunk by chunk

    def kind(self, kind: str, items: Iterable[Item]) -> None:
        handle = getattr(self, f"_{kind}")
        stream = iter(items)
        while chunk := list(islice(stream, CHUNK)):
            records = []
            for item in chunk:
                opened = self._open(kind, item)
                if opened is not None:
                    records.append((item.place, *opened))
            batch = handle(records)
            if not self.errors:
                self._write(batch)
            if self.progress:
                self.progress(kind, len(chunk))

    def _open(self, kind: str, item: Item) -> tuple[str, dict[str, Any]] | None:
        """The record's ref and a copy of its fields, or None (and an error)."""
        data, place = item.data, item.place
        if isinstance(data, _BadHeader):
            self.error(place, "", str(data))
            return None
        if isinstance(data, _CsvRecord):
            data = _decode_csv(data, place, self.errors)
            if data is None:
                return None
        if not isinstance(data, dict):
            self.error(place, "", "Must be an object: one record.")
            return None
        ref = data.get("external_ref")
        if not isinstance(ref, str) or not ref.strip() or len(ref) > 200:
            self.error(
                place,
                "external_ref",
                "Every imported record needs an external_ref (text, 1 to 200 characters).",
            )
            return None
        first = self.seen[kind].setdefault(ref, place.label)
        if first != place.label:
            self.error(
                place, "external_ref", f"Also at {first}: each external_ref may appear once in an import."
            )
            return None
        # Checked here, where it has a place, rather than by the statement hook
        # (app/nul_characters.py): the writes below go around it (COPY, the driver's executemany).
        if nul_characters.holds_nul(data):
            for path in nul_characters.paths_with_nul(data):
                self.error(place, _path(path), nul_characters.MESSAGE)
        return ref, dict(data)

    # --- looking records up, a chunk at a time

    def _existing(self, model: Any, refs: Iterable[str]) -> Existing:
        """The owner's records of these refs, by ref, to be compared (and changed)."""
        wanted = list(refs)
        if not wanted:
            return Existing(self.session, model, {})
        table = model.__table__
        stmt = self._owned(table, table.columns, wanted)
        return Existing(self.session, model, {row.external_ref: row for row in self.session.execute(stmt)})

    def _owned(self, table: Table, columns: Iterable[Any], refs: list[str]) -> Any:
        """The `columns` of the owner's records in `table` with these refs.

        On PostgreSQL, one look-up in the (owner, ref) index per ref, said
        so: the import's own rows are not yet in the planner's statistics,
        and from them it judged the owner's rows few, read them all and
        kept those with the refs, so every chunk read every row the import
        had written before it (40 ms a chunk at 60,000 adoptions, 200 at
        300,000; 10 ms either way this way). OFFSET 0 keeps the planner from
        turning the look-ups back into that join."""
        if self.session.get_bind().dialect.name != "postgresql":
            return select(*columns).where(table.c.owner_org_id == self.owner, table.c.external_ref.in_(refs))
        unnest = func.unnest(bindparam("refs", refs, type_=ARRAY(String)))
        given = unnest.table_valued("ref").render_derived("given")
        match = (
            select(*columns)
            .where(table.c.owner_org_id == self.owner, table.c.external_ref == given.c.ref)
            .offset(0)
            .lateral()
        )
        return select(match).select_from(given).join(match, true())

    def _learn(
        self, kind: str, records: list[tuple[Place, str, dict[str, Any]]], ref_field: str, id_field: str
    ) -> None:
        """Load what is known of the records these refer to (by ref among the
        owner's, or by id) that this import has not met yet: two queries."""
        spec = KIND[kind]
        refs = {data[ref_field] for _, _, data in records if isinstance(data.get(ref_field), str)}
        refs -= self.by_ref[kind].keys()
        if refs:
            columns = (spec.model.external_ref, *spec.known_columns)
            for ref, *values in self.session.execute(self._owned(spec.model.__table__, columns, list(refs))):
                self.by_ref[kind][ref] = spec.known(*values)
        ids = {found for _, _, data in records if (found := _as_uuid(data.get(id_field))) is not None}
        ids -= self.by_id[kind].keys()
        if ids:
            stmt = select(*spec.known_columns).where(col(spec.model.id).in_(ids))
            for values in self.session.exec(stmt):
                self.by_id[kind][values[0]] = spec.known(*values)

    def _reference(
        self, kind: str, data: dict[str, Any], place: Place, id_field: str, ref_field: str, *, required: bool
    ) -> tuple[Any, str]:
        """What the record refers to by `ref_field` or `id_field` (setting
        `id_field` to its id), and which of the two it used; None (and an
        error) when it names nothing."""
        what = KIND[kind].what
        ref, given_id = data.pop(ref_field, None), data.get(id_field)
        if ref is not None and given_id is not None:
            self.error(place, ref_field, f"Give {ref_field} or {id_field}, not both.")
            return None, ref_field
        if ref is not None:
            known = self.by_ref[kind].get(ref) if isinstance(ref, str) else None
            if known is None:
                self.error(
                    place,
                    ref_field,
                    f"No {what} with this external_ref in this import or among your records.",
                )
                data[id_field] = NO_ID  # one error, not a second for the id
            else:
                data[id_field] = known.id
            return known, ref_field
        if given_id is not None:
            as_id = _as_uuid(given_id)
            known = self.by_id[kind].get(as_id) if as_id else None
            if as_id is not None and known is None:
                self.error(place, id_field, f"No {what} with this id.")
            return known, id_field
        if required:
            self.error(place, ref_field, f"Give {ref_field} (or {id_field}): the {what} it belongs to.")
            data[id_field] = NO_ID
        return None, ref_field

    # --- organisations

    def _organisations(self, records: list[tuple[Place, str, dict[str, Any]]]) -> Batch:
        batch = Batch(Organisation)
        existing = self._existing(Organisation, (ref for _, ref, _ in records))
        codes = {data["ods_code"] for _, _, data in records if isinstance(data.get("ods_code"), str)}
        holders: dict[str | None, uuid.UUID] = {}
        if codes:
            found = select(Organisation.ods_code, Organisation.id).where(
                col(Organisation.ods_code).in_(codes)
            )
            holders = {code: org_id for code, org_id in self.session.exec(found)}
        counts = self.counts["organisations"]
        for place, ref, data in records:
            current = existing.get(ref)
            before = len(self.errors)
            org_data = self.validate(OrganisationCreate, data, place)
            if org_data is not None and org_data.ods_code:
                self._check_ods(place, org_data.ods_code, holders.get(org_data.ods_code), current)
            if org_data is None or len(self.errors) > before:
                self.by_ref["organisations"][ref] = OrgKnown(uuid.uuid4(), _text(data.get("region")))
                continue
            if current is None:
                self._new_organisation(batch, place, ref, org_data, counts)
            else:
                self._changed_organisation(batch, place, ref, org_data, existing, current, counts)
        return batch

    def _check_ods(self, place: Place, code: str, holder: uuid.UUID | None, current: Any) -> None:
        first = self.ods_codes.setdefault(code, place.label)
        if first != place.label:
            self.error(place, "ods_code", f"Also at {first}: an ODS code belongs to one organisation.")
        elif holder is not None and (current is None or holder != current.id):
            self.error(place, "ods_code", "An organisation with this ODS code already exists.")

    def _new_organisation(
        self, batch: Batch, place: Place, ref: str, data: OrganisationCreate, counts: Counts
    ) -> None:
        try:
            organisations.check_create(self.principal)
        except DomainError as exc:
            self.domain_error(place, exc)
            return
        org = self._new(Organisation, {**data.model_dump(), "owner_org_id": self.owner, "is_exchange": False})
        self.by_ref["organisations"][ref] = OrgKnown(org.id, org.region)
        batch.inserts.append(_row(org, self.columns[Organisation]))
        batch.events.append(organisations.event_values(self.principal, "organisation.created", org))
        counts.created += 1

    def _changed_organisation(
        self,
        batch: Batch,
        place: Place,
        ref: str,
        data: OrganisationCreate,
        existing: Existing,
        current: Any,
        counts: Counts,
    ) -> None:
        changes = _diff(current, data.model_dump(exclude_unset=True))
        self.by_ref["organisations"][ref] = OrgKnown(current.id, changes.get("region", current.region))
        if not changes:
            counts.unchanged += 1
            return
        org = existing.full(current)
        try:
            organisations.check_change(self.principal, org)
        except DomainError as exc:
            self.domain_error(place, exc)
            return
        records.apply_changes(org, changes)
        records.touch(org, self.now)
        batch.events.append(organisations.event_values(self.principal, "organisation.updated", org))
        batch.updated += 1
        counts.updated += 1

    # --- innovations

    def _innovations(self, records: list[tuple[Place, str, dict[str, Any]]]) -> Batch:
        batch = Batch(Innovation, facet_model=InnovationFacet)
        self._learn("organisations", records, "supplier_ref", "supplier_id")
        existing = self._existing(Innovation, (ref for _, ref, _ in records))
        counts = self.counts["innovations"]
        for place, ref, data in records:
            before = len(self.errors)
            _, supplier_field = self._reference(
                "organisations", data, place, "supplier_id", "supplier_ref", required=True
            )
            innovation_data = self.validate(InnovationCreate, data, place)
            if innovation_data is None or len(self.errors) > before:
                self.by_ref["innovations"][ref] = InnovationKnown(uuid.uuid4(), NO_ID, "", new=True)
                continue
            current = existing.get(ref)
            if current is None:
                self._new_innovation(batch, place, ref, innovation_data, supplier_field, counts)
            else:
                self._changed_innovation(batch, place, ref, innovation_data, existing, current, counts)
        return batch

    def _new_innovation(
        self,
        batch: Batch,
        place: Place,
        ref: str,
        data: InnovationCreate,
        supplier_field: str,
        counts: Counts,
    ) -> None:
        try:
            innovations.check_create(self.principal, data.supplier_id)
        except DomainError as exc:
            self.domain_error(place, exc, supplier_field)
            return
        innovation = self._new(
            Innovation, {**innovations.stored_values(data, partial=False), "owner_org_id": self.owner}
        )
        self.by_ref["innovations"][ref] = InnovationKnown(
            innovation.id, innovation.supplier_id, innovation.status, new=True
        )
        batch.inserts.append(_row(innovation, self.columns[Innovation]))
        batch.facet_rows += facets.facet_rows("innovation_id", innovation)
        batch.events.append(innovations.event_values(self.principal, "innovation.created", innovation))
        counts.created += 1

    def _changed_innovation(
        self,
        batch: Batch,
        place: Place,
        ref: str,
        data: InnovationCreate,
        existing: Existing,
        innovation: Any,
        counts: Counts,
    ) -> None:
        changes = _diff(innovation, innovations.stored_values(data, partial=True))
        if changes:
            innovation = existing.full(innovation)
            try:
                innovations.check_change(self.principal, innovation)
                if "supplier_id" in changes:
                    innovations.check_new_supplier(self.principal)
            except DomainError as exc:
                self.domain_error(place, exc)
                changes = {}
            else:
                records.apply_changes(innovation, changes)
                records.touch(innovation, self.now)
                if changes.keys() & set(facets.FACETS):
                    batch.facets_replaced.append(innovation.id)
                    batch.facet_rows += facets.facet_rows("innovation_id", innovation)
                batch.events.append(
                    innovations.event_values(self.principal, "innovation.updated", innovation)
                )
                batch.updated += 1
                counts.updated += 1
        else:
            counts.unchanged += 1
        self.by_ref["innovations"][ref] = InnovationKnown(
            innovation.id, innovation.supplier_id, innovation.status
        )

    # --- challenges

    def _challenges(self, records: list[tuple[Place, str, dict[str, Any]]]) -> Batch:
        batch = Batch(Challenge, facet_model=ChallengeFacet)
        self._learn("organisations", records, "owner_ref", "owner_id")
        existing = self._existing(Challenge, (ref for _, ref, _ in records))
        counts = self.counts["challenges"]
        for place, ref, data in records:
            before = len(self.errors)
            _, owner_field = self._reference(
                "organisations", data, place, "owner_id", "owner_ref", required=True
            )
            challenge_data = self.validate(ChallengeCreate, data, place)
            if challenge_data is None or len(self.errors) > before:
                self.by_ref["challenges"][ref] = ChallengeKnown(uuid.uuid4())
                continue
            current = existing.get(ref)
            if current is None:
                self._new_challenge(batch, place, ref, challenge_data, owner_field, counts)
            else:
                self._changed_challenge(batch, place, ref, challenge_data, existing, current, counts)
        return batch

    def _new_challenge(
        self,
        batch: Batch,
        place: Place,
        ref: str,
        data: ChallengeCreate,
        owner_field: str,
        counts: Counts,
    ) -> None:
        try:
            challenges.check_create(self.principal, data.owner_id)
        except DomainError as exc:
            self.domain_error(place, exc, owner_field)
            return
        challenge = self._new(Challenge, {**data.model_dump(), "owner_org_id": self.owner})
        self.by_ref["challenges"][ref] = ChallengeKnown(challenge.id)
        batch.inserts.append(_row(challenge, self.columns[Challenge]))
        batch.facet_rows += facets.facet_rows("challenge_id", challenge)
        batch.events.append(challenges.event_values(self.principal, "challenge.created", challenge))
        counts.created += 1

    def _changed_challenge(
        self,
        batch: Batch,
        place: Place,
        ref: str,
        data: ChallengeCreate,
        existing: Existing,
        current: Any,
        counts: Counts,
    ) -> None:
        self.by_ref["challenges"][ref] = ChallengeKnown(current.id)
        changes = _diff(current, data.model_dump(exclude_unset=True))
        if not changes:
            counts.unchanged += 1
            return
        challenge = existing.full(current)
        try:
            challenges.check_change(self.principal, challenge)
            if "owner_id" in changes:
                challenges.check_new_owner(self.principal)
            challenges.check_merged_ranges(challenge, changes)
        except DomainError as exc:
            self.domain_error(place, exc)
            return
        records.apply_changes(challenge, changes)
        records.touch(challenge, self.now)
        if changes.keys() & set(facets.FACETS):
            batch.facets_replaced.append(challenge.id)
            batch.facet_rows += facets.facet_rows("challenge_id", challenge)
        batch.events.append(challenges.event_values(self.principal, "challenge.updated", challenge))
        batch.updated += 1
        counts.updated += 1

    # --- adoptions

    def _adoptions(self, records: list[tuple[Place, str, dict[str, Any]]]) -> Batch:
        batch = Batch(Adoption)
        self._learn("innovations", records, "innovation_ref", "innovation_id")
        self._learn("organisations", records, "organisation_ref", "organisation_id")
        self._learn("challenges", records, "challenge_ref", "challenge_id")
        existing = self._existing(Adoption, (ref for _, ref, _ in records))
        planned = []
        for place, ref, data in records:
            before = len(self.errors)
            stage, reason_code = data.pop("stage", None), data.pop("reason_code", None)
            innovation, innovation_field = self._reference(
                "innovations", data, place, "innovation_id", "innovation_ref", required=True
            )
            adopter, organisation_field = self._reference(
                "organisations", data, place, "organisation_id", "organisation_ref", required=True
            )
            self._reference("challenges", data, place, "challenge_id", "challenge_ref", required=False)
            self._known_lead(data)
            adoption_data = self.validate(AdoptionCreate, data, place)
            if adoption_data is not None:
                self._check_gate(place, adoption_data)
            self._check_stage(place, stage, reason_code)
            if adoption_data is None or len(self.errors) > before:
                continue
            names = {"innovation_id": innovation_field, "organisation_id": organisation_field}
            planned.append(
                (place, adoption_data, innovation, adopter, stage, reason_code, names, existing.get(ref))
            )
        taken = self._pairs_taken([(p[1], p[2]) for p in planned if p[7] is None])
        counts = self.counts["adoptions"]
        for place, data, innovation, adopter, stage, reason_code, names, current in planned:
            move = (stage, reason_code)
            if current is None:
                self._new_adoption(batch, place, data, innovation, adopter, move, names, taken, counts)
            else:
                self._changed_adoption(
                    batch, place, data, innovation, adopter, move, names, existing, current, counts
                )
        return batch

    def _known_lead(self, data: dict[str, Any]) -> None:
        """Put a lead met before in the record already validated: leads repeat
        (a trust's champion leads many adoptions), and checking an email
        address is the dearest part of an adoption's validation. Each distinct
        lead is still validated by the schema's own Lead, once; one that fails
        is left for AdoptionCreate to report at its place."""
        lead = data.get("lead")
        if not isinstance(lead, dict):
            return
        try:
            key = tuple(sorted(lead.items()))
            known = self.leads.get(key, False)
        except TypeError:  # not a plain object of text: let the schema say what is wrong
            return
        if known is False:
            if len(self.leads) >= MAX_LEADS:
                self.leads.clear()
            try:
                known = self.leads[key] = Lead.model_validate(lead)
            except ValidationError:
                known = self.leads[key] = None
        if known is not None:
            data["lead"] = known

    def _check_gate(self, place: Place, data: AdoptionCreate) -> None:
        try:
            pipeline.validate_gate(self.stages, data.gate, field="gate")
        except ValidationFailed as exc:
            self.domain_error(place, exc)

    def _check_stage(self, place: Place, stage: Any, reason_code: Any) -> None:
        if stage is not None and (not isinstance(stage, str) or stage not in self.stages.by_key):
            keys = ", ".join(s.key for s in self.stages.ordered)
            self.error(place, "stage", f"Not a stage. Stages are: {keys}.")
        if reason_code is not None and stage != NOT_PROGRESSED:
            self.error(place, "reason_code", f"Give a reason_code only with the stage `{NOT_PROGRESSED}`.")

    def _pairs_taken(
        self, wanted: list[tuple[AdoptionCreate, InnovationKnown]]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """The (innovation, organisation) pairs among `wanted` that already
        have an adoption: one query, for innovations this import did not make."""
        pairs = [(data.innovation_id, data.organisation_id) for data, known in wanted if not known.new]
        if not pairs:
            return set()
        stmt = select(Adoption.innovation_id, Adoption.organisation_id).where(
            tuple_(col(Adoption.innovation_id), col(Adoption.organisation_id)).in_(pairs)
        )
        return {
            (innovation_id, organisation_id) for innovation_id, organisation_id in self.session.exec(stmt)
        }

    def _new_adoption(
        self,
        batch: Batch,
        place: Place,
        data: AdoptionCreate,
        innovation: InnovationKnown,
        adopter: OrgKnown,
        move: tuple[str | None, str | None],
        names: dict[str, str],
        taken: set[tuple[uuid.UUID, uuid.UUID]],
        counts: Counts,
    ) -> None:
        pair = (data.innovation_id, data.organisation_id)
        first = self.pairs.setdefault(pair, place.label)
        if first != place.label:
            self.error(
                place,
                names["organisation_id"],
                f"Also at {first}: one adoption per innovation and organisation.",
            )
            return
        if pair in taken:
            self.error(
                place,
                names["organisation_id"],
                "This organisation already has an adoption of this innovation.",
            )
            return
        try:
            adoptions.check_innovation(self.principal, innovation)
            adoptions.check_opener(self.principal, adopter.id, adopter.region)
        except DomainError as exc:
            self.domain_error(place, exc, "", names)
            return
        adoption = self._new(Adoption, adoptions.new_values(self.principal, data))
        created = adoptions.event_values(
            self.stages, self.principal, "adoption.created", adoption, innovation.supplier_id
        )
        allowed, moved = self._move(place, adoption, adopter, innovation, move)
        if not allowed:
            return
        batch.inserts.append(_row(adoption, self.columns[Adoption]))
        batch.events.append(created)
        if moved is not None:
            batch.transitions.append(moved[0])
            batch.events.append(moved[1])
        counts.created += 1

    def _changed_adoption(
        self,
        batch: Batch,
        place: Place,
        data: AdoptionCreate,
        innovation: InnovationKnown,
        adopter: OrgKnown,
        move: tuple[str | None, str | None],
        names: dict[str, str],
        existing: Existing,
        current: Any,
        counts: Counts,
    ) -> None:
        for name in ("innovation_id", "organisation_id"):
            if getattr(data, name) != getattr(current, name):
                self.error(place, names[name], "An adoption's innovation and organisation do not change.")
                return
        patch = data.model_dump(exclude_unset=True, exclude={"innovation_id", "organisation_id"})
        changes = _diff(current, adoptions.changes(current, patch))
        if not changes and move[0] in (None, current.stage):
            counts.unchanged += 1
            return
        adoption = existing.full(current)
        try:
            adoptions.check_change(self.principal, adoption, adopter.region)
        except DomainError as exc:
            self.domain_error(place, exc)
            return
        updated = None
        if changes:
            records.apply_changes(adoption, changes)
            records.touch(adoption, self.now)
            updated = adoptions.event_values(
                self.stages, self.principal, "adoption.updated", adoption, innovation.supplier_id
            )
        allowed, moved = self._move(place, adoption, adopter, innovation, move)
        if not allowed:
            return
        if updated is not None:
            batch.events.append(updated)
        if moved is not None:
            batch.transitions.append(moved[0])
            batch.events.append(moved[1])
        batch.updated += 1
        counts.updated += 1

    def _move(
        self,
        place: Place,
        adoption: Adoption,
        adopter: OrgKnown,
        innovation: InnovationKnown,
        move: tuple[str | None, str | None],
    ) -> tuple[bool, tuple[dict[str, Any], dict[str, Any]] | None]:
        """Move the adoption to the record's stage by the pipeline's rules:
        whether they allow it (if not, with an error), and the transition row
        and event (None when it is there already). A facilitator or admin
        overrides only when the move needs it."""
        stage, reason_code = move
        if stage is None or stage == adoption.stage:
            return True, None
        request = pipeline.MoveRequest(to_stage=stage, reason=IMPORTED, reason_code=reason_code)
        names = {"to_stage": "stage", "reason": "stage", "reason_code": "reason_code"}
        try:
            try:
                transition = self._prepare(adoption, adopter, request)
            except GateNotMet:
                if not self.principal.is_exchange_staff:
                    raise
                request = pipeline.MoveRequest(
                    to_stage=stage, reason=IMPORTED, reason_code=reason_code, override=True
                )
                transition = self._prepare(adoption, adopter, request)
        except DomainError as exc:
            self.domain_error(place, exc, "stage", names)
            return False, None
        event = pipeline.stage_changed_values(self.principal, adoption, transition, innovation.supplier_id)
        return True, (transition, event)

    def _prepare(
        self, adoption: Adoption, adopter: OrgKnown, request: pipeline.MoveRequest
    ) -> dict[str, Any]:
        return pipeline.prepare_move(
            self.stages, self.principal, adoption, request, adopter_region=adopter.region, now=self.now
        )

    # --- writing a chunk

    def _write(self, batch: Batch) -> None:
        session = self.session
        with records.unique("A record with one of these external_refs or ODS codes"):
            if batch.updated:
                session.flush()
            _insert(session, batch.model, batch.inserts)
        if batch.facets_replaced:
            owner = getattr(batch.facet_model, _facet_owner(batch.facet_model))
            session.execute(delete(batch.facet_model).where(col(owner).in_(batch.facets_replaced)))
        _insert(session, batch.facet_model, batch.facet_rows)
        _insert(session, Transition, batch.transitions)
        if batch.events:
            # The change feed's order on PostgreSQL (app/services/events.py): COPY
            # is no ORM insert, so it announces the transaction itself.
            events.announce(session)
        _insert(session, Event, batch.events)


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (each with the same columns) in one go: PostgreSQL's COPY,
    else the driver's executemany of values SQLAlchemy's own column types
    convert (its statement-level executemany spent more time building each
    row's parameters than SQLite spent inserting them). Not the ORM's bulk
    insert, which fetched the events' new ids row by row."""
    if not rows:
        return
    table: Table = model.__table__
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        _executemany(session, dialect, table, rows)
        return
    _copy(session, table, rows)


def _copy(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's binary COPY: the server takes ids, times and numbers as
    they are stored, not as text to parse, and psycopg writes them in C,
    JSON by orjson (text COPY: 137 s for the full-size import, binary: 101 s;
    bench/RESULTS.md)."""
    names = list(rows[0])
    columns = []  # column by column, as _executemany does
    for name in names:
        values = map(itemgetter(name), rows)
        if isinstance(table.c[name].type, sqltypes.String):
            values = map(_plain, values)
        columns.append(list(values))
    dialect = session.get_bind().dialect
    types = [_type_name(table.c[name].type.compile(dialect=dialect)) for name in names]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    set_json_dumps(_json_bytes, context=cursor)
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in zip(*columns, strict=True):
            copy.write_row(row)


def _type_name(compiled: str) -> str:
    """psycopg's name for a column's type: `VARCHAR(200)` -> `varchar`."""
    return compiled.split("(")[0].lower()


def _executemany(session: Session, dialect: Dialect, table: Table, rows: list[dict[str, Any]]) -> None:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    columns = []  # column by column: map() runs each conversion at C speed
    for name in compiled.positiontup or []:
        values = map(itemgetter(name), rows)
        column_type = table.c[name].type
        process = (
            _json_text
            if isinstance(column_type, sqltypes.JSON)
            else column_type._cached_bind_processor(dialect)
        )
        columns.append(list(values if process is None else map(process, values)))
    # The DBAPI cursor itself, not exec_driver_sql: the statement hook that looks for NUL
    # in every value (app/nul_characters.py) cost a sixth of an import's time here, and
    # the import has checked every record's text for NUL already (Importer._open).
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(str(compiled), zip(*columns, strict=True))
    except dialect.loaded_dbapi.IntegrityError as exc:  # as SQLAlchemy would raise it, for records.unique
        raise IntegrityError(str(compiled), None, exc) from exc
    finally:
        cursor.close()


def _json_bytes(value: Any) -> bytes:
    """A JSON column's value, by orjson: json.dumps was the largest single
    part of writing an import's events. The same JSON, but for spacing and
    characters past ASCII written as themselves; json.dumps for what orjson
    refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def _json_text(value: Any) -> str:
    return _json_bytes(value).decode()


def _plain(value: Any) -> Any:
    # psycopg writes an Enum by its name; the column holds its value.
    return value.value if isinstance(value, Enum) else value


def _facet_owner(facet_model: Any) -> str:
    return "innovation_id" if facet_model is InnovationFacet else "challenge_id"


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- who the command line acts as -----------------------------------------------------


def command_line_principal(session: Session) -> Principal:
    """`hie import` acts as an admin of the exchange's own organisation (made
    by `hie organisations create --exchange`): its records are owned, and
    their refs kept, under that organisation, as `hie seed --demo`'s are."""
    exchange = session.exec(
        select(Organisation).where(col(Organisation.is_exchange).is_(True)).order_by(col(Organisation.id))
    ).first()
    if exchange is None:
        raise ValidationFailed.field(
            "exchange",
            "There is no exchange organisation to import as: make it with "
            "`hie organisations create --exchange --name ... --kind other`, or import with --key.",
        )
    return Principal(
        organisation_id=exchange.id,
        organisation_kind=exchange.kind,
        region=exchange.region,
        role=Role.admin,
        scopes=frozenset(Scope),
        label=ACTOR_LABEL,
    )


# --- reading JSON and CSV -----------------------------------------------------------------


def from_document(document: Any) -> tuple[dict[str, list[Iterable[Item]]], list[FieldError]]:
    """The records of a JSON document `{"innovations": [...], ...}`, per kind,
    and the errors of its shape. Each list is consumed as it is read (its
    items are let go), so memory does not hold two copies of a big import."""
    if not isinstance(document, dict):
        return {}, [FieldError("", 'Must be an object: {"organisations": [...], "innovations": [...], ...}.')]
    errors = [
        FieldError(key, f"Not a kind of record. Kinds are: {', '.join(KINDS)}.")
        for key in document
        if key not in KINDS
    ]
    sources: dict[str, list[Iterable[Item]]] = {}
    for kind in KINDS:
        records = document.get(kind)
        if records is None:
            continue
        if not isinstance(records, list):
            errors.append(FieldError(kind, "Must be an array of records."))
            continue
        sources[kind] = [_consume(kind, records)]
    return sources, errors


def _consume(kind: str, records: list[Any]) -> Iterator[Item]:
    for index in range(len(records)):
        data, records[index] = records[index], None
        yield Item(Place(f"{kind}[{index}]"), data)


# CSV columns per kind, as `hie export --format csv` writes them: text, a
# list ("a; b"), JSON, or text that is empty for null.
TEXT, OPTIONAL, ENUM, LIST, JSON = "text", "optional", "enum", "list", "json"
CSV_COLUMNS: dict[str, dict[str, str]] = {
    "organisations": {
        "external_ref": TEXT,
        "name": TEXT,
        "kind": ENUM,
        "region": OPTIONAL,
        "ods_code": OPTIONAL,
    },
    "innovations": {
        "external_ref": TEXT,
        "name": TEXT,
        "summary": TEXT,
        "description": TEXT,
        "supplier_ref": OPTIONAL,
        "supplier_id": OPTIONAL,
        "categories": LIST,
        "care_settings": LIST,
        "maturity": ENUM,
        "origin_sector": OPTIONAL,
        "origin_use": OPTIONAL,
        "evidence": JSON,
        "regulatory": JSON,
        "cost_summary": OPTIONAL,
        "website": OPTIONAL,
        "status": ENUM,
    },
    "challenges": {
        "external_ref": TEXT,
        "title": TEXT,
        "problem_statement": TEXT,
        "owner_ref": OPTIONAL,
        "owner_id": OPTIONAL,
        "care_settings": LIST,
        "categories": LIST,
        "desired_outcomes": TEXT,
        "success_measures": TEXT,
        "budget_min": OPTIONAL,
        "budget_max": OPTIONAL,
        "opens_on": OPTIONAL,
        "closes_on": OPTIONAL,
        "status": ENUM,
    },
    "adoptions": {
        "external_ref": TEXT,
        "innovation_ref": OPTIONAL,
        "innovation_id": OPTIONAL,
        "organisation_ref": OPTIONAL,
        "organisation_id": OPTIONAL,
        "challenge_ref": OPTIONAL,
        "challenge_id": OPTIONAL,
        "lead_name": OPTIONAL,
        "lead_email": OPTIONAL,
        "gate": JSON,
        "notes": TEXT,
        "stage": OPTIONAL,
        "reason_code": OPTIONAL,
    },
}
# The columns an export writes (the ids are for files made by hand).
EXPORTED_CSV: dict[str, list[str]] = {
    kind: [name for name in columns if not name.endswith("_id")] for kind, columns in CSV_COLUMNS.items()
}
LIST_SEPARATOR = ";"
LEAD = ("lead_name", "lead_email")


def kind_of(path: Path) -> str | None:
    """The kind a CSV file holds, from its name: `innovations.csv`, `innovations-2026-01-05.csv`."""
    stem = path.name.lower()
    return next((kind for kind in KINDS if stem.startswith(kind)), None)


def from_csv(kind: str, name: str, lines: IO[str]) -> Iterator[Item]:
    """The records of one CSV file of `kind`, read a row at a time, each
    placed at its file and line (`innovations.csv:42`). A header naming a
    column the kind lacks is an error at line 1."""
    reader = csv.reader(lines)
    header = next(reader, None)
    columns = CSV_COLUMNS[kind]
    if header is None:
        return
    unknown = [column for column in header if column not in columns]
    if unknown:
        known = ", ".join(columns)
        yield Item(
            CsvPlace(f"{name}:1", " "),
            _BadHeader(f"Unknown columns {', '.join(unknown)}; {kind} has {known}."),
        )
        return
    line = reader.line_num
    for row in reader:
        place = CsvPlace(f"{name}:{line + 1}", " ")
        line = reader.line_num
        if not any(row):
            continue
        yield Item(place, _CsvRecord(header, row, columns))


class _BadHeader(str):
    """A header the kind can't read: reported where the record would be."""


@dataclass
class _CsvRecord:
    header: list[str]
    row: list[str]
    columns: dict[str, str]


def _decode_csv(record: "_CsvRecord", place: Place, errors: list[FieldError]) -> dict[str, Any] | None:
    if len(record.row) != len(record.header):
        errors.append(
            FieldError(place.at(), f"Has {len(record.row)} cells; the header has {len(record.header)}.")
        )
        return None
    data: dict[str, Any] = {}
    for name, cell in zip(record.header, record.row, strict=True):
        kind = record.columns[name]
        if kind == LIST:
            data[name] = [value.strip() for value in cell.split(LIST_SEPARATOR) if value.strip()]
        elif kind == JSON:
            if cell.strip():
                try:
                    data[name] = json.loads(cell)
                except ValueError as exc:
                    errors.append(FieldError(place.at(name), f"Not valid JSON: {exc}."))
                    return None
        elif kind == OPTIONAL:
            data[name] = cell if cell != "" else None
        elif kind == ENUM:
            if cell != "":
                data[name] = cell
        else:
            data[name] = cell
    if any(name in data for name in LEAD):
        lead_name, lead_email = data.pop("lead_name", None), data.pop("lead_email", None)
        data["lead"] = {"name": lead_name, "email": lead_email} if lead_name or lead_email else None
    return data


# CSV's lead is two columns; JSON's is one object.
_CSV_PATHS = {"lead.name": "lead_name", "lead.email": "lead_email", "lead": "lead_name"}


class CsvPlace(Place):
    """A place in a CSV file names its columns: `lead_email`, not `lead.email`."""

    def at(self, path: str = "") -> str:
        return super().at(_CSV_PATHS.get(path, path))


# --- the export ----------------------------------------------------------------------


EXPORT_BATCH = 1000


def export(session: Session, principal: Principal, kind: str) -> Iterator[dict[str, Any]]:
    """Every record of `kind` the principal may see, in id order (creation
    order), as `run` reads it back: references by ref. A record's ref is its
    external_ref when the principal's organisation owns it (so an import by
    the same organisation finds it again), else its id as text (unique, and
    kept as its external_ref by an import into another database). The
    exchange's own organisation is left out: each database has its own."""
    read = {
        "organisations": _export_organisations,
        "innovations": _export_innovations,
        "challenges": _export_challenges,
        "adoptions": _export_adoptions,
    }[kind]
    yield from read(session, principal)


def _ref(principal: Principal, owner: uuid.UUID | None, external_ref: str | None, id: uuid.UUID) -> str:
    return external_ref if owner == principal.organisation_id and external_ref else str(id)


def _batches(session: Session, stmt: Any, key: Any) -> Iterator[Any]:
    last = None
    while True:
        page = stmt if last is None else stmt.where(key > last)
        rows = session.execute(page.order_by(key).limit(EXPORT_BATCH)).all()
        yield from rows
        if len(rows) < EXPORT_BATCH:
            return
        last = rows[-1][0].id


def _export_organisations(session: Session, principal: Principal) -> Iterator[dict[str, Any]]:
    stmt = select(Organisation).where(col(Organisation.is_exchange).is_(False))
    for (org,) in _batches(session, stmt, col(Organisation.id)):
        yield {
            "external_ref": _ref(principal, org.owner_org_id, org.external_ref, org.id),
            "name": org.name,
            "kind": org.kind,
            "region": org.region,
            "ods_code": org.ods_code,
        }


def _export_innovations(session: Session, principal: Principal) -> Iterator[dict[str, Any]]:
    supplier = aliased(Organisation)
    stmt = (
        innovations.query(session, principal, innovations.InnovationFilters())
        .join(supplier, col(supplier.id) == Innovation.supplier_id)
        .add_columns(col(supplier.owner_org_id), col(supplier.external_ref))
    )
    for innovation, owner, external_ref in _batches(session, stmt, col(Innovation.id)):
        yield {
            "external_ref": _ref(principal, innovation.owner_org_id, innovation.external_ref, innovation.id),
            "name": innovation.name,
            "summary": innovation.summary,
            "description": innovation.description,
            "supplier_ref": _ref(principal, owner, external_ref, innovation.supplier_id),
            "categories": innovation.categories,
            "care_settings": innovation.care_settings,
            "maturity": innovation.maturity,
            "origin_sector": innovation.origin_sector,
            "origin_use": innovation.origin_use,
            "evidence": innovation.evidence,
            "regulatory": innovation.regulatory,
            "cost_summary": innovation.cost_summary,
            "website": innovation.website,
            "status": innovation.status,
        }


def _export_challenges(session: Session, principal: Principal) -> Iterator[dict[str, Any]]:
    owner_org = aliased(Organisation)
    stmt = (
        challenges.query(session, principal, challenges.ChallengeFilters())
        .join(owner_org, col(owner_org.id) == Challenge.owner_id)
        .add_columns(col(owner_org.owner_org_id), col(owner_org.external_ref))
    )
    for challenge, owner, external_ref in _batches(session, stmt, col(Challenge.id)):
        yield {
            "external_ref": _ref(principal, challenge.owner_org_id, challenge.external_ref, challenge.id),
            "title": challenge.title,
            "problem_statement": challenge.problem_statement,
            "owner_ref": _ref(principal, owner, external_ref, challenge.owner_id),
            "care_settings": challenge.care_settings,
            "categories": challenge.categories,
            "desired_outcomes": challenge.desired_outcomes,
            "success_measures": challenge.success_measures,
            "budget_min": challenge.budget_min,
            "budget_max": challenge.budget_max,
            "opens_on": challenge.opens_on.isoformat() if challenge.opens_on else None,
            "closes_on": challenge.closes_on.isoformat() if challenge.closes_on else None,
            "status": challenge.status,
        }


def _export_adoptions(session: Session, principal: Principal) -> Iterator[dict[str, Any]]:
    product, adopter, answered = aliased(Innovation), aliased(Organisation), aliased(Challenge)
    # Why it stopped: the reason code of its last move to `not_progressed`.
    stopped = (
        select(Transition.reason_code)
        .where(Transition.adoption_id == Adoption.id, Transition.to_stage == NOT_PROGRESSED)
        .order_by(col(Transition.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        adoptions.query(session, principal, adoptions.AdoptionFilters())
        .join(product, col(product.id) == Adoption.innovation_id)
        .join(adopter, col(adopter.id) == Adoption.organisation_id)
        .outerjoin(answered, col(answered.id) == Adoption.challenge_id)
        .add_columns(
            col(product.owner_org_id),
            col(product.external_ref),
            col(adopter.owner_org_id),
            col(adopter.external_ref),
            col(answered.owner_org_id),
            col(answered.external_ref),
            stopped,
        )
    )
    for row in _batches(session, stmt, col(Adoption.id)):
        adoption, *refs, reason_code = row
        challenge_ref = (
            _ref(principal, refs[4], refs[5], adoption.challenge_id) if adoption.challenge_id else None
        )
        lead = (
            {"name": adoption.lead_name, "email": adoption.lead_email}
            if adoption.lead_name and adoption.lead_email
            else None
        )
        yield {
            "external_ref": _ref(principal, adoption.owner_org_id, adoption.external_ref, adoption.id),
            "innovation_ref": _ref(principal, refs[0], refs[1], adoption.innovation_id),
            "organisation_ref": _ref(principal, refs[2], refs[3], adoption.organisation_id),
            "challenge_ref": challenge_ref,
            "lead": lead,
            "gate": adoption.gate,
            "notes": adoption.notes,
            "stage": adoption.stage,
            "reason_code": reason_code if adoption.stage == NOT_PROGRESSED else None,
        }


def write_json(records_by_kind: Iterable[tuple[str, Iterable[dict[str, Any]]]], out: IO[str]) -> int:
    """`{"<kind>": [records...], ...}`, a record a line, streamed; returns the count."""
    count = 0
    out.write("{")
    for k, (kind, rows) in enumerate(records_by_kind):
        out.write(("," if k else "") + f"\n{json.dumps(kind)}: [")
        for i, record in enumerate(rows):
            out.write(("," if i else "") + "\n  " + json.dumps(record, ensure_ascii=False))
            count += 1
        out.write("\n]")
    out.write("\n}\n")
    return count


def write_csv(kind: str, rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """One kind as CSV, in the columns `from_csv` reads; returns the count.
    Cells are written exactly, for `hie import` to read back: unlike the
    exports meant for spreadsheets (app/services/exports.py), none is
    neutralised against formulas, so open it in a spreadsheet with care."""
    columns = EXPORTED_CSV[kind]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for record in rows:
        lead = record.get("lead") or {}
        flat = {**record, "lead_name": lead.get("name"), "lead_email": lead.get("email")}
        writer.writerow([_cell(CSV_COLUMNS[kind][name], flat.get(name)) for name in columns])
        count += 1
    return count


def _cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == LIST:
        return f"{LIST_SEPARATOR} ".join(str(v) for v in value)
    if kind == JSON:
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- files, for the command line ------------------------------------------------------


@dataclass
class Files:
    """What `hie import` reads: for each kind its streams of records, how
    many records each kind has (for the progress bar), and the errors of the
    files' shape."""

    sources: dict[str, list[Iterable[Item]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def read_files(paths: list[Path], kind: str | None, opened: ExitStack) -> Files:
    """A JSON file (`{"innovations": [...], ...}`), or CSV files of one kind
    each (the kind from `kind` or the file's name). CSV files are read a row
    at a time, as the import goes; a JSON file is parsed whole, once, and its
    records let go as they are imported."""
    files = Files()
    for path in paths:
        if path.suffix.lower() == ".json":
            _read_json(path, files)
            continue
        csv_kind = kind or kind_of(path)
        if csv_kind not in KINDS:
            files.errors.append(
                FieldError(
                    path.name, f"Name the kind with --kind, or in the file's name: one of {', '.join(KINDS)}."
                )
            )
            continue
        with path.open(newline="", encoding="utf-8-sig") as counting:
            files.totals[csv_kind] = files.totals.get(csv_kind, 0) + max(
                0, sum(1 for _ in csv.reader(counting)) - 1
            )
        lines = opened.enter_context(path.open(newline="", encoding="utf-8-sig"))
        files.sources.setdefault(csv_kind, []).append(from_csv(csv_kind, path.name, lines))
    return files


def _read_json(path: Path, files: Files) -> None:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            document = json.load(handle)
    except ValueError as exc:
        files.errors.append(FieldError(path.name, f"Not valid JSON: {exc}."))
        return
    for kind in KINDS:
        if isinstance(document, dict) and isinstance(document.get(kind), list):
            files.totals[kind] = files.totals.get(kind, 0) + len(document[kind])
    sources, errors = from_document(document)
    del document
    for kind, streams in sources.items():
        files.sources.setdefault(kind, []).extend(streams)
    files.errors += [FieldError(f"{path.name}: {e['field']}".rstrip(": "), e["message"]) for e in errors]
