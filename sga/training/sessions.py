"""Group sessions and their results, in the `training_` tables (SQLAlchemy Core).

The schema is created by the Alembic migration 0003 (`sga db upgrade`, and the stack runner at
start), never by `create_all` outside tests.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from sga.outcomes.store import make_engine

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: a code read aloud or copied from a slide is not mistyped.
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6
_DIGITS = "3479"

# Pseudonyms are generated from these words and picked with a button: a trainee never types a name.
_ADJECTIVES = ("Amber", "Blue", "Coral", "Golden", "Green", "Indigo", "Jade", "Ruby", "Scarlet", "Silver")
_ANIMALS = ("Badger", "Falcon", "Fox", "Hare", "Heron", "Kestrel", "Otter", "Owl", "Robin", "Wren")
PSEUDONYMS = tuple(f"{a} {b}" for a in _ADJECTIVES for b in _ANIMALS)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sessions_table = Table(
    "training_sessions",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("scenario_id", String(64), nullable=False),
    Column("feedback", String(8), nullable=False),
    Column("trainer_hash", String(64), nullable=False),
    Column("created_at", DateTime(), nullable=False, index=True),
)

participants_table = Table(
    "training_participants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_code", String(8), ForeignKey("training_sessions.code"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("pseudonym", String(40), nullable=True),
    Column("joined_at", DateTime(), nullable=False),
)

answers_table = Table(
    "training_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_code", String(8), ForeignKey("training_sessions.code"), nullable=False, index=True),
    Column("participant_id", String(36), ForeignKey("training_participants.id"), nullable=False, index=True),
    Column("scenario_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("given", String(40), nullable=True),
    Column("model", String(40), nullable=False),
    Column("matched", Boolean, nullable=False),
    Column("completed_at", DateTime(), nullable=False, index=True),
)

TRAINING_TABLES = ("training_sessions", "training_participants", "training_answers")


class SessionNotFound(LookupError):
    """No session has that code."""


class TrainingUnavailable(RuntimeError):
    """The training tables cannot be read or written (database down, or not migrated)."""


def utc_now() -> dt.datetime:
    """Naive UTC (stored as such on every backend)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def new_code() -> str:
    """Six characters from the unambiguous alphabet, with at least one digit and one letter (so an
    ordinary word is never taken for a code)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if _is_code(code):
            return code


def _is_code(code: str) -> bool:
    return (
        len(code) == CODE_LENGTH
        and all(c in CODE_ALPHABET for c in code)
        and any(c in _DIGITS for c in code)
        and any(c.isalpha() for c in code)
    )


_TOKEN = re.compile(r"[A-Za-z0-9]+")


def find_code(text: str) -> Optional[str]:
    """The session code typed in a message ("join session k7p4qm"), upper-cased, if there is one.
    The code is data the user types (like a case reference); what they want is the NLU's intent."""
    for token in _TOKEN.findall(text or ""):
        code = str(token).upper()
        if _is_code(code):
            return code
    return None


def pseudonym_choices(taken: Iterable[Optional[str]], count: int = 4) -> List[str]:
    used = set(taken)
    free = [p for p in PSEUDONYMS if p not in used]
    chosen: List[str] = []
    while free and len(chosen) < count:
        chosen.append(free.pop(secrets.randbelow(len(free))))
    return chosen


@dataclass(frozen=True)
class Session:
    code: str
    scenario_id: str
    feedback: str
    trainer_hash: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Participant:
    id: str
    session_code: str
    number: int
    pseudonym: Optional[str]

    @property
    def display(self) -> str:
        return self.pseudonym or f"Anonymous {self.number}"


@dataclass(frozen=True)
class Answer:
    """One trainee's answer to one item, against the model answer."""

    item_id: str
    given: Optional[str]
    model: str
    matched: bool


@dataclass(frozen=True)
class AnswerRow:
    session_code: str
    scenario_id: str
    participant: str  # pseudonym or "Anonymous N"
    participant_id: str
    position: int
    item_id: str
    given: Optional[str]
    model: str
    matched: bool
    completed_at: dt.datetime


class TrainingStore:
    def __init__(self, database_url: str) -> None:
        self._engine = make_engine(database_url)

    def close(self) -> None:
        self._engine.dispose()

    def _run(self, work: Any) -> Any:
        try:
            with self._engine.begin() as connection:
                return work(connection)
        except (OperationalError, ProgrammingError) as error:
            raise TrainingUnavailable(
                "the training tables cannot be used (is the database up, and has `sga db upgrade` been run?)"
            ) from error

    # --- sessions ---

    def create_session(self, scenario_id: str, feedback: str, trainer_hash: str) -> Session:
        for _ in range(10):
            session = Session(new_code(), scenario_id, feedback, trainer_hash, utc_now())
            try:
                values = dict(session.__dict__)
                self._run(lambda c, v=values: c.execute(sessions_table.insert().values(**v)))
            except IntegrityError:
                continue  # the code is taken: draw another
            return session
        raise TrainingUnavailable("could not find a free session code")

    def session(self, code: str) -> Session:
        row = self._run(
            lambda c: c.execute(select(sessions_table).where(sessions_table.c.code == code.upper())).first()
        )
        if row is None:
            raise SessionNotFound(code)
        return Session(**dict(row._mapping))

    def participants(self, code: str) -> List[Participant]:
        query = (
            select(participants_table)
            .where(participants_table.c.session_code == code)
            .order_by(participants_table.c.number)
        )
        rows = self._run(lambda c: c.execute(query).all())
        return [
            Participant(r._mapping["id"], r._mapping["session_code"], r._mapping["number"], r._mapping["pseudonym"])
            for r in rows
        ]

    def join(self, code: str, pseudonym: Optional[str]) -> Participant:
        if pseudonym is not None and pseudonym not in PSEUDONYMS:
            raise ValueError("a pseudonym must come from the generated list")
        session = self.session(code)

        def work(connection: Any) -> Participant:
            count = connection.execute(
                select(func.count()).select_from(participants_table).where(participants_table.c.session_code == code)
            ).scalar_one()
            participant = Participant(str(uuid.uuid4()), session.code, int(count) + 1, pseudonym)
            connection.execute(
                participants_table.insert().values(
                    id=participant.id,
                    session_code=participant.session_code,
                    number=participant.number,
                    pseudonym=participant.pseudonym,
                    joined_at=utc_now(),
                )
            )
            return participant

        result: Participant = self._run(work)
        return result

    def record(self, code: str, participant_id: str, scenario_id: str, answers: Sequence[Answer]) -> None:
        """A trainee's finished exercise; a second run by the same trainee replaces the first."""
        now = utc_now()

        def work(connection: Any) -> None:
            connection.execute(answers_table.delete().where(answers_table.c.participant_id == participant_id))
            connection.execute(
                answers_table.insert(),
                [
                    dict(
                        session_code=code,
                        participant_id=participant_id,
                        scenario_id=scenario_id,
                        position=position,
                        item_id=a.item_id,
                        given=a.given,
                        model=a.model,
                        matched=a.matched,
                        completed_at=now,
                    )
                    for position, a in enumerate(answers, 1)
                ],
            )

        self._run(work)

    def rows(self, session: Optional[str] = None, since: Optional[dt.datetime] = None) -> List[AnswerRow]:
        """Every stored answer of one session, or of every session since a time (naive UTC)."""
        a, p = answers_table, participants_table
        query = select(a, p.c.number, p.c.pseudonym).join(p, p.c.id == a.c.participant_id)
        if session is not None:
            query = query.where(a.c.session_code == session.upper())
        if since is not None:
            query = query.where(a.c.completed_at >= since)
        query = query.order_by(a.c.session_code, p.c.number, a.c.position)
        found = self._run(lambda c: c.execute(query).all())
        return [
            AnswerRow(
                session_code=r._mapping["session_code"],
                scenario_id=r._mapping["scenario_id"],
                participant=r._mapping["pseudonym"] or f"Anonymous {r._mapping['number']}",
                participant_id=r._mapping["participant_id"],
                position=r._mapping["position"],
                item_id=r._mapping["item_id"],
                given=r._mapping["given"],
                model=r._mapping["model"],
                matched=bool(r._mapping["matched"]),
                completed_at=r._mapping["completed_at"],
            )
            for r in found
        ]
