"""Checklists end to end over HTTP, with the outcome log checked through `sga export` and `sga verify`."""

import json
import subprocess
import sys

import pytest

from sga.checklists.model import checklists
from tests.conftest import Conversation

pytestmark = pytest.mark.integration
CHECKLISTS = checklists()

# (kind, partnership, answer pattern, expected outcome): the outcomes the procedures imply.
CASES = [
    ("recognition", "kent_medway", "Yes", "may_pose_risk"),
    ("recognition", "kent_medway", "No", "no_indicator_identified"),
    ("recognition", "west_midlands", "Yes", "meets_definition"),
    ("recognition", "west_midlands", "Not known", "definition_unclear"),
    ("risk_assessment", "kent_medway", "Yes", "ready_for_decision"),
    ("risk_assessment", "west_midlands", "No", "gaps_before_decision"),
    # All Yes includes "a less intrusive route would achieve the aim": use it instead (issue 12 B).
    ("disclosure", "kent_medway", "Yes", "use_less_intrusive_route"),
    # All No includes "the carer is not able to protect": the children need protection (issue 12 A).
    ("disclosure", "west_midlands", "No", "children_need_protection"),
    ("disclosure", "west_midlands", "Not known", "not_ready_to_disclose"),
]


def export(stack, *args):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sga_tools.cli",
            "export",
            "--url",
            stack.settings.database_url,
            "--format",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start(conversation, kind, partnership):
    conversation.say(f'/inform_partnership{{"partnership":"{partnership}"}}')
    conversation.say(f"start the {kind.replace('_', ' ')} checklist")
    assert CHECKLISTS[kind].title in conversation.text


def answer_all(conversation, answer, kind=None, overrides=None):
    """Click `answer` for every item (or the `overrides` answer for an item id), until the role question."""
    overrides = overrides or {}
    asked = set()
    for _ in range(40):
        titles = [b["title"] for b in conversation.buttons]
        if "Why is this asked?" not in titles:
            break
        choice = answer
        if kind:
            item = next(i for i in CHECKLISTS[kind].items if i.question in conversation.text)
            asked.add(item.id)
            choice = overrides.get(item.id, answer)
        conversation.click(choice if choice in titles else titles[0])
    else:
        pytest.fail("the checklist did not end")
    assert set(overrides) <= asked, f"never asked: {set(overrides) - asked}"


def finish(conversation, case_reference="CR-2024-0193"):
    assert "your role" in conversation.text
    conversation.say("social_worker")
    assert "case reference" in conversation.text
    conversation.say(case_reference)
    assert "Summary:" in conversation.text and "Save this to the outcome log?" in conversation.text
    conversation.summary_shown = conversation.text  # the outcome is shown here, not repeated after saving
    conversation.click("Save")
    assert "Your reference is SGA-" in conversation.text
    return conversation.text.split("Your reference is ")[1].split(".")[0]


def run_checklist(stack, kind, partnership, answer, expected, overrides=None):
    conversation = Conversation(stack)
    start(conversation, kind, partnership)
    answer_all(conversation, answer, kind, overrides)
    reference = finish(conversation)
    summary = next(o.summary for o in CHECKLISTS[kind].outcomes if o.id == expected)
    assert summary in conversation.summary_shown
    assert summary not in conversation.text, "the outcome is not repeated after saving"
    assert "Next steps (each with its source)" in conversation.text
    records = {r["reference"]: r for r in export(stack, "--kind", kind)}
    record = records[reference]
    assert record["outcome"] == expected
    assert record["partnership"] == partnership and record["channel"] == "rest"
    assert record["case_reference"] == "CR-2024-0193" and record["practitioner_role"] == "social_worker"
    assert conversation.sender not in json.dumps(record), "the sender id must be stored only as a hash"
    assert conversation.slot("checklist_state") is None
    record["text"] = conversation.summary_shown + "\n" + conversation.text
    return record


@pytest.mark.parametrize("kind,partnership,answer,expected", CASES)
def test_checklist_completes_with_the_outcome_the_procedure_implies(stack, kind, partnership, answer, expected):
    run_checklist(stack, kind, partnership, answer, expected)


# --- issue 12: the outcome logic walked over HTTP -------------------------------------------------------


@pytest.mark.parametrize("partnership", ["kent_medway", "west_midlands"])
def test_A_a_carer_who_will_not_protect_gets_the_child_protection_steps(stack, partnership):
    record = run_checklist(
        stack,
        "disclosure",
        partnership,
        "Yes",
        "children_need_protection",
        overrides={"immediate_danger": "No", "dp_alternative_suffices": "No", "dp_carer_protect": "No"},
    )
    text = record["text"]
    assert "not able or not willing to protect" in text
    assert "If any child is in immediate danger, call 999" in text
    if partnership == "kent_medway":
        assert "Section 47 Enquiry must" in text and "Child Protection Conference must be convened" in text
    else:
        assert "follow the Referrals procedure" in text and "Section 47" not in text
    assert "the disclosure is justified" not in text


def test_B_no_pressing_need_is_not_justified_and_a_sufficient_alternative_is_used_instead(stack):
    record = run_checklist(
        stack,
        "disclosure",
        "kent_medway",
        "Yes",
        "disclosure_not_justified",
        overrides={"immediate_danger": "No", "dp_pressing_need": "No", "dp_alternative_suffices": "No"},
    )
    assert "A disclosure is not justified on the present facts" in record["text"]
    assert "record both before going ahead" not in record["text"]
    record = run_checklist(
        stack, "disclosure", "west_midlands", "Yes", "use_less_intrusive_route", overrides={"immediate_danger": "No"}
    )
    assert "Use the less intrusive route instead" in record["text"]


def test_D_west_midlands_criminal_justice_agency_definition_not_met_gets_referral_and_999(stack):
    record = run_checklist(
        stack,
        "recognition",
        "west_midlands",
        "No",
        "definition_not_met",
        overrides={"wm_cja": "Yes", "wm_offence_against_child": "Yes", "lives_with_children": "Yes"},
    )
    text = record["text"]
    assert "refer to children's social care under the Referrals procedure" in text
    assert "If any child is in immediate danger, call 999" in text
    assert "potential person posing a risk to children" in text


def test_a_child_in_immediate_danger_is_told_to_call_999_at_the_end(stack):
    record = run_checklist(stack, "risk_assessment", "west_midlands", "Yes", "ready_for_decision")
    assert "You said a child is in immediate danger now: call 999 now" in record["text"]


def test_an_emergency_reported_mid_checklist_is_in_the_saved_record(stack):
    conversation = Conversation(stack)
    start(conversation, "recognition", "west_midlands")
    conversation.click("No")  # no child in immediate danger ... at first
    conversation.say("he's got a knife and he's threatening the kids right now")
    assert "999" in conversation.text and "I've recorded" in conversation.text
    answer_all(conversation, "No")
    reference = finish(conversation)
    record = {r["reference"]: r for r in export(stack, "--kind", "recognition")}[reference]
    assert record["answers"]["immediate_danger"] == "yes"
    assert any("call 999 now" in step for step in record["next_steps"])


def test_checklist_on_postgres_with_redis_lock_store(production_stack):
    record = run_checklist(production_stack, "recognition", "kent_medway", "Yes", "may_pose_risk")
    result = subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", "verify", "--url", production_stack.settings.database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert record["reference"] in {r["reference"] for r in export(production_stack)}


def test_why_back_question_and_emergency_mid_checklist(stack):
    conversation = Conversation(stack)
    start(conversation, "recognition", "kent_medway")
    assert "question 1 of" in conversation.text
    conversation.say("why is this asked?")
    assert "Why this is asked" in conversation.text and "Kent and Medway 2.4.1" in conversation.text
    conversation.say("yep")
    assert "question 2 of" in conversation.text
    conversation.say("go back")
    assert "previous answer was: Yes" in conversation.text and "question 1 of" in conversation.text
    conversation.say("nope")
    conversation.say("what are the MAPPA levels?")
    assert "Level 3" in conversation.text and "Back to the checklist" in conversation.text
    assert "question 2 of" in conversation.text
    assert conversation.slot("topic") == "mappa.levels"
    conversation.say("a child is in immediate danger right now")
    assert "999" in conversation.replies[0]["text"]
    assert "question 2 of" in conversation.text


def test_stop_asks_to_confirm_and_saves_nothing(stack):
    before = len(export(stack))
    conversation = Conversation(stack)
    start(conversation, "disclosure", "west_midlands")
    conversation.say("Yes")
    conversation.say("stop")
    assert "Stop this checklist?" in conversation.text
    conversation.say("No, carry on")
    assert "question 2 of" in conversation.text
    conversation.say("stop")
    conversation.say("Yes")
    assert "Checklist stopped" in conversation.text
    assert len(export(stack)) == before
    assert conversation.slot("checklist_state") is None


@pytest.mark.parametrize(
    "bad", ["John Smith", "jane.doe@example.org", "07700 900123", "ME14 1XX", "12/03/2015", "943 476 5919"]
)
def test_identifying_case_references_are_refused(stack, bad):
    conversation = Conversation(stack)
    start(conversation, "recognition", "west_midlands")
    answer_all(conversation, "No")
    conversation.say("skip")
    conversation.say(bad)
    assert "can't record that as a case reference" in conversation.text
    conversation.say("skip")
    assert "Save this to the outcome log?" in conversation.text


def test_training_scenario_debrief_and_nothing_logged(stack):
    from sga.scenarios import scenarios

    scenario = scenarios()["young_person_returning_to_school"]
    checklist = CHECKLISTS[scenario.checklist]
    before = len(export(stack))
    conversation = Conversation(stack)
    conversation.say("I'm a trainer, can we run a training scenario?")
    assert scenario.title in [b["title"] for b in conversation.buttons]
    conversation.click(scenario.title)
    assert "Fictional case" in conversation.text and "question 1 of" in conversation.text
    for item in scenario.items():
        expected = scenario.answers[item.id]
        # One deliberate mistake, so the debrief has something to correct.
        answer = "Yes" if item.id == "wm_continuing_risk" else item.label(expected)
        conversation.click(answer)
    assert "Finish the exercise" in conversation.text
    conversation.click("Finish")
    total = len(checklist.items_for(scenario.partnership, scenario.answers))
    assert f"Score: {total - 1} of {total} answers matched the model answers" in conversation.text
    assert "Different. Your answer: Yes. Model answer: Not known." in conversation.text
    assert scenario.model_answers["wm_continuing_risk"].explanation in conversation.text
    assert scenario.learning_points[0].text in conversation.text
    assert len(export(stack)) == before, "training exercises are never logged"


def test_production_stack_keeps_conversations_in_postgres_and_locks_in_redis(production_stack, postgres_database):
    import threading

    import redis
    import sqlalchemy as sa

    prefix = production_stack.settings.redis_key_prefix
    seen = []

    def watch():
        # Rate-limit counters share the prefix; the lock is the command that names the conversation.
        with redis.Redis(host="127.0.0.1", port=6379, socket_timeout=20).monitor() as monitor:
            for command in monitor.listen():
                if prefix in command["command"] and "ratelimit" not in command["command"]:
                    seen.append(command["command"])
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    conversation = Conversation(production_stack)
    for _ in range(10):  # until the monitor is listening and has seen this conversation's lock
        conversation.say("what are the MAPPA levels?")
        watcher.join(timeout=1)
        if seen:
            break
    assert seen and conversation.sender in seen[0], "Rasa took no lock in Redis"
    engine = sa.create_engine(postgres_database)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :sender"), {"sender": conversation.sender}
        ).scalar()
    engine.dispose()
    assert count > 0, "the conversation is not in the PostgreSQL tracker store"


# --- issue 11: the saved record's summary for the case file, and the summary as data ------------------


def test_export_md_gives_the_saved_checklist_as_the_chat_showed_it(stack):
    from sga.checklists.summary import md

    conversation = Conversation(stack)
    start(conversation, "recognition", "west_midlands")
    answer_all(conversation, "Not known")
    conversation.say("social_worker")
    conversation.say("CR-2024-0193")
    chat = conversation.text
    assert "Save this to the outcome log?" in chat
    # The summary message carries the summary as data (bot message metadata, which Teams draws as a card).
    bot = [e for e in conversation.tracker()["events"] if e["event"] == "bot"]
    data = bot[-1]["metadata"]["summary"]
    assert bot[-1]["text"] in chat and data["reference"] is None and data["partnership_name"] == "West Midlands"
    assert data["case_reference"] == "CR-2024-0193" and data["role"] == "Social worker"
    for answer in data["answers"]:
        assert f"- {answer['question']} {answer['answer']}" in chat, "the data says what the chat says"
    assert not [e for e in bot[:-1] if "summary" in (e.get("metadata") or {})], "only the summary carries it"
    conversation.click("Save")
    assert "Your reference is SGA-" in conversation.text
    reference = conversation.text.split("Your reference is ")[1].split(".")[0]

    result = subprocess.run(
        [sys.executable, "-m", "sga_tools.cli", "export", "--url", stack.settings.database_url]
        + ["--format", "md", "--reference", reference],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"| Reference | {reference} |" in out and "| Completed | " in out
    assert f"| Checklist | Recognition checklist, version {data['version']} |" in out
    assert "| Partnership | West Midlands |" in out and "| Practitioner role | Social worker |" in out
    numbered = [line for line in out.splitlines() if line[:1].isdigit()]
    assert numbered == [f"{n}. {md(a['question'])} **{a['answer']}**" for n, a in enumerate(data["answers"], 1)]
    assert md(data["outcome_summary"]) in out and data["outcome_summary"] in chat
    assert data["next_steps"] and all(f"- {md(step)}" in out and f"- {step}" in chat for step in data["next_steps"])
