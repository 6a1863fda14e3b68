"""Full-text search behind one function: FTS5 on SQLite, a `tsvector` column
with a GIN index on PostgreSQL (both made by the migrations). Each word the
person typed must begin a word of the text, so search-as-you-type finds
"hospita" in "hospital". The indexes hold words as written (lower-cased,
accents folded), not stems: a stemmer would turn "hospital" into "hospit",
which the prefix "hospita" does not begin, and the two databases would stem
and drop stop words differently. Plurals are folded instead (`_singular`)."""

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, table, true
from sqlmodel import Session

MAX_TERMS = 12


def _singular(word: str) -> str:
    """Fold a plural so that its prefix finds the singular too: "hospitals"
    finds "hospital", "therapies" finds "therapy" (as "therap")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(q: str) -> list[str]:
    return [_singular(word) for word in re.findall(r"\w+", q.lower())[:MAX_TERMS]]


def matches(session: Session, table_name: str, q: str) -> ColumnElement[bool]:
    """A WHERE clause: rows of `table_name` whose text matches `q`."""
    words = terms(q)
    if not words:
        return true()
    if session.get_bind().dialect.name == "sqlite":
        fts = f"{table_name}_fts"
        query = " ".join(f'"{word}"*' for word in words)
        hits: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(table(fts))
            .where(literal_column(fts).op("MATCH")(query))
        )
        return literal_column(f"{table_name}.rowid").in_(hits)
    query = " & ".join(f"{word}:*" for word in words)
    return literal_column(f"{table_name}.search_vector").op("@@")(func.to_tsquery("simple", query))
