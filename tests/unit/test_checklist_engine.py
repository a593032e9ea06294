"""The checklist engine, driven by what the NLU understood (intents and entities), as the user sees it."""

from __future__ import annotations

import pytest

from sga.checklists import engine, prompts
from sga.checklists.engine import ChecklistState, Context, Heard, Stage
from sga.checklists.model import checklists

KM, WM = Context("kent_medway"), Context("west_midlands")
YES, NO, NOT_KNOWN = Heard("affirm"), Heard("deny"), Heard("answer_not_known")


def answer_all(state: ChecklistState, ctx: Context, heard: Heard = NO) -> ChecklistState:
    while state.stage is Stage.ITEMS:
        engine.handle(state, heard, ctx)
    return state


def at_confirm(kind: str = "recognition", ctx: Context = WM) -> ChecklistState:
    state = answer_all(engine.start(kind, ctx), ctx)
    engine.handle(state, Heard("skip"), ctx)
    engine.handle(state, Heard("skip"), ctx)
    assert "Save this to the outcome log?" in prompts.prompt(state, ctx).text
    return state


def question(state: ChecklistState, ctx: Context) -> str:
    return prompts.prompt(state, ctx).text


def test_first_prompt_is_question_one_with_answer_buttons():
    state = engine.start("recognition", KM)
    shown = prompts.prompt(state, KM)
    assert "question 1 of" in shown.text
    assert [b["payload"] for b in shown.buttons][:3] == ["/affirm", "/deny", "/answer_not_known"]


@pytest.mark.parametrize("heard,label", [(YES, "Yes"), (NO, "No"), (NOT_KNOWN, "Not known")])
def test_answers_come_from_the_intent_and_show_in_the_summary(heard, label):
    ctx = KM
    state = engine.start("recognition", ctx)
    first = engine.current_item(state, ctx)
    engine.handle(state, heard, ctx)
    assert engine.current_item(state, ctx) != first
    state = at_confirm_from(state, ctx)
    assert f"{first.question} {label}" in prompts.summary(state, ctx)


def at_confirm_from(state: ChecklistState, ctx: Context) -> ChecklistState:
    answer_all(state, ctx)
    engine.handle(state, Heard("skip"), ctx)
    engine.handle(state, Heard("skip"), ctx)
    return state


@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback", "greet", "inform_case_reference", None])
def test_anything_but_an_answer_records_nothing_and_asks_again(intent):
    state = engine.start("recognition", KM)
    before = question(state, KM)
    turn = engine.handle(state, Heard(intent, text="the mother will not protect them"), KM)
    assert state.answers == {}
    assert "didn't catch" in turn.say[0] and "Not known" in turn.say[0]
    assert question(state, KM) == before


def test_an_option_the_item_does_not_offer_is_refused():
    state = engine.start("recognition", KM)
    turn = engine.handle(state, Heard("choose_option", {"checklist_option": "would_increase_risk"}), KM)
    assert state.answers == {} and "didn't catch" in turn.say[0]


def test_stop_asks_to_confirm_and_no_carries_on():
    state = engine.start("recognition", KM)
    engine.handle(state, YES, KM)
    engine.request_stop(state)
    assert question(state, KM).startswith("Stop this checklist?")
    assert engine.handle(state, NO, KM).finished is None
    assert "question 2 of" in question(state, KM)
    engine.request_stop(state)
    assert engine.handle(state, YES, KM).finished == "stopped"


def test_go_back_reopens_the_previous_item_and_says_what_was_recorded():
    state = engine.start("recognition", KM)
    engine.handle(state, NOT_KNOWN, KM)
    turn = engine.go_back(state, KM)
    assert "question 1 of" in question(state, KM) and "Not known" in turn.say[0]
    assert engine.go_back(state, KM).say == ["This is the first question, so there is nothing to go back to."]


def test_a_change_of_partnership_says_so_and_follows_the_new_procedure():
    state = engine.start("recognition", WM)
    engine.handle(state, NO, WM)
    turn = engine.handle(state, Heard("inform_partnership", {"partnership": "kent_medway"}), KM)
    assert "Kent and Medway" in turn.say[0]
    total = len(checklists()["recognition"].items_for("kent_medway"))
    assert f"of {total}" in question(state, KM)
    summary_state = at_confirm_from(state, KM)
    assert "(Kent and Medway" in prompts.summary(summary_state, KM)


def test_confirm_saves_only_on_yes():
    state = at_confirm()
    assert engine.handle(state, NO, WM).finished is None
    assert engine.handle(state, YES, WM).finished == "done"
    assert engine.problems_before_saving(state, WM, "rest") == []


def test_role_from_the_conversation_is_not_asked_again():
    ctx = Context("kent_medway", role="gp")
    state = answer_all(engine.start("recognition", ctx), ctx)
    assert state.stage is Stage.CASE_REFERENCE
    engine.handle(state, Heard("skip"), ctx)
    assert "- Your role: GP" in prompts.summary(state, ctx)


@pytest.mark.parametrize("reference", ["JaydenSmith-2011", "ME14 1XX", "9434765919", "Jayden Smith"])
def test_a_case_reference_that_identifies_someone_is_refused(reference):
    state = answer_all(engine.start("recognition", KM), KM)
    engine.handle(state, Heard("skip"), KM)
    turn = engine.handle(state, Heard("inform_case_reference", text=reference), KM)
    assert "can't record that" in turn.say[0] and state.case_reference is None
    assert state.stage is Stage.CASE_REFERENCE


def test_forged_or_incomplete_states_are_never_saved():
    complete = at_confirm()
    assert engine.problems_before_saving(complete, WM, "made-up-channel")
    half = engine.start("recognition", WM)
    engine.handle(half, YES, WM)
    half.stage = Stage.CONFIRM
    assert "not every question was answered" in engine.problems_before_saving(half, WM, "rest")
    forged = ChecklistState.from_slot(
        {**complete.to_slot(), "answers": {**complete.answers, next(iter(complete.answers)): "Jane Doe, 1 High St"}}
    )
    assert forged is not None
    assert "an answer is not one of the item's options" in engine.problems_before_saving(forged, WM, "rest")
    assert ChecklistState.from_slot({"kind": "no_such_checklist"}) is None
    assert ChecklistState.from_slot("not a dict") is None


@pytest.mark.parametrize("intent", ["affirm", "deny"])
def test_a_hedge_found_by_the_nlu_is_never_recorded_as_yes_or_no(intent):
    state = engine.start("recognition", KM)
    first = engine.current_item(state, KM)
    engine.handle(state, Heard(intent, {"hedge": "not_known"}), KM)
    assert state.answers == {first.id: "not_known"}


# --- a child in immediate danger: the 999 advice at once, and an emergency reported later is recorded ---


@pytest.mark.parametrize("kind", ["recognition", "risk_assessment", "disclosure"])
@pytest.mark.parametrize("heard,expected", [(YES, "Call 999 now"), (NOT_KNOWN, "Find out now")])
def test_a_danger_answer_gets_the_999_advice_before_the_next_question(kind, heard, expected):
    state = engine.start(kind, KM)
    turn = engine.handle(state, heard, KM)
    assert turn.emergency and any(expected in said for said in turn.say)
    assert state.stage is Stage.ITEMS and engine.current_item(state, KM).id != "immediate_danger"


def test_no_to_the_danger_question_says_nothing_extra():
    state = engine.start("recognition", KM)
    turn = engine.handle(state, NO, KM)
    assert not turn.emergency and turn.say == []


def test_an_emergency_reported_later_changes_the_danger_answer_and_the_summary():
    state = at_confirm("recognition", WM)
    assert state.answers["immediate_danger"] == "no"
    said = engine.emergency_reported(state, WM)
    assert said is not None and "immediate danger" in said
    assert state.answers["immediate_danger"] == "yes" and state.stage is Stage.CONFIRM
    assert "call 999 now" in question(state, WM)
    assert engine.problems_before_saving(state, WM, "rest") == []
    assert engine.emergency_reported(state, WM) is None  # already recorded: nothing more to say


def test_an_emergency_before_the_danger_question_is_answered_answers_it():
    state = engine.start("disclosure", KM)
    engine.emergency_reported(state, KM)
    assert state.answers == {"immediate_danger": "yes"}
    assert engine.current_item(state, KM).id != "immediate_danger"


def test_an_emergency_in_an_exercise_leaves_the_trainees_answers_alone():
    from sga.checklists.engine import Exercise
    from sga.scenarios import scenarios

    scenario = next(iter(scenarios().values()))
    ctx = Context(scenario.partnership)
    state = engine.start(
        scenario.checklist, ctx, exercise=Exercise(scenario=scenario.id, partnership=scenario.partnership)
    )
    engine.handle(state, NO, ctx)
    assert engine.emergency_reported(state, ctx) is None
    assert state.answers == {"immediate_danger": "no"}
