"""Trainers over HTTP against the real stack: the scenario library in the conversation, exercises end
to end with right and wrong answers, feedback now or at the end, skip / skip to the debrief / restart,
an emergency that interrupts an exercise, a group session with three trainees, and `sga
training-report` on those results."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from typing import Dict, Optional

import pytest

from sga.scenarios import Scenario, scenarios
from sga.settings import PROJECT_ROOT
from tests.conftest import Conversation
from tests.conversations.dialogues import last_question

pytestmark = pytest.mark.integration
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def outcome_count(stack) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", "export", "--url", stack.settings.database_url, "--format", "csv"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return max(0, len(result.stdout.strip().splitlines()) - 1)


def wrong_label(scenario: Scenario, item_id: str) -> str:
    model = scenario.answers[item_id]
    return "No" if model == "yes" else "Yes"


def work_through(
    conversation: Conversation,
    scenario: Scenario,
    wrong: Optional[Dict[str, str]] = None,
    typed: Optional[Dict[str, str]] = None,
    feedback_now: bool = False,
) -> None:
    """Answer every question, as the model does except for `wrong` (item -> button title) or `typed`
    (item -> words typed instead of a click), until the exercise offers to finish."""
    wrong, typed = wrong or {}, typed or {}
    for _ in range(40):
        if "Finish the exercise" in conversation.text:
            return
        item_id = last_question(conversation.text)
        assert item_id in scenario.model_answers, f"unexpected question {item_id}: {conversation.text[-300:]}"
        item = scenario.checklist_model.item(item_id)
        if item_id in typed:
            conversation.say(typed[item_id])
        else:
            conversation.click(wrong.get(item_id) or item.label(scenario.answers[item_id]))
        if feedback_now:
            model = scenario.model_answers[item_id]
            verdict = "Different." if item_id in wrong else "Matched."
            assert verdict in conversation.text and model.explanation in conversation.text, conversation.text
            assert f"Source: {model.cite}" in conversation.text
    pytest.fail("the exercise never offered to finish")


def test_how_many_scenarios_and_lists_by_checklist_partnership_and_theme(stack):
    conversation = Conversation(stack)
    conversation.say("how many scenarios are there?")
    assert f"There are {len(scenarios())} training scenarios" in conversation.text
    assert len(conversation.buttons) == len(scenarios())
    conversation.say("list the west midlands scenarios")
    wm = [s.title for s in scenarios().values() if s.partnership == "west_midlands"]
    assert all(title in conversation.text for title in wm) and "(Kent and Medway)" not in conversation.text
    assert conversation.slot("partnership") is None, "browsing scenarios is not saying where you work"
    conversation.say("which scenarios cover mappa")
    assert "Kent and Medway" in conversation.text and "MAPPA" in conversation.text
    assert {b["title"] for b in conversation.buttons} == {s.title for s in scenarios().values() if "mappa" in s.themes}
    conversation.say("show me the risk assessment scenarios")
    assert conversation.text.startswith("3 of the")
    conversation.say("scenarios about a caution")
    assert "New partner with a caution (Kent and Medway)" in conversation.text


def test_an_exercise_by_name_with_feedback_now_all_right_and_an_emergency_in_the_middle(stack):
    scenario = scenarios()["new_partner_caution"]
    before = outcome_count(stack)
    conversation = Conversation(stack)
    conversation.say("feedback now")
    assert "Feedback after each answer" in conversation.text
    conversation.say("start the new partner with a caution scenario")
    assert "Fictional case" in conversation.text and "question 1 of 12" in conversation.text
    assert "Feedback: after each answer" in conversation.text
    conversation.click("No")  # immediate danger
    assert "Matched. You said No, as the model answer does." in conversation.text
    conversation.say("wait a real child is being hurt right now in the next room")
    assert "999" in conversation.replies[0]["text"], "the emergency interrupts the exercise first"
    assert "question 2 of 12" in conversation.text, "then the exercise carries on"
    work_through(conversation, scenario, feedback_now=True)
    conversation.click("Finish")
    text = conversation.text
    assert "Exercise debrief: New partner with a caution (Kent and Medway)" in text
    assert "Score: 12 of 12 answers matched the model answers (100%)." in text
    assert text.count("Matched. Your answer:") == 12 and "Different" not in text
    assert "Learning points:" in text and scenario.learning_points[0].text in text
    assert outcome_count(stack) == before, "training exercises are never written to the outcome log"


def test_an_exercise_with_wrong_answers_feedback_at_the_end_and_the_debrief_in_words(stack):
    scenario = scenarios()["young_person_returning_to_school"]
    conversation = Conversation(stack)
    conversation.say("I'm a trainer, can we run a training scenario?")
    conversation.click(scenario.title)
    assert "Feedback: at the end" in conversation.text
    wrong = {"wm_identified_risk": "Yes", "wm_continuing_risk": "Yes"}
    work_through(conversation, scenario, wrong=wrong, typed={"wm_cja": "nope"})
    conversation.click("Finish")
    text = conversation.text
    assert "Score: 9 of 11 answers matched the model answers (82%)." in text
    assert "Different. Your answer: Yes. Model answer: Not known." in text
    assert "Different. Your answer: Yes. Model answer: No." in text
    identified = scenario.model_answers["wm_identified_risk"]
    assert f"Why: {identified.explanation}" in text and f"From the case: “{identified.evidence}”" in text
    assert "Source: West Midlands 2.14, Person posing a risk to children" in text
    assert "Model outcome:" in text and "Your outcome:" in text and "✓" not in text


def test_skip_restart_and_skip_to_the_debrief(stack):
    scenario = scenarios()["wm_disclosure_sarahs_law"]
    conversation = Conversation(stack)
    conversation.say("run the rumour at the nursery scenario")
    assert "A rumour at the nursery" in conversation.text and "question 1 of" in conversation.text
    conversation.click("No")
    conversation.click("Yes")  # the risk assessment: wrong, then wiped by the restart
    conversation.say("restart the scenario")
    assert "Starting the exercise again" in conversation.text and "question 1 of" in conversation.text
    conversation.click("No")
    conversation.say("skip")
    assert "question 3 of" in conversation.text
    conversation.click("No")  # a child known to be at risk: the model answer
    conversation.say("can we skip to the debrief")
    text = conversation.text
    total = len(scenario.model_answers)
    assert "Exercise debrief" in text and f"Score: 2 of {total} answers matched" in text
    assert "Different. Your answer: skipped. Model answer: No." in text
    assert conversation.slot("checklist_state") is None
    conversation.say("skip to the debrief")
    assert "for training exercises" in conversation.text


def sentence_with(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    assert found, text
    return found.group(1)


def test_a_group_session_with_three_trainees_results_and_the_training_report(stack, tmp_path):
    scenario = scenarios()["km_no_conviction_coach"]
    trainer = Conversation(stack)
    trainer.say("start a group session for the coach with no conviction")
    code = sentence_with(trainer.text, r"Session code: ([A-Z0-9]{6})")
    assert "No names are asked for or stored" in trainer.text and f"join session {code}" in trainer.text

    plans = [  # (pseudonym or None, wrong answers)
        ("pick", {}),
        ("pick", {"km_s47_abuse": "No"}),
        (None, {"km_s47_abuse": "No", "may_seek_contact": "No", "km_mappa": "Yes"}),
    ]
    names = []
    for pick, wrong in plans:
        trainee = Conversation(stack)
        trainee.say(f"join session {code.lower()}")
        titles = [b["title"] for b in trainee.buttons]
        assert "Stay anonymous" in titles and len(titles) == 5, titles
        assert "name is not asked for" in trainee.text
        if pick:
            name = next(t for t in titles if t != "Stay anonymous")
            trainee.click(name)
        else:
            name = "Anonymous 3"
            trainee.say("I'll stay anonymous")
        names.append(name)
        assert f"You have joined session {code} as {name}" in trainee.text
        assert scenario.title in trainee.text and "question 1 of 12" in trainee.text
        work_through(trainee, scenario, wrong=wrong)
        trainee.click("Finish")
        assert f"Score: {12 - len(wrong)} of 12" in trainee.text
        assert f"added to session {code}'s results" in trainee.text
    assert len(set(names)) == 3

    trainee.say("show the session results")
    assert "You have not started a group session" in trainee.text
    trainee.say(f"show results for session {code}")
    assert "Only the trainer who started a session can see its results" in trainee.text

    trainer.say("show the session results")
    text = trainer.text
    assert f"Session {code}: {scenario.title}" in text and "3 of 3 trainees finished." in text
    for name, (_, wrong) in zip(names, plans, strict=True):
        assert f"- {name}: {12 - len(wrong)} of 12" in text
    s47 = scenario.checklist_model.item("km_s47_abuse").question
    assert f"Most often answered differently:\n- {s47} (2 of 3 differed)" in text
    assert "Overall agreement: 32 of 36 answers (89%)." in text

    out = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sga_tools.cli",
            "training-report",
            "--session",
            code,
            "--out",
            str(out),
            "--url",
            stack.settings.database_url,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "36 answers from 3 trainee(s)" in result.stdout
    lines = result.stdout.splitlines()
    top = lines.index("Most often answered differently:")
    assert "km_s47_abuse: 2 of 3 differed" in lines[top + 1] and len(lines) == top + 4
    with (out / "training_results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 36 and {r["session"] for r in rows} == {code}
    assert {r["trainee"] for r in rows} == set(names)
    per_trainee = {n: sum(r["matched"] == "yes" for r in rows if r["trainee"] == n) for n in names}
    assert per_trainee == {names[0]: 12, names[1]: 11, names[2]: 9}
    s47_rows = [r for r in rows if r["item"] == "km_s47_abuse"]
    assert sorted(r["answer"] for r in s47_rows) == ["No", "No", "Yes"] and {r["model_answer"] for r in s47_rows} == {
        "Yes"
    }
    chart = (out / "training_agreement.png").read_bytes()
    assert chart.startswith(PNG_SIGNATURE) and len(chart) > 5000

    since = subprocess.run(
        [
            sys.executable,
            "-m",
            "sga_tools.cli",
            "training-report",
            "--since",
            "2000-01-01",
            "--out",
            str(tmp_path / "all"),
            "--url",
            stack.settings.database_url,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert since.returncode == 0 and code in since.stdout
