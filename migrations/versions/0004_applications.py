"""applications to join the exchange, their review notes, and one-time links to set a password

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:14:24.195831
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('applications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('company_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('companies_house_number', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('postcode', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('company_size', sa.String(length=20), nullable=False),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_role', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('product_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('product_description', sa.Text(), nullable=False),
    sa.Column('origin_sector', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('current_users', sa.Text(), nullable=False),
    sa.Column('health_problem', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('care_settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('support_wanted', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('in_area', sa.Boolean(), nullable=False),
    sa.Column('area_district', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('client_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('suspected_spam', sa.Boolean(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('innovation_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['innovation_id'], ['innovations.id'], name=op.f('fk_applications_innovation_id_innovations')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_applications_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_applications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('reference', name=op.f('uq_applications_reference'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_client_hash_created_at'), ['client_hash', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_status_id'), ['status', 'id'], unique=False)

    op.create_table('password_setups',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_setups_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_password_setups'))
    )
    with op.batch_alter_table('password_setups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_setups_user_id'), ['user_id'], unique=False)

    op.create_table('application_notes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_application_notes_application_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_notes'))
    )
    with op.batch_alter_table('application_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_notes_application_id_id'), ['application_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('application_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_notes_application_id_id'))

    op.drop_table('application_notes')
    with op.batch_alter_table('password_setups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_setups_user_id'))

    op.drop_table('password_setups')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_status_id'))
        batch_op.drop_index(batch_op.f('ix_applications_client_hash_created_at'))

    op.drop_table('applications')
