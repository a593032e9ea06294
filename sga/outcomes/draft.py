"""`OutcomeDraft`: one checklist outcome, validated, before (or while) it is written to the log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import uuid
from typing import Any, Dict, List, Mapping, Optional

from sga.content import PARTNERSHIPS
from sga.outcomes.privacy import hash_conversation, validate_case_reference, validate_role

# Crockford base32: no I, L, O or U, so a reference read aloud or retyped is not misread.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATETIME_FIELDS = ("created_at", "completed_at")
RECORD_COLUMNS = (
    "id",
    "reference",
    "checklist_kind",
    "content_version",
    "partnership",
    "channel",
    "practitioner_role",
    "case_reference",
    "answers",
    "outcome",
    "outcome_summary",
    "next_steps",
    "rationale",
    "conversation_hash",
    "created_at",
    "completed_at",
)


def reference_for(record_id: str) -> str:
    """Short reference shown to practitioners, e.g. SGA-7K3Q-9XPD: the id's first 40 bits."""
    bits = uuid.UUID(record_id).int >> 88
    chars = "".join(REFERENCE_ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"SGA-{chars[:4]}-{chars[4:]}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class OutcomeDraft:
    id: str
    checklist_kind: str
    content_version: str
    partnership: str
    channel: str
    answers: Dict[str, Any]
    outcome: str
    outcome_summary: str
    next_steps: List[str]
    rationale: str
    conversation_hash: str
    created_at: dt.datetime
    completed_at: dt.datetime
    practitioner_role: Optional[str] = None
    case_reference: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("checklist_kind", "content_version", "channel", "outcome", "conversation_hash"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if self.partnership not in PARTNERSHIPS:
            raise ValueError(f"unknown partnership {self.partnership!r}; expected one of {PARTNERSHIPS}")
        if not all(isinstance(step, str) for step in self.next_steps):
            raise ValueError("next_steps must be a list of strings")
        normalised = {
            "id": str(uuid.UUID(self.id)),  # raises ValueError if the id is not a UUID
            "practitioner_role": validate_role(self.practitioner_role),
            "case_reference": validate_case_reference(self.case_reference) if self.case_reference else None,
            # A JSON round trip makes what is hashed now identical to what the database gives back.
            "answers": json.loads(json.dumps(dict(self.answers))),
            "next_steps": list(self.next_steps),
        }
        for name in DATETIME_FIELDS:
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
            normalised[name] = value.astimezone(dt.timezone.utc)
        for name, value in normalised.items():
            object.__setattr__(self, name, value)

    @classmethod
    def new(
        cls,
        *,
        checklist_kind: str,
        content_version: str,
        partnership: str,
        channel: str,
        answers: Mapping[str, Any],
        outcome: str,
        outcome_summary: str,
        next_steps: List[str],
        rationale: str,
        sender_id: str,
        salt: str,
        practitioner_role: Optional[str] = None,
        case_reference: Optional[str] = None,
        completed_at: Optional[dt.datetime] = None,
        record_id: Optional[str] = None,
    ) -> "OutcomeDraft":
        """A draft with the sender id replaced by its hash, and a fresh id unless `record_id` is given.
        Give the same `record_id` for every attempt to save one checklist run (e.g. a UUID kept in the
        checklist's state): a retry after a timeout whose first attempt did reach the database is
        then stored once, not twice."""
        now = utc_now()
        return cls(
            id=record_id or str(uuid.uuid4()),
            checklist_kind=checklist_kind,
            content_version=content_version,
            partnership=partnership,
            channel=channel,
            answers=dict(answers),
            outcome=outcome,
            outcome_summary=outcome_summary,
            next_steps=list(next_steps),
            rationale=rationale,
            conversation_hash=hash_conversation(sender_id, salt),
            created_at=now,
            completed_at=completed_at or now,
            practitioner_role=practitioner_role,
            case_reference=case_reference,
        )

    @property
    def reference(self) -> str:
        return reference_for(self.id)

    def as_record(self) -> Dict[str, Any]:
        """The record's columns, as stored."""
        return {**dataclasses.asdict(self), "reference": self.reference}

    def to_json(self) -> str:
        return json.dumps(canonical_fields(self.as_record()), sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "OutcomeDraft":
        fields = json.loads(text)
        fields.pop("reference", None)
        for name in DATETIME_FIELDS:
            fields[name] = dt.datetime.fromisoformat(fields[name])
        return cls(**fields)


def canonical_fields(record: Any) -> Dict[str, Any]:
    """The record's columns (from a mapping or a row) with datetimes as ISO 8601 UTC text (microsecond precision)."""
    get = record.get if isinstance(record, Mapping) else functools.partial(getattr, record)
    fields = {name: get(name) for name in RECORD_COLUMNS}
    for name in DATETIME_FIELDS:
        value = fields[name]
        fields[name] = value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds") if value else value
    return fields


def payload_hash(record: Any) -> str:
    """SHA-256 of the record's canonical JSON (sorted keys, compact): what its audit event vouches for."""
    text = json.dumps(canonical_fields(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
