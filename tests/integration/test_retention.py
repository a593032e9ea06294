"""Retention and audit on real databases (SQLite files and throw-away PostgreSQL databases):
`sga purge` deletes conversations and outcome records past the retention period and leaves the audit
chain verifiable through a checkpoint; `sga verify` prints the chain head and checks a recorded one."""

import asyncio
import datetime as dt
import re
import subprocess
import sys

import pytest
from alembic import command
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from sga.outcomes import ChainInvalid, OutcomeStore
from sga.outcomes.chain import event_hash
from sga.outcomes.draft import payload_hash
from sga.outcomes.migrate import alembic_config, upgrade
from sga.outcomes.retention import purge_trackers
from sga_tools.cli import main as sga
from tests import factories
from tests.databases import empty_database, execute, migrated_database, require_postgres

NOW = dt.datetime.now(dt.timezone.utc)
OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=20)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    if request.param == "postgresql":
        require_postgres()
    return request.param


@pytest.fixture
def url(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOME_SPOOL_DIR", str(tmp_path / "spool"))
    with migrated_database(backend, tmp_path) as database_url:
        yield database_url


@pytest.fixture
def store(url, tmp_path):
    store = OutcomeStore(url, tmp_path / "spool")
    yield store
    store.close()


def make_draft(completed_at, kind="recognition"):
    return factories.make_draft(checklist_kind=kind, completed_at=completed_at)


def scalar(url, statement, **params):
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(text(statement), params).scalar()
    finally:
        engine.dispose()


def saved(store, *dates):
    drafts = [make_draft(date) for date in dates]
    for draft in drafts:
        assert store.save(draft).stored
    return drafts


def test_purge_deletes_old_records_keeps_recent_ones_and_the_chain_still_verifies(store, url):
    old1, recent, old2 = saved(store, OLD, RECENT, OLD - dt.timedelta(days=3))
    before = store.verify()
    assert before.ok and before.head_seq == 3 and re.fullmatch(r"[0-9a-f]{64}", before.head_hash)

    assert store.purge(NOW - dt.timedelta(days=365), dry_run=True).records == 2
    assert scalar(url, "SELECT COUNT(*) FROM outcome_records") == 3  # a dry run changes nothing

    result = store.purge(NOW - dt.timedelta(days=365))
    assert result.records == 2 and result.checkpoint_seq == 4
    assert [r["id"] for r in store.records()] == [recent.id]
    assert scalar(url, "SELECT COUNT(*) FROM outcome_audit_events") == 4  # every event stays
    after = store.verify()
    assert after.ok and after.checked == 1 and after.purged == 2
    assert after.head_hash == result.head_hash != before.head_hash and after.head_seq == 4
    # The head recorded before the purge is still in the chain: the new head descends from it.
    assert store.verify(expect_head=before.head_hash).ok
    assert store.purge(NOW - dt.timedelta(days=365)).records == 0  # nothing more to purge

    later = saved(store, NOW)[0]
    assert store.verify(expect_head=after.head_hash).ok and store.verify().checked == 2
    assert {r["id"] for r in store.records()} == {recent.id, later.id}
    assert old1.id not in str(store.records()) and old2.id not in str(store.records())


def test_a_late_retry_of_a_purged_outcome_is_not_brought_back(store, url):
    [old] = saved(store, OLD)
    store.purge(NOW - dt.timedelta(days=365))
    assert store.save(old).stored  # e.g. a spool flushed long after: already recorded, so skipped
    assert scalar(url, "SELECT COUNT(*) FROM outcome_records") == 0
    assert store.verify().ok


def test_deleting_a_recent_record_is_still_detected_after_a_purge(store, url):
    _, recent = saved(store, OLD, RECENT)
    store.purge(NOW - dt.timedelta(days=365))
    execute(url, "DELETE FROM outcome_records WHERE id = :id", id=recent.id)
    result = store.verify()
    assert not result.ok and result.first_broken_reference == recent.reference
    assert result.reason.startswith("record missing")


def test_listing_a_deleted_record_in_the_checkpoint_breaks_the_chain(store, url):
    _, recent = saved(store, OLD, RECENT)
    store.purge(NOW - dt.timedelta(days=365))
    execute(url, "DELETE FROM outcome_records WHERE id = :id", id=recent.id)
    ids = scalar(url, "SELECT record_ids FROM outcome_checkpoints")
    forged = ids.replace("]", f', "{recent.id}"]') if isinstance(ids, str) else None
    if forged is None:  # PostgreSQL JSON comes back parsed
        import json

        forged = json.dumps(ids + [recent.id])
    execute(url, "UPDATE outcome_checkpoints SET record_ids = :ids", ids=forged)
    result = store.verify()
    assert not result.ok and result.reason.startswith("checkpoint edited")


def test_a_checkpoint_added_outside_the_chain_is_detected(store, url):
    old, recent = saved(store, OLD, RECENT)
    execute(url, "DELETE FROM outcome_records WHERE id = :id", id=recent.id)
    execute(
        url,
        "INSERT INTO outcome_checkpoints (seq, purged_before, record_ids, created_at) VALUES (2, :t, :ids, :t)",
        t=NOW.replace(tzinfo=None),
        ids=f'["{recent.id}"]',
    )
    result = store.verify()
    assert not result.ok
    assert result.reason.startswith("checkpoint not in the chain") or result.reason.startswith("record missing")


def test_purge_refuses_to_run_on_a_chain_that_does_not_verify(store, url):
    old, recent = saved(store, OLD, RECENT)
    execute(url, "UPDATE outcome_records SET outcome = 'none' WHERE id = :id", id=recent.id)
    with pytest.raises(ChainInvalid, match="nothing was purged"):
        store.purge(NOW - dt.timedelta(days=365))
    assert scalar(url, "SELECT COUNT(*) FROM outcome_records") == 2


def recompute_whole_chain(url):
    """What someone with write access could do: rewrite a record, then recompute every hash and the head."""
    from sqlalchemy.orm import Session

    from sga.outcomes.models import AuditEvent, ChainHead, OutcomeRecord
    from sga.outcomes.store import make_engine

    engine = make_engine(url)
    with Session(engine, future=True) as session, session.begin():
        records = {r.id: r for r in session.query(OutcomeRecord)}
        previous = "0" * 64
        for event in session.query(AuditEvent).order_by(AuditEvent.seq):
            record = records[event.record_id]
            event.payload_hash = payload_hash({c.name: getattr(record, c.name) for c in record.__table__.columns})
            event.prev_hash = previous
            event.hash = previous = event_hash(
                previous, event.seq, event.record_id, event.event_type, event.created_at, event.payload_hash
            )
        session.get(ChainHead, 1).last_hash = previous
    engine.dispose()


def test_a_recomputed_chain_passes_alone_but_not_against_the_recorded_head(store, url, capsys):
    drafts = saved(store, RECENT, RECENT, NOW)
    assert sga(["verify", "--url", url]) == 0
    out = capsys.readouterr().out
    recorded = re.search(r"Chain head: ([0-9a-f]{64}) \(event 3\)", out).group(1)

    execute(url, "UPDATE outcome_records SET outcome = 'no_further_action' WHERE id = :id", id=drafts[0].id)
    recompute_whole_chain(url)
    assert store.verify().ok  # the forgery is self-consistent...
    result = store.verify(expect_head=recorded)
    assert not result.ok and result.reason.startswith("head not found")  # ...but not the recorded head
    assert sga(["verify", "--url", url, "--expect-head", recorded]) == 1
    assert "head not found" in capsys.readouterr().out


def test_cli_purge_dry_run_then_purge_then_verify_against_the_earlier_head(url, tmp_path, capsys, backend):
    store = OutcomeStore(url, tmp_path / "spool")
    saved(store, OLD, RECENT)
    store.close()
    tracker_url = conversations_database(backend, tmp_path, url)
    assert sga(["verify", "--url", url]) == 0
    head = re.search(r"Chain head: ([0-9a-f]{64})", capsys.readouterr().out).group(1)

    assert sga(["purge", "--older-than", "365", "--dry-run", "--url", url, "--tracker-url", tracker_url]) == 0
    out = capsys.readouterr().out
    assert "Conversations idle since before" in out and ": 1 (4 tracker events) would be deleted" in out
    assert re.search(r"Outcome records completed before .*: 1 would be deleted", out)
    assert scalar(url, "SELECT COUNT(*) FROM outcome_records") == 2

    assert sga(["purge", "--older-than", "365", "--url", url, "--tracker-url", tracker_url]) == 0
    out = capsys.readouterr().out
    assert ": 1 (4 tracker events) deleted" in out and re.search(r"completed before .*: 1 deleted", out)
    new_head = re.search(r"New chain head: ([0-9a-f]{64})", out).group(1)
    assert sga(["verify", "--url", url, "--expect-head", head.upper()]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 1 records, chain intact (1 purged after the retention period)")
    assert "The recorded head is in the chain." in out and f"Chain head: {new_head} (event 3)" in out
    assert sga(["verify", "--url", url, "--expect-head", new_head]) == 0
    assert "The recorded head is the chain head." in capsys.readouterr().out


def test_cli_refuses_bad_arguments_in_one_line(url, capsys):
    for argv in (
        ["purge", "--older-than", "0"],
        ["purge", "--older-than", "a year"],
        ["verify", "--expect-head", "abc123"],
    ):
        with pytest.raises(SystemExit) as exit_:
            sga([*argv, "--url", url])
        assert exit_.value.code == 2
        error = capsys.readouterr().err
        assert "Traceback" not in error and ("invalid number of days" in error or "invalid chain head" in error)


def test_a_broken_chain_fails_purge_in_one_line(url, tmp_path, capsys):
    store = OutcomeStore(url, tmp_path / "spool")
    old, _ = saved(store, OLD, RECENT)
    store.close()
    execute(url, "UPDATE outcome_records SET outcome = 'none' WHERE id = :id", id=old.id)
    assert sga(["purge", "--older-than", "365", "--url", url, "--tracker-url", url]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "nothing was purged" in error and old.reference in error


# Conversation trackers, written by Rasa's own SQL tracker store.


def conversation(sender, first, last):
    """A conversation whose first event is at `first` and whose last is at `last`."""
    return DialogueStateTracker.from_events(
        sender,
        [
            SessionStarted(timestamp=first.timestamp()),
            ActionExecuted("action_listen", timestamp=first.timestamp()),
            UserUttered("what are the mappa levels", {"name": "ask_mappa_levels"}, timestamp=first.timestamp()),
            BotUttered("Level 1, Level 2, Level 3", timestamp=last.timestamp()),
        ],
    )


def conversations_database(backend, tmp_path, url):
    """The idle conversation, one that began long ago but is still going on, and a recent one."""
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}" if backend == "sqlite" else url
    store = SQLTrackerStore(Domain.empty(), host=tracker_url)

    async def write():
        await store.save(conversation("idle", OLD, OLD + dt.timedelta(minutes=5)))
        await store.save(conversation("long-running", OLD, NOW - dt.timedelta(days=2)))
        await store.save(conversation("recent", RECENT, RECENT))

    asyncio.run(write())
    store.engine.dispose()
    return tracker_url


def test_tracker_purge_deletes_whole_idle_conversations_only(backend, tmp_path):
    with empty_database(backend, tmp_path) as url:
        tracker_url = conversations_database(backend, tmp_path, url)
        cutoff = NOW - dt.timedelta(days=365)
        assert purge_trackers(tracker_url, cutoff, dry_run=True).conversations == 1
        assert scalar(tracker_url, "SELECT COUNT(DISTINCT sender_id) FROM events") == 3
        result = purge_trackers(tracker_url, cutoff)
        assert (result.conversations, result.events) == (1, 4)
        senders = {
            row
            for row in [
                scalar(tracker_url, "SELECT COUNT(*) FROM events WHERE sender_id = :s", s=s)
                for s in ("idle", "long-running", "recent")
            ]
        }
        assert scalar(tracker_url, "SELECT COUNT(*) FROM events WHERE sender_id = 'idle'") == 0
        assert senders == {0, 4}
        store = SQLTrackerStore(Domain.empty(), host=tracker_url)
        kept = asyncio.run(store.retrieve("long-running"))
        assert kept is not None and kept.latest_message.text == "what are the mappa levels"
        store.engine.dispose()


def test_tracker_purge_with_no_conversations_yet(tmp_path):
    missing = f"sqlite:///{tmp_path / 'never-created.db'}"
    assert purge_trackers(missing, NOW).conversations == 0
    assert not (tmp_path / "never-created.db").exists()


def test_upgrading_a_log_with_records_keeps_them_verifiable(backend, tmp_path):
    with empty_database(backend, tmp_path) as url:
        upgrade(url, "0001_outcome_log")
        engine = create_engine(url, future=True)
        # Two records written by the 0001 schema (raw SQL: today's code expects the new table).
        draft = make_draft(RECENT)
        record = draft.as_record()
        created = NOW
        with engine.begin() as connection:
            import json

            values = {
                **record,
                "answers": json.dumps(record["answers"]),
                "next_steps": json.dumps(record["next_steps"]),
            }
            if backend == "sqlite":
                values.update(
                    created_at=record["created_at"].replace(tzinfo=None),
                    completed_at=record["completed_at"].replace(tzinfo=None),
                )
            connection.execute(
                text(
                    "INSERT INTO outcome_records (id, reference, checklist_kind, content_version, partnership, channel, "
                    "practitioner_role, case_reference, answers, outcome, outcome_summary, next_steps, rationale, "
                    "conversation_hash, created_at, completed_at) VALUES (:id, :reference, :checklist_kind, "
                    ":content_version, :partnership, :channel, :practitioner_role, :case_reference, :answers, :outcome, "
                    ":outcome_summary, :next_steps, :rationale, :conversation_hash, :created_at, :completed_at)"
                ),
                values,
            )
            chained = event_hash("0" * 64, 1, draft.id, "outcome_recorded", created, payload_hash(record))
            connection.execute(
                text(
                    "INSERT INTO outcome_audit_events "
                    "(seq, record_id, event_type, payload_hash, prev_hash, hash, created_at) "
                    "VALUES (1, :id, 'outcome_recorded', :payload, :prev, :hash, :created)"
                ),
                {
                    "id": draft.id,
                    "payload": payload_hash(record),
                    "prev": "0" * 64,
                    "hash": chained,
                    "created": created.replace(tzinfo=None) if backend == "sqlite" else created,
                },
            )
            connection.execute(text("UPDATE outcome_chain_head SET last_seq = 1, last_hash = :hash"), {"hash": chained})
        engine.dispose()

        upgrade(url)
        store = OutcomeStore(url, tmp_path / "spool")
        result = store.verify(expect_head=chained)
        assert result.ok and result.checked == 1 and result.head_hash == chained
        command.downgrade(alembic_config(url), "0001_outcome_log")  # back down while nothing is purged
        upgrade(url)
        assert store.purge(NOW).records == 1 and store.verify(expect_head=chained).ok
        with pytest.raises(RuntimeError, match="records were purged"):
            command.downgrade(alembic_config(url), "0001_outcome_log")
        assert store.verify(expect_head=chained).ok
        store.close()


def test_the_cli_runs_as_a_program_and_purge_prints_one_line_errors(tmp_path):
    env_url = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sga_tools.cli",
            "purge",
            "--older-than",
            "30",
            "--url",
            env_url,
            "--tracker-url",
            env_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_cli_purges_conversations_and_outcomes_on_separate_periods(url, tmp_path, capsys, backend):
    store = OutcomeStore(url, tmp_path / "spool")
    saved(store, OLD, RECENT)
    tracker_url = conversations_database(backend, tmp_path, url)
    # Conversations: 14 days (the recent one goes too); outcome records: untouched.
    assert (
        sga(["purge", "--older-than", "14", "--only", "conversations", "--url", url, "--tracker-url", tracker_url]) == 0
    )
    out = capsys.readouterr().out
    assert ": 2 (8 tracker events) deleted" in out and "Outcome records" not in out
    assert scalar(url, "SELECT COUNT(*) FROM outcome_records") == 2
    # Outcome records: 365 days; conversations: untouched (the long-running one is still there).
    assert sga(["purge", "--older-than", "365", "--only", "outcomes", "--url", url, "--tracker-url", tracker_url]) == 0
    out = capsys.readouterr().out
    assert "Conversations" not in out and re.search(r"completed before .*: 1 deleted", out)
    assert scalar(tracker_url, "SELECT COUNT(DISTINCT sender_id) FROM events") == 1
    assert store.verify().ok
    store.close()
