"""on PostgreSQL, the adoptions per (stage, furthest_stage) kept as they
change, so that the funnel's stages and conversions for everyone's
adoptions are a sum over a few dozen rows instead of a grouped pass over
the million entries of the index on those columns (about 100 ms).

Writers only ever insert here, a row of differences per statement that
changes adoptions (statement triggers over the rows it changed, so a bulk
COPY adds a row per pair, not one per adoption): no writer waits for
another on a shared counter. Now and then (one statement in 32) a writer
folds the rows into one per pair, taking only rows no one else is folding
(SKIP LOCKED), so that what the funnel sums stays small. SQLite needs
nothing: its funnel is well inside its target by the grouped count.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "adoption_stage_counts"
KEEP = "adoption_stage_counts_keep"
FOLD = "adoption_stage_counts_fold"

# What each trigger adds: the pairs its statement's rows left and entered.
CHANGES = {
    "added": "SELECT stage, furthest_stage, 1 AS n FROM added",
    "removed": "SELECT stage, furthest_stage, -1 AS n FROM removed",
    "updated": "SELECT stage, furthest_stage, 1 AS n FROM updated "
    "UNION ALL SELECT stage, furthest_stage, -1 AS n FROM replaced",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # No adoption may change between the counts taken below and the triggers
    # that keep them (an instance still serving during a rolling deploy would
    # write one never counted); readers go on.
    op.execute("LOCK TABLE adoptions IN SHARE ROW EXCLUSIVE MODE")
    # What a restore of a backup from before this migration leaves behind
    # (pg_restore --clean drops only what the backup holds): counted afresh.
    _drop(if_exists=True)
    op.execute(
        f"CREATE TABLE {TABLE} ("
        "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "stage text NOT NULL, furthest_stage text NOT NULL, adoptions bigint NOT NULL)"
    )
    op.execute(
        f"INSERT INTO {TABLE} (stage, furthest_stage, adoptions) "
        "SELECT stage, furthest_stage, count(*) FROM adoptions GROUP BY stage, furthest_stage"
    )
    op.execute(
        f"CREATE FUNCTION {FOLD}() RETURNS void LANGUAGE sql AS $$ "
        f"WITH folded AS (DELETE FROM {TABLE} WHERE id IN "
        f"(SELECT id FROM {TABLE} FOR UPDATE SKIP LOCKED) "
        "RETURNING stage, furthest_stage, adoptions) "
        f"INSERT INTO {TABLE} (stage, furthest_stage, adoptions) "
        "SELECT stage, furthest_stage, sum(adoptions) FROM folded "
        "GROUP BY stage, furthest_stage HAVING sum(adoptions) <> 0 $$"
    )
    for event, changed in CHANGES.items():
        op.execute(
            f"CREATE FUNCTION {KEEP}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {TABLE} (stage, furthest_stage, adoptions) "
            f"SELECT stage, furthest_stage, sum(n) FROM ({changed}) AS changed "
            "GROUP BY stage, furthest_stage HAVING sum(n) <> 0; "
            f"IF random() < 1.0 / 32 THEN PERFORM {FOLD}(); END IF; "
            "RETURN NULL; END $$"
        )
    op.execute(
        f"CREATE TRIGGER {KEEP}_added AFTER INSERT ON adoptions REFERENCING NEW TABLE AS added "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {KEEP}_added()"
    )
    op.execute(
        f"CREATE TRIGGER {KEEP}_removed AFTER DELETE ON adoptions REFERENCING OLD TABLE AS removed "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {KEEP}_removed()"
    )
    op.execute(
        f"CREATE TRIGGER {KEEP}_updated AFTER UPDATE ON adoptions "
        "REFERENCING OLD TABLE AS replaced NEW TABLE AS updated "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {KEEP}_updated()"
    )
    op.execute(
        f"CREATE FUNCTION {KEEP}_emptied() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"DELETE FROM {TABLE}; RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {KEEP}_emptied AFTER TRUNCATE ON adoptions "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {KEEP}_emptied()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop(if_exists=False)


def _drop(if_exists: bool) -> None:
    maybe = "IF EXISTS " if if_exists else ""
    for event in ("emptied", "updated", "removed", "added"):
        op.execute(f"DROP TRIGGER {maybe}{KEEP}_{event} ON adoptions")
        op.execute(f"DROP FUNCTION {maybe}{KEEP}_{event}()")
    op.execute(f"DROP FUNCTION {maybe}{FOLD}()")
    op.execute(f"DROP TABLE {maybe}{TABLE}")
