"""Outcome log: records, hash-chained audit events and the chain head.

Revision ID: 0001_outcome_log
Revises:
Create Date: 2024-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = "0001_outcome_log"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the lists at the time of this revision (later changes need a new revision).
PARTNERSHIPS = ("kent_medway", "west_midlands")
PRACTITIONER_ROLES = (
    "social_worker", "teacher", "designated_safeguarding_lead", "school_nurse", "health_visitor", "gp",
    "police_officer", "probation_officer", "youth_offending_worker", "housing_officer", "early_help_worker",
    "other",
)


def upgrade() -> None:
    op.create_table(
        "outcome_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("checklist_kind", sa.String(64), nullable=False),
        sa.Column("content_version", sa.String(64), nullable=False),
        sa.Column("partnership", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("practitioner_role", sa.String(40), nullable=True),
        sa.Column("case_reference", sa.String(30), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("outcome_summary", sa.Text(), nullable=False),
        sa.Column("next_steps", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("conversation_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", name="uq_outcome_records_reference"),
        sa.CheckConstraint(sa.column("partnership").in_(PARTNERSHIPS), name="ck_outcome_records_partnership"),
        sa.CheckConstraint(
            sa.column("practitioner_role").is_(None) | sa.column("practitioner_role").in_(PRACTITIONER_ROLES),
            name="ck_outcome_records_practitioner_role",
        ),
    )
    op.create_index("ix_outcome_records_checklist_kind", "outcome_records", ["checklist_kind"])
    op.create_index("ix_outcome_records_completed_at", "outcome_records", ["completed_at"])

    op.create_table(
        "outcome_audit_events",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "record_id",
            sa.String(36),
            sa.ForeignKey("outcome_records.id", name="fk_outcome_audit_events_record_id"),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("hash", name="uq_outcome_audit_events_hash"),
    )
    op.create_index("ix_outcome_audit_events_record_id", "outcome_audit_events", ["record_id"])

    head = op.create_table(
        "outcome_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_outcome_chain_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("outcome_chain_head")
    op.drop_index("ix_outcome_audit_events_record_id", table_name="outcome_audit_events")
    op.drop_table("outcome_audit_events")
    op.drop_index("ix_outcome_records_completed_at", table_name="outcome_records")
    op.drop_index("ix_outcome_records_checklist_kind", table_name="outcome_records")
    op.drop_table("outcome_records")
