"""the spine: organisations, innovations, challenges, the pipeline, events

Besides the tables: the default stages and gate items of DOMAIN.md, as
data; full-text search (FTS5 tables kept by triggers on SQLite, a generated
`tsvector` column with a GIN index on PostgreSQL); and triggers that keep
transitions and events append-only.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 05:57:35.581634
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('actor_org_id', sa.Uuid(), nullable=True),
    sa.Column('resource_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('subject_org_id', sa.Uuid(), nullable=True),
    sa.Column('related_org_id', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_related_org_id'), ['related_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_resource_type_resource_id'), ['resource_type', 'resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_subject_org_id'), ['subject_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_type'), ['type'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=True),
    sa.Column('ods_code', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('owner_org_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_organisations_owner_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('ods_code', name=op.f('uq_organisations_ods_code')),
    sa.UniqueConstraint('owner_org_id', 'external_ref', name=op.f('uq_organisations_owner_org_id_external_ref'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_kind_id'), ['kind', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_region_id'), ['region', 'id'], unique=False)

    op.create_table('stages',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('wait_days', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_stages')),
    sa.UniqueConstraint('position', name=op.f('uq_stages_position'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_api_keys_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_api_keys_secret_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('challenges',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('problem_statement', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('desired_outcomes', sa.Text(), nullable=False),
    sa.Column('success_measures', sa.Text(), nullable=False),
    sa.Column('budget_min', sa.Integer(), nullable=True),
    sa.Column('budget_max', sa.Integer(), nullable=True),
    sa.Column('opens_on', sa.Date(), nullable=True),
    sa.Column('closes_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('care_settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('owner_org_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['organisations.id'], name=op.f('fk_challenges_owner_id_organisations')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_challenges_owner_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenges')),
    sa.UniqueConstraint('owner_org_id', 'external_ref', name=op.f('uq_challenges_owner_org_id_external_ref'))
    )
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenges_owner_id_id'), ['owner_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenges_status_id'), ['status', 'id'], unique=False)

    op.create_table('gate_items',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('stage_key', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('hint', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('required_value', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.ForeignKeyConstraint(['stage_key'], ['stages.key'], name=op.f('fk_gate_items_stage_key_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_gate_items')),
    sa.UniqueConstraint('stage_key', 'position', name=op.f('uq_gate_items_stage_key_position'))
    )
    op.create_table('innovations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('supplier_id', sa.Uuid(), nullable=False),
    sa.Column('maturity', sa.String(length=20), nullable=False),
    sa.Column('origin_sector', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('origin_use', sa.Text(), nullable=True),
    sa.Column('cost_summary', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('care_settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('regulatory', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('owner_org_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_innovations_owner_org_id_organisations')),
    sa.ForeignKeyConstraint(['supplier_id'], ['organisations.id'], name=op.f('fk_innovations_supplier_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_innovations')),
    sa.UniqueConstraint('owner_org_id', 'external_ref', name=op.f('uq_innovations_owner_org_id_external_ref'))
    )
    with op.batch_alter_table('innovations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_innovations_maturity_id'), ['maturity', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_innovations_origin_sector_id'), ['origin_sector', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_innovations_status_id'), ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_innovations_supplier_id_id'), ['supplier_id', 'id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_signed_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_users_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('adoptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('innovation_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('challenge_id', sa.Uuid(), nullable=True),
    sa.Column('stage', sa.String(length=40), nullable=False),
    sa.Column('stage_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paused_from', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('adopted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lead_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('lead_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('gate', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('owner_org_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_adoptions_challenge_id_challenges')),
    sa.ForeignKeyConstraint(['innovation_id'], ['innovations.id'], name=op.f('fk_adoptions_innovation_id_innovations')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_adoptions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_adoptions_owner_org_id_organisations')),
    sa.ForeignKeyConstraint(['stage'], ['stages.key'], name=op.f('fk_adoptions_stage_stages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adoptions')),
    sa.UniqueConstraint('innovation_id', 'organisation_id', name=op.f('uq_adoptions_innovation_id_organisation_id')),
    sa.UniqueConstraint('owner_org_id', 'external_ref', name=op.f('uq_adoptions_owner_org_id_external_ref'))
    )
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoptions_challenge_id_id'), ['challenge_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoptions_innovation_id_id'), ['innovation_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoptions_organisation_id_id'), ['organisation_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoptions_stage_id'), ['stage', 'id'], unique=False)

    op.create_table('challenge_facets',
    sa.Column('facet', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('challenge_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_challenge_facets_challenge_id_challenges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('facet', 'value', 'challenge_id', name=op.f('pk_challenge_facets'))
    )
    with op.batch_alter_table('challenge_facets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_facets_challenge_id'), ['challenge_id'], unique=False)

    op.create_table('innovation_facets',
    sa.Column('facet', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('innovation_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['innovation_id'], ['innovations.id'], name=op.f('fk_innovation_facets_innovation_id_innovations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('facet', 'value', 'innovation_id', name=op.f('pk_innovation_facets'))
    )
    with op.batch_alter_table('innovation_facets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_innovation_facets_innovation_id'), ['innovation_id'], unique=False)

    op.create_table('transitions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('adoption_id', sa.Uuid(), nullable=False),
    sa.Column('from_stage', sa.String(length=40), nullable=False),
    sa.Column('to_stage', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('override', sa.Boolean(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('actor_org_id', sa.Uuid(), nullable=True),
    sa.Column('gate_snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_org_id'], ['organisations.id'], name=op.f('fk_transitions_actor_org_id_organisations')),
    sa.ForeignKeyConstraint(['adoption_id'], ['adoptions.id'], name=op.f('fk_transitions_adoption_id_adoptions')),
    sa.ForeignKeyConstraint(['from_stage'], ['stages.key'], name=op.f('fk_transitions_from_stage_stages')),
    sa.ForeignKeyConstraint(['to_stage'], ['stages.key'], name=op.f('fk_transitions_to_stage_stages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transitions'))
    )
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transitions_adoption_id_id'), ['adoption_id', 'id'], unique=False)

    _add_stages()
    _add_search()
    _make_append_only("transitions")
    _make_append_only("events")



def downgrade() -> None:
    for table in ("transitions", "events"):
        _drop_append_only(table)
    _drop_search()
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transitions_adoption_id_id'))

    op.drop_table('transitions')
    with op.batch_alter_table('innovation_facets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_innovation_facets_innovation_id'))

    op.drop_table('innovation_facets')
    with op.batch_alter_table('challenge_facets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_facets_challenge_id'))

    op.drop_table('challenge_facets')
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoptions_stage_id'))
        batch_op.drop_index(batch_op.f('ix_adoptions_organisation_id_id'))
        batch_op.drop_index(batch_op.f('ix_adoptions_innovation_id_id'))
        batch_op.drop_index(batch_op.f('ix_adoptions_challenge_id_id'))

    op.drop_table('adoptions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))

    op.drop_table('users')
    with op.batch_alter_table('innovations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_innovations_supplier_id_id'))
        batch_op.drop_index(batch_op.f('ix_innovations_status_id'))
        batch_op.drop_index(batch_op.f('ix_innovations_origin_sector_id'))
        batch_op.drop_index(batch_op.f('ix_innovations_maturity_id'))

    op.drop_table('innovations')
    op.drop_table('gate_items')
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenges_status_id'))
        batch_op.drop_index(batch_op.f('ix_challenges_owner_id_id'))

    op.drop_table('challenges')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_organisation_id'))

    op.drop_table('api_keys')
    op.drop_table('stages')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_region_id'))
        batch_op.drop_index(batch_op.f('ix_organisations_kind_id'))

    op.drop_table('organisations')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_type'))
        batch_op.drop_index(batch_op.f('ix_events_subject_org_id'))
        batch_op.drop_index(batch_op.f('ix_events_resource_type_resource_id'))
        batch_op.drop_index(batch_op.f('ix_events_related_org_id'))

    op.drop_table('events')


STAGES = [
    # key, name, position, active, wait_days
    ("identified", "Identified", 1, True, None),
    ("needs_assessment", "Needs assessment", 2, True, None),
    ("co_design", "Co-design", 3, True, None),
    ("real_world_testing", "Real-world testing", 4, True, None),
    ("adopted", "Adopted", 5, True, None),
    ("sustained", "Sustained", 6, True, 180),
    ("paused", "Paused", 90, False, None),
    ("not_progressed", "Not progressed", 91, False, None),
]

GATE_ITEMS = [
    # stage, key, label, hint, kind, choices, required value
    ("needs_assessment", "champion", "Named adoption lead (champion)",
     "The person at the adopting organisation who drives the adoption.", "text", None, None),
    ("co_design", "needs_assessment_summary", "Needs assessment summary",
     "What the organisation needs and how the innovation meets it.", "text", None, None),
    ("co_design", "evidence_reviewed", "Evidence reviewed", None, "bool", None, None),
    ("co_design", "regulation_reviewed", "Regulation reviewed", None, "bool", None, None),
    ("co_design", "cost_reviewed", "Cost reviewed", None, "bool", None, None),
    ("co_design", "pathway_fit_reviewed", "Fit with the care pathway reviewed", None, "bool", None, None),
    ("real_world_testing", "funding_source", "Funding source",
     "Who pays for the test, for example the trust, the ICB or a national programme.", "text", None, None),
    ("real_world_testing", "evaluation_plan", "Evaluation plan", None, "text", None, None),
    ("real_world_testing", "success_measures", "Success measures", None, "text", None, None),
    ("real_world_testing", "local_tailoring", "Local tailoring",
     "How the innovation is adapted to the local context, with the staff who use it.", "text", None, None),
    ("adopted", "evaluation_outcome", "Evaluation outcome", "The gate asks for a positive outcome.",
     "choice", ["positive", "mixed", "negative"], "positive"),
    ("adopted", "procurement_route", "Procurement route",
     "For example a framework, a direct award or an existing contract.", "text", None, None),
]


def _add_stages() -> None:
    stages = sa.table(
        "stages", sa.column("key"), sa.column("name"), sa.column("position"),
        sa.column("active"), sa.column("wait_days"),
    )
    op.bulk_insert(stages, [
        {"key": k, "name": n, "position": p, "active": a, "wait_days": w} for k, n, p, a, w in STAGES
    ])
    items = sa.table(
        "gate_items", sa.column("stage_key"), sa.column("key"), sa.column("position"),
        sa.column("label"), sa.column("hint"), sa.column("kind"),
        sa.column("choices", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("required_value"),
    )
    rows = []
    for position, (stage, key, label, hint, kind, choices, required) in enumerate(GATE_ITEMS, 1):
        rows.append({"stage_key": stage, "key": key, "position": position, "label": label,
                     "hint": hint, "kind": kind, "choices": choices, "required_value": required})
    op.bulk_insert(items, rows)


SEARCHED = {
    # table: (columns weighted A, B, and the rest)
    "innovations": (["name"], ["summary"], ["description", "origin_sector", "origin_use"]),
    "challenges": (["title"], ["problem_statement"], ["desired_outcomes", "success_measures"]),
}


def _add_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, groups in SEARCHED.items():
            columns = [c for group in groups for c in group]
            names = ", ".join(columns)
            new = ", ".join(f"new.{c}" for c in columns)
            old = ", ".join(f"old.{c}" for c in columns)
            fts = f"{table}_fts"
            op.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
                "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')"
            )
            op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
                       f"INSERT INTO {fts}(rowid, {names}) VALUES (new.rowid, {new}); END")
            op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
                       f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.rowid, {old}); END")
            op.execute(f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} BEGIN "
                       f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.rowid, {old}); "
                       f"INSERT INTO {fts}(rowid, {names}) VALUES (new.rowid, {new}); END")
        return
    for table, (a, b, rest) in SEARCHED.items():
        def vector(columns: list[str]) -> str:
            text = " || ' ' || ".join(f"coalesce({c}, '')" for c in columns)
            return f"to_tsvector('simple', {text})"
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            f"setweight({vector(a)}, 'A') || setweight({vector(b)}, 'B') || {vector(rest)}) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")


def _drop_search() -> None:
    for table in SEARCHED:
        if op.get_bind().dialect.name == "sqlite":
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER {table}_fts_{suffix}")
            op.execute(f"DROP TABLE {table}_fts")
        else:
            op.execute(f"DROP INDEX ix_{table}_search_vector")
            op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")


def _make_append_only(table: str) -> None:
    message = f"{table} are append-only: rows are never changed or deleted"
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
        return
    op.execute(f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$")
    op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{verb}")
        return
    op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute(f"DROP FUNCTION {table}_append_only()")
