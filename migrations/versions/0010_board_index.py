"""an index the board reads each stage's cards from, longest in the stage
first, so that a column's first cards cost the same however many adoptions
there are

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:45:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoptions_stage_stage_entered_at_id'), ['stage', 'stage_entered_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoptions_stage_stage_entered_at_id'))
