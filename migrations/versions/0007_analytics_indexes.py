"""indexes the pipeline analytics read: each stage's latest stays, how far
adoptions got and why they stopped, and the adoptions stuck longest

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 11:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transitions_adoption_id_id'))
        batch_op.create_index(batch_op.f('ix_transitions_adoption_id_id_created_at'), ['adoption_id', 'id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transitions_from_stage_id_adoption_id_created_at'), ['from_stage', 'id', 'adoption_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transitions_to_stage_from_stage_adoption_id_reason_code'), ['to_stage', 'from_stage', 'adoption_id', 'reason_code'], unique=False)
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoptions_stage_entered_at_id'), ['stage_entered_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoptions_stage_entered_at_id'))
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transitions_to_stage_from_stage_adoption_id_reason_code'))
        batch_op.drop_index(batch_op.f('ix_transitions_from_stage_id_adoption_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_transitions_adoption_id_id_created_at'))
        batch_op.create_index(batch_op.f('ix_transitions_adoption_id_id'), ['adoption_id', 'id'], unique=False)
