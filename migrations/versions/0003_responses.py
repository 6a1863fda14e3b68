"""responses: innovations put forward for challenges, one per pair

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:13:43.904237
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('responses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('innovation_id', sa.Uuid(), nullable=False),
    sa.Column('pitch', sa.Text(), nullable=False),
    sa.Column('challenge_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('adoption_id', sa.Uuid(), nullable=True),
    sa.Column('submitted_by_org_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['adoption_id'], ['adoptions.id'], name=op.f('fk_responses_adoption_id_adoptions')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_responses_challenge_id_challenges')),
    sa.ForeignKeyConstraint(['innovation_id'], ['innovations.id'], name=op.f('fk_responses_innovation_id_innovations')),
    sa.ForeignKeyConstraint(['submitted_by_org_id'], ['organisations.id'], name=op.f('fk_responses_submitted_by_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('challenge_id', 'innovation_id', name=op.f('uq_responses_challenge_id_innovation_id'))
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responses_challenge_id_id'), ['challenge_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_innovation_id_id'), ['innovation_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responses_innovation_id_id'))
        batch_op.drop_index(batch_op.f('ix_responses_challenge_id_id'))

    op.drop_table('responses')
