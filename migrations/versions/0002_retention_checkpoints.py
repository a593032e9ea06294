"""Retention: records can be purged while their audit events stay; purges are checkpoints in the chain.

- `outcome_audit_events.record_id` loses its foreign key and may be empty (a purge event has no
  record), so `sga purge` can delete records past the retention period and keep every event.
- `outcome_checkpoints`: one row per purge, vouched for by the purge event with the same `seq`.

Revision ID: 0002_retention_checkpoints
Revises: 0001_outcome_log
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_retention_checkpoints"
down_revision = "0001_outcome_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcome_audit_events") as batch:
        batch.drop_constraint("fk_outcome_audit_events_record_id", type_="foreignkey")
        batch.alter_column("record_id", existing_type=sa.String(36), nullable=True)

    op.create_table(
        "outcome_checkpoints",
        sa.Column(
            "seq",
            sa.Integer(),
            sa.ForeignKey("outcome_audit_events.seq", name="fk_outcome_checkpoints_seq"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("purged_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    # Only possible while nothing was purged: every event must still have its record.
    purges = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM outcome_checkpoints")).scalar()
    if purges:
        raise RuntimeError("cannot downgrade below 0002_retention_checkpoints: records were purged "
                           "(the 0001 schema needs every audit event to keep its record)")
    op.drop_table("outcome_checkpoints")
    with op.batch_alter_table("outcome_audit_events") as batch:
        batch.alter_column("record_id", existing_type=sa.String(36), nullable=False)
        batch.create_foreign_key(
            "fk_outcome_audit_events_record_id", "outcome_records", ["record_id"], ["id"]
        )
