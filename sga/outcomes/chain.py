"""The audit chain: how an event's hash is computed and how a whole log is checked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Dict, Iterable, List, Optional, Tuple

from sga.outcomes.draft import payload_hash, reference_for
from sga.outcomes.models import GENESIS_HASH, AuditEvent, ChainHead, Checkpoint, OutcomeRecord

RECORDED = "outcome_recorded"
PURGED = "records_purged"


def event_hash(
    prev_hash: str, seq: int, record_id: Optional[str], event_type: str, created_at: dt.datetime, payload: str
) -> str:
    """SHA-256(prev_hash + the event's own fields as canonical JSON + payload_hash)."""
    fields = json.dumps(
        {
            "seq": seq,
            "record_id": record_id,
            "event_type": event_type,
            "created_at": created_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + fields + payload).encode("utf-8")).hexdigest()


def checkpoint_hash(seq: int, purged_before: dt.datetime, record_ids: Iterable[str], created_at: dt.datetime) -> str:
    """SHA-256 of a checkpoint's canonical JSON: what its purge event vouches for."""
    text = json.dumps(
        {
            "seq": seq,
            "purged_before": purged_before.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
            "record_ids": sorted(record_ids),
            "created_at": created_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_of_checkpoint(checkpoint: Checkpoint) -> str:
    return checkpoint_hash(checkpoint.seq, checkpoint.purged_before, checkpoint.record_ids or [], checkpoint.created_at)


def hash_of(event: AuditEvent) -> str:
    return event_hash(
        event.prev_hash, event.seq, event.record_id, event.event_type, event.created_at, event.payload_hash
    )


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_reference: Optional[str] = None
    reason: Optional[str] = None
    head_hash: Optional[str] = None  # the chain head (set when the chain verifies): record it elsewhere
    head_seq: Optional[int] = None
    purged: int = 0  # records deleted by `sga purge` whose events remain in the chain


def verify_chain(
    records: Iterable[OutcomeRecord],
    events: Iterable[AuditEvent],
    head: Optional[ChainHead],
    checkpoints: Iterable[Checkpoint] = (),
    expect_head: Optional[str] = None,
) -> VerifyResult:
    """Walk the events in order from the first; the first problem found is reported with the record it
    concerns. A record may be missing only if a purge checkpoint later in the chain lists it.
    `expect_head`: a head recorded earlier, which must be the chain head or one of its events."""
    by_id: Dict[str, OutcomeRecord] = {record.id: record for record in records}
    events = sorted(events, key=lambda e: e.seq)
    by_seq: Dict[int, Checkpoint] = {checkpoint.seq: checkpoint for checkpoint in checkpoints}
    recorded = {event.record_id for event in events if event.event_type == RECORDED}
    without_event = sorted((r for r in by_id.values() if r.id not in recorded), key=lambda r: r.created_at)
    purged_by: Dict[str, int] = {}  # record id -> seq of the verified purge event that lists it
    gone: List[Tuple[int, str]] = []  # (seq, record id) of recorded events whose record is not there

    def broken(record_id: Optional[str], reason: str) -> VerifyResult:
        reference = reference_for(record_id) if record_id else None
        return VerifyResult(False, len(by_id), reference, reason)

    def missing_event(fallback_id: Optional[str], where: str) -> VerifyResult:
        lost_id = without_event[0].id if without_event else fallback_id
        return broken(lost_id, f"event missing: {where}")

    expected_prev, expected_seq, previous_record_id = GENESIS_HASH, 1, None
    for event in events:
        if event.seq != expected_seq:
            return missing_event(event.record_id, f"audit event {expected_seq} is missing from the chain")
        if hash_of(event) != event.hash:
            return broken(event.record_id, f"event edited: audit event {event.seq} no longer matches its hash")
        if event.prev_hash != expected_prev:
            # Each event is self-consistent, so the earlier one was most likely rewritten along with its record.
            rewritten = previous_record_id or event.record_id
            return broken(rewritten, f"chain broken: audit event {event.seq - 1} was rewritten")
        if event.event_type == PURGED:
            checkpoint = by_seq.get(event.seq)
            if checkpoint is None:
                return broken(None, f"checkpoint missing: audit event {event.seq} records a purge with no checkpoint")
            if hash_of_checkpoint(checkpoint) != event.payload_hash:
                return broken(None, f"checkpoint edited: the purge at audit event {event.seq} no longer matches it")
            for record_id in checkpoint.record_ids or []:
                purged_by.setdefault(record_id, event.seq)
            expected_prev, expected_seq = event.hash, event.seq + 1
            continue
        if event.event_type != RECORDED or not event.record_id:
            return broken(event.record_id, f"event edited: audit event {event.seq} has an unknown type")
        record = by_id.get(event.record_id)
        if record is None:
            gone.append((event.seq, event.record_id))
        elif payload_hash(record) != event.payload_hash:
            return broken(record.id, "record edited: its contents no longer match the audit event")
        expected_prev, expected_seq, previous_record_id = event.hash, event.seq + 1, event.record_id

    for seq, record_id in gone:
        if purged_by.get(record_id, 0) <= seq:
            return broken(record_id, f"record missing: audit event {seq} names a deleted record")
    stray = sorted(set(by_seq) - {event.seq for event in events if event.event_type == PURGED})
    if stray:
        return broken(None, f"checkpoint not in the chain: checkpoint {stray[0]} has no purge event")

    if head is None:
        return broken(None, "chain broken: the chain head row is missing")
    if head.last_seq != expected_seq - 1 or head.last_hash != expected_prev:
        if head.last_seq >= expected_seq:
            return missing_event(None, f"the last {head.last_seq - expected_seq + 1} audit event(s) are missing")
        if head.last_seq == expected_seq - 1:
            return broken(previous_record_id, "chain broken: the last audit event was rewritten")
        return broken(previous_record_id, "chain broken: audit events were added after the chain head")
    if without_event:
        return missing_event(None, "the record has no audit event")
    if expect_head and expect_head != GENESIS_HASH and expect_head not in {event.hash for event in events}:
        return broken(
            None,
            f"head not found: the recorded head {expect_head[:16]}... is neither the chain head "
            "nor one of its events, so the log was rewritten or replaced since it was recorded",
        )
    return VerifyResult(True, len(by_id), head_hash=expected_prev, head_seq=expected_seq - 1, purged=len(gone))
