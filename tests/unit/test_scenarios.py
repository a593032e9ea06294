"""Training scenarios: content matches its checklist, and the model answers give a sensible outcome."""

import pytest

from sga.checklists import engine, prompts
from sga.checklists.engine import Context, Exercise, Heard, Stage
from sga.checklists.model import checklists
from sga.checklists.prompts import option_payload
from sga.scenarios import debrief, load_scenarios, scenarios

EXPECTED_MODEL_OUTCOMES = {
    "new_partner_caution": "may_pose_risk",
    "young_person_returning_to_school": "definition_unclear",
    "disclosure_to_new_partner": "disclosure_justified_and_planned",
}


def test_every_scenario_has_an_expected_model_outcome():
    assert set(scenarios()) == set(EXPECTED_MODEL_OUTCOMES)


@pytest.mark.parametrize("scenario_id,outcome", EXPECTED_MODEL_OUTCOMES.items())
def test_model_answers_give_the_outcome_the_procedure_implies(scenario_id, outcome):
    scenario = scenarios()[scenario_id]
    assert checklists()[scenario.checklist].evaluate(scenario.model_answers, scenario.partnership).outcome == outcome


def test_a_full_exercise_with_model_answers_matches_everything():
    scenario = scenarios()["new_partner_caution"]
    ctx = Context(partnership=None)  # the user's own partnership does not matter: the case sets it
    state = engine.start(scenario.checklist, ctx, Exercise(scenario=scenario.id, partnership=scenario.partnership))
    assert state.stage is Stage.ITEMS and state.kind == "recognition"
    while state.stage is Stage.ITEMS:
        item = engine.current_item(state, ctx)
        payload = option_payload(scenario.model_answers[item.id])
        intent = {"/affirm": "affirm", "/deny": "deny", "/answer_not_known": "answer_not_known"}[payload]
        engine.handle(state, Heard(intent), ctx)
    assert state.stage is Stage.CONFIRM, "training skips the outcome-log questions"
    assert "Finish the exercise" in prompts.prompt(state, ctx).text
    assert engine.handle(state, Heard("affirm"), ctx).finished == "done"
    text = debrief(state)
    total = len(checklists()["recognition"].items_for(scenario.partnership, scenario.model_answers))
    assert f"You matched {total} of {total}" in text and "Model outcome: the same." in text
    assert "Matched:" in text and "✓" not in text


def test_model_answers_must_cover_the_checklist(tmp_path):
    path = tmp_path / "scenarios.yml"
    text = open("procedures/scenarios.yml").read().replace('      km_mappa: "not_known"\n', "")
    path.write_text(text)
    with pytest.raises(ValueError, match="model answers must cover"):
        load_scenarios(path)
