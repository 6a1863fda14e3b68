"""Full-text search behind one function: FTS5 on SQLite, a `tsvector` column
with a GIN index on PostgreSQL (both made by the migrations). Each word the
person typed must match, as a prefix, so search-as-you-type finds `hosp` in
"hospital"."""

import re

from sqlalchemy import ColumnElement, func, literal_column, select, table, true
from sqlmodel import Session

MAX_TERMS = 12


def terms(q: str) -> list[str]:
    return re.findall(r"\w+", q.lower())[:MAX_TERMS]


def matches(session: Session, table_name: str, q: str) -> ColumnElement[bool]:
    """A WHERE clause: rows of `table_name` whose text matches `q`."""
    words = terms(q)
    if not words:
        return true()
    if session.get_bind().dialect.name == "sqlite":
        fts = f"{table_name}_fts"
        query = " ".join(f'"{word}"*' for word in words)
        hits = (
            select(literal_column("rowid"))
            .select_from(table(fts))
            .where(literal_column(fts).op("MATCH")(query))
        )
        return literal_column(f"{table_name}.rowid").in_(hits)
    query = " & ".join(f"{word}:*" for word in words)
    return literal_column(f"{table_name}.search_vector").op("@@")(func.to_tsquery("english", query))
