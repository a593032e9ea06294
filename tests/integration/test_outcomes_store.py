"""The outcome store on real databases: SQLite files and a throw-away PostgreSQL database per test."""

import datetime as dt
import json
import re
import threading
from collections import namedtuple

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from sga.outcomes import CaseReferenceRefused, OutcomeDraft, OutcomeSchemaMissing, OutcomeStore
from sga.outcomes.migrate import VERSION_TABLE, alembic_config, include_object
from sga.outcomes.models import GENESIS_HASH, AuditEvent, Base
from tests import factories
from tests.databases import execute, migrated_database, require_postgres, unreachable_url

Database = namedtuple("Database", "backend url unreachable_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "postgresql":
        require_postgres()
    with migrated_database(request.param, tmp_path) as url:
        yield Database(request.param, url, unreachable_url(request.param, tmp_path))


@pytest.fixture
def store(database, tmp_path):
    store = OutcomeStore(database.url, tmp_path / "spool")
    yield store
    store.close()


def make_draft(**overrides):
    """The store's tests use their own answers and texts: anything JSON the checklist could produce."""
    fields = dict(
        content_version="2024.11",
        channel="socketio",
        answers={"injury_unexplained": "yes", "child_said_something": False, "concerns": ["neglect", "bruising"]},
        outcome="refer_to_front_door",
        outcome_summary="Refer to the Integrated Front Door today.",
        next_steps=["Phone the Integrated Front Door", "Record the referral time"],
        rationale="An unexplained injury to a non-mobile baby needs a referral (KM 2.4.1 §3).",
        sender_id="socketio-session-8c1f",
        practitioner_role="health_visitor",
        case_reference="KM/123/45",
    )
    fields.update(overrides)
    return factories.make_draft(**fields)


def scalar(url, statement, **params):
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            query = text(statement) if isinstance(statement, str) else statement
            return connection.execute(query, params).scalar()
    finally:
        engine.dispose()


def test_save_writes_the_record_and_its_audit_event(store, database):
    draft = make_draft()
    result = store.save(draft)

    assert result.stored and result.reference == draft.reference
    assert re.fullmatch(r"SGA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", result.reference)
    [record] = store.records()
    assert record == draft.as_record()
    assert record["completed_at"].tzinfo == dt.timezone.utc
    assert record["case_reference"] == "KM/123/45" and record["practitioner_role"] == "health_visitor"
    assert record["conversation_hash"] != "socketio-session-8c1f" and len(record["conversation_hash"]) == 64
    assert scalar(database.url, "SELECT prev_hash FROM outcome_audit_events WHERE seq = 1") == GENESIS_HASH
    assert scalar(database.url, "SELECT last_seq FROM outcome_chain_head") == 1


def test_saving_the_same_draft_again_stores_it_once(store, database):
    draft = make_draft()
    assert store.save(draft).stored
    assert store.save(draft).stored
    assert scalar(database.url, "SELECT COUNT(*) FROM outcome_records") == 1
    assert scalar(database.url, "SELECT COUNT(*) FROM outcome_audit_events") == 1
    assert store.verify().ok


def test_records_filter_by_completion_date_and_kind(store):
    day = dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.timezone.utc)
    early = make_draft(completed_at=day)
    late = make_draft(completed_at=day + dt.timedelta(days=2), checklist_kind="disclosure_decision")
    for draft in (late, early):
        store.save(draft)
    assert [r["id"] for r in store.records()] == [early.id, late.id]
    assert [r["id"] for r in store.records(since=dt.date(2024, 3, 2))] == [late.id]
    assert [r["id"] for r in store.records(since=dt.date(2024, 3, 1))] == [early.id, late.id]
    assert [r["id"] for r in store.records(kind="recognition")] == [early.id]
    assert store.records(since=dt.date(2024, 3, 4)) == []


def test_verify_passes_on_an_untouched_log(store):
    for _ in range(3):
        store.save(make_draft())
    result = store.verify()
    assert result.ok and result.checked == 3 and result.first_broken_reference is None


def test_verify_passes_on_an_empty_log(store):
    assert store.verify().ok and store.verify().checked == 0


def test_editing_a_record_is_detected_and_named(store, database):
    drafts = [make_draft() for _ in range(3)]
    for draft in drafts:
        store.save(draft)
    changed = execute(
        database.url,
        "UPDATE outcome_records SET outcome = :outcome WHERE id = :id",
        outcome="no_further_action",
        id=drafts[1].id,
    )
    assert changed == 1

    result = store.verify()
    assert not result.ok
    assert result.first_broken_reference == drafts[1].reference
    assert result.reason.startswith("record edited")


def test_editing_an_audit_event_is_detected(store, database):
    drafts = [make_draft() for _ in range(3)]
    for draft in drafts:
        store.save(draft)
    execute(database.url, "UPDATE outcome_audit_events SET event_type = :kind WHERE seq = 2", kind="outcome_withdrawn")

    result = store.verify()
    assert not result.ok and result.first_broken_reference == drafts[1].reference
    assert result.reason.startswith("event edited")


def test_rewriting_a_record_and_recomputing_its_event_still_breaks_the_chain(store, database):
    from sga.outcomes.chain import event_hash
    from sga.outcomes.draft import payload_hash

    drafts = [make_draft() for _ in range(3)]
    for draft in drafts:
        store.save(draft)
    forged = {**drafts[0].as_record(), "outcome": "no_further_action"}
    execute(
        database.url,
        "UPDATE outcome_records SET outcome = :outcome WHERE id = :id",
        outcome=forged["outcome"],
        id=drafts[0].id,
    )
    created_at = scalar(database.url, select(AuditEvent.created_at).where(AuditEvent.seq == 1))
    new_payload = payload_hash(forged)
    new_hash = event_hash(GENESIS_HASH, 1, drafts[0].id, "outcome_recorded", created_at, new_payload)
    execute(
        database.url,
        "UPDATE outcome_audit_events SET payload_hash = :payload, hash = :hash WHERE seq = 1",
        payload=new_payload,
        hash=new_hash,
    )

    result = store.verify()
    assert not result.ok and result.first_broken_reference == drafts[0].reference
    assert result.reason.startswith("chain broken")


@pytest.mark.parametrize("position", [0, 1, 2])
def test_deleting_an_audit_event_is_detected(store, database, position):
    drafts = [make_draft() for _ in range(3)]
    for draft in drafts:
        store.save(draft)
    assert execute(database.url, "DELETE FROM outcome_audit_events WHERE seq = :seq", seq=position + 1) == 1

    result = store.verify()
    assert not result.ok and result.first_broken_reference == drafts[position].reference
    assert result.reason.startswith("event missing")


def test_an_unavailable_database_spools_and_flush_writes_exactly_once(database, tmp_path):
    spool = tmp_path / "spool"
    offline = OutcomeStore(database.unreachable_url, spool)
    draft = make_draft()

    result = offline.save(draft)
    assert result == type(result)(draft.reference, stored=False)
    assert [p.name for p in spool.iterdir()] == [f"{draft.id}.json"]  # no temporary files left behind
    spooled = (spool / f"{draft.id}.json").read_text()
    assert "socketio-session-8c1f" not in spooled
    assert OutcomeDraft.from_json(spooled) == draft
    assert offline.save(draft).stored is False  # a retry while still offline keeps one file
    assert len(list(spool.iterdir())) == 1

    online = OutcomeStore(database.url, spool)
    assert online.flush_spool() == 1
    assert online.flush_spool() == 0
    assert list(spool.iterdir()) == []
    assert online.save(draft).stored  # the same draft again: already there, not duplicated
    assert scalar(database.url, "SELECT COUNT(*) FROM outcome_records") == 1
    assert scalar(database.url, "SELECT COUNT(*) FROM outcome_audit_events") == 1
    assert online.verify().ok
    online.close()
    offline.close()


def test_save_writes_spooled_outcomes_first(database, tmp_path):
    spool = tmp_path / "spool"
    offline = OutcomeStore(database.unreachable_url, spool)
    first = make_draft()
    offline.save(first)

    online = OutcomeStore(database.url, spool)
    second = make_draft()
    assert online.save(second).stored
    assert [r["id"] for r in online.records()] == [first.id, second.id]
    assert scalar(database.url, "SELECT record_id FROM outcome_audit_events WHERE seq = 1") == first.id
    assert list(spool.iterdir()) == []
    online.close()


def test_an_unreadable_spool_file_is_set_aside(store, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "broken.json").write_text("{not json")
    assert store.flush_spool() == 0
    assert [p.name for p in spool.iterdir()] == ["broken.rejected"]


def test_missing_tables_give_a_clear_error_and_keep_the_outcome(database, tmp_path):
    command.downgrade(alembic_config(database.url), "base")
    store = OutcomeStore(database.url, tmp_path / "spool")
    draft = make_draft()

    with pytest.raises(OutcomeSchemaMissing, match="run `sga db upgrade`"):
        store.records()
    with pytest.raises(OutcomeSchemaMissing, match="run `sga db upgrade`"):
        store.save(draft)
    assert (tmp_path / "spool" / f"{draft.id}.json").exists()
    store.close()


def test_concurrent_saves_keep_the_chain_valid(database, tmp_path):
    # Two stores stand for two action-server processes; each has its own engine and connection pool.
    stores = [OutcomeStore(database.url, tmp_path / "spool") for _ in range(2)]
    drafts = [make_draft() for _ in range(40)]
    start = threading.Barrier(8)
    failures = []

    def worker(index):
        start.wait()
        try:
            for draft in drafts[index::8]:
                assert stores[index % 2].save(draft).stored
        except Exception as error:  # reported below; an exception in a thread would otherwise vanish
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    result = stores[0].verify()
    assert result.ok and result.checked == 40
    seqs = scalar(database.url, "SELECT COUNT(DISTINCT prev_hash) FROM outcome_audit_events")
    assert seqs == 40  # no two events share a predecessor: the chain never forked
    assert scalar(database.url, "SELECT MAX(seq) FROM outcome_audit_events") == 40
    for store in stores:
        store.close()


def test_the_models_match_the_migrations(database):
    engine = create_engine(database.url, future=True)
    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": include_object, "version_table": VERSION_TABLE}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_draft_validation():
    with pytest.raises(ValueError, match="partnership"):
        make_draft(partnership="london")
    with pytest.raises(ValueError, match="practitioner role"):
        make_draft(practitioner_role="head chef")
    with pytest.raises(CaseReferenceRefused, match="a person's name"):
        make_draft(case_reference="John Smith")
    with pytest.raises(ValueError, match="timezone-aware"):
        make_draft(completed_at=dt.datetime(2024, 3, 1, 12, 0))
    draft = make_draft(case_reference=None, practitioner_role=None)
    assert draft.case_reference is None and draft.practitioner_role is None
    assert OutcomeDraft.from_json(draft.to_json()) == draft
    assert json.loads(draft.to_json())["reference"] == draft.reference


# Faults at save time: the database goes away, fills up or is read-only.


def count(url, table):
    return scalar(url, f"SELECT COUNT(*) FROM {table}")


def test_a_commit_lost_after_writing_is_not_duplicated_when_the_spool_is_flushed(database, tmp_path):
    # The connection drops as the commit is acknowledged: the record is in, but the store cannot know.
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    store = OutcomeStore(database.url, tmp_path / "spool")
    draft = make_draft()
    lost = []

    def connection_lost(session):
        if not lost:
            lost.append(True)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    sa_event.listen(Session, "after_commit", connection_lost)
    try:
        result = store.save(draft)
    finally:
        sa_event.remove(Session, "after_commit", connection_lost)
    assert result.stored is False and (tmp_path / "spool" / f"{draft.id}.json").exists()
    assert count(database.url, "outcome_records") == 1  # it was written after all

    assert store.flush_spool() == 0  # already there: not written again
    assert list((tmp_path / "spool").iterdir()) == []
    assert store.save(draft).stored and store.flush_spool() == 0
    assert count(database.url, "outcome_records") == 1 and count(database.url, "outcome_audit_events") == 1
    assert store.verify().ok
    store.close()


def test_two_processes_flushing_the_same_spool_write_each_outcome_once(database, tmp_path):
    spool = tmp_path / "spool"
    offline = OutcomeStore(database.unreachable_url, spool)
    drafts = [make_draft() for _ in range(12)]
    for draft in drafts:
        assert offline.save(draft).stored is False
    offline.close()

    stores = [OutcomeStore(database.url, spool) for _ in range(2)]
    start, written, failures = threading.Barrier(2), [], []

    def flush(store):
        start.wait()
        try:
            written.append(store.flush_spool())
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=flush, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and sum(written) == 12
    assert count(database.url, "outcome_records") == 12 and count(database.url, "outcome_audit_events") == 12
    assert list(spool.iterdir()) == []
    assert [r["id"] for r in stores[0].records()] == [d.id for d in sorted(drafts, key=lambda d: d.completed_at)]
    assert stores[0].verify().ok
    for store in stores:
        store.close()


def sqlite_file(url):
    return url[len("sqlite:///") :]


def test_sqlite_disk_full_spools_the_outcome_and_leaves_nothing_half_written(tmp_path):
    from sqlalchemy import event as sa_event

    with migrated_database("sqlite", tmp_path) as url:
        store = OutcomeStore(url, tmp_path / "spool")
        first = make_draft()
        assert store.save(first).stored
        pages = scalar(url, "PRAGMA page_count")
        # SQLite's own "database or disk is full" (SQLITE_FULL): no page may be added to the file.
        sa_event.listen(
            store._engine, "connect", lambda connection, _: connection.execute(f"PRAGMA max_page_count = {pages}")
        )
        store._engine.dispose()
        big = make_draft(rationale="Reasons recorded at length. " * 400)  # needs new pages

        result = store.save(big)
        assert result.stored is False and (tmp_path / "spool" / f"{big.id}.json").exists()
        assert count(url, "outcome_records") == 1 and count(url, "outcome_audit_events") == 1
        assert scalar(url, "SELECT last_seq FROM outcome_chain_head") == 1
        assert store.verify().ok  # nothing half-written: the transaction was rolled back whole
        store.close()

        freed = OutcomeStore(url, tmp_path / "spool")  # space freed, service restarted
        assert freed.flush_spool() == 1 and freed.flush_spool() == 0
        assert [r["id"] for r in freed.records()] == [first.id, big.id] and freed.verify().ok
        freed.close()


def test_sqlite_read_only_spools_the_outcome_and_still_reads(tmp_path):
    with migrated_database("sqlite", tmp_path) as url:
        writable = OutcomeStore(url, tmp_path / "spool")
        first = make_draft()
        writable.save(first)
        writable.close()
        read_only = OutcomeStore(f"sqlite:///file:{sqlite_file(url)}?mode=ro&uri=true", tmp_path / "spool")
        draft = make_draft()
        assert read_only.save(draft).stored is False
        assert (tmp_path / "spool" / f"{draft.id}.json").exists()
        assert [r["id"] for r in read_only.records()] == [first.id]  # exports still work
        assert read_only.verify().ok
        read_only.close()
        assert count(url, "outcome_records") == 1


def test_database_and_spool_both_unwritable_is_a_clear_error_with_nothing_left_behind(database, tmp_path, monkeypatch):
    import errno
    import io

    from sga.outcomes import OutcomeNotSaved
    from sga.outcomes import store as store_module

    class FullDisk(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    real_fdopen = store_module.os.fdopen

    def full_fdopen(handle, *args, **kwargs):
        store_module.os.close(handle)
        return FullDisk()

    monkeypatch.setattr(store_module.os, "fdopen", full_fdopen)
    offline = OutcomeStore(database.unreachable_url, tmp_path / "spool")
    draft = make_draft()
    with pytest.raises(OutcomeNotSaved, match=f"Outcome {draft.reference} was not saved.*No space left on device"):
        offline.save(draft)
    assert list((tmp_path / "spool").iterdir()) == []  # no partial or temporary file
    monkeypatch.setattr(store_module.os, "fdopen", real_fdopen)
    assert offline.save(draft).stored is False  # the disk has room again: spooled as usual
    offline.close()


def test_a_save_retried_with_the_same_record_id_is_stored_once(store, database):
    # The user saw a timeout and pressed Save again, but the first attempt had reached the database.
    import uuid

    run_id = str(uuid.uuid4())
    first, retry = make_draft(record_id=run_id), make_draft(record_id=run_id)
    assert first.id == retry.id == run_id and first.reference == retry.reference
    assert store.save(first).stored and store.save(retry).stored
    assert count(database.url, "outcome_records") == 1 and store.verify().ok
