"""Group training results: the `training_` tables made by the real migrations, the store, the summary
and `sga training-report` (its errors are one line, never a traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sga.outcomes.migrate import VERSION_TABLE, upgrade
from sga.settings import PROJECT_ROOT
from sga.training import PSEUDONYMS, Answer, SessionNotFound, TrainingStore, find_code, new_code, summarise
from sga.training.sessions import CODE_ALPHABET, TRAINING_TABLES, metadata


@pytest.fixture
def url(tmp_path):
    database = f"sqlite:///{tmp_path / 'outcomes.db'}"
    upgrade(database)
    return database


def sga(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_training_tables_match_the_migration_and_stay_out_of_the_outcome_log(url):
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
        assert set(TRAINING_TABLES) <= names
        options = {
            "compare_type": True,
            "version_table": VERSION_TABLE,
            "include_object": lambda obj, name, type_, reflected, compare_to: (
                type_ != "table" or name.startswith("training_")
            ),
        }
        assert compare_metadata(MigrationContext.configure(connection, opts=options), metadata) == []
    engine.dispose()
    assert not any(name.startswith("outcome_") for name in TRAINING_TABLES)


def test_codes_are_short_unambiguous_and_found_in_what_people_type():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1IL2Z5S8B") & set(CODE_ALPHABET)
    assert find_code("join session k7p4qm please") == "K7P4QM"
    assert find_code("join session") is None
    assert find_code("market garden") is None, "a six-letter word is not a code"


def test_sessions_pseudonyms_results_and_summary(url):
    store = TrainingStore(url)
    session = store.create_session("new_partner_caution", "end", "a" * 64)
    assert store.session(session.code.lower()).scenario_id == "new_partner_caution"
    with pytest.raises(SessionNotFound):
        store.session("K7P4QM" if session.code != "K7P4QM" else "M7P4QK")
    with pytest.raises(ValueError, match="generated list"):
        store.join(session.code, "John Smith")
    first = store.join(session.code, PSEUDONYMS[0])
    second = store.join(session.code, None)
    assert (first.display, second.display) == (PSEUDONYMS[0], "Anonymous 2")
    store.record(
        session.code,
        first.id,
        "new_partner_caution",
        [Answer("km_caution", "yes", "yes", True), Answer("km_mappa", "no", "not_known", False)],
    )
    store.record(
        session.code,
        second.id,
        "new_partner_caution",
        [Answer("km_caution", "no", "yes", False), Answer("km_mappa", "no", "not_known", False)],
    )
    # A second finish by the same trainee replaces the first.
    store.record(
        session.code,
        first.id,
        "new_partner_caution",
        [Answer("km_caution", "yes", "yes", True), Answer("km_mappa", "not_known", "not_known", True)],
    )
    rows = store.rows(session=session.code)
    assert len(rows) == 4
    summary = summarise(rows)
    assert sorted(summary.trainees) == sorted([("Anonymous 2", 0, 2), (PSEUDONYMS[0], 2, 2)])
    assert [(i.item_id, i.matched, i.answered) for i in summary.items] == [("km_caution", 1, 2), ("km_mappa", 1, 2)]
    assert summary.scenarios[0].percent == 50
    store.close()


def test_training_report_errors_are_one_line(url, tmp_path):
    missing = sga("training-report", "--session", "K7P4QM", "--out", str(tmp_path / "r"), "--url", url)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert "no session has the code" in missing.stderr
    bad_date = sga("training-report", "--since", "27/11/2026", "--out", str(tmp_path / "r"), "--url", url)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr and "Traceback" not in bad_date.stderr
    nothing = sga("training-report", "--since", "2000-01-01", "--out", str(tmp_path / "r"), "--url", url)
    assert nothing.returncode == 1 and "no results yet" in nothing.stderr
    unmigrated = sga(
        "training-report",
        "--since",
        "2000-01-01",
        "--out",
        str(tmp_path / "r"),
        "--url",
        f"sqlite:///{tmp_path / 'empty.db'}",
    )
    assert unmigrated.returncode == 1 and "sga db upgrade" in unmigrated.stderr and "Traceback" not in unmigrated.stderr
    both = sga("training-report", "--session", "K7P4QM", "--since", "2026-01-01", "--out", str(tmp_path))
    assert both.returncode == 2 and "not allowed with" in both.stderr
