"""Tables of the outcome log. All are prefixed `outcome_` so they never clash with Rasa's tracker tables.

The schema is created by the Alembic migrations in `migrations/`, never by `create_all`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import declarative_base

from sga.content import PARTNERSHIPS
from sga.outcomes.privacy import PRACTITIONER_ROLES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in Python on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes in the outcome log must be timezone-aware")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class OutcomeRecord(Base):
    """One completed checklist. Holds no names or free text about people."""

    __tablename__ = "outcome_records"

    id = Column(String(36), primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    checklist_kind = Column(String(64), nullable=False, index=True)
    content_version = Column(String(64), nullable=False)
    partnership = Column(String(32), nullable=False)
    channel = Column(String(32), nullable=False)
    practitioner_role = Column(String(40), nullable=True)
    case_reference = Column(String(30), nullable=True)
    answers = Column(JSON, nullable=False)
    outcome = Column(String(64), nullable=False)
    outcome_summary = Column(Text, nullable=False)
    next_steps = Column(JSON, nullable=False)
    rationale = Column(Text, nullable=False)
    conversation_hash = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    completed_at = Column(UTCDateTime, nullable=False, index=True)

    __table_args__ = (
        CheckConstraint(partnership.in_(PARTNERSHIPS), name="ck_outcome_records_partnership"),
        CheckConstraint(
            practitioner_role.is_(None) | practitioner_role.in_(PRACTITIONER_ROLES),
            name="ck_outcome_records_practitioner_role",
        ),
    )


class AuditEvent(Base):
    """Append-only, hash-chained: each event's hash covers the previous event's hash.

    Events are never deleted, even when `sga purge` deletes their records (an event holds no personal
    data: a random record id, its type, hashes and a time), so the whole chain stays verifiable from
    its first event and a head recorded elsewhere can always be found in it. `record_id` is empty for
    a purge event, whose payload hash vouches for its `Checkpoint`.
    """

    __tablename__ = "outcome_audit_events"

    seq = Column(Integer, primary_key=True, autoincrement=True)
    record_id = Column(String(36), nullable=True, index=True)
    event_type = Column(String(40), nullable=False)
    payload_hash = Column(String(64), nullable=False)
    prev_hash = Column(String(64), nullable=False)
    hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False)


class ChainHead(Base):
    """A single row naming the last event; writers lock it so the chain never forks."""

    __tablename__ = "outcome_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_outcome_chain_head_single_row"),)

    id = Column(Integer, primary_key=True, autoincrement=False)
    last_seq = Column(Integer, nullable=False)
    last_hash = Column(String(64), nullable=False)


class Checkpoint(Base):
    """One purge: the records completed before `purged_before` that were deleted, anchored in the chain
    by the purge event at `seq` (its payload hash covers this row), so deleting a record later and
    listing it here afterwards breaks the chain."""

    __tablename__ = "outcome_checkpoints"

    seq = Column(Integer, ForeignKey("outcome_audit_events.seq"), primary_key=True, autoincrement=False)
    purged_before = Column(UTCDateTime, nullable=False)
    record_ids = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)


OUTCOME_TABLES = tuple(Base.metadata.tables)
