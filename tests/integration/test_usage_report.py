"""`sga usage-report` over a test conversation set: real conversations over HTTP with a real stack,
then the report against that stack's tracker store and outcome log. The same stack shows that it reports
each server as it answers (what `sga run` prints).

The stack is this module's own (conftest's `stack_settings`, its own databases), not the shared session
`stack`: the report counts every conversation in the tracker store, so the counts below are exact
only when no other test has talked to it.

Set SGA_UPDATE_DOCS_IMAGES=1 to copy the markers chart to docs/images/usage-example.png (the README's).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sga.settings import PROJECT_ROOT
from sga_tools.runner import Stack, print_ready
from tests.conftest import ARTIFACTS, MODEL, Conversation, stack_settings

pytestmark = pytest.mark.integration

WIFI = ["what is the wifi password", "What is the wifi password?"]  # one question, two wordings
EXPENSES = "how do i claim expenses for mileage"
NAMED = "can you book a meeting room for Dave Jones"  # asked twice, but names someone
ONCE = "where is the car park"  # asked in one conversation only
GARBLED = "xqzv plorth wibble"  # the NLU is unsure (nlu_fallback); asked once
PNG = b"\x89PNG\r\n\x1a\n"


def start_checklist(conversation: Conversation, via_picker: bool = False) -> None:
    conversation.say('/inform_partnership{"partnership":"west_midlands"}')
    if via_picker:
        conversation.say("start a checklist")
        conversation.click("Recognition checklist")
    else:
        conversation.say("start the recognition checklist")
    assert "question 1 of" in conversation.text
    conversation.click("No")  # no child in immediate danger


READY = []  # (server, seconds) as the usage stack reported them while starting


@pytest.fixture(scope="module")
def usage_stack(tmp_path_factory):
    settings = stack_settings(tmp_path_factory.mktemp("usage"))
    stack = Stack(settings, model=MODEL, log_dir=ARTIFACTS / "logs" / "usage", on_ready=lambda *r: READY.append(r))
    stack.start()
    try:
        talk(stack)
        yield stack
    finally:
        stack.stop()


def talk(stack) -> None:
    """Seven conversations, one session each."""
    one, two, three, four, saves, stops, leaves = (Conversation(stack) for _ in range(7))
    one.say("what are the MAPPA levels?")
    assert "Level 3" in one.text
    one.say("timescales?")  # a follow-up after an answer
    one.say(WIFI[0])
    one.say(EXPENSES)
    two.say(WIFI[1])
    two.say(EXPENSES.capitalize() + "?")
    two.say("a child is in immediate danger right now")
    assert "999" in two.text
    three.say(EXPENSES)
    three.say(NAMED)
    three.say(GARBLED)
    four.say(NAMED)
    four.say(ONCE)
    assert four.slot("topic") == "out_of_scope", "the assistant could not answer these"

    start_checklist(saves)
    for _ in range(20):
        if "Not known" not in [b["title"] for b in saves.buttons]:
            break
        saves.click("Not known")
    saves.click("Skip")  # role
    saves.click("Skip")  # case reference
    saves.click("Save")
    assert "Your reference is SGA-" in saves.text

    start_checklist(stops, via_picker=True)  # asked for twice: "start a checklist", then its name
    stops.say("stop")
    stops.click("Yes, stop")
    assert "Checklist stopped" in stops.text

    start_checklist(leaves)  # and never comes back


def report(stack, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", "usage-report", "--out", str(out), *args]
        + ["--url", stack.settings.database_url, "--tracker-url", stack.settings.tracker_store_url],
        cwd=PROJECT_ROOT,
        env={**os.environ, "OUTCOME_SPOOL_DIR": stack.settings.spool_dir, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def rows(out: Path):
    with open(out / "usage.csv", encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_usage_report_counts_markers_and_outcomes_and_shows_only_safe_questions(usage_stack, tmp_path):
    out = tmp_path / "report"
    result = report(usage_stack, out)
    assert result.returncode == 0, result.stderr
    assert "7 conversation(s), 1 saved outcome(s), 2 unanswered question(s) shown" in result.stdout
    table = rows(out)
    assert table[0] == {
        "section": "total",
        "name": "sessions",
        "detail": "since all",
        "count": "7",
        "conversations": "7",
    }
    markers = {r["name"]: (int(r["count"]), int(r["conversations"])) for r in table if r["section"] == "marker"}
    unanswered = markers.pop("fallback"), markers.pop("out_of_scope")
    assert sum(n for n, _ in unanswered) == 9, "every question the assistant could not answer, in either marker"
    assert markers == {
        "emergency": (1, 1),
        "checklist_started": (4, 3),  # the picker's conversation asked twice
        "checklist_saved": (1, 1),
        "checklist_abandoned": (2, 2),  # one stopped, one left
        "follow_up_after_answer": (1, 1),
    }
    outcomes = [(r["name"], r["detail"], r["count"]) for r in table if r["section"] == "outcome"]
    assert outcomes == [("recognition", "definition_unclear", "1")]
    questions = [(r["name"], r["count"], r["conversations"]) for r in table if r["section"] == "unanswered"]
    assert questions == [(EXPENSES, "3", "3"), (WIFI[0], "2", "2")], "most conversations first"
    withheld = {r["name"]: int(r["count"]) for r in table if r["section"] == "unanswered_withheld"}
    assert withheld == {"asked in fewer than 2 conversations": 2, "may identify a person": 1, "beyond the top 10": 0}
    written = (out / "usage.csv").read_text(encoding="utf-8").lower()
    assert "dave" not in written and "jones" not in written and "car park" not in written and "xqzv" not in written
    for chart in ("markers.png", "outcomes.png", "unanswered.png"):
        data = (out / chart).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, chart
    if os.environ.get("SGA_UPDATE_DOCS_IMAGES") == "1":
        target = PROJECT_ROOT / "docs" / "images" / "usage-example.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "markers.png", target)


def test_since_counts_only_later_conversations_and_outcomes(usage_stack, tmp_path):
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).date().isoformat()
    result = report(usage_stack, tmp_path / "later", "--since", tomorrow)
    assert result.returncode == 0, result.stderr
    table = rows(tmp_path / "later")
    assert table[0]["count"] == "0" and table[0]["detail"] == f"since {tomorrow}"
    assert all(r["count"] == "0" for r in table if r["section"] == "marker")
    assert not [r for r in table if r["section"] in ("outcome", "unanswered")]
    assert (tmp_path / "later" / "markers.png").read_bytes().startswith(PNG)

    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert report(usage_stack, tmp_path / "today", "--since", today).returncode == 0
    assert rows(tmp_path / "today")[0]["count"] == "7"


def test_rasas_own_marker_command_agrees(usage_stack, tmp_path):
    """`rasa evaluate markers all` over the same tracker store, through the endpoints file, finds the
    same marker events (the report counts `checklist_abandoned` only at a conversation's end)."""
    settings = usage_stack.settings
    output = tmp_path / "markers.csv"
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "evaluate", "markers", "all", str(output), "--no-stats"]
        + ["--config", "bot/markers", "--endpoints", settings.rasa_endpoints, "--domain", "bot/domain"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **settings.environment(), "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with open(output, encoding="utf-8", newline="") as stream:
        found = Counter(row["marker"] for row in csv.DictReader(stream))
    ours = report(usage_stack, tmp_path / "ours")
    assert ours.returncode == 0, ours.stderr
    counted = {r["name"]: int(r["count"]) for r in rows(tmp_path / "ours") if r["section"] == "marker"}
    for name, count in counted.items():
        if name != "checklist_abandoned":
            assert found[name] == count, name
    assert found["checklist_abandoned"] > counted["checklist_abandoned"], "Rasa lists every event where it holds"


def test_an_unreachable_tracker_store_is_a_one_line_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", "usage-report", "--out", str(tmp_path)]
        + ["--tracker-url", "postgresql://nobody@127.0.0.1:1/none", "--url", f"sqlite:///{tmp_path / 'o.db'}"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        result.stderr.startswith("error: tracker store postgresql://nobody@127.0.0.1:1/none")
        and result.stderr.count("\n") == 1
    )


def test_the_stack_reports_each_server_as_it_answers_and_how_long_it_took(usage_stack, capsys):
    """What `sga run` prints while it starts (its Stack has on_ready=print_ready)."""
    assert [name for name, _ in READY] == ["action server", "Rasa server"]
    (_, actions), (_, rasa) = READY
    assert 0 < actions <= rasa < 240
    print_ready("Rasa server", rasa)
    assert capsys.readouterr().out == f"  Rasa server ready in {rasa:.1f} s\n"
