"""`sga db upgrade`, `sga export`, `sga verify` and `sga spool flush` through the real `sga` entry point."""

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from sga.outcomes import OutcomeStore
from sga.outcomes.draft import RECORD_COLUMNS
from sga.settings import PROJECT_ROOT
from sga_tools.cli import main as sga
from tests import factories
from tests.databases import empty_database, require_postgres, unreachable_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, monkeypatch):
    """An empty database (the tests migrate it with `sga db upgrade`); the spool lives in tmp_path."""
    if request.param == "postgresql":
        require_postgres()
    monkeypatch.setenv("OUTCOME_SPOOL_DIR", str(tmp_path / "spool"))
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def migrated_url(database_url, capsys):
    assert sga(["db", "upgrade", "--url", database_url]) == 0
    capsys.readouterr()
    return database_url


def make_draft(day=dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.timezone.utc), kind="recognition"):
    return factories.make_draft(
        checklist_kind=kind,
        partnership="west_midlands",
        answers={"harm_suspected": "yes", "age": 7},
        outcome="consult_dsl",
        outcome_summary="Talk to your designated safeguarding lead today.",
        next_steps=["Speak to the DSL", "Write down what you saw"],
        rationale="A suspicion of harm must be shared with the DSL (WM 1.1).",
        sender_id="rest-user-42",
        practitioner_role="teacher",
        case_reference="CR-2024-0193",
        completed_at=day,
    )


def save_all(url, tmp_path, drafts):
    store = OutcomeStore(url, tmp_path / "spool")
    try:
        assert all(store.save(draft).stored for draft in drafts)
    finally:
        store.close()


def tamper(url, statement, **params):
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text(statement), params)
    engine.dispose()


def test_upgrade_save_and_export_csv_and_json(database_url, tmp_path, capsys):
    assert sga(["db", "upgrade", "--url", database_url]) == 0
    assert "up to date" in capsys.readouterr().out
    assert sga(["db", "upgrade", "--url", database_url]) == 0  # running it again changes nothing
    capsys.readouterr()
    may, june = make_draft(), make_draft(dt.datetime(2024, 6, 3, 16, 45, tzinfo=dt.timezone.utc), "disclosure_decision")
    save_all(database_url, tmp_path, [may, june])

    assert sga(["export", "--format", "csv", "--url", database_url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["reference"] for row in rows] == [may.reference, june.reference]
    assert list(rows[0]) == list(RECORD_COLUMNS)
    assert json.loads(rows[0]["answers"]) == {"harm_suspected": "yes", "age": 7}
    assert json.loads(rows[0]["next_steps"]) == ["Speak to the DSL", "Write down what you saw"]
    assert rows[0]["completed_at"] == "2024-05-01T09:00:00+00:00"
    assert rows[0]["case_reference"] == "CR-2024-0193" and rows[0]["practitioner_role"] == "teacher"

    output = tmp_path / "export.json"
    assert sga(["export", "--format", "json", "--output", str(output), "--url", database_url]) == 0
    exported = json.loads(output.read_text())
    assert [item["id"] for item in exported] == [may.id, june.id]
    assert exported[1]["checklist_kind"] == "disclosure_decision"
    assert exported[1]["completed_at"] == "2024-06-03T16:45:00+00:00"

    assert sga(["export", "--format", "json", "--since", "2024-06-01", "--url", database_url]) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == [june.id]
    assert sga(["export", "--format", "csv", "--kind", "recognition", "--url", database_url]) == 0
    assert [row["id"] for row in csv.DictReader(io.StringIO(capsys.readouterr().out))] == [may.id]
    assert sga(["export", "--format", "json", "--since", "2025-01-01", "--url", database_url]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("since", ["2024-13-01", "01/06/2024", "yesterday"])
def test_export_refuses_an_invalid_date_with_status_2(migrated_url, capsys, since):
    with pytest.raises(SystemExit) as exit_:
        sga(["export", "--format", "csv", "--since", since, "--url", migrated_url])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "invalid date" in error and "YYYY-MM-DD" in error


def test_verify_reports_an_intact_chain_then_names_the_edited_record(migrated_url, tmp_path, capsys):
    drafts = [make_draft() for _ in range(3)]
    save_all(migrated_url, tmp_path, drafts)
    assert sga(["verify", "--url", migrated_url]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "OK: 3 records, chain intact"

    tamper(
        migrated_url, "UPDATE outcome_records SET outcome = :outcome WHERE id = :id", outcome="none", id=drafts[2].id
    )
    assert sga(["verify", "--url", migrated_url]) == 1
    report = capsys.readouterr().out
    assert drafts[2].reference in report and "record edited" in report


def test_verify_detects_a_deleted_audit_event(migrated_url, tmp_path, capsys):
    drafts = [make_draft() for _ in range(2)]
    save_all(migrated_url, tmp_path, drafts)
    tamper(migrated_url, "DELETE FROM outcome_audit_events WHERE record_id = :id", id=drafts[0].id)
    assert sga(["verify", "--url", migrated_url]) == 1
    report = capsys.readouterr().out
    assert drafts[0].reference in report and "event missing" in report


def test_spool_flush_writes_spooled_outcomes_once(migrated_url, tmp_path, capsys):
    backend = "sqlite" if migrated_url.startswith("sqlite") else "postgresql"
    offline = OutcomeStore(unreachable_url(backend, tmp_path), tmp_path / "spool")
    draft = make_draft()
    assert offline.save(draft).stored is False
    offline.close()

    assert sga(["spool", "flush", "--url", migrated_url]) == 0
    assert "Wrote 1 spooled outcome(s)" in capsys.readouterr().out
    assert sga(["spool", "flush", "--url", migrated_url]) == 0
    assert "Wrote 0 spooled outcome(s)" in capsys.readouterr().out
    assert sga(["verify", "--url", migrated_url]) == 0
    assert "OK: 1 records" in capsys.readouterr().out


def test_commands_explain_missing_tables(database_url, capsys):
    assert sga(["verify", "--url", database_url]) == 1
    assert "run `sga db upgrade`" in capsys.readouterr().err


def test_commands_report_an_unreachable_database(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OUTCOME_SPOOL_DIR", str(tmp_path / "spool"))
    assert sga(["export", "--format", "json", "--url", unreachable_url("postgresql", tmp_path)]) == 1
    assert "error:" in capsys.readouterr().err


def test_the_sga_module_runs_as_a_program_with_the_url_from_the_settings(migrated_url, tmp_path):
    save_all(migrated_url, tmp_path, [make_draft()])
    env = {
        **os.environ,
        "DATABASE_URL": migrated_url,
        "OUTCOME_SPOOL_DIR": str(tmp_path / "spool"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }

    def run(*argv):
        return subprocess.run(
            [sys.executable, "-m", "sga_tools.cli", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    verified = run("verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines()[0] == "OK: 1 records, chain intact"
    exported = run("export", "--format", "json")
    assert exported.returncode == 0 and len(json.loads(exported.stdout)) == 1
    refused = run("export", "--format", "csv", "--since", "tomorrow")
    assert refused.returncode == 2 and "invalid date" in refused.stderr


def test_alembic_ini_runs_the_same_migrations(database_url, tmp_path):
    # Plain `alembic -x url=... upgrade head` from the project root, for those who prefer Alembic itself.
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={database_url}", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    store = OutcomeStore(database_url, tmp_path / "spool")
    assert store.verify().ok
    store.close()


def test_export_into_a_pipe_closed_early_exits_quietly(tmp_path):
    """`sga export | head -1` through a real pipe: the reader stops after one line, and sga must not
    print a traceback (Python's BrokenPipeError). Enough records that the output outgrows the pipe."""
    url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    assert sga(["db", "upgrade", "--url", url]) == 0
    store = OutcomeStore(url, tmp_path / "spool")
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    drafts = [make_draft(start + dt.timedelta(hours=i)) for i in range(300)]
    for draft in drafts:
        store._write(draft)  # straight to the database: 300 saves, no spool to check each time
    store.close()
    # PYTHONPATH: this checkout's code, whichever checkout the venv's editable install points at.
    env = {**os.environ, "OUTCOME_SPOOL_DIR": str(tmp_path / "spool"), "PYTHONPATH": str(PROJECT_ROOT)}
    for fmt, first in (("csv", "id,reference,"), ("json", "[")):
        script = (
            f'"{sys.executable}" -m sga_tools.cli export --format {fmt} --url "{url}" 2>"{tmp_path}/err" '
            '| head -1; echo "status=${PIPESTATUS[0]}"'
        )
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        lines = result.stdout.splitlines()
        assert lines[0].startswith(first), result.stdout[:200]
        assert lines[-1] == "status=0"
        assert (tmp_path / "err").read_text() == ""
    # The whole export really is bigger than a pipe's buffer, so the pipe did break above.
    full = subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", "export", "--format", "csv", "--url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(full.stdout) > 2 * 65536 and full.stdout.count("\n") > 300  # Linux pipes hold 64 KiB


def test_export_to_a_directory_is_a_one_line_error(migrated_url, tmp_path, capsys):
    assert sga(["export", "--format", "json", "--output", str(tmp_path), "--url", migrated_url]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: cannot write {tmp_path}") and error.count("\n") == 1


# --- one record's summary as Markdown, for the case file ----------------------------------------------


def recognition_draft(completed_at=dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.timezone.utc)):
    """A record as the recognition checklist saves it for West Midlands (today's content)."""
    from sga.checklists.model import checklists

    checklist = checklists()["recognition"]
    answers = {item.id: "no" for item in checklist.items_for("west_midlands")}
    answers.update(wm_cja="yes", contact_with_children="not_known")
    result = checklist.evaluate(answers, "west_midlands")
    return factories.make_draft(
        checklist_kind="recognition",
        content_version=checklist.version,
        partnership="west_midlands",
        answers=answers,
        outcome=result.outcome,
        outcome_summary=result.summary,
        next_steps=result.next_steps,
        rationale=checklist.rationale(answers, "west_midlands"),
        practitioner_role="probation_officer",
        case_reference="CR-2024-0193",
        completed_at=completed_at,
    )


def test_export_md_gives_one_records_summary_for_the_case_file(migrated_url, tmp_path, capsys):
    from sga.checklists.model import checklists
    from sga.checklists.summary import md

    draft, other = recognition_draft(), make_draft()
    save_all(migrated_url, tmp_path, [draft, other])
    reference = draft.reference.lower()  # as someone might retype it
    assert sga(["export", "--reference", reference, "--format", "md", "--url", migrated_url]) == 0
    out = capsys.readouterr().out
    checklist = checklists()["recognition"]
    assert out.startswith(f"# Recognition checklist: {draft.reference}\n")
    for fact in (
        f"| Reference | {draft.reference} |",
        "| Completed | 1 May 2024, 09:00 UTC |",
        f"| Checklist | Recognition checklist, version {checklist.version} |",
        "| Partnership | West Midlands |",
        "| Practitioner role | Probation officer |",
        "| Case reference | CR-2024-0193 |",
    ):
        assert fact in out, fact
    numbered = [line for line in out.splitlines() if line[:1].isdigit()]
    expected = [(i.question, i.label(draft.answers[i.id])) for i in checklist.items_for("west_midlands")]
    assert numbered == [f"{n}. {md(q)} **{a}**" for n, (q, a) in enumerate(expected, 1)]
    assert "**Yes**" in numbered[1] and "**Not known**" in numbered[-2]
    assert md(draft.outcome_summary) in out
    for step in draft.next_steps:
        assert f"- {md(step)}" in out and "(" in step, "each next step keeps its source"
    assert other.reference not in out and "not legal advice" in out


def test_export_md_of_an_unknown_purged_or_missing_reference(migrated_url, tmp_path, capsys):
    draft = recognition_draft()
    save_all(migrated_url, tmp_path, [draft])
    assert sga(["export", "--reference", "SGA-0000-0000", "--format", "md", "--url", migrated_url]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: no outcome record SGA-0000-0000: check the reference")

    assert sga(["purge", "--older-than", "30", "--only", "outcomes", "--url", migrated_url]) == 0
    capsys.readouterr()
    assert sga(["export", "--reference", draft.reference, "--format", "json", "--url", migrated_url]) == 1
    error = capsys.readouterr().err
    assert f"no outcome record {draft.reference}: it was deleted by `sga purge`" in error and error.count("\n") == 1

    assert sga(["export", "--format", "md", "--url", migrated_url]) == 2
    assert "give --reference" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        sga(["export", "--format", "md", "--reference", "SGA-12", "--url", migrated_url])
    assert exit_.value.code == 2 and "SGA-XXXX-XXXX" in capsys.readouterr().err


def test_export_md_of_a_spooled_record_says_to_flush_the_spool(migrated_url, tmp_path, capsys):
    backend = "sqlite" if migrated_url.startswith("sqlite") else "postgresql"
    offline = OutcomeStore(unreachable_url(backend, tmp_path), tmp_path / "spool")
    draft = recognition_draft()
    assert offline.save(draft).stored is False
    offline.close()
    assert sga(["export", "--reference", draft.reference, "--format", "md", "--url", migrated_url]) == 1
    assert "run `sga spool flush` first" in capsys.readouterr().err
    assert sga(["spool", "flush", "--url", migrated_url]) == 0
    assert sga(["export", "--reference", draft.reference, "--format", "md", "--url", migrated_url]) == 0
    assert f"| Reference | {draft.reference} |" in capsys.readouterr().out
