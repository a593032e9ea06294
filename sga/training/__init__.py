"""Group training sessions: a trainer's session code, trainees' pseudonymous results, summaries.

Kept in its own `training_` tables (migrations/versions/0003_training_sessions.py), in the same
database as the outcome log but never in its tables: exercises are not outcomes. Nothing here holds
a name: a trainee is a random id with an optional pseudonym picked from a generated list, and the
trainer's conversation is known only by a salted hash.
"""

from sga.training.sessions import (
    CODE_ALPHABET,
    PSEUDONYMS,
    Answer,
    AnswerRow,
    Participant,
    Session,
    SessionNotFound,
    TrainingStore,
    TrainingUnavailable,
    find_code,
    new_code,
    pseudonym_choices,
)
from sga.training.summary import ItemAgreement, SessionSummary, summarise, summary_text

__all__ = [
    "Answer",
    "AnswerRow",
    "Participant",
    "Session",
    "TrainingUnavailable",
    "CODE_ALPHABET",
    "PSEUDONYMS",
    "SessionNotFound",
    "TrainingStore",
    "find_code",
    "new_code",
    "pseudonym_choices",
    "ItemAgreement",
    "SessionSummary",
    "summarise",
    "summary_text",
]
