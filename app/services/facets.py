"""Categories and care settings kept as rows beside the record's own JSON
lists, so that a filter on either is an index lookup."""

from typing import Any

from sqlalchemy import delete, exists, insert
from sqlmodel import Session, SQLModel

FACETS = ("categories", "care_settings")
FACET_NAMES = {"categories": "category", "care_settings": "care_setting"}


def sync(session: Session, facet_model: type[SQLModel], owner_field: str, record: Any) -> None:
    owner = getattr(facet_model, owner_field)
    session.execute(delete(facet_model).where(owner == record.id))
    rows = facet_rows(owner_field, record)
    if rows:
        session.execute(insert(facet_model), rows)


def facet_rows(owner_field: str, record: Any) -> list[dict[str, Any]]:
    """The facet rows of one record (the bulk import inserts many at once)."""
    return [
        {"facet": FACET_NAMES[field], "value": value, owner_field: record.id}
        for field in FACETS
        for value in dict.fromkeys(getattr(record, field))
    ]


def has(facet_model: type[SQLModel], owner_field: str, owner_id: Any, facet: str, value: str) -> Any:
    """A WHERE clause: the record has `value` among its `facet`s."""
    return exists().where(
        facet_model.facet == facet,  # type: ignore[attr-defined]
        facet_model.value == value,  # type: ignore[attr-defined]
        getattr(facet_model, owner_field) == owner_id,
    )
