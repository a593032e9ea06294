"""Training scenarios: content matches its checklist, and the model answers give a sensible outcome."""
import pytest

from sga.checklists import checklists, handle, new_state
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
    state = new_state(None, None, training=True)
    handle(state, scenario.title)
    assert state["stage"] == "items" and state["kind"] == "recognition"
    for item in checklists()["recognition"].items_for(scenario.partnership):
        handle(state, item.label(scenario.model_answers[item.id]))
    assert state["stage"] == "confirm", "training skips the outcome-log questions"
    assert handle(state, "Finish").finished == "done"
    text = debrief(state)
    total = len(checklists()["recognition"].items_for(scenario.partnership))
    assert f"You matched {total} of {total}" in text and "Model outcome: the same." in text


def test_model_answers_must_cover_the_checklist(tmp_path):
    path = tmp_path / "scenarios.yml"
    text = open("procedures/scenarios.yml").read().replace('      km_mappa: "not_known"\n', "")
    path.write_text(text)
    with pytest.raises(ValueError, match="model answers must cover"):
        load_scenarios(path)
