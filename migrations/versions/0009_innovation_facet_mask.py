"""each innovation's care settings and categories as one integer, one bit a
value, computed by the database from the record's own lists, so that a
challenge's matches rank innovations by shared facets in one index scan

On PostgreSQL the stored column rewrites the table, which leaves it without
a visibility map; a VACUUM makes one, so that the index serves the matches
without visiting the table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Bit i stands for FACET_BITS[i]: the vocabulary when this was written.
# app/services/matching.py keeps the same list; a test checks that they agree.
CARE_SETTINGS = (
    'acute_inpatient', 'acute_outpatient', 'ambulance', 'care_home', 'community', 'end_of_life',
    'mental_health', 'pharmacy', 'primary_care', 'social_care', 'urgent_and_emergency', 'industry',
    'third_sector', 'other',
)
CATEGORIES = (
    'medical_device', 'in_vitro_diagnostic', 'pharmaceutical', 'digital', 'ai', 'education', 'ppe',
    'models_of_care', 'estates_facilities', 'travel_transport', 'food_nutrition', 'data_monitoring', 'other',
)
FACET_BITS = tuple(('care_settings', v) for v in CARE_SETTINGS) + tuple(('categories', v) for v in CATEGORIES)

INDEX = 'ix_innovations_status_facet_mask_id'


def _sqlite_mask() -> str:
    # The lists are JSON text such as '["community", "primary_care"]'; a code
    # with its quotes is found only as a whole value.
    return ' + '.join(f"((instr({column}, '\"{value}\"') > 0) << {bit})"
                      for bit, (column, value) in enumerate(FACET_BITS))


def _postgres_mask() -> str:
    return ' | '.join(f"(({column} @> '[\"{value}\"]')::integer << {bit})"
                      for bit, (column, value) in enumerate(FACET_BITS))


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds only a VIRTUAL generated column; the index stores its value.
        op.execute(f'ALTER TABLE innovations ADD COLUMN facet_mask INTEGER '
                   f'GENERATED ALWAYS AS ({_sqlite_mask()}) VIRTUAL')
    else:
        op.execute(f'ALTER TABLE innovations ADD COLUMN facet_mask integer '
                   f'GENERATED ALWAYS AS ({_postgres_mask()}) STORED')
    op.execute(f'CREATE INDEX {INDEX} ON innovations (status, facet_mask, id)')
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.execute('VACUUM innovations')


def downgrade() -> None:
    op.execute(f'DROP INDEX {INDEX}')
    op.execute('ALTER TABLE innovations DROP COLUMN facet_mask')
