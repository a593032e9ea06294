"""The audit chain: how an event's hash is computed and how a whole log is checked."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Dict, Iterable, Optional

from sga.outcomes.draft import payload_hash, reference_for
from sga.outcomes.models import GENESIS_HASH, AuditEvent, ChainHead, OutcomeRecord

RECORDED = "outcome_recorded"


def event_hash(prev_hash: str, seq: int, record_id: str, event_type: str, created_at: dt.datetime, payload: str) -> str:
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


def verify_chain(
    records: Iterable[OutcomeRecord], events: Iterable[AuditEvent], head: Optional[ChainHead]
) -> VerifyResult:
    """Walk the events in order; the first problem found is reported with the record it concerns."""
    by_id: Dict[str, OutcomeRecord] = {record.id: record for record in records}
    events = sorted(events, key=lambda e: e.seq)
    recorded = {event.record_id for event in events if event.event_type == RECORDED}
    without_event = sorted((r for r in by_id.values() if r.id not in recorded), key=lambda r: r.created_at)

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
        record = by_id.get(event.record_id)
        if record is None:
            return broken(event.record_id, f"record missing: audit event {event.seq} names a deleted record")
        if payload_hash(record) != event.payload_hash:
            return broken(record.id, "record edited: its contents no longer match the audit event")
        expected_prev, expected_seq, previous_record_id = event.hash, event.seq + 1, event.record_id

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
    return VerifyResult(True, len(by_id))
