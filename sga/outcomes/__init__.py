"""The outcome log: each completed checklist's outcome, with a hash-chained audit trail.

It holds no names or free text about people: case references must be pseudonymous
(`validate_case_reference`) and the conversation id is stored only as a salted hash.
"""

from sga.outcomes.chain import VerifyResult
from sga.outcomes.draft import OutcomeDraft
from sga.outcomes.privacy import (
    PRACTITIONER_ROLES,
    CaseReferenceRefused,
    hash_conversation,
    validate_case_reference,
    validate_role,
)
from sga.outcomes.store import (
    ChainInvalid,
    DatabaseUnavailable,
    OutcomeNotSaved,
    OutcomeSchemaMissing,
    OutcomeStore,
    PurgeResult,
    SaveResult,
)

__all__ = [
    "OutcomeStore",
    "OutcomeDraft",
    "SaveResult",
    "VerifyResult",
    "DatabaseUnavailable",
    "ChainInvalid",
    "OutcomeNotSaved",
    "PurgeResult",
    "OutcomeSchemaMissing",
    "CaseReferenceRefused",
    "validate_case_reference",
    "validate_role",
    "hash_conversation",
    "PRACTITIONER_ROLES",
]
