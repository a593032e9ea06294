"""Training scenarios: the library is worth a training day, every model answer follows from its case
text, and the debrief explains every answer in words."""

import shutil
from collections import Counter

import pytest
import yaml

from sga.checklists import engine, prompts
from sga.checklists.engine import Context, Exercise, Heard, Stage
from sga.checklists.model import NOT_KNOWN, checklists
from sga.checklists.prompts import option_payload
from sga.content import PARTNERSHIPS
from sga.scenarios import (
    NOT_STATED,
    SCENARIOS_DIR,
    citation_problem,
    debrief,
    feedback,
    library,
    listing,
    load_scenarios,
    scenarios,
    select,
    sentences,
)

EXPECTED_MODEL_OUTCOMES = {
    "km_no_conviction_coach": "may_pose_risk",
    "new_partner_caution": "may_pose_risk",
    "km_civil_finding_neighbour": "may_pose_risk",
    "km_mappa_released_prisoner": "may_pose_risk",
    "km_emergency_home_visit": "may_pose_risk",
    "young_person_returning_to_school": "definition_unclear",
    "wm_identified_risk_no_charge": "meets_definition",
    "km_risk_assessment_police_support": "ready_for_decision",
    "km_risk_assessment_police_do_not_support": "police_do_not_support",
    "wm_risk_assessment_mappa_level3": "gaps_before_decision",
    "disclosure_to_new_partner": "disclosure_justified_and_planned",
    "km_disclosure_self_disclosure": "use_less_intrusive_route",
    "wm_disclosure_sarahs_law": "disclosure_not_justified",
    "wm_disclosure_clares_law": "follow_up_after_disclosure",
}

# What issue 10 asks the library to cover.
REQUIRED_THEMES = {
    "no_conviction",
    "caution",
    "civil_finding",
    "child_harmed_child",
    "new_partner",
    "police_support",
    "no_police_support",
    "consent",
    "self_disclosure",
    "mappa",
    "sarahs_law",
    "clares_law",
    "emergency",
}


def test_every_scenario_has_an_expected_model_outcome():
    assert set(scenarios()) == set(EXPECTED_MODEL_OUTCOMES)


@pytest.mark.parametrize("scenario_id,outcome", EXPECTED_MODEL_OUTCOMES.items())
def test_model_answers_give_the_outcome_the_procedure_implies(scenario_id, outcome):
    scenario = scenarios()[scenario_id]
    assert checklists()[scenario.checklist].evaluate(scenario.answers, scenario.partnership).outcome == outcome


def test_the_library_covers_both_partnerships_every_checklist_and_the_themes():
    assert len(scenarios()) >= 12
    pairs = {(s.checklist, s.partnership) for s in scenarios().values()}
    assert pairs == {(kind, p) for kind in checklists() for p in PARTNERSHIPS}
    assert set(library().themes) >= REQUIRED_THEMES
    assert {t for s in scenarios().values() for t in s.themes} >= REQUIRED_THEMES
    emergency = select(theme="emergency")
    assert emergency and all(s.answers["immediate_danger"] == "yes" for s in emergency)
    assert len({s.title for s in scenarios().values()}) == len(scenarios()), "titles start scenarios by name"


def test_every_model_answer_has_evidence_and_yes_no_evidence_quotes_the_narrative():
    """Read from the YAML as written (not through the loader): evidence is a sentence of the narrative,
    or "not stated in the case" for Not known only."""
    checked = Counter()
    for path in sorted(SCENARIOS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        for raw in data.get("scenarios", []):
            told = sentences(raw["narrative"])
            flat = " ".join(raw["narrative"].split())
            for item_id, model in raw["model_answers"].items():
                evidence = " ".join(str(model.get("evidence", "")).split())
                assert evidence, f"{raw['id']}/{item_id} has no evidence"
                assert model.get("explanation", "").strip(), f"{raw['id']}/{item_id} has no explanation"
                if model["answer"] == NOT_KNOWN and evidence == NOT_STATED:
                    checked["not stated"] += 1
                    continue
                assert evidence in flat and evidence in told, f"{raw['id']}/{item_id}: {evidence!r} is not in the case"
                checked[model["answer"]] += 1
    assert checked["yes"] > 50 and checked["no"] > 40 and checked["not stated"] >= 5


def test_each_scenario_covers_exactly_the_items_its_checklist_asks_for_its_answers():
    for scenario in scenarios().values():
        asked = checklists()[scenario.checklist].items_for(scenario.partnership, scenario.answers)
        assert [i.id for i in asked] == list(scenario.model_answers), scenario.id
        for model in scenario.model_answers.values():
            assert citation_problem(model.cite) is None and model.cite, scenario.id


def test_a_skipped_question_is_left_out_of_the_model_answers_by_ask_when():
    sarah = scenarios()["wm_disclosure_sarahs_law"]
    assert sarah.answers["dp_wm_child_at_risk"] == "no"
    assert "dp_strategy_what" not in sarah.model_answers, "not asked after a No that means not justified"


def test_citations_must_name_a_section_of_the_procedure_content():
    assert citation_problem("Kent and Medway 2.4.1, section 5 Disclosure Process") is None
    assert citation_problem("West Midlands 2.14, Sarah's Law") is None
    assert "names no section" in citation_problem("Kent and Medway 2.4.1, section 9 Invented Powers")
    assert "names no source" in citation_problem("Working Together 2023, chapter 1")


def _copy_library(tmp_path, old: str, new: str):
    target = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS_DIR, target)
    path = target / "recognition_kent_medway.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return target


def test_model_answers_must_cover_the_checklist(tmp_path):
    block = (
        '      km_mappa:\n        answer: "no"\n        evidence: "He is not known to MAPPA."\n'
        '        explanation: "The case says MAPPA does not know him."\n'
    )
    with pytest.raises(ValueError, match="model answers must cover"):
        load_scenarios(_copy_library(tmp_path, block, ""))


def test_evidence_that_is_not_in_the_case_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must be a sentence of the narrative"):
        load_scenarios(_copy_library(tmp_path, 'evidence: "He lives alone."', 'evidence: "He lives with children."'))


def test_not_stated_is_only_for_not_known(tmp_path):
    with pytest.raises(ValueError, match="must be a sentence of the narrative"):
        load_scenarios(_copy_library(tmp_path, 'evidence: "He lives alone."', 'evidence: "not stated in the case"'))


def test_an_invented_citation_is_refused(tmp_path):
    old = 'cite: "Kent and Medway 2.4.1, section 3 Disclosure of Information by Local Authority"'
    with pytest.raises(ValueError, match="names no section"):
        load_scenarios(_copy_library(tmp_path, old, 'cite: "Kent and Medway 2.4.1, section 7 Appeals"'))


def _run(scenario, wrong=(), skip=()):
    """Work through the exercise in the engine, answering as the model does except where told."""
    ctx = Context(partnership=None)  # the user's own partnership does not matter: the case sets it
    state = engine.start(scenario.checklist, ctx, Exercise(scenario=scenario.id, partnership=scenario.partnership))
    assert state.stage is Stage.ITEMS
    while state.stage is Stage.ITEMS:
        item = engine.current_item(state, ctx)
        if item.id in skip:
            engine.handle(state, Heard("skip"), ctx)
            continue
        value = scenario.answers[item.id]
        if item.id in wrong:
            value = "no" if value == "yes" else "yes"
        payload = option_payload(value)
        intents = {"/affirm": "affirm", "/deny": "deny", "/answer_not_known": "answer_not_known"}
        if payload in intents:
            engine.handle(state, Heard(intents[payload]), ctx)
        else:
            engine.handle(state, Heard("choose_option", {"checklist_option": value}), ctx)
    assert state.stage is Stage.CONFIRM, "training skips the outcome-log questions"
    assert "Finish the exercise" in prompts.prompt(state, ctx).text
    assert engine.handle(state, Heard("affirm"), ctx).finished == "done"
    return state


@pytest.mark.parametrize("scenario_id", sorted(EXPECTED_MODEL_OUTCOMES))
def test_a_full_exercise_with_model_answers_matches_everything(scenario_id):
    scenario = scenarios()[scenario_id]
    text = debrief(_run(scenario))
    total = len(scenario.model_answers)
    assert f"Score: {total} of {total} answers matched the model answers (100%)." in text
    assert "Your outcome: the same." in text and text.count("Matched. Your answer:") == total
    assert "Different" not in text and "✓" not in text and "✗" not in text
    for model in scenario.model_answers.values():
        assert model.explanation in text and model.cite in text


def test_the_debrief_explains_a_different_answer_and_a_skipped_one():
    scenario = scenarios()["km_no_conviction_coach"]
    text = debrief(_run(scenario, wrong={"km_s47_abuse"}, skip={"km_mappa"}))
    total = len(scenario.model_answers)
    assert f"Score: {total - 2} of {total} answers matched" in text
    s47 = scenario.model_answers["km_s47_abuse"]
    assert "Different. Your answer: No. Model answer: Yes." in text
    assert f"Why: {s47.explanation}" in text and f"From the case: “{s47.evidence}”" in text
    assert "Different. Your answer: skipped. Model answer: No." in text
    assert "Learning points:" in text and scenario.learning_points[0].text in text
    assert "not written to the outcome log" in text


def test_immediate_feedback_says_matched_or_different_with_the_reason_and_source():
    scenario = scenarios()["new_partner_caution"]
    good = feedback(scenario, "km_caution", "yes")
    assert good.startswith("Matched. You said Yes, as the model answer does.")
    assert scenario.model_answers["km_caution"].explanation in good and "Source: Kent and Medway 2.4.1" in good
    bad = feedback(scenario, "km_civil_finding", "yes")
    assert bad.startswith("Different. You said Yes; the model answer is Not known.")


def test_listing_counts_and_filters():
    assert listing().startswith(f"There are {len(scenarios())} training scenarios")
    wm = listing(partnership="west_midlands")
    assert all(s.title in wm for s in select(partnership="west_midlands"))
    assert "Kent and Medway)" not in wm
    mappa = listing(theme="mappa")
    assert "MAPPA" in mappa and len(select(theme="mappa")) >= 2
    assert listing(checklist="risk_assessment", partnership="west_midlands").startswith("1 of the")
