"""The three guided checklists (recognition, risk assessment, disclosure): their content loads, every
item says why it is asked and where it comes from, and the answers lead to the outcome and next steps
the procedures imply, for each partnership. Also walks each checklist through the engine."""

from __future__ import annotations

from typing import Dict

import pytest
import yaml

from sga.checklists import engine, prompts
from sga.checklists.engine import Context, Heard, Stage
from sga.checklists.model import NO, NOT_APPLICABLE, NOT_KNOWN, YES, Checklist, load_checklists
from sga.content import PARTNERSHIPS
from sga.settings import PROJECT_ROOT

KM, WM = "kent_medway", "west_midlands"
KINDS = ("recognition", "risk_assessment", "disclosure")
VERSION = "2026-11-27.1"


@pytest.fixture(scope="module")
def content() -> Dict[str, Checklist]:
    return load_checklists()


def answer_all(checklist: Checklist, partnership: str, default: str, **overrides: str) -> Dict[str, str]:
    answers = {item.id: default for item in checklist.items_for(partnership)}
    unknown = set(overrides) - set(answers)
    assert not unknown, f"not items of {checklist.kind} for {partnership}: {sorted(unknown)}"
    answers.update(overrides)
    return answers


def evaluate(content, kind, partnership, default, **overrides):
    checklist = content[kind]
    result = checklist.evaluate(answer_all(checklist, partnership, default, **overrides), partnership)
    return result, "\n".join(result.next_steps)


# --- the content itself --------------------------------------------------------------------------


def test_the_three_checklists_load_with_matching_kind_and_version(content):
    for kind in KINDS:
        checklist = content[kind]
        assert checklist.version == VERSION
        intro = checklist.intro.lower()
        for phrase in ("not replace", "yes, no or not known", "why is this asked", "go back", "stop"):
            assert phrase in intro, (kind, phrase)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_item_count_is_workable(content, kind, partnership):
    assert 8 <= len(content[kind].items_for(partnership)) <= 18


@pytest.mark.parametrize("kind", KINDS)
def test_every_item_has_help_and_a_citation_naming_partnership_procedure_and_section(content, kind):
    for item in content[kind].items:
        assert len(item.help.strip()) > 20, item.id
        assert item.question.strip().endswith("?") or item.question.strip().endswith(")"), item.id
        cite = item.cite
        if item.id == "immediate_danger":  # the 999 advice is labelled as what it is, not as a procedure's
            assert cite.startswith("General safeguarding practice") and "not from the procedure text" in cite
            continue
        assert cite.startswith(("Kent and Medway 2.4.1, ", "West Midlands 2.14, ")), (item.id, cite)
        if item.partnerships == [KM]:
            assert "Kent and Medway 2.4.1" in cite and "West Midlands" not in cite, item.id
        if item.partnerships == [WM]:
            assert "West Midlands 2.14" in cite and "Kent and Medway" not in cite, item.id


@pytest.mark.parametrize("kind", KINDS)
def test_next_steps_are_cited(content, kind):
    for step in content[kind].next_steps:
        assert step.text.strip() and step.cite.strip()
        assert any(
            name in step.cite
            for name in ("Kent and Medway 2.4.1", "West Midlands 2.14", "general safeguarding practice")
        ), step.cite


@pytest.mark.parametrize("kind", KINDS)
def test_conditions_only_use_real_answer_values(content, kind):
    """Catches unquoted yes / no (YAML reads them as booleans) and misspelt values."""
    checklist = content[kind]
    outcome_ids = [rule.id for rule in checklist.outcomes]
    assert len(outcome_ids) == len(set(outcome_ids)), "outcome ids must be unique (rationale() looks rules up by id)"
    for rule in list(checklist.outcomes) + list(checklist.next_steps):
        for key in ("any", "all", "none"):
            for item_id, spec in rule.when.get(key, {}).items():
                values = [spec] if isinstance(spec, str) else spec
                allowed = {o.value for o in checklist.item(item_id).answer_options()}
                for value in values:
                    assert isinstance(value, str) and value in allowed, (kind, item_id, value)
        if "partnership" in rule.when:
            spec = rule.when["partnership"]
            assert set([spec] if isinstance(spec, str) else spec) <= set(PARTNERSHIPS)
        if "outcome" in rule.when:
            spec = rule.when["outcome"]
            assert set([spec] if isinstance(spec, str) else spec) <= set(outcome_ids), spec


def _nlu_option_values() -> set:
    values = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "synonym" in block:
                values.add(block["synonym"])
    return values


@pytest.mark.parametrize("kind", KINDS)
def test_every_answer_has_a_button_intent_and_every_option_is_known_to_the_nlu(content, kind):
    """Answers reach the engine through the NLU: Yes / No / Not known as intents, other options as a
    `checklist_option` entity whose phrasings are synonyms in data/nlu/."""
    known = _nlu_option_values()
    for item in content[kind].items:
        for option in item.answer_options():
            payload = prompts.option_payload(option.value)
            assert payload.startswith("/"), (item.id, option.value)
            if payload.startswith("/choose_option"):
                assert option.value in known, f"{item.id}: no NLU synonym maps to {option.value!r}"


# --- recognition: Kent and Medway ------------------------------------------------------------------

KM_INDICATORS = (
    "km_schedule_one",
    "km_caution",
    "km_civil_finding",
    "km_s47_abuse",
    "km_admitted_abuse",
    "km_other_behaviour",
    "km_adult_offender_notified",
    "km_mappa",
)
S47_REQUIRED = "A Section 47 Enquiry must be started"
EMERGENCY = "call 999"


def test_km_recognition_all_yes(content):
    result, steps = evaluate(content, "recognition", KM, YES)
    assert result.outcome == "may_pose_risk"
    assert "may pose a risk" in result.summary
    assert "child protection referral" in steps
    assert S47_REQUIRED in steps
    assert "prison service" in steps
    assert "ability to protect themselves" in steps
    assert "Child Protection Conference" in steps
    assert EMERGENCY in steps
    assert "MAPPA" in steps
    assert "Legal advice must be sought" in steps
    assert "West Midlands" not in steps


def test_km_recognition_all_no(content):
    result, steps = evaluate(content, "recognition", KM, NO)
    assert result.outcome == "no_indicator_identified"
    assert "does not show that they pose no risk" in result.summary
    assert S47_REQUIRED not in steps
    assert "child protection referral" not in steps
    assert EMERGENCY not in steps
    assert "Legal advice must be sought" in steps
    assert "written record" in steps


@pytest.mark.parametrize("indicator", KM_INDICATORS)
def test_km_any_single_indicator_is_enough(content, indicator):
    result, steps = evaluate(content, "recognition", KM, NO, **{indicator: YES})
    assert result.outcome == "may_pose_risk"
    assert "child protection referral" in steps
    # no household or contact with children, no risk in the area: no Section 47 trigger
    assert S47_REQUIRED not in steps
    # but the person may pose a risk to children: the 999 line is there (issue 12 point 3)
    assert EMERGENCY in steps


@pytest.mark.parametrize("situation", ("lives_with_children", "contact_with_children", "may_seek_contact"))
def test_km_section_47_trigger_for_each_situation(content, situation):
    result, steps = evaluate(content, "recognition", KM, NO, km_caution=YES, **{situation: YES})
    assert result.outcome == "may_pose_risk"
    assert S47_REQUIRED in steps
    assert EMERGENCY in steps  # also for "may seek contact" (issue 12 point 3)


def test_km_indicator_with_situation_not_known_asks_to_find_out(content):
    result, steps = evaluate(content, "recognition", KM, NOT_KNOWN, km_schedule_one=YES)
    assert result.outcome == "may_pose_risk"
    assert S47_REQUIRED not in steps
    assert "Find out whether the person lives in a household with children" in steps


def test_km_not_known_indicator_needs_checks_before_concluding(content):
    result, steps = evaluate(content, "recognition", KM, NO, km_s47_abuse=NOT_KNOWN, lives_with_children=YES)
    assert result.outcome == "more_information_needed"
    assert "Find out the answers marked Not known" in steps
    assert S47_REQUIRED not in steps
    result, _ = evaluate(content, "recognition", KM, NOT_KNOWN)
    assert result.outcome == "more_information_needed"


# --- recognition: West Midlands --------------------------------------------------------------------

THRESHOLDS = "local Thresholds document"
CJA_FLAG = "potential person posing a risk to children"
CSC_REFERRAL = "a referral should be made to children's social care under the Referrals procedure"


def test_wm_recognition_all_yes_criminal_justice_agency(content):
    result, steps = evaluate(content, "recognition", WM, YES)
    assert result.outcome == "meets_definition"
    assert CJA_FLAG in steps
    assert CSC_REFERRAL in steps
    assert EMERGENCY in steps
    assert "MAPPA" in steps
    assert THRESHOLDS not in steps  # that route is for non-criminal justice agencies
    assert "Section 47" not in steps and "Kent and Medway" not in steps


def test_wm_recognition_all_yes_other_agency(content):
    result, steps = evaluate(content, "recognition", WM, YES, wm_cja=NO)
    assert result.outcome == "meets_definition"
    assert THRESHOLDS in steps
    assert "report your concerns to the police" in steps
    assert CSC_REFERRAL in steps
    assert CJA_FLAG not in steps


def test_wm_recognition_all_no(content):
    result, steps = evaluate(content, "recognition", WM, NO)
    assert result.outcome == "no_indicator_identified"
    assert EMERGENCY not in steps
    assert CSC_REFERRAL not in steps
    assert THRESHOLDS not in steps


@pytest.mark.parametrize("route", ("wm_offence_against_child", "wm_offence_child_harmed", "wm_identified_risk"))
def test_wm_definition_needs_one_route_and_continuing_risk(content, route):
    result, _ = evaluate(content, "recognition", WM, NO, **{route: YES, "wm_continuing_risk": YES})
    assert result.outcome == "meets_definition"
    result, steps = evaluate(content, "recognition", WM, NO, **{route: YES, "wm_continuing_risk": NO})
    assert result.outcome == "definition_not_met"
    assert "not the same as posing no risk" in result.summary
    assert THRESHOLDS in steps
    result, steps = evaluate(content, "recognition", WM, NO, **{route: YES, "wm_continuing_risk": NOT_KNOWN})
    assert result.outcome == "definition_unclear"
    assert "continuing risk of serious harm" in steps


def test_wm_unclear_cases(content):
    assert evaluate(content, "recognition", WM, NOT_KNOWN)[0].outcome == "definition_unclear"
    assert evaluate(content, "recognition", WM, NO, wm_continuing_risk=YES)[0].outcome == "definition_unclear"
    assert (
        evaluate(content, "recognition", WM, NO, wm_crime_evidence=YES, wm_continuing_risk=NOT_KNOWN)[0].outcome
        == "definition_unclear"
    )
    assert evaluate(content, "recognition", WM, NO, wm_crime_evidence=YES)[0].outcome == "definition_not_met"


def test_wm_crime_evidence_is_reported_to_police_even_without_definition(content):
    result, steps = evaluate(content, "recognition", WM, NO, wm_crime_evidence=YES, wm_continuing_risk=NO)
    assert "report your concerns to the police" in steps


def test_wm_young_person_gets_specialist_assessment(content):
    _, steps = evaluate(content, "recognition", WM, NO, wm_young_person=YES)
    assert "specialist assessment" in steps


# --- risk assessment -------------------------------------------------------------------------------

DECISION_MAKER = "District Manager (Kent) or Service Manager (Medway)"
KM_ONLY_RA = {"ra_km_safeguarding_lead", "ra_km_legal", "ra_km_strategy_meeting", "ra_km_police_support"}


def test_ra_km_all_yes_is_ready(content):
    result, steps = evaluate(content, "risk_assessment", KM, YES)
    assert result.outcome == "ready_for_decision"
    assert "does not decide" in result.summary
    assert DECISION_MAKER in steps
    assert "written audit trail" in steps
    assert "Still to" not in steps
    assert "further legal advice" not in steps


def test_ra_km_all_no_lists_every_gap(content):
    result, steps = evaluate(content, "risk_assessment", KM, NO)
    assert result.outcome == "gaps_before_decision"
    # one "still to" step per unmet point (police support and immediate danger have their own steps)
    assert steps.count("Still to") == len(content["risk_assessment"].items_for(KM)) - 2
    assert "further legal advice must be taken" in steps
    assert DECISION_MAKER in steps


def test_ra_km_police_do_not_support(content):
    result, steps = evaluate(content, "risk_assessment", KM, YES, ra_km_police_support=NO)
    assert result.outcome == "police_do_not_support"
    assert "further legal advice must be taken" in steps


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_ra_single_not_known_is_a_gap(content, partnership):
    result, steps = evaluate(content, "risk_assessment", partnership, YES, ra_expert_opinion=NOT_KNOWN)
    assert result.outcome == "gaps_before_decision"
    assert "expert opinion" in steps


def test_ra_not_possible_to_consult_is_not_a_gap_but_is_recorded(content):
    result, steps = evaluate(content, "risk_assessment", KM, YES, ra_individual_consulted="not_possible")
    assert result.outcome == "ready_for_decision"
    assert "Record why it was not possible" in steps


def test_ra_west_midlands(content):
    checklist = content["risk_assessment"]
    assert not KM_ONLY_RA & {i.id for i in checklist.items_for(WM)}
    result, steps = evaluate(content, "risk_assessment", WM, YES)
    assert result.outcome == "ready_for_decision"
    assert "West Midlands 2.14 does not set out" in steps
    assert "seek legal advice" in steps
    assert "MAPPA" in steps
    assert DECISION_MAKER not in steps
    result, _ = evaluate(content, "risk_assessment", WM, NO)
    assert result.outcome == "gaps_before_decision"
    # the items are cited to Kent and Medway even for West Midlands users (bar the emergency question)
    assert all(
        i.cite.startswith("Kent and Medway 2.4.1") for i in checklist.items_for(WM) if i.id != "immediate_danger"
    )


# --- disclosure ------------------------------------------------------------------------------------

AFTER = ("dp_after_seriousness", "dp_after_protection")
# "Would a less intrusive route achieve the aim on its own?" Yes means use it instead (issue 12 B).
NEEDED = {"dp_alternative_suffices": NO}


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_disclosure_all_yes_is_justified_and_planned(content, partnership):
    result, steps = evaluate(content, "disclosure", partnership, YES, **NEEDED)
    assert result.outcome == "disclosure_justified_and_planned"
    assert "does not make the decision" in result.summary


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_disclosure_all_not_known_is_not_ready(content, partnership):
    result, steps = evaluate(content, "disclosure", partnership, NOT_KNOWN)
    assert result.outcome == "not_ready_to_disclose"
    assert "likelihood of harm" in steps
    assert "Seek the person's consent" in steps
    assert "Complete the risk assessment" in steps
    assert "Seek legal advice" in steps
    assert "contact person" in steps
    assert ("District Manager" in steps) == (partnership == KM)


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_disclosure_not_yet_made_reminds_what_to_note_afterwards(content, partnership):
    result, steps = evaluate(
        content,
        "disclosure",
        partnership,
        YES,
        **NEEDED,
        dp_after_seriousness="not_disclosed",
        dp_after_protection="not_disclosed",
    )
    assert result.outcome == "disclosure_justified_and_planned"
    assert "immediate plans for protection" in steps


def test_disclosure_risk_exceptions_and_no_probation_are_not_gaps(content):
    result, steps = evaluate(
        content,
        "disclosure",
        KM,
        YES,
        **NEEDED,
        dp_probation_powers="not_supervised",
        dp_consent_sought="would_increase_risk",
        dp_self_disclosure="would_increase_risk",
    )
    assert result.outcome == "disclosure_justified_and_planned"
    assert "Seek the person's consent" not in steps


@pytest.mark.parametrize("missing", ("dp_pressing_need", "dp_strategy_who", "dp_legal_advice", "dp_exception"))
def test_disclosure_one_missing_point_is_not_ready(content, missing):
    result, _ = evaluate(content, "disclosure", KM, YES, **NEEDED, **{missing: NOT_KNOWN})
    assert result.outcome == "not_ready_to_disclose"


def test_disclosure_follow_up_after_disclosure(content):
    result, steps = evaluate(content, "disclosure", KM, YES, **NEEDED, dp_after_protection=NO)
    assert result.outcome == "follow_up_after_disclosure"
    assert "Note the carer's ability and plans to protect the child" in steps


def test_disclosure_kent_medway_audit_trail(content):
    _, steps = evaluate(content, "disclosure", KM, YES, **NEEDED)
    assert "written audit trail" in steps
    assert "Sarah's Law" not in steps


def test_disclosure_west_midlands_points_to_police_schemes_and_duty_to_share(content):
    _, steps = evaluate(content, "disclosure", WM, YES, **NEEDED)
    assert "does not set out a local authority disclosure process" in steps
    assert "Sarah's Law" in steps and "Clare's Law" in steps
    assert "justifiably share information with the parent, guardian or carer" in steps
    assert "seek legal advice" in steps
    assert "District Manager" not in steps


# --- walking the engine ------------------------------------------------------------------------------

EXPECTED_ALL = {
    ("recognition", KM): {
        "Yes": "may_pose_risk",
        "No": "no_indicator_identified",
        "Not known": "more_information_needed",
    },
    ("recognition", WM): {
        "Yes": "meets_definition",
        "No": "no_indicator_identified",
        "Not known": "definition_unclear",
    },
    ("risk_assessment", KM): {
        "Yes": "ready_for_decision",
        "No": "gaps_before_decision",
        "Not known": "gaps_before_decision",
    },
    ("risk_assessment", WM): {
        "Yes": "ready_for_decision",
        "No": "gaps_before_decision",
        "Not known": "gaps_before_decision",
    },
    ("disclosure", KM): {
        "Yes": "use_less_intrusive_route",
        "No": "children_need_protection",
        "Not known": "not_ready_to_disclose",
    },
    ("disclosure", WM): {
        "Yes": "use_less_intrusive_route",
        "No": "children_need_protection",
        "Not known": "not_ready_to_disclose",
    },
}


SAID = {"Yes": Heard("affirm"), "No": Heard("deny"), "Not known": Heard("answer_not_known")}
VALUE = {"Yes": "yes", "No": "no", "Not known": "not_known"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("partnership", PARTNERSHIPS)
@pytest.mark.parametrize("said", ("Yes", "No", "Not known"))
def test_engine_walk_reaches_confirm(content, kind, partnership, said):
    checklist, ctx = content[kind], Context(partnership)
    state = engine.start(kind, ctx)
    assert state.stage is Stage.ITEMS
    asked = 0
    while state.stage is Stage.ITEMS:
        asked += 1
        assert asked <= len(checklist.items_for(partnership))
        turn = engine.handle(state, SAID[said], ctx)
        assert turn.finished is None
        assert not any("didn't catch" in line for line in turn.say), turn.say
    assert asked == len(checklist.items_for(partnership, state.answers))
    assert state.stage is Stage.ROLE
    engine.handle(state, Heard("skip"), ctx)
    assert state.stage is Stage.CASE_REFERENCE
    engine.handle(state, Heard("skip"), ctx)
    assert state.stage is Stage.CONFIRM
    result = checklist.evaluate(state.answers, partnership)
    assert result.outcome == EXPECTED_ALL[(kind, partnership)][said]
    assert set(state.answers.values()) == {VALUE[said]}


@pytest.mark.parametrize("kind", KINDS)
def test_engine_why_and_go_back(content, kind):
    ctx = Context(KM)
    state = engine.start(kind, ctx)
    first = content[kind].items_for(KM)[0]
    shown = prompts.why(state, ctx)
    assert first.help in shown and first.cite in shown
    engine.handle(state, Heard("affirm"), ctx)
    assert first.id in state.answers
    engine.go_back(state, ctx)
    assert first.id not in state.answers
    assert state.stage is Stage.ITEMS


def test_not_applicable_is_never_a_button(content):
    for checklist in content.values():
        for item in checklist.items:
            assert NOT_APPLICABLE not in {o.value for o in item.button_options()}
