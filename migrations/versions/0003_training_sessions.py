"""Training: group sessions, their (pseudonymous) trainees and answers, in their own `training_` tables.

Never in the outcome log's tables: training exercises are not outcomes. No names are stored: a trainee
is a random id with an optional pseudonym from a generated list; the trainer's conversation is a salted
hash.

Revision ID: 0003_training_sessions
Revises: 0002_retention_checkpoints
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_training_sessions"
down_revision = "0002_retention_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_sessions",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("scenario_id", sa.String(64), nullable=False),
        sa.Column("feedback", sa.String(8), nullable=False),
        sa.Column("trainer_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_training_sessions_created_at", "training_sessions", ["created_at"])
    op.create_table(
        "training_participants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "session_code",
            sa.String(8),
            sa.ForeignKey("training_sessions.code", name="fk_training_participants_session_code"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(40), nullable=True),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_training_participants_session_code", "training_participants", ["session_code"])
    op.create_table(
        "training_answers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "session_code",
            sa.String(8),
            sa.ForeignKey("training_sessions.code", name="fk_training_answers_session_code"),
            nullable=False,
        ),
        sa.Column(
            "participant_id",
            sa.String(36),
            sa.ForeignKey("training_participants.id", name="fk_training_answers_participant_id"),
            nullable=False,
        ),
        sa.Column("scenario_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("given", sa.String(40), nullable=True),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_training_answers_session_code", "training_answers", ["session_code"])
    op.create_index("ix_training_answers_participant_id", "training_answers", ["participant_id"])
    op.create_index("ix_training_answers_completed_at", "training_answers", ["completed_at"])


def downgrade() -> None:
    op.drop_table("training_answers")
    op.drop_table("training_participants")
    op.drop_table("training_sessions")
