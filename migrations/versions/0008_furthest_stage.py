"""each adoption's furthest stage, kept by its moves and backfilled from its
transitions, so that the funnel's conversions are one grouped count; and
an index on (innovation_id, stage) for an innovation's spread

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPENING_STAGE = 'identified'


def upgrade() -> None:
    # A constant default: both databases add the column without rewriting the table.
    op.add_column(
        'adoptions',
        sa.Column('furthest_stage', sa.String(length=40), server_default=OPENING_STAGE, nullable=False),
    )
    _backfill()
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoptions_stage_furthest_stage'), ['stage', 'furthest_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoptions_innovation_id_stage'), ['innovation_id', 'stage'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoptions_innovation_id_stage'))
        batch_op.drop_index(batch_op.f('ix_adoptions_stage_furthest_stage'))
        batch_op.drop_column('furthest_stage')


def _backfill() -> None:
    """Every adoption's furthest active stage: the furthest of its current
    stage and every stage a transition took it to, in the pipeline's order
    as the stages table has it (stages are data). Adoptions that never left
    the opening stage keep the default; the rest are written once each."""
    stages = sa.table('stages', sa.column('key'), sa.column('position'), sa.column('active'))
    adoptions = sa.table('adoptions', sa.column('id'), sa.column('stage'), sa.column('furthest_stage'))
    transitions = sa.table('transitions', sa.column('adoption_id'), sa.column('to_stage'))
    bind = op.get_bind()
    active = bind.execute(
        sa.select(stages.c.key).where(stages.c.active == sa.true()).order_by(stages.c.position)
    ).scalars().all()
    later = [key for key in active if key != OPENING_STAGE]
    if not later:
        return

    def rank(stage: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        return sa.case({key: index for index, key in enumerate(active)}, value=stage)

    entered = sa.union_all(
        sa.select(transitions.c.adoption_id.label('adoption_id'), rank(transitions.c.to_stage).label('rank'))
        .where(transitions.c.to_stage.in_(later)),
        sa.select(adoptions.c.id, rank(adoptions.c.stage)).where(adoptions.c.stage.in_(later)),
    ).subquery('entered')
    reached = (
        sa.select(entered.c.adoption_id, sa.func.max(entered.c.rank).label('rank'))
        .group_by(entered.c.adoption_id)
        .subquery('reached')
    )
    op.execute(
        adoptions.update()
        .where(adoptions.c.id == reached.c.adoption_id)
        .values(furthest_stage=sa.case({index: key for index, key in enumerate(active)}, value=reached.c.rank))
    )
