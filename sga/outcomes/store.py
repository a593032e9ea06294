"""`OutcomeStore`: writes outcomes and their audit events, spooling to disk while the database is down."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from sqlalchemy import create_engine, delete, event, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from sga.outcomes.chain import PURGED, RECORDED, VerifyResult, checkpoint_hash, event_hash, verify_chain
from sga.outcomes.draft import RECORD_COLUMNS, OutcomeDraft, payload_hash, reference_for, utc_now
from sga.outcomes.models import (
    CHAIN_HEAD_ID,
    OUTCOME_TABLES,
    AuditEvent,
    ChainHead,
    Checkpoint,
    OutcomeRecord,
)

log = logging.getLogger(__name__)

__all__ = ["OutcomeStore", "OutcomeDraft", "SaveResult", "VerifyResult", "DatabaseUnavailable", "OutcomeSchemaMissing"]


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached (or was locked for too long)."""


class OutcomeSchemaMissing(RuntimeError):
    """The outcome tables do not exist: the migrations have not been run."""


class OutcomeNotSaved(RuntimeError):
    """Neither the database nor the spool could take the outcome (e.g. the disk is full): it is not
    saved anywhere, and the user must be told to record it by hand."""


class ChainInvalid(RuntimeError):
    """The audit chain does not verify, so nothing may be purged (it would destroy the evidence)."""


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    records: int  # past the retention period: deleted, or that would be with dry_run
    checkpoint_seq: Optional[int]  # the purge event's seq; None when nothing was deleted
    head_hash: str


@dataclasses.dataclass(frozen=True)
class SaveResult:
    reference: str
    stored: bool  # False: kept in the spool, written when the database is back


class OutcomeStore:
    def __init__(self, database_url: str, spool_dir: Union[str, Path]) -> None:
        self.database_url = database_url
        self.spool_dir = Path(spool_dir)
        self._engine = make_engine(database_url)
        self._schema_present = False

    def close(self) -> None:
        self._engine.dispose()

    # Writing

    def save(self, draft: OutcomeDraft) -> SaveResult:
        """Write the draft (after anything spooled earlier); spool it if the database is unavailable."""
        try:
            self.flush_spool()
            self._write(draft)
        except DatabaseUnavailable as error:
            log.warning("Outcome %s spooled: database unavailable (%s)", draft.reference, error)
            self._spool_or_fail(draft, error)
            return SaveResult(draft.reference, stored=False)
        except OutcomeSchemaMissing as error:
            self._spool_or_fail(draft, error)  # never lose an outcome, even on a database that was not migrated
            raise
        return SaveResult(draft.reference, stored=True)

    def _spool_or_fail(self, draft: OutcomeDraft, why: Exception) -> None:
        try:
            self._spool(draft)
        except OSError as error:
            log.error(
                "Outcome %s NOT saved: database unavailable (%s) and spool %s unwritable (%s)",
                draft.reference,
                why,
                self.spool_dir,
                error,
            )
            raise OutcomeNotSaved(
                f"Outcome {draft.reference} was not saved: the outcome log is unavailable and the spool "
                f"{self.spool_dir} cannot be written ({error.strerror or error})"
            ) from error

    def flush_spool(self) -> int:
        """Write spooled drafts; return how many were new. Ids already stored are skipped, not duplicated."""
        spooled = []
        for path in sorted(self.spool_dir.glob("*.json")) if self.spool_dir.is_dir() else []:
            try:
                spooled.append((OutcomeDraft.from_json(path.read_text(encoding="utf-8")), path))
            except FileNotFoundError:
                continue  # another process flushed it meanwhile
            except (ValueError, TypeError, KeyError) as error:
                log.error("Spooled outcome %s is unreadable (%s); renamed to .rejected", path.name, error)
                path.rename(path.with_suffix(".rejected"))
        written = 0
        for draft, path in sorted(spooled, key=lambda item: item[0].created_at):
            try:
                written += self._write(draft)
            except IntegrityError as error:
                log.error("Spooled outcome %s could not be written and stays spooled: %s", draft.reference, error)
                continue
            path.unlink(missing_ok=True)  # only once committed; another flusher may have removed it
        return written

    def _write(self, draft: OutcomeDraft) -> bool:
        """Insert the record and its audit event in one transaction; False if the id was already stored."""
        with self._transaction() as session:
            # Locking the chain head serialises writers, so two events never share a predecessor.
            head = session.execute(
                select(ChainHead).where(ChainHead.id == CHAIN_HEAD_ID).with_for_update()
            ).scalar_one()
            if session.get(OutcomeRecord, draft.id) is not None:
                return False
            if session.execute(select(AuditEvent.seq).where(AuditEvent.record_id == draft.id)).first():
                return False  # recorded, then purged: a late retry must not bring it back
            record = draft.as_record()
            session.add(OutcomeRecord(**record))
            session.flush()
            seq, created_at, payload = head.last_seq + 1, utc_now(), payload_hash(record)
            chained = event_hash(head.last_hash, seq, draft.id, RECORDED, created_at, payload)
            session.add(
                AuditEvent(
                    seq=seq,
                    record_id=draft.id,
                    event_type=RECORDED,
                    payload_hash=payload,
                    prev_hash=head.last_hash,
                    hash=chained,
                    created_at=created_at,
                )
            )
            head.last_seq, head.last_hash = seq, chained
        return True

    def _spool(self, draft: OutcomeDraft) -> Path:
        """Write the draft to `<spool_dir>/<id>.json` atomically (temporary file, then rename)."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        target = self.spool_dir / f"{draft.id}.json"
        handle, temporary = tempfile.mkstemp(dir=self.spool_dir, prefix=f".{draft.id}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(draft.to_json())
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    # Reading

    def records(self, since: Optional[dt.date] = None, kind: Optional[str] = None) -> List[Dict[str, Any]]:
        """Records completed on or after `since` (UTC), optionally of one checklist kind, oldest first."""
        query = select(OutcomeRecord).order_by(OutcomeRecord.completed_at, OutcomeRecord.id)
        if since is not None:
            start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.timezone.utc)
            query = query.where(OutcomeRecord.completed_at >= start)
        if kind:
            query = query.where(OutcomeRecord.checklist_kind == kind)
        with self._transaction() as session:
            return [{name: getattr(row, name) for name in RECORD_COLUMNS} for row in session.execute(query).scalars()]

    def record(self, reference: str) -> Optional[Dict[str, Any]]:
        """The record with this reference (e.g. SGA-7K3Q-9XPD), or None if there is none."""
        with self._transaction() as session:
            rows = session.execute(select(OutcomeRecord).where(OutcomeRecord.reference == reference)).scalars().all()
            return {name: getattr(rows[0], name) for name in RECORD_COLUMNS} if rows else None

    def whereabouts(self, reference: str) -> str:
        """Why there is no record with this reference: "purged" (recorded, then deleted after the
        retention period), "spooled" (waiting in the spool for the database) or "unknown"."""
        with self._transaction() as session:
            recorded = session.execute(select(AuditEvent.record_id).where(AuditEvent.event_type == RECORDED)).scalars()
            if any(record_id and reference_for(record_id) == reference for record_id in recorded):
                return "purged"
        spooled = self.spool_dir.glob("*.json") if self.spool_dir.is_dir() else []
        if any(_reference_of_spooled(path) == reference for path in spooled):
            return "spooled"
        return "unknown"

    def verify(self, expect_head: Optional[str] = None) -> VerifyResult:
        """Recompute every record's payload hash and every event's hash, in chain order; with
        `expect_head`, also check that this earlier recorded head is the chain head or one of its events."""
        with self._transaction() as session:
            # A shared lock on the head keeps writers out, so the reads agree with each other.
            head = session.execute(
                select(ChainHead).where(ChainHead.id == CHAIN_HEAD_ID).with_for_update(read=True)
            ).scalar_one_or_none()
            return self._verify_in(session, head, expect_head)

    @staticmethod
    def _verify_in(session: Session, head: Optional[ChainHead], expect_head: Optional[str] = None) -> VerifyResult:
        records = session.execute(select(OutcomeRecord)).scalars().all()
        events = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        checkpoints = session.execute(select(Checkpoint)).scalars().all()
        return verify_chain(records, events, head, checkpoints, expect_head=(expect_head or "").lower() or None)

    # Retention

    def purge(self, before: dt.datetime, dry_run: bool = False) -> PurgeResult:
        """Delete the records completed before `before` (UTC) and add a checkpoint to the chain listing
        them, in one transaction. Their audit events stay, so the chain still verifies from its first
        event. Refused (ChainInvalid) if the chain does not verify first: a purge must not hide tampering."""
        if before.tzinfo is None:
            raise ValueError("the purge cut-off must be timezone-aware")
        with self._transaction() as session:
            head = session.execute(
                select(ChainHead).where(ChainHead.id == CHAIN_HEAD_ID).with_for_update()
            ).scalar_one()
            ids = sorted(session.execute(select(OutcomeRecord.id).where(OutcomeRecord.completed_at < before)).scalars())
            if dry_run or not ids:
                return PurgeResult(len(ids), None, head.last_hash)
            checked = self._verify_in(session, head)
            if not checked.ok:
                record = checked.first_broken_reference or "(no single record)"
                raise ChainInvalid(
                    f"the audit chain does not verify (record {record}: {checked.reason}); "
                    "nothing was purged. Investigate before purging."
                )
            for start in range(0, len(ids), 500):  # SQLite limits the parameters of one statement
                session.execute(delete(OutcomeRecord).where(OutcomeRecord.id.in_(ids[start : start + 500])))
            seq, created_at = head.last_seq + 1, utc_now()
            vouched = checkpoint_hash(seq, before, ids, created_at)
            chained = event_hash(head.last_hash, seq, None, PURGED, created_at, vouched)
            session.add(
                AuditEvent(
                    seq=seq,
                    record_id=None,
                    event_type=PURGED,
                    payload_hash=vouched,
                    prev_hash=head.last_hash,
                    hash=chained,
                    created_at=created_at,
                )
            )
            session.flush()
            session.add(Checkpoint(seq=seq, purged_before=before, record_ids=ids, created_at=created_at))
            head.last_seq, head.last_hash = seq, chained
            return PurgeResult(len(ids), seq, chained)

    # Plumbing

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        try:
            with Session(self._engine, future=True) as session, session.begin():
                self._require_schema(session)
                yield session
        except (OperationalError, InterfaceError) as error:
            raise DatabaseUnavailable(f"{masked(self.database_url)}: {error.orig or error}") from error

    def _require_schema(self, session: Session) -> None:
        if self._schema_present:
            return
        inspector = inspect(session.connection())
        missing = [name for name in OUTCOME_TABLES if not inspector.has_table(name)]
        if missing:
            raise OutcomeSchemaMissing(
                f"The outcome log tables are missing from {masked(self.database_url)} ({', '.join(missing)}): "
                "run `sga db upgrade` first."
            )
        self._schema_present = True


def _reference_of_spooled(path: Path) -> Optional[str]:
    try:
        return reference_for(path.stem)
    except ValueError:
        return None


def masked(database_url: str) -> str:
    return str(make_url(database_url).render_as_string(hide_password=True))


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, future=True, pool_pre_ping=True, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
    return create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we emit BEGIN IMMEDIATE ourselves instead.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _sqlite_begin_immediate(connection: Any) -> None:
    # Takes SQLite's write lock at the start, so concurrent writers queue instead of forking the chain.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
