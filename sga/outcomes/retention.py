"""Retention of conversation trackers: Rasa's SQL tracker store keeps every event of every conversation
in one table, `events` (sender_id, timestamp as Unix seconds, ...). A conversation is deleted whole
once its latest event is older than the cut-off, so a conversation still going on is never cut in two.
(Outcome records are purged by `OutcomeStore.purge`, which keeps the audit chain verifiable.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

TRACKER_TABLE = "events"  # rasa.core.tracker_store.SQLTrackerStore.SQLEvent


@dataclasses.dataclass(frozen=True)
class TrackerPurge:
    conversations: int
    events: int


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store's database could not be reached."""


def purge_trackers(tracker_url: str, before: dt.datetime, dry_run: bool = False) -> TrackerPurge:
    """Delete (or with dry_run only count) the conversations whose latest event is before `before`."""
    if before.tzinfo is None:
        raise ValueError("the purge cut-off must be timezone-aware")
    url = make_url(tracker_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        from pathlib import Path

        if not Path(url.database).exists():
            return TrackerPurge(0, 0)  # no conversation was ever stored (do not create the file)
    connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, future=True, connect_args=connect_args)
    idle = f"SELECT sender_id FROM {TRACKER_TABLE} GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(TRACKER_TABLE):
                return TrackerPurge(0, 0)
            cutoff = {"cutoff": before.timestamp()}
            conversations = connection.execute(text(f"SELECT COUNT(*) FROM ({idle}) AS idle"), cutoff).scalar()
            events = connection.execute(
                text(f"SELECT COUNT(*) FROM {TRACKER_TABLE} WHERE sender_id IN ({idle})"), cutoff
            ).scalar()
            if not dry_run and conversations:
                connection.execute(text(f"DELETE FROM {TRACKER_TABLE} WHERE sender_id IN ({idle})"), cutoff)
            return TrackerPurge(int(conversations or 0), int(events or 0))
    except (OperationalError, InterfaceError) as error:
        shown = url.render_as_string(hide_password=True)
        raise TrackerStoreUnavailable(f"{shown}: {getattr(error, 'orig', None) or error}") from error
    finally:
        engine.dispose()
